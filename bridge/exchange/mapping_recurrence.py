"""RRULE ⇄ EWS ``Recurrence`` (pure): the neutral pattern model (:mod:`bridge.ical.patterns`)
in EWS's names.

A recurrence is a JSON-able dict as the client reads it from and writes it to exchangelib:
``{"pattern": {"type", "interval", "weekdays", "first_day_of_week", "day_of_month", "month",
"weekday", "week_number"}, "boundary": {"type": "no_end" | "end_date" | "numbered", "start",
"end", "number"}}`` with EWS's enum spellings (``Monday``, ``January``, ``First`` … ``Last``)
and ISO dates.  EWS's relative patterns take **one** ``DaysOfWeek`` value: a weekday, ``Day``
(every day), ``Weekday`` (Monday to Friday) or ``WeekendDay``; other day sets have no EWS form
(:func:`ews_unsupported`).
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
)

__all__ = ["WEEKDAYS", "ews_unsupported", "pattern_from_ews", "pattern_to_ews"]

WEEKDAYS = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                           "Sunday"), strict=True))
_CODES = {name: code for code, name in WEEKDAYS.items()}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEK_NUMBERS = {1: "First", 2: "Second", 3: "Third", 4: "Fourth", -1: "Last"}
_INDEXES = {name: number for number, name in WEEK_NUMBERS.items()}
# EWS's day groups of the relative patterns.
DAY_GROUPS = {"Day": DAYS, "Weekday": DAYS[:5], "WeekendDay": DAYS[5:]}


def _relative_day(days: tuple[str, ...]) -> str | None:
    if len(days) == 1:
        return WEEKDAYS[days[0]]
    for name, group in DAY_GROUPS.items():
        if tuple(days) == group:
            return name
    return None


def ews_unsupported(pattern: Pattern) -> list[Unsupported]:
    """What EWS cannot hold of a pattern the neutral model accepts: several days of a
    relative pattern other than EWS's day groups, a yearly interval, an interval beyond EWS's
    limits (999 days, 99 weeks or months), more than 999 occurrences."""
    out = []
    if pattern.type.startswith("relative") and _relative_day(pattern.days) is None:
        out.append(Unsupported("byday", f"relative pattern on {','.join(pattern.days)}: EWS "
                                        "holds one weekday or a day group"))
    if pattern.type.endswith("Yearly") and pattern.interval != 1:
        out.append(Unsupported("rule-part", "a yearly INTERVAL: EWS repeats every year"))
    elif pattern.interval > (999 if pattern.type == "daily" else 99):
        out.append(Unsupported("rule-part", f"INTERVAL={pattern.interval} beyond EWS's limit"))
    if pattern.count is not None and not 1 <= pattern.count <= 999:
        out.append(Unsupported("rule-part", f"COUNT={pattern.count} beyond EWS's limit"))
    return out


def pattern_to_ews(pattern: Pattern, start: Moment) -> dict[str, Any]:
    """The EWS recurrence dict of a pattern (see :func:`ews_unsupported` first)."""
    body: dict[str, Any] = {"type": pattern.type, "interval": pattern.interval}
    if pattern.type == "weekly":
        body["weekdays"] = [WEEKDAYS[d] for d in pattern.days]
        body["first_day_of_week"] = WEEKDAYS[pattern.first_day]
    if pattern.type.startswith("absolute"):
        body["day_of_month"] = pattern.day_of_month
    if pattern.type.startswith("relative"):
        body["weekday"] = _relative_day(pattern.days)
        body["week_number"] = WEEK_NUMBERS[pattern.index]
    if pattern.type.endswith("Yearly"):
        body["month"] = MONTHS[pattern.month - 1]
        body["interval"] = 1  # EWS's yearly patterns have no interval (RRULE holds 1)
    first = local_start(start).date().isoformat()
    boundary: dict[str, Any]
    if pattern.count is not None:
        boundary = {"type": "numbered", "start": first, "number": pattern.count}
    elif pattern.end is not None:
        boundary = {"type": "end_date", "start": first, "end": pattern.end.isoformat()}
    else:
        boundary = {"type": "no_end", "start": first}
    return {"pattern": body, "boundary": boundary}


def pattern_from_ews(recurrence: dict[str, Any], start: Moment) -> Pattern:
    """The pattern of an EWS recurrence dict; ``ValueError`` for an unknown shape."""
    pat = recurrence.get("pattern") or {}
    rng = recurrence.get("boundary") or {}
    kind = str(pat.get("type") or "")
    if kind not in PATTERN_TYPES:
        raise ValueError(f"unknown EWS recurrence pattern {kind!r}")
    first = local_start(start)
    days: tuple[str, ...] = ()
    index = 0
    if kind == "weekly":
        days = tuple(sorted({_CODES[d] for d in pat.get("weekdays") or [] if d in _CODES},
                            key=DAYS.index)) or (DAYS[first.weekday()],)
    elif kind.startswith("relative"):
        name = str(pat.get("weekday") or "")
        days = DAY_GROUPS.get(name) or ((_CODES[name],) if name in _CODES else ())
        if not days:
            raise ValueError(f"a relative EWS pattern on {name!r}")
        index = _INDEXES.get(str(pat.get("week_number") or "First"), 1)
    month = 0
    if kind.endswith("Yearly"):
        name = str(pat.get("month") or "")
        month = MONTHS.index(name) + 1 if name in MONTHS else first.month
    interval = 1 if kind.endswith("Yearly") else max(int(pat.get("interval") or 1), 1)
    pattern = Pattern(kind, interval, days, "MO",
                      int(pat.get("day_of_month") or first.day) if kind.startswith("absolute")
                      else 0, month, index)
    first_day = _CODES.get(str(pat.get("first_day_of_week") or ""), "MO")
    kind_range = str(rng.get("type") or "no_end")
    count = int(rng.get("number") or 0) if kind_range == "numbered" else None
    end = (date.fromisoformat(str(rng["end"])[:10])
           if kind_range == "end_date" and rng.get("end") else None)
    return Pattern(pattern.type, pattern.interval, pattern.days,
                   first_day_rule(pattern, first_day), pattern.day_of_month, pattern.month,
                   pattern.index, count or None, end)
