"""EWS recurrence (``t:Recurrence``: one pattern + one range) to occurrence start times.

Patterns: ``DailyRecurrence``, ``WeeklyRecurrence`` (``DaysOfWeek``, ``FirstDayOfWeek``),
``AbsoluteMonthlyRecurrence`` (``DayOfMonth``; 29-31 fall on a shorter month's last day, as
Outlook does), ``RelativeMonthlyRecurrence`` (``DaysOfWeek``, ``DayOfWeekIndex``),
``AbsoluteYearlyRecurrence`` and ``RelativeYearlyRecurrence`` (``Month``).  Ranges:
``NoEndRecurrence``, ``EndDateRecurrence`` (end date inclusive), ``NumberedRecurrence``.
Occurrences keep the master's wall-clock time in its start time zone; the range's
``StartDate`` is the first day considered.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from itertools import islice
from typing import Any

from dateutil import rrule

from emulators.ews.soap import EwsError, local, t

__all__ = ["Series", "parse_recurrence"]

_DAYS = {"Monday": rrule.MO, "Tuesday": rrule.TU, "Wednesday": rrule.WE, "Thursday": rrule.TH,
         "Friday": rrule.FR, "Saturday": rrule.SA, "Sunday": rrule.SU}
_GROUPS = {"Day": list(_DAYS.values()),
           "Weekday": [rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR],
           "WeekendDay": [rrule.SA, rrule.SU]}
_INDEX = {"First": 1, "Second": 2, "Third": 3, "Fourth": 4, "Last": -1}
_MONTHS = {name: i for i, name in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"], start=1)}


def _bad(message: str) -> EwsError:
    return EwsError("ErrorCalendarInvalidRecurrence", message)


def _text(elem: ET.Element, name: str, default: str | None = None) -> str:
    child = elem.find(t(name))
    if child is None or child.text is None:
        if default is None:
            raise _bad(f"Recurrence element {name} is missing.")
        return default
    return child.text.strip()


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError as exc:
        raise _bad(f"Invalid date {value!r}.") from exc


def _days(value: str) -> list[Any]:
    days: list[Any] = []
    for name in value.split():
        if name in _GROUPS:
            days.extend(_GROUPS[name])
        elif name in _DAYS:
            days.append(_DAYS[name])
        else:
            raise _bad(f"Invalid day of week {name!r}.")
    return days


def _int(elem: ET.Element, name: str, default: str | None = None) -> int:
    try:
        value = int(_text(elem, name, default))
    except ValueError as exc:
        raise _bad(f"{name} must be a number.") from exc
    if value < 1:
        raise _bad(f"{name} must be positive.")
    return value


def _month_day(day: int) -> dict[str, Any]:
    if day <= 28:
        return {"bymonthday": day}
    return {"bymonthday": list(range(28, day + 1)), "bysetpos": -1}


def _pattern(elem: ET.Element) -> dict[str, Any]:
    kind = local(elem.tag)
    if kind == "DailyRecurrence":
        return {"freq": rrule.DAILY, "interval": _int(elem, "Interval")}
    if kind == "WeeklyRecurrence":
        return {"freq": rrule.WEEKLY, "interval": _int(elem, "Interval"),
                "byweekday": _days(_text(elem, "DaysOfWeek")),
                "wkst": _DAYS[_text(elem, "FirstDayOfWeek", "Sunday")]}
    if kind == "AbsoluteMonthlyRecurrence":
        return {"freq": rrule.MONTHLY, "interval": _int(elem, "Interval"),
                **_month_day(_int(elem, "DayOfMonth"))}
    if kind == "RelativeMonthlyRecurrence":
        return {"freq": rrule.MONTHLY, "interval": _int(elem, "Interval"),
                "byweekday": _days(_text(elem, "DaysOfWeek")),
                "bysetpos": _INDEX.get(_text(elem, "DayOfWeekIndex"), 1)}
    if kind in ("AbsoluteYearlyRecurrence", "RelativeYearlyRecurrence"):
        month = _MONTHS.get(_text(elem, "Month"))
        if month is None:
            raise _bad("Invalid month.")
        if kind == "AbsoluteYearlyRecurrence":
            return {"freq": rrule.YEARLY, "bymonth": month, **_month_day(_int(elem, "DayOfMonth"))}
        return {"freq": rrule.YEARLY, "bymonth": month,
                "byweekday": _days(_text(elem, "DaysOfWeek")),
                "bysetpos": _INDEX.get(_text(elem, "DayOfWeekIndex"), 1)}
    raise _bad(f"Unsupported recurrence pattern {kind}.")


@dataclass
class Series:
    """A parsed recurrence: rrule arguments, first day, and end (date or count, or neither)."""

    rule: dict[str, Any]
    start_date: dt.date
    end_date: dt.date | None
    count: int | None

    def starts(self, first_start: dt.datetime, zone: dt.tzinfo, limit: int,
               horizon: dt.datetime) -> list[dt.datetime]:
        """Occurrence starts (aware UTC) at the master's local time of day, at most ``limit``
        and, for an endless series, none after ``horizon``."""
        local = first_start.astimezone(zone)
        dtstart = dt.datetime.combine(self.start_date, local.time().replace(tzinfo=None))
        kwargs = dict(self.rule)
        if self.count is not None:
            kwargs["count"] = self.count
        if self.end_date is not None:
            kwargs["until"] = dt.datetime.combine(self.end_date, dt.time(23, 59, 59))
        result: list[dt.datetime] = []
        for naive in islice(rrule.rrule(dtstart=dtstart, **kwargs), limit):
            when = naive.replace(tzinfo=zone).astimezone(dt.UTC)
            if self.end_date is None and self.count is None and when > horizon:
                break
            result.append(when)
        return result


def parse_recurrence(elem: ET.Element) -> Series:
    """Parse ``t:Recurrence``; raises ``ErrorCalendarInvalidRecurrence``."""
    if len(elem) != 2:
        raise _bad("A recurrence needs one pattern and one range.")
    rule = _pattern(elem[0])
    rng = elem[1]
    kind = local(rng.tag)
    start = _date(_text(rng, "StartDate"))
    if kind == "NoEndRecurrence":
        return Series(rule, start, None, None)
    if kind == "EndDateRecurrence":
        end = _date(_text(rng, "EndDate"))
        if end < start:
            raise _bad("The end date is before the start date.")
        return Series(rule, start, end, None)
    if kind == "NumberedRecurrence":
        count = _int(rng, "NumberOfOccurrences")
        if count > 999:
            raise _bad("NumberOfOccurrences must be at most 999.")
        return Series(rule, start, None, count)
    raise _bad(f"Unsupported recurrence range {kind}.")
