"""RRULE ⇄ Graph ``patternedRecurrence`` (pure).

The model and the RRULE side are the neutral ones (:mod:`bridge.ical.patterns`: Graph inherited
EWS's recurrence model); here are Graph's JSON names: :func:`pattern_to_graph` and
:func:`pattern_from_graph`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bridge.ical.model import Moment
from bridge.ical.patterns import (
    DAYS,
    PATTERN_TYPES,
    Pattern,
    Unsupported,
    first_day_rule,
    local_start,
    pattern_rrule,
    rule_to_pattern,
)

__all__ = [
    "Pattern",
    "Unsupported",
    "pattern_from_graph",
    "pattern_rrule",
    "pattern_to_graph",
    "rule_to_pattern",
]

DAY_NAMES = dict(zip(DAYS, ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                            "sunday"), strict=True))
_CODES = {name: code for code, name in DAY_NAMES.items()}
INDEX_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_INDEXES = {name: number for number, name in INDEX_NAMES.items()}
_NO_END = "0001-01-01"


def pattern_to_graph(pattern: Pattern, start: Moment, *, tz_name: str) -> dict[str, Any]:
    """Graph's ``patternedRecurrence`` JSON (complete, as Graph answers it)."""
    first = local_start(start).date()
    range_type = ("numbered" if pattern.count is not None
                  else "endDate" if pattern.end is not None else "noEnd")
    return {
        "pattern": {
            "type": pattern.type,
            "interval": pattern.interval,
            "month": pattern.month if pattern.type.endswith("Yearly") else 0,
            "dayOfMonth": pattern.day_of_month,
            "daysOfWeek": [DAY_NAMES[d] for d in pattern.days],
            "firstDayOfWeek": DAY_NAMES[pattern.first_day],
            "index": INDEX_NAMES.get(pattern.index, "first"),
        },
        "range": {
            "type": range_type,
            "startDate": first.isoformat(),
            "endDate": pattern.end.isoformat() if pattern.end is not None else _NO_END,
            "recurrenceTimeZone": tz_name,
            "numberOfOccurrences": pattern.count or 0,
        },
    }


def pattern_from_graph(recurrence: dict[str, Any], start: Moment) -> Pattern:
    """The pattern of Graph's ``patternedRecurrence`` JSON; raises ``ValueError`` for an
    unknown pattern or range type."""
    pat = recurrence.get("pattern") or {}
    rng = recurrence.get("range") or {}
    kind = str(pat.get("type") or "")
    if kind not in PATTERN_TYPES:
        raise ValueError(f"unknown recurrence pattern type {kind!r}")
    first = local_start(start)
    days = tuple(sorted({_CODES[str(d).lower()] for d in pat.get("daysOfWeek") or []
                         if str(d).lower() in _CODES}, key=DAYS.index))
    if kind == "weekly" and not days:
        days = (DAYS[first.weekday()],)
    if kind.startswith("relative") and not days:
        raise ValueError("a relative recurrence pattern without days of the week")
    month = int(pat.get("month") or first.month) if kind.endswith("Yearly") else 0
    pattern = Pattern(
        type=kind,
        interval=max(int(pat.get("interval") or 1), 1),
        days=days if kind in ("weekly", "relativeMonthly", "relativeYearly") else (),
        first_day="MO",
        day_of_month=int(pat.get("dayOfMonth") or first.day) if kind.startswith("absolute")
        else 0,
        month=month,
        index=_INDEXES.get(str(pat.get("index") or "first"), 1) if kind.startswith("relative")
        else 0,
    )
    first_day = _CODES.get(str(pat.get("firstDayOfWeek") or "").lower(), "MO")
    range_type = str(rng.get("type") or "noEnd")
    count = int(rng.get("numberOfOccurrences") or 0) if range_type == "numbered" else None
    end = (date.fromisoformat(str(rng["endDate"])[:10])
           if range_type == "endDate" and rng.get("endDate") else None)
    return Pattern(pattern.type, pattern.interval, pattern.days, first_day_rule(pattern, first_day),
                   pattern.day_of_month, pattern.month, pattern.index,
                   count if count else None, end)
