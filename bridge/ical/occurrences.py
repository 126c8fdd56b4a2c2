"""Occurrences of one recurring calendar object in a time window (RRULE, RDATE, EXDATE, overrides).

:func:`occurrences` expands a series the way clients show it: ``RRULE`` and ``RDATE`` instances
(``DTSTART`` always counts as the first), minus ``EXDATE``, with each ``RECURRENCE-ID`` override
replacing the instance it names (moved to its own start, or dropped when it is
``STATUS:CANCELLED``).  Zoned times recur in wall-clock time of their own zone, so a weekly 10:00
in Europe/Berlin stays at 10:00 local across the DST change; floating times and all-day dates are
read in the calendar's zone.

The work is bounded for unbounded series: a ``DAILY``/``WEEKLY`` rule without ``COUNT`` starts
expanding a whole number of periods before the window instead of at ``DTSTART``, and any
expansion stops after ``max_steps`` instances.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from dateutil.rrule import rrulestr
from icalendar import Calendar

__all__ = ["Occurrence", "date_values", "occurrences"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Occurrence:
    """One instance: its start and end (aware), the instance it stands for, and its component."""

    start: datetime
    end: datetime
    recurrence_id: datetime
    all_day: bool
    component: Any


def _local(value: date | datetime, zone: tzinfo) -> datetime:
    """An aware datetime: dates at local midnight, floating times in ``zone``."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def date_values(comp: Any, name: str) -> list[date | datetime]:
    """The values of every ``name`` property (EXDATE, RDATE); a period gives its start."""
    values = comp.get(name)
    if values is None:
        return []
    out: list[date | datetime] = []
    for prop in values if isinstance(values, list) else [values]:
        for item in getattr(prop, "dts", []):
            dt = item.dt
            if isinstance(dt, tuple):  # RDATE;VALUE=PERIOD: the period's start
                dt = dt[0]
            if isinstance(dt, date):
                out.append(dt)
    return out


def _duration(comp: Any) -> timedelta:
    start = comp.get("DTSTART")
    end = comp.get("DTEND")
    if start is not None and end is not None:
        a, b = start.dt, end.dt
        if isinstance(a, datetime) and isinstance(b, datetime):
            if (a.tzinfo is None) == (b.tzinfo is None):
                a = a if a.tzinfo else a.replace(tzinfo=UTC)
                b = b if b.tzinfo else b.replace(tzinfo=UTC)
                return max(timedelta(0), b.astimezone(UTC) - a.astimezone(UTC))
        elif not isinstance(a, datetime) and not isinstance(b, datetime):
            days: timedelta = b - a
            return max(timedelta(0), days)
    duration = comp.get("DURATION")
    if duration is not None and isinstance(duration.dt, timedelta):
        span: timedelta = duration.dt
        return span
    if start is not None and not isinstance(start.dt, datetime):
        return timedelta(days=1)
    return timedelta(0)


def _fast_forward(rule: str, dtstart: datetime, lo: datetime) -> datetime:
    """A later DTSTART of the same DAILY/WEEKLY series (no COUNT), a whole period before ``lo``."""
    upper = rule.upper()
    if "COUNT=" in upper or "BYSETPOS" in upper:
        return dtstart
    freq = re.search(r"FREQ=(\w+)", upper)
    interval = re.search(r"INTERVAL=(\d+)", upper)
    step_days = {"DAILY": 1, "WEEKLY": 7}.get(freq.group(1) if freq else "", 0)
    if not step_days:
        return dtstart
    step = timedelta(days=step_days * max(1, int(interval.group(1)) if interval else 1))
    gap = lo.astimezone(UTC) - dtstart.astimezone(UTC) - step - timedelta(days=2)
    periods = gap // step if gap > timedelta(0) else 0
    if periods <= 0:
        return dtstart
    # Wall-clock arithmetic: the same local time of day after a whole number of periods.
    naive = dtstart.replace(tzinfo=None) + step * periods
    return naive.replace(tzinfo=dtstart.tzinfo)


