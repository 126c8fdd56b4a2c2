"""Recurring calendar objects: occurrences, the last instance of a bounded rule, UNTIL values.

The one place the bridge expands recurrences (reminders, availability, the booking API and the
item index use it; Radicale's own filter and the Google emulator keep their own engines on
purpose).  :func:`occurrences` is built on ``recurring-ical-events``: ``RRULE`` and ``RDATE``
instances (``DTSTART`` always counts as the first), minus ``EXDATE`` (a ``DATE`` EXDATE drops that
day), each ``RECURRENCE-ID`` override replacing the instance it names (at its own start, also
when moved into the window from outside; cancelled overrides come back with ``cancelled`` set).
Zoned times recur on the wall clock of their own zone, so a weekly 10:00 in Europe/Berlin stays
10:00 across DST changes; floating times and all-day dates are read in the caller's ``zone``.

:func:`normalize_until` is the one reading of ``UNTIL`` (RFC 5545 3.3.10: UTC for a zoned
``DTSTART``, floating for a floating one, a ``DATE`` for an all-day one; a ``DATE`` UNTIL of a
timed series covers that whole day).  It is applied before any expansion here and used by the
Google mapping's canonical RRULE text and the feeds.

The work is bounded for unbounded series: a ``DAILY``/``WEEKLY`` rule without ``COUNT`` (and
``BYSETPOS``) is expanded from a later ``DTSTART`` a whole number of periods before the window,
and at most ``limit`` occurrences are returned.  :func:`last_start` (for the item index) expands
a bounded rule with dateutil directly, counting instances, because building a component per
instance would cost far more for 20,000 of them.
"""

from __future__ import annotations

import functools
import logging
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import recurring_ical_events
from dateutil.rrule import rrule as RRule
from dateutil.rrule import rrulestr
from icalendar import Calendar, Component, vDDDTypes, vDuration, vRecur
from recurring_ical_events.adapters.event import EventAdapter

from bridge.ical.timezones import resolve_mixed_pair

