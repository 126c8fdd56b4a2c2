"""Bookable slots from working hours kept in the external calendar (pure, no I/O).

Staff mark their working hours with events whose title holds a marker keyword ("Arbeitszeit",
"Available") or with events in a dedicated calendar.  :func:`compute` turns the expanded
occurrences of a range into free slots: the union of the marker windows minus every blocking
occurrence.  Transparent and cancelled events never block; tentative ones do; all-day events
block unless configured otherwise.  Everything is computed on aware datetimes and reported in
the calendar's time zone, so DST changes move nothing but the UTC offset.  :func:`freebusy_ical`
renders the blocking intervals as a ``VFREEBUSY``.

Usage::

    occ = expand_resources(texts, start, end, zone, keywords)
    result = compute(occ, start, end, timedelta(minutes=30), options=AvailabilityOptions())
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal

from icalendar import Calendar, FreeBusy, vPeriod

from bridge.ical.recurrence import occurrences

__all__ = [
    "Availability",
    "AvailabilityOptions",
    "BlockedSlot",
    "Blocker",
    "Occurrence",
    "Resource",
    "Slot",
    "compute",
    "expand_resources",
    "freebusy_ical",
    "is_marker",
]

Reason = Literal["busy", "tentative", "all-day"]


@dataclass(frozen=True)
class Resource:
    """One stored calendar object to expand: its text and whether it comes from a marker calendar.

    ``kind`` is ``appointment`` for items with customer data and ``event`` otherwise.
    """

    text: str
    marker_calendar: bool = False
    kind: Literal["appointment", "event"] = "event"


@dataclass(frozen=True)
class Occurrence:
    """One expanded occurrence with the flags that decide whether it blocks."""

    uid: str
    summary: str
    start: datetime
    end: datetime
    all_day: bool = False
    transparent: bool = False
    status: str = "CONFIRMED"
    marker: bool = False
    kind: Literal["appointment", "event"] = "event"


@dataclass(frozen=True)
class AvailabilityOptions:
    """Policy knobs from ``[availability]``."""

    all_day_blocks: bool = True


@dataclass(frozen=True)
class Slot:
    """A bookable interval."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Blocker:
    """An occurrence that blocks a slot, and why."""

    uid: str
    summary: str
    kind: str
    start: datetime
    end: datetime
    reason: Reason


@dataclass(frozen=True)
class BlockedSlot:
    """A slot inside working hours that is not bookable, with what blocks it."""

    start: datetime
    end: datetime
    blockers: tuple[Blocker, ...]


@dataclass(frozen=True)
class Availability:
    """The answer for one range: windows, free slots, blocked slots and busy intervals."""

    windows: list[Slot] = field(default_factory=list)
    free: list[Slot] = field(default_factory=list)
    blocked: list[BlockedSlot] = field(default_factory=list)
    busy: list[Blocker] = field(default_factory=list)


def is_marker(summary: str, keywords: Sequence[str]) -> bool:
    """True when the title contains one of the marker keywords (case-insensitive)."""
    folded = summary.casefold()
    return any(k.strip() and k.strip().casefold() in folded for k in keywords)


def _text(comp: Any, name: str) -> str:
    value = comp.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def expand_resources(
    resources: Iterable[Resource],
    start: datetime,
    end: datetime,
    zone: tzinfo,
    keywords: Sequence[str],
) -> list[Occurrence]:
    """Every VEVENT occurrence of ``resources`` overlapping ``[start, end)``."""
    out: list[Occurrence] = []
    for res in resources:
        try:
            cal = Calendar.from_ical(res.text)
        except ValueError:
            continue
        for occ in occurrences(cal, start, end, zone=zone):
            comp = occ.component
            summary = _text(comp, "SUMMARY")
            out.append(Occurrence(
                uid=_text(comp, "UID"),
                summary=summary,
                start=occ.start.astimezone(UTC),
                end=occ.end.astimezone(UTC),
                all_day=occ.all_day,
                transparent=_text(comp, "TRANSP").upper() == "TRANSPARENT",
                status=(_text(comp, "STATUS") or "CONFIRMED").upper(),
                marker=res.marker_calendar or is_marker(summary, keywords),
                kind=res.kind,
            ))
    out.sort(key=lambda o: (o.start, o.end, o.uid))
    return out


