"""RRULE ⇄ the Exchange recurrence model (pure), shared by the Graph and the EWS mappings.

Exchange holds a recurrence as a pattern (daily, weekly, absolute/relative monthly,
absolute/relative yearly; interval, days of the week, first day of the week, day of month,
month, week index) and a range (no end, numbered, an inclusive local end date); Microsoft Graph
inherited the model from EWS.  :func:`rule_to_pattern` reads an RRULE into that model and
reports every part it cannot express (:class:`Unsupported`), :func:`pattern_rrule` renders a
model back as one canonical RRULE text (the text both sides of a mapping hash).  The wire forms
live with each provider (``bridge.microsoft.mapping_recurrence``,
``bridge.exchange.mapping_recurrence``).

Two Exchange rules shape the table (``docs/mapping.md``):
- a day of month larger than the month has means the month's **last day** (EWS
  ``DayOfMonth``), so day 30 is ``BYMONTHDAY=28,29,30;BYSETPOS=-1`` and 31 is
  ``BYMONTHDAY=-1``; a plain ``BYMONTHDAY=30`` (skip short months) has no Exchange form;
- the series starts at the first date the pattern gives, so a DTSTART off the rule (which
  iCalendar counts as an extra first instance) is reported.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from dateutil.rrule import rrulestr
from icalendar import vRecur

from bridge.ical.fields import canonical_rrule
from bridge.ical.model import Moment
from bridge.ical.moments import zone, zoned
from bridge.ical.recurrence import normalize_until, until_text

__all__ = [
    "DAYS",
    "PATTERN_TYPES",
    "Pattern",
    "Unsupported",
    "first_day_rule",
    "local_start",
    "pattern_rrule",
    "rule_to_pattern",
]

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_INDEXES = (1, 2, 3, 4, -1)
PATTERN_TYPES = ("daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly",
                 "relativeYearly")
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")


@dataclass(frozen=True)
class Unsupported:
    """One part of a resource Exchange (EWS or Graph) cannot hold.

    ``code`` names the kind (stable, for the UI's translated text): ``rdate``, ``frequency``,
    ``bytime``, ``byweekno``, ``byyearday``, ``bymonth``, ``bymonthday``, ``byday``,
    ``bysetpos``, ``rule-part``, ``dtstart-off-rule``, ``several-rules``, ``exrule``,
    ``range-override``; ``detail`` says what exactly (for logs); ``recurrence_id`` is the
    override it concerns (``Moment.key()``), ``None`` for the series.
    """

    code: str
    detail: str
    recurrence_id: str | None = None


@dataclass(frozen=True)
class Pattern:
    """A recurrence as Exchange holds it (``index``: 1..4 or -1; days as ``MO``..``SU``)."""

    type: str
    interval: int = 1
    days: tuple[str, ...] = ()
    first_day: str = "MO"
    day_of_month: int = 0
    month: int = 0
    index: int = 0
    count: int | None = None
    end: date | None = None


def _min_len(month: int) -> int:
    """The fewest days month ``month`` (0: any month) ever has."""
    return 28 if month in (0, 2) else calendar.monthrange(2001, month)[1]


def _max_len(month: int) -> int:
    """The most days month ``month`` (0: any month) ever has."""
    return 31 if month == 0 else calendar.monthrange(2000, month)[1]


def _monthday(days: list[int], setpos: list[int], default: int, month: int) -> int | None:
    """Exchange's day of month for BYMONTHDAY (+BYSETPOS), ``None`` when it has none."""
    low, high = _min_len(month), _max_len(month)
    if not days and not setpos:
        return default if default <= low else None
    if len(days) == 1 and not setpos:
        return days[0] if 0 < days[0] <= low else (high if days[0] == -1 else None)
    if setpos == [-1] and sorted(days) == list(range(low, max(days) + 1)) and max(days) > low:
        return min(max(days), high)
    return None


def _relative(byday: list[tuple[int | None, str]], setpos: list[int]
              ) -> tuple[tuple[str, ...], int] | None:
    """Days and week index for BYDAY (+BYSETPOS), ``None`` when Exchange has no such pattern."""
    if setpos:
        if len(setpos) != 1 or setpos[0] not in _INDEXES or any(n for n, _ in byday):
            return None
        return tuple(sorted({c for _, c in byday}, key=DAYS.index)), setpos[0]
    if len(byday) == 1 and byday[0][0] in _INDEXES:
        return (byday[0][1],), int(byday[0][0] or 0)
    return None


def _values(rule: vRecur, key: str) -> list[Any]:
    value = rule.get(key)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _byday(rule: vRecur, problems: list[Unsupported]) -> list[tuple[int | None, str]]:
    out: list[tuple[int | None, str]] = []
    for item in _values(rule, "BYDAY"):
        match = _BYDAY.match(str(item).upper())
        if match is None:
            problems.append(Unsupported("byday", f"BYDAY={item}"))
            continue
        out.append((int(match.group(1)) if match.group(1) else None, match.group(2)))
    return out


def local_start(start: Moment) -> datetime:
    value = start.value
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value.astimezone(zone(start.tz or "UTC")).replace(tzinfo=None)


def _end_date(until: date | datetime, start: Moment) -> date:
    """The inclusive local end date for UNTIL (the last date with an instance at or before it)."""
    value = normalize_until(until, start.value)
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        local = value
    else:
        local = value.astimezone(zone(start.tz or "UTC")).replace(tzinfo=None)
    wall = local_start(start).time()
    return local.date() if local.time() >= wall else local.date() - timedelta(days=1)


def _shape(freq: str, interval: int, byday: list[tuple[int | None, str]], monthdays: list[int],
           months: list[int], setpos: list[int], first: datetime, problems: list[Unsupported]
           ) -> Pattern | None:
    """The pattern for the BY* parts, or ``None`` (with the reason appended)."""
    weekday = DAYS[first.weekday()]
    plain_days = tuple(sorted({c for n, c in byday if n is None}, key=DAYS.index))
    if freq in ("DAILY", "WEEKLY"):
        if months or monthdays or setpos or any(n is not None for n, _ in byday):
            problems.append(Unsupported("rule-part", f"{freq} with BYMONTH/BYMONTHDAY/BYSETPOS"
                                                     " or numbered BYDAY"))
            return None
        if freq == "DAILY" and byday and interval != 1:
            problems.append(Unsupported("byday", "DAILY with BYDAY and INTERVAL > 1"))
            return None
        if freq == "DAILY" and not byday:
            return Pattern("daily", interval)
        return Pattern("weekly", interval, plain_days or (weekday,))
    if freq == "MONTHLY" and months:
        problems.append(Unsupported("bymonth", "MONTHLY with BYMONTH"))
        return None
    if len(months) > 1:
        problems.append(Unsupported("bymonth", f"BYMONTH={','.join(map(str, months))}"))
        return None
    if freq == "YEARLY" and not months and monthdays:
        problems.append(Unsupported("bymonthday", "YEARLY with BYMONTHDAY but no BYMONTH"))
        return None
    month = 0 if freq == "MONTHLY" else (months[0] if months else first.month)
    kind = "Monthly" if freq == "MONTHLY" else "Yearly"
    if byday:
        relative = None if monthdays or (freq == "YEARLY" and not months) else _relative(
            byday, setpos)
        if relative is None:
            problems.append(Unsupported("byday" if not setpos else "bysetpos",
                                        f"{freq} with this BYDAY/BYSETPOS combination"))
            return None
        return Pattern("relative" + kind, interval, relative[0], month=month, index=relative[1])
    day = _monthday(monthdays, setpos, first.day, month)
    if day is None:
        problems.append(Unsupported("bymonthday" if not setpos else "bysetpos",
                                    "a day of month Exchange would move to the month's last day"))
        return None
    return Pattern("absolute" + kind, interval, day_of_month=day, month=month)


def rule_to_pattern(rule: vRecur, start: Moment) -> tuple[Pattern | None, list[Unsupported]]:
    """Exchange's pattern for an RRULE of a series starting at ``start`` (projected), and what it
    cannot express.  The pattern is ``None`` when the rule has no Exchange form at all."""
    problems: list[Unsupported] = []
    freq = str(_values(rule, "FREQ")[0]).upper() if _values(rule, "FREQ") else ""
    if freq not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        return None, [Unsupported("frequency", f"FREQ={freq or '?'}")]
    for key, code in (("BYSECOND", "bytime"), ("BYMINUTE", "bytime"), ("BYHOUR", "bytime"),
                      ("BYWEEKNO", "byweekno"), ("BYYEARDAY", "byyearday")):
        if _values(rule, key):
            problems.append(Unsupported(code, f"{key} in the rule"))
    first = local_start(start)
    interval = int(_values(rule, "INTERVAL")[0]) if _values(rule, "INTERVAL") else 1
    pattern = _shape(freq, interval, _byday(rule, problems),
                     [int(v) for v in _values(rule, "BYMONTHDAY")],
                     [int(v) for v in _values(rule, "BYMONTH")],
                     [int(v) for v in _values(rule, "BYSETPOS")], first, problems)
    if pattern is None or problems:
        return None, problems
    wkst = str(_values(rule, "WKST")[0]).upper() if _values(rule, "WKST") else "MO"
    count = int(_values(rule, "COUNT")[0]) if _values(rule, "COUNT") else None
    until = _values(rule, "UNTIL")
    pattern = Pattern(pattern.type, pattern.interval, pattern.days, first_day_rule(pattern, wkst),
                      pattern.day_of_month, pattern.month, pattern.index, count,
                      _end_date(until[0], start) if until else None)
    if not _starts_on_rule(pattern, start):
        problems.append(Unsupported("dtstart-off-rule",
                                    "DTSTART is no instance of the rule; Exchange starts the "
                                    "series at the rule's first date"))
    return pattern, problems


def first_day_rule(pattern: Pattern, wkst: str) -> str:
    """WKST when it changes the instances (weekly, interval > 1, several days), else Monday."""
    if pattern.type == "weekly" and pattern.interval > 1 and len(pattern.days) > 1:
        return wkst if wkst in DAYS else "MO"
    return "MO"


def _starts_on_rule(pattern: Pattern, start: Moment) -> bool:
    first = local_start(start)
    text = pattern_rrule(Pattern(pattern.type, pattern.interval, pattern.days, pattern.first_day,
                                 pattern.day_of_month, pattern.month, pattern.index), start)
    try:
        found = rrulestr("RRULE:" + text, dtstart=first).after(first, inc=True)
    except (ValueError, TypeError, OverflowError):
        return True
    return bool(found == first)


def _monthday_parts(day: int, month: int) -> str:
    low, high = _min_len(month), _max_len(month)
    day = min(day, high)  # Exchange's April 31 is April's last day, the 30th
    if day <= low:
        return f"BYMONTHDAY={day}"
    if day >= high:
        return "BYMONTHDAY=-1"
    return f"BYMONTHDAY={','.join(str(d) for d in range(low, day + 1))};BYSETPOS=-1"


def _byday_parts(days: tuple[str, ...], index: int) -> str:
    if len(days) == 1:
        return f"BYDAY={index}{days[0]}"
    return f"BYDAY={','.join(days)};BYSETPOS={index}"


def pattern_rrule(pattern: Pattern, start: Moment) -> str:
    """The canonical RRULE text of a pattern for a series starting at ``start`` (projected)."""
    parts: list[str]
    if pattern.type == "daily":
        parts = ["FREQ=DAILY"]
    elif pattern.type == "weekly":
        parts = ["FREQ=WEEKLY", f"BYDAY={','.join(pattern.days)}"]
        if pattern.first_day != "MO":
            parts.append(f"WKST={pattern.first_day}")
    elif pattern.type.endswith("Monthly"):
        parts = ["FREQ=MONTHLY"]
    else:
        parts = ["FREQ=YEARLY", f"BYMONTH={pattern.month}"]
    if pattern.type.startswith("absolute"):
        parts.append(_monthday_parts(pattern.day_of_month, pattern.month))
    elif pattern.type.startswith("relative"):
        parts.append(_byday_parts(pattern.days, pattern.index))
    if pattern.interval > 1:
        parts.append(f"INTERVAL={pattern.interval}")
    if pattern.count is not None:
        parts.append(f"COUNT={pattern.count}")
    elif pattern.end is not None:
        parts.append(f"UNTIL={_until(pattern.end, start)}")
    return canonical_rrule(";".join(parts))


def _until(end: date, start: Moment) -> str:
    """UNTIL for an inclusive end date: the date (all-day), else that date at the series'
    wall-clock start time, in UTC."""
    if not isinstance(start.value, datetime):
        return until_text(end)
    tz = start.tz or "UTC"
    wall = datetime.combine(end, local_start(start).time()).replace(tzinfo=zone(tz))
    return until_text(zoned(wall, tz).value)