__all__ = [
    "DEFAULT_LIMIT",
    "Occurrence",
    "TooManyOccurrences",
    "date_values",
    "last_start",
    "normalize_until",
    "occurrences",
    "occurs",
    "simple_instances",
    "until_text",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_LIMIT = 50_000
# The widest UTC offset is 14 h: a day around the window catches floating and all-day instances.
_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class Occurrence:
    """One instance: start and end (aware), the instance it stands for, and its component.

    ``component`` is the master or override the instance comes from (not a per-instance copy:
    its ``DTSTART`` is the series' own, read ``start``/``end`` instead).
    """

    start: datetime
    end: datetime
    recurrence_id: datetime
    all_day: bool
    cancelled: bool
    component: Component


class TooManyOccurrences(ValueError):
    """A bounded rule expands to more instances than allowed."""


def normalize_until(until: date | datetime, dtstart: date | datetime | None = None
                    ) -> date | datetime:
    """``UNTIL`` in the form RFC 5545 asks for next to ``dtstart`` (without it: aware to UTC).

    Zoned ``dtstart``: a UTC datetime (a floating UNTIL is read in ``dtstart``'s zone, a date
    means the end of that day there).  Floating: a floating datetime (UTC wall time for an aware
    UNTIL, end of the day for a date).  All-day: a date.
    """
    if dtstart is None:
        return until.astimezone(UTC) if isinstance(until, datetime) and until.tzinfo else until
    if not isinstance(dtstart, datetime):
        if isinstance(until, datetime):
            return (until.astimezone(UTC) if until.tzinfo else until).date()
        return until
    if not isinstance(until, datetime):
        until = datetime(until.year, until.month, until.day, 23, 59, 59)
    if dtstart.tzinfo is None:
        return until.astimezone(UTC).replace(tzinfo=None) if until.tzinfo else until
    if until.tzinfo is None:
        until = until.replace(tzinfo=dtstart.tzinfo)
    return until.astimezone(UTC)


def until_text(until: date | datetime) -> str:
    """The iCalendar text of an UNTIL value (``Z`` for aware ones, which must be UTC)."""
    if isinstance(until, datetime):
        if until.tzinfo is not None:
            return until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return until.strftime("%Y%m%dT%H%M%S")
    return until.strftime("%Y%m%d")


def _normalized_rule(rule: vRecur | str, dtstart: date | datetime) -> str:
    """The RRULE text with its UNTIL normalised for ``dtstart``."""
    parsed = vRecur.from_ical(rule) if isinstance(rule, str) else rule
    text: str = parsed.to_ical().decode("utf-8")
    until = parsed.get("UNTIL")
    if not until:
        return text
    value = "UNTIL=" + until_text(normalize_until(until[0], dtstart))
    return re.sub(r"UNTIL=[^;]+", lambda _: value, text, flags=re.IGNORECASE)


def last_start(rule: vRecur | str, dtstart: date | datetime, *, limit: int) -> datetime | None:
    """Start of the last ``RRULE`` instance of a bounded rule (``COUNT`` or ``UNTIL``).

    Dates count as naive midnight.  Raises :class:`TooManyOccurrences` past ``limit`` instances
    and ``ValueError`` for a rule dateutil cannot read; ``None`` when the rule yields nothing.
    """
    start = dtstart if isinstance(dtstart, datetime) else datetime(
        dtstart.year, dtstart.month, dtstart.day)
    try:
        rule_obj: Any = rrulestr("RRULE:" + _normalized_rule(rule, dtstart), dtstart=start,
                                 unfold=True)
    except TypeError as exc:
        raise ValueError(str(exc)) from exc
    last: datetime | None = None
    for n, value in enumerate(rule_obj, 1):
        if n > limit:
            raise TooManyOccurrences(f"recurrence expands to more than {limit} occurrences")
        last = value
    return last


def _aware(value: date | datetime, zone: tzinfo) -> datetime:
    """An aware datetime: dates at local midnight, floating times in ``zone``."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _utc(value: date | datetime, zone: tzinfo) -> datetime:
    return _aware(value, zone).astimezone(UTC)


def _fast_forward(rule: vRecur, dtstart: date | datetime, before: datetime, zone: tzinfo
                  ) -> date | datetime:
    """A later DTSTART of the same DAILY/WEEKLY series (no COUNT), a whole period before ``before``.

    The shifted start is a period and two days before ``before``, so the instance it adds ends
    before the window; the wall-clock shift keeps the local time of day across DST changes.
    """
    freq = str((rule.get("FREQ") or [""])[0]).upper()
    step_days = {"DAILY": 1, "WEEKLY": 7}.get(freq, 0)
    if not step_days or rule.get("COUNT") or rule.get("BYSETPOS"):
        return dtstart
    interval = int((rule.get("INTERVAL") or [1])[0] or 1)
    step = timedelta(days=step_days * max(1, interval))
    gap = before - _utc(dtstart, zone) - step - timedelta(days=2)
    periods = gap // step if gap > timedelta(0) else 0
    if periods <= 0:
        return dtstart
    if not isinstance(dtstart, datetime):
        moved: date = dtstart + step * periods
        return moved
    return (dtstart.replace(tzinfo=None) + step * periods).replace(tzinfo=dtstart.tzinfo)


def _prepared(master: Component, before: datetime, zone: tzinfo) -> Component:
    """The master as handed to recurring-ical-events: UNTIL normalised, start fast-forwarded."""
    rule = master.get("RRULE")
    start_prop = master.get("DTSTART")
    if rule is None or isinstance(rule, list) or start_prop is None:
        return master
    dtstart = start_prop.dt
    out = master.copy()
    for sub in master.subcomponents:
        out.add_component(sub)
    if rule.get("UNTIL"):
        out["RRULE"] = vRecur.from_ical(_normalized_rule(rule, dtstart))
    moved = _fast_forward(rule, dtstart, before, zone)
    if moved != dtstart:
        length = EventAdapter(master).duration  # as recurring-ical-events measures it
        out["DTSTART"] = vDDDTypes(moved)
        out["DTSTART"].params.update(start_prop.params)
        out.pop("DTEND", None)
        out["DURATION"] = vDuration(length)
    return out


_FOLD = re.compile(r"\r?\n[ \t]")
_SIMPLE_TIME = re.compile(r"^(DTSTART|DTEND|EXDATE)(;TZID=[^;:]+)?:([0-9T,Z]+)$")
_NOT_SIMPLE = ("RDATE", "RECURRENCE-ID", "EXRULE", "DURATION")


@dataclass(frozen=True)
class _SimpleSeries:
    zone: tzinfo
    first: datetime  # naive wall clock of ``zone``
    length: timedelta
    skipped: frozenset[datetime]
    rule: RRule
    parts: dict[str, str]
    # Every instance of a bounded (COUNT) rule, listed once: windows then bisect.
    bounded: tuple[datetime, ...] | None = None


@functools.lru_cache(maxsize=4096)
def _simple_series(text: str) -> _SimpleSeries | None:
    """The parts of a simple series (see :func:`simple_instances`), parsed once per text."""
    lines = _FOLD.sub("", text).splitlines()
    if sum(1 for line in lines if line == "BEGIN:VEVENT") != 1:
        return None
    values: dict[str, tuple[str, str]] = {}
    exdates: list[str] = []
    rule_text = ""
    inside = False
    for line in lines:
        if line == "BEGIN:VEVENT":
            inside = True
            continue
        if line == "END:VEVENT":
            inside = False
            continue
        if not inside:
            continue
        name = line.split(":", 1)[0].split(";", 1)[0].upper()
        if name in _NOT_SIMPLE:
            return None
        if name == "RRULE":
            if rule_text:
                return None
            rule_text = line.split(":", 1)[1]
            continue
        if name not in ("DTSTART", "DTEND", "EXDATE"):
            continue
        match = _SIMPLE_TIME.match(line)
        if match is None:
            return None
        tzid = (match.group(2) or "")[len(";TZID="):]
        if name == "EXDATE":
            if tzid != values.get("DTSTART", ("?", ""))[0]:
                return None
            exdates += match.group(3).split(",")
        elif name in values:
            return None
        else:
            values[name] = (tzid, match.group(3))
    if not rule_text or "UNTIL" in rule_text.upper() or set(values) != {"DTSTART", "DTEND"}:
        return None
    (tzid, first_text), (end_tzid, end_text) = values["DTSTART"], values["DTEND"]
    if tzid != end_tzid or first_text.endswith("Z") == bool(tzid) \
            or end_text.endswith("Z") == bool(end_tzid):
        return None
    try:
        zone: tzinfo = ZoneInfo(tzid) if tzid else UTC
        first = datetime.strptime(first_text.rstrip("Z"), "%Y%m%dT%H%M%S")
        last = datetime.strptime(end_text.rstrip("Z"), "%Y%m%dT%H%M%S")
        skipped = {datetime.strptime(x.rstrip("Z"), "%Y%m%dT%H%M%S") for x in exdates if x}
        rule = rrulestr(rule_text, dtstart=first)
    except (ValueError, KeyError, ZoneInfoNotFoundError, TypeError):
        return None
    if not isinstance(rule, RRule) or rule.after(first, inc=True) != first:
        return None  # DTSTART does not match its rule: RFC 5545 counts it anyway
    length = last.replace(tzinfo=zone).astimezone(UTC) - first.replace(tzinfo=zone) \
        .astimezone(UTC)
    if length < timedelta(0):
        return None
    parts = dict(p.split("=", 1) for p in rule_text.upper().split(";") if "=" in p)
    bounded = tuple(rule) if "COUNT" in parts else None
    return _SimpleSeries(zone, first, length, frozenset(skipped), rule, parts, bounded)


def simple_instances(
    text: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, datetime]] | None:
    """``(start, end, recurrence id)`` of the instances of a *simple* series overlapping
    ``[start, end)``, or ``None`` when the series is not simple and needs :func:`occurrences`.

    Simple: one VEVENT with a zoned (IANA ``TZID``) or UTC ``DTSTART`` and ``DTEND`` in the
    same form, one ``RRULE`` without ``UNTIL`` whose first instance is ``DTSTART``, optional
    ``EXDATE`` in that form, and nothing else that moves instances (``RDATE``, overrides).
    Most stored series (team meetings, working hours) are simple, and expanding them with
    dateutil on the wall clock of their zone costs a fraction of parsing the whole text; the
    result equals :func:`occurrences` (a test compares both).
    """
    series = _simple_series(text)
    if series is None:
        return None
    zone, first, length, skipped, rule, parts = (
        series.zone, series.first, series.length, series.skipped, series.rule, series.parts)
    # Naive wall-clock bounds with a day of slack for offsets, plus the instance length.
    lo = start.astimezone(zone).replace(tzinfo=None) - length - timedelta(days=1)
    hi = end.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    step_days = {"DAILY": 1, "WEEKLY": 7}.get(parts.get("FREQ", ""), 0)
    if step_days and "COUNT" not in parts and "BYSETPOS" not in parts:
        # An unbounded DAILY/WEEKLY series restarts whole periods before the window (the same
        # wall-clock instances), so the cost does not grow with the series' age.
        step = timedelta(days=step_days * max(1, int(parts.get("INTERVAL", "1") or 1)))
        periods = (lo - first - step) // step
        if periods > 0:
            rule = rule.replace(dtstart=first + step * periods)
    found = []
    if series.bounded is not None:
        listed = series.bounded
        candidates: Iterable[datetime] = listed[bisect_left(listed, lo):bisect_right(listed, hi)]
    else:
        candidates = rule.between(lo, hi, inc=True)
    for local in candidates:
        if local in skipped:
            continue
        begin = local.replace(tzinfo=zone).astimezone(UTC)
        finish = begin + length
        if begin < end and (finish > start or (finish == begin and begin >= start)):
            found.append((begin, finish, begin))
    return found


def date_values(comp: Component, name: str) -> list[date | datetime]:
    """The values of every ``name`` property (EXDATE, RDATE); a period gives its start."""
    values = comp.get(name)
    if values is None:
        return []
    out: list[date | datetime] = []
    for prop in values if isinstance(values, list) else [values]:
        for item in getattr(prop, "dts", []):
            value = item.dt[0] if isinstance(item.dt, tuple) else item.dt
            if isinstance(value, date):
                out.append(value)
    return out


def _events(source: Calendar | Component) -> list[Component]:
    """The VEVENTs that can occur (one without DTSTART has no time), each with a floating
    DTSTART or DTEND read in the other one's zone (:func:`resolve_mixed_pair`)."""
    return [_resolved(c) for c in source.walk("VEVENT") if c.get("DTSTART") is not None]


def _resolved(comp: Component) -> Component:
    start, end = comp.get("DTSTART"), comp.get("DTEND")
    if end is None:
        return comp
    first, last = resolve_mixed_pair(start.dt, end.dt)
    if first is start.dt and last is end.dt:
        return comp
    out = comp.copy()
    for sub in comp.subcomponents:
        out.add_component(sub)
    out["DTSTART"], out["DTEND"] = vDDDTypes(first), vDDDTypes(last)
    return out


def _local_values(comp: Component) -> bool:
    """Whether the component has a date or floating time (read in the caller's zone)."""
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID", "RDATE", "EXDATE"):
        values = comp.get(name)
        for prop in values if isinstance(values, list) else [values]:
            items = getattr(prop, "dts", None) or ([prop] if prop is not None else [])
            for item in items:
                value = item.dt[0] if isinstance(item.dt, tuple) else item.dt
                if isinstance(value, date) and getattr(value, "tzinfo", None) is None:
                    return True
    return False


def _shift(events: Iterable[Component], zone: tzinfo) -> timedelta:
    """How far an override moves its instance, at most (the window grows by that)."""
    shift = timedelta(0)
    for comp in events:
        rid, start = comp.get("RECURRENCE-ID"), comp.get("DTSTART")
        if rid is not None and start is not None and isinstance(rid.dt, date) \
                and isinstance(start.dt, date):
            shift = max(shift, abs(_utc(start.dt, zone) - _utc(rid.dt, zone)))
    return shift


def _occurrence(instance: Any, zone: tzinfo, known: dict[int, tuple[Any, bool]]
                ) -> Occurrence:
    """Our view of a recurring-ical-events occurrence (no component copy: that is the cost)."""
    comp: Component = instance._adapter._component  # the master or override it comes from
    facts = known.get(id(comp))
    if facts is None:  # property look-ups are slow; once per component
        rid_prop = comp.get("RECURRENCE-ID")
        facts = known[id(comp)] = (
            _aware(rid_prop.dt, zone) if rid_prop is not None else None,
            str(comp.get("STATUS", "")).upper() == "CANCELLED")
    start = _aware(instance.start, zone)
    return Occurrence(start=start, end=_aware(instance.end, zone),
                      recurrence_id=facts[0] if facts[0] is not None else start,
                      all_day=not isinstance(instance.start, datetime), cancelled=facts[1],
                      component=comp)


def _overlaps(occ: Occurrence, lo: datetime, hi: datetime) -> bool:
    # In UTC: Python compares two datetimes of one tzinfo by wall clock (wrong around DST).
    start, end = occ.start.astimezone(UTC), occ.end.astimezone(UTC)
    if start == end:  # a zero-length instance belongs where it starts
        return lo <= start < hi
    return start < hi and end > lo


def occurrences(source: Calendar | Component, start: datetime, end: datetime, *, zone: tzinfo,
                limit: int = DEFAULT_LIMIT) -> list[Occurrence]:
    """The VEVENT instances of ``source`` overlapping ``[start, end)`` (aware), sorted by start.

    A zero-length instance counts when it starts in the window.  ``EXDATE`` instances are left
    out; cancelled overrides are included with ``cancelled`` set (callers decide).  A series
    that cannot be expanded is logged and skipped; at most ``limit`` instances are returned.
    """
    found: list[Occurrence] = []
    for occ in _overlapping(source, start, end, zone):
        if len(found) >= limit:
            _LOGGER.warning("recurrence expansion stopped after %d occurrences", limit)
            break
        found.append(occ)
    return sorted(found, key=_order)


def occurs(source: Calendar | Component, start: datetime, end: datetime, *, zone: tzinfo
           ) -> bool:
    """Whether any instance (cancelled overrides included) overlaps ``[start, end)``.

    Stops at the first one, so an open range over an unbounded series costs little.
    """
    return next(_overlapping(source, start, end, zone), None) is not None


def _overlapping(source: Calendar | Component, start: datetime, end: datetime, zone: tzinfo
                 ) -> Iterator[Occurrence]:
    """The instances overlapping ``[start, end)``, in no particular order."""
    lo, hi = start.astimezone(UTC), end.astimezone(UTC)
    try:
        events = _events(source)
        # recurring-ical-events compares floating and all-day values as UTC: ask it wider.
        slack = _SLACK if any(_local_values(c) for c in events) else timedelta(0)
        before = lo - slack - _shift(events, zone)
        prepared = Calendar()
        for comp in events:
            if comp.get("RECURRENCE-ID") is None:
                ahead = before
                if comp.get("DTEND") is not None or comp.get("DURATION") is not None:
                    ahead -= EventAdapter(comp).duration
                comp = _prepared(comp, ahead, zone)
            prepared.add_component(comp)
        query: Any = recurring_ical_events.of(prepared, components=["VEVENT"])
    except (ValueError, TypeError) as exc:  # e.g. a broken RRULE the lenient parser kept
        _LOGGER.warning("cannot expand the recurrence: %s", exc)
        return
    known: dict[int, tuple[Any, bool]] = {}
    for series in query.series:
        try:
            for instance in series.between(lo - slack, hi + slack):
                occ = _occurrence(instance, zone, known)
                if _overlaps(occ, lo, hi):
                    yield occ
        except (ValueError, TypeError) as exc:
            _LOGGER.warning("cannot expand the series %s: %s", series.uid, exc)


def _order(occ: Occurrence) -> tuple[datetime, datetime]:
    return occ.start.astimezone(UTC), occ.recurrence_id.astimezone(UTC)