def _merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _blocker(occ: Occurrence, options: AvailabilityOptions) -> Blocker | None:
    """The blocker an occurrence makes, or ``None`` when it never blocks (and why not)."""
    if occ.marker or occ.status == "CANCELLED" or occ.transparent:
        return None
    if occ.end <= occ.start:
        return None  # a zero-length event occupies no time
    if occ.all_day:
        if not options.all_day_blocks:
            return None
        reason: Reason = "all-day"
    elif occ.status == "TENTATIVE":
        reason = "tentative"
    else:
        reason = "busy"
    return Blocker(occ.uid, occ.summary, occ.kind, occ.start, occ.end, reason)


def compute(
    occurrences: Sequence[Occurrence],
    start: datetime,
    end: datetime,
    duration: timedelta,
    *,
    step: timedelta | None = None,
    options: AvailabilityOptions | None = None,
    zone: tzinfo = UTC,
) -> Availability:
    """Free and blocked slots of ``duration`` inside the marker windows of ``[start, end)``."""
    options = options or AvailabilityOptions()
    step = step or duration
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    merged = _merge((o.start, o.end) for o in occurrences
                    if o.marker and o.status != "CANCELLED" and o.end > o.start)
    busy = [b for b in (_blocker(o, options) for o in occurrences) if b is not None]
    result = Availability(busy=[_local(b, zone) for b in busy])
    for origin, window_end in merged:
        lo, hi = max(origin, start), min(window_end, end)
        if hi <= lo:
            continue
        result.windows.append(Slot(lo.astimezone(zone), hi.astimezone(zone)))
        # Slots keep the window's own grid (09:00, 09:30, ...) when the query starts mid-window.
        skipped = lo - origin
        slot_start = origin + step * -(-skipped // step)
        while slot_start + duration <= hi:
            slot_end = slot_start + duration
            blockers = tuple(b for b in busy if b.start < slot_end and b.end > slot_start)
            local_start, local_end = slot_start.astimezone(zone), slot_end.astimezone(zone)
            if blockers:
                result.blocked.append(BlockedSlot(local_start, local_end,
                                                  tuple(_local(b, zone) for b in blockers)))
            else:
                result.free.append(Slot(local_start, local_end))
            slot_start += step
    return result


def _local(b: Blocker, zone: tzinfo) -> Blocker:
    return Blocker(b.uid, b.summary, b.kind, b.start.astimezone(zone), b.end.astimezone(zone),
                   b.reason)


def freebusy_ical(
    availability: Availability, start: datetime, end: datetime, *, uid: str, stamp: datetime
) -> str:
    """A ``VFREEBUSY`` object listing the blocking intervals of the range (UTC periods)."""
    cal = Calendar()
    cal.add("PRODID", "-//termin-bridge//availability//EN")
    cal.add("VERSION", "2.0")
    fb = FreeBusy()
    fb.add("UID", uid)
    fb.add("DTSTAMP", stamp.astimezone(UTC))
    fb.add("DTSTART", start.astimezone(UTC))
    fb.add("DTEND", end.astimezone(UTC))
    kinds = {"BUSY": [(b.start, b.end) for b in availability.busy if b.reason != "tentative"],
             "BUSY-TENTATIVE": [(b.start, b.end) for b in availability.busy
                                if b.reason == "tentative"]}
    for fbtype, intervals in kinds.items():
        for lo, hi in _merge((max(lo, start), min(hi, end)) for lo, hi in intervals):
            if hi <= lo:
                continue
            period = vPeriod((lo.astimezone(UTC), hi.astimezone(UTC)))
            period.params["FBTYPE"] = fbtype
            fb.add("FREEBUSY", period)
    cal.add_component(fb)
    text: str = cal.to_ical().decode("utf-8")
    return text

