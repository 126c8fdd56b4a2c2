"""What the admin's calendar view shows (pure: no I/O, no clock reads).

:func:`view_range` turns a view (day, week, month, agenda) and a date into the dates shown and
the neighbours for previous/next; :func:`entries` turns the stored items of that range into
the occurrences to draw, in the calendar's zone (single events from their indexed columns,
series expanded); :func:`lay_out` places timed entries of one day on a 15-minute grid in
side-by-side lanes, so overlapping appointments stay readable.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from icalendar import Calendar

from bridge.availability import Indexed, Resource, indexed_occurrence
from bridge.ical.recurrence import occurrences, simple_instances
from bridge.model import ItemRecord, connection_of_origin

__all__ = [
    "SLOT_MINUTES",
    "VIEWS",
    "Entry",
    "Placed",
    "ViewRange",
    "entries",
    "lay_out",
    "origin_code",
    "view_range",
]

View = Literal["day", "week", "month", "agenda"]
VIEWS: tuple[View, ...] = ("week", "day", "month", "agenda")
SLOT_MINUTES = 15
_AGENDA_DAYS = 14
_MAX_LANES = 6


@dataclass(frozen=True)
class ViewRange:
    """The dates a view shows (``start`` inclusive, ``end`` exclusive) and its neighbours."""

    view: View
    anchor: date
    start: date
    end: date
    previous: date
    next: date

    @property
    def days(self) -> list[date]:
        """Every date shown, in order."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """The range as aware instants (local midnights of the calendar's zone)."""
        return (datetime.combine(self.start, time(0), zone),
                datetime.combine(self.end, time(0), zone))


def view_range(view: View, anchor: date) -> ViewRange:
    """The range of ``view`` around ``anchor`` (weeks start on Monday)."""
    if view == "day":
        return ViewRange(view, anchor, anchor, anchor + timedelta(days=1),
                         anchor - timedelta(days=1), anchor + timedelta(days=1))
    if view == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        return ViewRange(view, anchor, monday, monday + timedelta(days=7),
                         anchor - timedelta(days=7), anchor + timedelta(days=7))
    if view == "agenda":
        return ViewRange(view, anchor, anchor, anchor + timedelta(days=_AGENDA_DAYS),
                         anchor - timedelta(days=_AGENDA_DAYS),
                         anchor + timedelta(days=_AGENDA_DAYS))
    first = anchor.replace(day=1)
    last = first.replace(day=_calendar.monthrange(first.year, first.month)[1])
    start = first - timedelta(days=first.weekday())
    end = last + timedelta(days=7 - last.weekday())
    previous = (first - timedelta(days=1)).replace(day=1)
    following = last + timedelta(days=1)
    return ViewRange(view, anchor, start, end, previous, following)


def origin_code(origin: str, providers: dict[int, str]) -> str:
    """Where an item's last write came from: ``caldav`` (phone), ``api``, ``import``,
    ``admin`` (this view), ``booking`` (the booking page), a provider name (``google``) or
    ``other``.  ``providers`` maps connection ids to provider names."""
    source = connection_of_origin(origin)
    if source is not None:
        return providers.get(source[1], source[0])
    return origin if origin in ("caldav", "api", "import", "admin", "booking") else "other"


@dataclass(frozen=True)
class Entry:
    """One occurrence to draw.  ``recurrence_id`` (ISO, UTC) names an instance of a series."""

    uid: str
    title: str
    start: datetime
    end: datetime
    all_day: bool
    recurring: bool
    recurrence_id: str | None
    status: str
    origin: str
    etag: str

    def json(self) -> dict[str, Any]:
        """The entry as the view's JSON (times local, ISO 8601)."""
        return {"uid": self.uid, "title": self.title,
                "start": self.start.isoformat(timespec="minutes"),
                "end": self.end.isoformat(timespec="minutes"), "all_day": self.all_day,
                "recurring": self.recurring, "recurrence_id": self.recurrence_id,
                "status": self.status, "origin": self.origin, "etag": self.etag}


def entries(
    items: Sequence[ItemRecord], start: datetime, end: datetime, zone: tzinfo,
    providers: dict[int, str],
) -> list[Entry]:
    """The occurrences of ``items`` overlapping ``[start, end)``, in ``zone``, by start."""
    out: list[Entry] = []
    lo, hi = start.timestamp(), end.timestamp()
    for item in items:
        origin = origin_code(item.origin, providers)
        if not item.recurring:
            occ = indexed_occurrence(Resource(item.text, indexed=Indexed(
                item.uid, item.summary, item.status, item.start_ts, item.end_ts)), zone)
            if occ is not None:
                if occ.start.timestamp() < hi and (occ.end.timestamp() > lo
                                                   or occ.start.timestamp() >= lo):
                    out.append(Entry(item.uid, item.summary, occ.start.astimezone(zone),
                                     occ.end.astimezone(zone), occ.all_day, False, None,
                                     occ.status, origin, item.etag))
                continue
        else:
            simple = simple_instances(item.text, start, end)
            if simple is not None:
                out += [Entry(item.uid, item.summary, lo.astimezone(zone), hi.astimezone(zone),
                              False, True, rid.strftime("%Y%m%dT%H%M%SZ"), item.status or
                              "CONFIRMED", origin, item.etag) for lo, hi, rid in simple]
                continue
        try:
            cal = Calendar.from_ical(item.text)
        except ValueError:
            continue
        for inst in occurrences(cal, start, end, zone=zone):
            if inst.cancelled:
                continue
            comp = inst.component
            title = str(comp.get("SUMMARY", "") or item.summary)
            status = str(comp.get("STATUS", "") or "CONFIRMED").upper()
            rid = inst.recurrence_id.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") \
                if item.recurring else None
            out.append(Entry(item.uid, title, inst.start.astimezone(zone),
                             inst.end.astimezone(zone), inst.all_day, item.recurring, rid,
                             status, origin, item.etag))
    out.sort(key=lambda e: (e.start, e.end, e.uid))
    return out


@dataclass(frozen=True)
class Placed:
    """A timed entry's part on one day: grid rows (1-based, 15-minute slots) and lane."""

    entry: Entry
    row: int
    span: int
    lane: int
    lanes: int
    continues_before: bool = False
    continues_after: bool = False


@dataclass
class DayColumn:
    """One day of a day/week view: all-day entries and placed timed entries."""

    day: date
    all_day: list[Entry] = field(default_factory=list)
    placed: list[Placed] = field(default_factory=list)

    @property
    def lanes(self) -> int:
        """The widest overlap of the day (at least 1)."""
        return max((p.lanes for p in self.placed), default=1)


def lay_out(days: Sequence[date], shown: Sequence[Entry], zone: tzinfo) -> list[DayColumn]:
    """Place every entry on the days it touches (a timed entry over midnight in parts)."""
    columns = {d: DayColumn(d) for d in days}
    per_day: dict[date, list[tuple[Entry, int, int, bool, bool]]] = {d: [] for d in days}
    slots = 24 * 60 // SLOT_MINUTES
    for entry in shown:
        first = entry.start.astimezone(zone).date()
        last = (entry.end - timedelta(microseconds=1)).astimezone(zone).date() \
            if entry.end > entry.start else first
        day = max(first, days[0]) if days else first
        while days and day <= min(last, days[-1]):
            if entry.all_day:
                columns[day].all_day.append(entry)
            else:
                midnight = datetime.combine(day, time(0), zone)
                lo = max(entry.start, midnight)
                hi = min(entry.end, datetime.combine(day + timedelta(days=1), time(0), zone))
                row = int((lo - midnight).total_seconds() // (SLOT_MINUTES * 60))
                row = min(row, slots - 1)
                end_row = -(-int((hi - midnight).total_seconds()) // (SLOT_MINUTES * 60))
                span = max(1, min(end_row, slots) - row)
                per_day[day].append((entry, row, span, entry.start < midnight,
                                     entry.end > midnight + timedelta(days=1)))
            day += timedelta(days=1)
    for day, parts in per_day.items():
        columns[day].placed = _lanes(parts)
    return [columns[d] for d in days]


def _lanes(parts: list[tuple[Entry, int, int, bool, bool]]) -> list[Placed]:
    """Greedy lanes per cluster of overlapping parts (at most ``_MAX_LANES`` side by side)."""
    parts.sort(key=lambda p: (p[1], -p[2]))
    placed: list[Placed] = []
    cluster: list[tuple[Entry, int, int, bool, bool, int]] = []
    cluster_end = -1
    lane_ends: list[int] = []

    def flush() -> None:
        width = min(_MAX_LANES, max((c[5] for c in cluster), default=0) + 1)
        for e, row, span, before, after, lane in cluster:
            placed.append(Placed(e, row + 1, span, min(lane, width - 1), width, before, after))

    for entry, row, span, before, after in parts:
        if cluster and row >= cluster_end:
            flush()
            cluster, lane_ends = [], []
        lane = next((i for i, end in enumerate(lane_ends) if end <= row), len(lane_ends))
        if lane == len(lane_ends):
            lane_ends.append(row + span)
        else:
            lane_ends[lane] = row + span
        cluster.append((entry, row, span, before, after, lane))
        cluster_end = max(cluster_end, row + span) if len(cluster) > 1 else row + span
    if cluster:
        flush()
    return placed