def _utc_until(rule: str, until: date | datetime | None, dtstart: datetime) -> str:
    """dateutil wants a UTC UNTIL for a zoned DTSTART; clients send dates or local times."""
    if until is None:
        return rule
    if not isinstance(until, datetime):
        until = datetime(until.year, until.month, until.day, 23, 59, 59)
    if until.tzinfo is None:
        until = until.replace(tzinfo=dtstart.tzinfo)
    return re.sub(r"UNTIL=[^;]+", "UNTIL=" + until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"),
                  rule, flags=re.IGNORECASE)


def _key(value: datetime) -> int:
    return int(value.astimezone(UTC).timestamp())


def occurrences(
    cal: Calendar, zone: tzinfo, lo: datetime, hi: datetime, *, max_steps: int = 50_000,
) -> list[Occurrence]:
    """The VEVENT instances of ``cal`` that start in ``[lo, hi)``, sorted by start.

    Cancelled overrides and ``EXDATE`` instances are left out; a moved override appears at its
    new start (also when it moved into the window from outside).
    """
    master: Any = None
    overrides: dict[int, Any] = {}
    for comp in cal.walk("VEVENT"):
        rid = comp.get("RECURRENCE-ID")
        if rid is None:
            if master is None:
                master = comp
        elif isinstance(rid.dt, date):
            overrides[_key(_local(rid.dt, zone))] = comp
    if master is None or master.get("DTSTART") is None:
        return []
    raw_start = master["DTSTART"].dt
    all_day = not isinstance(raw_start, datetime)
    dtstart = _local(raw_start, zone)
    tz = dtstart.tzinfo or zone
    duration = _duration(master)

    def in_tz(value: date | datetime) -> datetime:
        return _local(value, tz)

    exdates = {_key(in_tz(d)) for d in date_values(master, "EXDATE") if isinstance(d, datetime)
               or all_day}
    exdays = {d for d in date_values(master, "EXDATE")
              if not isinstance(d, datetime) and not all_day}
    starts: dict[int, datetime] = {_key(dtstart): dtstart}
    for extra in date_values(master, "RDATE"):
        value = in_tz(extra)
        starts.setdefault(_key(value), value)
    # Instances that may sit in the window or be moved into it by an override.
    shift = max((abs(_key(_local(o["DTSTART"].dt, zone)) - key) for key, o in overrides.items()
                 if o.get("DTSTART") is not None), default=0)
    window_lo = lo - timedelta(seconds=shift) - duration
    window_hi = hi + timedelta(seconds=shift)
    rule = master.get("RRULE")
    if rule is not None and not isinstance(rule, list):
        text = rule.to_ical().decode("utf-8")
        until = rule.get("UNTIL")
        text = _utc_until(text, until[0] if until else None, dtstart)
        begin = _fast_forward(text, dtstart, window_lo)
        try:
            rule_obj: Any = rrulestr("RRULE:" + text, dtstart=begin, unfold=True)
        except (ValueError, TypeError) as exc:
            _LOGGER.warning("cannot expand RRULE %r: %s", text, exc)
            rule_obj = []
        for step, value in enumerate(rule_obj):
            if value >= window_hi:
                break
            if step >= max_steps:
                _LOGGER.warning("recurrence expansion stopped after %d instances", max_steps)
                break
            if value >= window_lo:
                starts.setdefault(_key(value), value)
    found: list[Occurrence] = []
    for key, start in starts.items():
        if key in exdates or start.date() in exdays or key in overrides:
            continue
        if lo <= start < hi:
            found.append(Occurrence(start, start + duration, start, all_day, master))
    for key, comp in overrides.items():
        if key in exdates or comp.get("DTSTART") is None:
            continue
        if str(comp.get("STATUS", "")).upper() == "CANCELLED":
            continue
        start = _local(comp["DTSTART"].dt, zone)
        if lo <= start < hi:
            rid = _local(comp["RECURRENCE-ID"].dt, zone)
            found.append(Occurrence(start, start + _duration(comp), rid,
                                    not isinstance(comp["DTSTART"].dt, datetime), comp))
    found.sort(key=lambda o: (o.start.astimezone(UTC), _key(o.recurrence_id)))
    return found
