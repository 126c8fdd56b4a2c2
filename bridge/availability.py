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

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from icalendar import Calendar, FreeBusy, vPeriod

from bridge.ical.recurrence import occurrences, simple_instances

__all__ = [
    "Availability",
    "AvailabilityOptions",
    "BlockedSlot",
    "Blocker",
    "Indexed",
    "Occurrence",
    "Resource",
    "Slot",
    "blocker_of",
    "compute",
    "expand_resources",
    "freebusy_ical",
    "indexed_occurrence",
    "is_marker",
    "merge",
]

Reason = Literal["busy", "tentative", "all-day"]


@dataclass(frozen=True)
class Resource:
    """One stored calendar object to expand: its text and whether it comes from a marker calendar.

    ``kind`` is ``appointment`` for items with customer data and ``event`` otherwise.
    ``indexed`` carries the store's columns, so a single event is read without parsing the
    text (see :class:`Indexed`) and a simple series is expanded from its few lines
    (:func:`~bridge.ical.recurrence.simple_instances`).
    """

    text: str
    marker_calendar: bool = False
    kind: Literal["appointment", "event"] = "event"
    indexed: Indexed | None = None


@dataclass(frozen=True)
class Indexed:
    """The indexed columns of a stored event (UTC POSIX seconds, title, status, series)."""

    uid: str
    summary: str
    status: str
    start_ts: int
    end_ts: int
    recurring: bool = False


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
    lo_ts, hi_ts = start.timestamp(), end.timestamp()
    for res in resources:
        fast = _indexed(res, start, end, zone, keywords)
        if fast is not None:
            out += [o for o in fast if o.start.timestamp() < hi_ts and o.end.timestamp() > lo_ts]
            continue
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


_DTSTART = re.compile(r"^DTSTART([^:\r\n]*):([0-9TZ]+)\r?$", re.MULTILINE)
_TRANSPARENT = re.compile(r"^TRANSP:TRANSPARENT\r?$", re.MULTILINE | re.IGNORECASE)


def _indexed(res: Resource, start: datetime, end: datetime, zone: tzinfo,
             keywords: Sequence[str]) -> list[Occurrence] | None:
    """The occurrences read from the columns (and a simple series' lines), or ``None``."""
    idx = res.indexed
    if idx is None:
        return None
    if not idx.recurring:
        single = indexed_occurrence(res, zone, keywords)
        return [single] if single is not None else None
    instances = simple_instances(res.text, start, end)
    if instances is None:
        return None
    transparent = _TRANSPARENT.search(res.text) is not None
    marker = res.marker_calendar or is_marker(idx.summary, keywords)
    status = (idx.status or "CONFIRMED").upper()
    return [Occurrence(idx.uid, idx.summary, lo, hi, False, transparent, status, marker,
                       res.kind) for lo, hi, _rid in instances]


def indexed_occurrence(
    res: Resource, zone: tzinfo, keywords: Sequence[str] = ()
) -> Occurrence | None:
    """The occurrence of a single event read from its columns, or ``None`` when the text must
    be parsed (floating times count as UTC in the index, so only zoned, UTC and all-day
    starts are taken from it; one ``DTSTART`` line only)."""
    idx = res.indexed
    if idx is None or idx.recurring:
        return None
    match = _DTSTART.search(res.text)
    if match is None or res.text.find("\nDTSTART", match.end()) != -1:
        return None  # none, or several (overrides): the text must be parsed
    params, value = match.group(1), match.group(2)
    all_day = "VALUE=DATE" in params.upper() and "DATE-TIME" not in params.upper()
    if all_day:
        day = datetime.fromtimestamp(idx.start_ts, UTC).date()
        days = max(1, (idx.end_ts - idx.start_ts) // 86400)
        start = datetime.combine(day, time(0), zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=days), time(0), zone).astimezone(UTC)
    elif "TZID=" in params.upper() or value.endswith("Z"):
        start = datetime.fromtimestamp(idx.start_ts, UTC)
        end = datetime.fromtimestamp(idx.end_ts, UTC)
    else:
        return None
    return Occurrence(
        uid=idx.uid, summary=idx.summary, start=start, end=end, all_day=all_day,
        transparent=_TRANSPARENT.search(res.text) is not None,
        status=(idx.status or "CONFIRMED").upper(),
        marker=res.marker_calendar or is_marker(idx.summary, keywords), kind=res.kind)


def merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping or touching intervals joined, in order."""
    return _merge(intervals)


def _merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def blocker_of(occ: Occurrence, options: AvailabilityOptions) -> Blocker | None:
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
    busy = [b for b in (blocker_of(o, options) for o in occurrences) if b is not None]
    local = {id(b): _local(b, zone) for b in busy}  # each blocker converted once
    result = Availability(busy=[local[id(b)] for b in busy])
    busy.sort(key=lambda b: b.start)
    starts = [b.start for b in busy]
    longest = max((b.end - b.start for b in busy), default=timedelta(0))
    for origin, window_end in merged:
        lo, hi = max(origin, start), min(window_end, end)
        if hi <= lo:
            continue
        # Only blockers that can touch this window (sorted by start; none lasts longer than
        # ``longest``), so the cost is slots x local blockers, not slots x the range's blockers.
        near = busy[bisect_left(starts, lo - longest):bisect_left(starts, hi)]
        result.windows.append(Slot(lo.astimezone(zone), hi.astimezone(zone)))
        # Slots keep the window's own grid (09:00, 09:30, ...) when the query starts mid-window.
        skipped = lo - origin
        slot_start = origin + step * -(-skipped // step)
        while slot_start + duration <= hi:
            slot_end = slot_start + duration
            blockers = tuple(b for b in near if b.start < slot_end and b.end > slot_start)
            local_start, local_end = slot_start.astimezone(zone), slot_end.astimezone(zone)
            if blockers:
                result.blocked.append(BlockedSlot(local_start, local_end,
                                                  tuple(local[id(b)] for b in blockers)))
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

