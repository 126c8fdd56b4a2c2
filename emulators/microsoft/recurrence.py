"""Graph's ``patternedRecurrence`` (pattern + range) expanded into occurrence start times.

Pure logic: :func:`validate` checks the pattern/range model (types, required members, index and
day names) and :func:`expand` turns it into local start times (naive, in the series' zone),
starting at ``range.startDate`` with the master's time of day; ``endDate`` is inclusive,
``numbered`` counts occurrences, ``noEnd`` stops at a horizon.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dateutil import rrule

__all__ = ["DAYS", "expand", "validate"]

DAYS: dict[str, rrule.weekday] = {
    "monday": rrule.MO, "tuesday": rrule.TU, "wednesday": rrule.WE, "thursday": rrule.TH,
    "friday": rrule.FR, "saturday": rrule.SA, "sunday": rrule.SU,
}
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_FREQ: dict[str, Any] = {
    "daily": rrule.DAILY, "weekly": rrule.WEEKLY, "absoluteMonthly": rrule.MONTHLY,
    "relativeMonthly": rrule.MONTHLY, "absoluteYearly": rrule.YEARLY,
    "relativeYearly": rrule.YEARLY,
}
_RANGES = ("endDate", "noEnd", "numbered")


def _days(pattern: dict[str, Any]) -> list[rrule.weekday]:
    names = pattern.get("daysOfWeek") or []
    if not isinstance(names, list) or not names:
        raise ValueError("daysOfWeek is required for this pattern type.")
    unknown = [n for n in names if str(n).lower() not in DAYS]
    if unknown:
        raise ValueError(f"Unknown day of week: {unknown[0]}.")
    return [DAYS[str(n).lower()] for n in names]


def validate(recurrence: Any) -> None:
    """Raise ``ValueError`` naming the first problem of a ``patternedRecurrence``."""
    if not isinstance(recurrence, dict):
        raise ValueError("recurrence must be an object.")
    pattern, rng = recurrence.get("pattern"), recurrence.get("range")
    if not isinstance(pattern, dict) or not isinstance(rng, dict):
        raise ValueError("recurrence needs both a pattern and a range.")
    kind = pattern.get("type")
    if kind not in _FREQ:
        raise ValueError(f"Unknown recurrence pattern type: {kind}.")
    interval = pattern.get("interval", 1)
    if not isinstance(interval, int) or interval < 1:
        raise ValueError("The recurrence pattern interval must be a positive integer.")
    if kind in ("weekly", "relativeMonthly", "relativeYearly"):
        _days(pattern)
    if kind in ("relativeMonthly", "relativeYearly") and (
            pattern.get("index", "first") not in _INDEX):
        raise ValueError(f"Unknown week index: {pattern.get('index')}.")
    if kind in ("absoluteMonthly", "absoluteYearly") and not 1 <= int(
            pattern.get("dayOfMonth") or 0) <= 31:
        raise ValueError("dayOfMonth must be between 1 and 31.")
    if kind in ("absoluteYearly", "relativeYearly") and not 1 <= int(
            pattern.get("month") or 0) <= 12:
        raise ValueError("month must be between 1 and 12.")
    if rng.get("type") not in _RANGES:
        raise ValueError(f"Unknown recurrence range type: {rng.get('type')}.")
    start = dt.date.fromisoformat(str(rng.get("startDate") or ""))
    if rng["type"] == "endDate" and dt.date.fromisoformat(str(rng.get("endDate") or "")) < start:
        raise ValueError("The recurrence range end date is before its start date.")
    if rng["type"] == "numbered" and int(rng.get("numberOfOccurrences") or 0) < 1:
        raise ValueError("numberOfOccurrences must be at least 1.")


def expand(recurrence: dict[str, Any], time_of_day: dt.time, *,
           until: dt.datetime, limit: int) -> list[dt.datetime]:
    """Local (naive) occurrence starts up to ``until`` (and at most ``limit`` of them)."""
    pattern, rng = recurrence["pattern"], recurrence["range"]
    kind = pattern["type"]
    start = dt.datetime.combine(dt.date.fromisoformat(str(rng["startDate"])), time_of_day)
    kwargs: dict[str, Any] = {"interval": int(pattern.get("interval", 1)), "dtstart": start}
    if kind == "weekly":
        kwargs["byweekday"] = _days(pattern)
        first = str(pattern.get("firstDayOfWeek") or "sunday").lower()
        kwargs["wkst"] = DAYS.get(first, rrule.SU)
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        kwargs["bymonthday"] = int(pattern["dayOfMonth"])
    elif kind != "daily":
        kwargs["byweekday"] = _days(pattern)
        kwargs["bysetpos"] = _INDEX[str(pattern.get("index") or "first")]
    if kind in ("absoluteYearly", "relativeYearly"):
        kwargs["bymonth"] = int(pattern["month"])
    if rng["type"] == "numbered":
        kwargs["count"] = int(rng["numberOfOccurrences"])
    elif rng["type"] == "endDate":
        end = dt.date.fromisoformat(str(rng["endDate"]))
        kwargs["until"] = dt.datetime.combine(end, dt.time(23, 59, 59))
    out: list[dt.datetime] = []
    for when in rrule.rrule(_FREQ[kind], **kwargs):
        if when > until or len(out) >= limit:
            break
        out.append(when)
    return out
