"""Recurring items through unmodified exchangelib: masters with pattern and range, occurrences
by InstanceIndex (OccurrenceItemId) and back to the master (RecurringMasterItemId), modified and
deleted occurrences on the master, CalendarView expansion (also across a DST change); and the
pattern rules of the expansion itself."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from exchangelib import Account, CalendarItem, EWSDateTime
from exchangelib.errors import (
    ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange,
    ErrorCalendarOccurrenceIsDeletedFromRecurrence,
    ErrorRecurrenceHasNoOccurrence,
)
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    DailyPattern,
    Recurrence,
    WeeklyPattern,
)

from emulators.ews.recurrence import parse_recurrence
from emulators.ews.soap import TNS
from tests.emulator.ews.conftest import TZ

MONDAY = 1


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> EWSDateTime:
    return EWSDateTime(year, month, day, hour, minute, tzinfo=TZ)


def weekly(account: Account, count: int = 5, **extra: object) -> CalendarItem:
    master = CalendarItem(
        account=account, folder=account.calendar, subject="Sprechstunde",
        start=at(2026, 1, 5, 9), end=at(2026, 1, 5, 10),
        recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[MONDAY]),
                              start=dt.date(2026, 1, 5), number=count), **extra)
    master.save()
    master.refresh()
    return master


def test_master_round_trip(account: Account) -> None:
    master = weekly(account)
    assert master.type == "RecurringMaster"
    assert master.recurrence.pattern.weekdays == [MONDAY]
    assert master.recurrence.boundary.number == 5
    assert master.first_occurrence.start == at(2026, 1, 5, 9)
    assert master.last_occurrence.start == at(2026, 2, 2, 9)
    assert master.modified_occurrences is None and master.deleted_occurrences is None


def test_occurrence_by_index_and_back_to_master(account: Account) -> None:
    master = weekly(account)
    occ = master.occurrence(3)
    occ.refresh()
    assert (occ.type, occ.start, occ.end, occ.subject) == (
        "Occurrence", at(2026, 1, 19, 9), at(2026, 1, 19, 10), "Sprechstunde")
    assert occ.original_start == at(2026, 1, 19, 9)
    assert occ.id != master.id
    back = occ.recurring_master()
    back.refresh()
    assert back.id == master.id and back.type == "RecurringMaster"
    with pytest.raises(ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange):
        master.occurrence(6).refresh()


def test_modify_one_occurrence(account: Account) -> None:
    master = weekly(account)
    occ = master.occurrence(2)
    occ.refresh()
    occ.subject = "Verschoben"
    occ.start, occ.end = at(2026, 1, 13, 14), at(2026, 1, 13, 15)
    occ.save(update_fields=["subject", "start", "end"])
    occ.refresh()
    assert (occ.type, occ.subject, occ.start) == ("Exception", "Verschoben", at(2026, 1, 13, 14))
    master.refresh()
    [mod] = master.modified_occurrences
    assert (mod.start, mod.original_start) == (at(2026, 1, 13, 14), at(2026, 1, 12, 9))
    assert mod.id == occ.id
    # The same occurrence is still addressed by its index.
    again = master.occurrence(2)
    again.refresh()
    assert again.subject == "Verschoben" and again.id == occ.id


def test_delete_one_occurrence(account: Account) -> None:
    master = weekly(account)
    master.occurrence(4).delete()
    master.refresh()
    assert [d.start for d in master.deleted_occurrences] == [at(2026, 1, 26, 9)]
    with pytest.raises(ErrorCalendarOccurrenceIsDeletedFromRecurrence):
        master.occurrence(4).refresh()
    # Instance indexes still count the deleted occurrence.
    fifth = master.occurrence(5)
    fifth.refresh()
    assert fifth.start == at(2026, 2, 2, 9)


def test_calendar_view_expands_with_exceptions(account: Account) -> None:
    master = weekly(account)
    occ = master.occurrence(2)
    occ.refresh()
    occ.subject = "Anders"
    occ.save(update_fields=["subject"])
    master.occurrence(3).delete()
    single = CalendarItem(account=account, folder=account.calendar, subject="Einzeln",
                          start=at(2026, 1, 14, 8), end=at(2026, 1, 14, 9))
    single.save()
    seen = [(i.subject, i.start, i.type) for i in account.calendar.view(
        start=at(2026, 1, 1, 0), end=at(2026, 1, 31, 0))]
    assert seen == [
        ("Sprechstunde", at(2026, 1, 5, 9), "Occurrence"),
        ("Anders", at(2026, 1, 12, 9), "Exception"),
        ("Einzeln", at(2026, 1, 14, 8), "Single"),
        ("Sprechstunde", at(2026, 1, 26, 9), "Occurrence"),
    ]


def test_wall_clock_kept_across_dst(account: Account) -> None:
    master = CalendarItem(
        account=account, folder=account.calendar, subject="Morgens",
        start=at(2026, 3, 27, 9), end=at(2026, 3, 27, 9, 30),
        recurrence=Recurrence(pattern=DailyPattern(interval=1), start=dt.date(2026, 3, 27),
                              number=4))
    master.save()
    starts = [i.start.astimezone(TZ) for i in account.calendar.view(
        start=at(2026, 3, 26, 0), end=at(2026, 4, 1, 0))]
    assert [s.hour for s in starts] == [9, 9, 9, 9]
    assert [s.utcoffset() for s in starts] == [dt.timedelta(hours=h) for h in (1, 1, 2, 2)]


def test_changing_the_pattern_drops_exceptions(account: Account) -> None:
    master = weekly(account)
    master.occurrence(1).delete()
    master.refresh()
    assert master.deleted_occurrences
    master.recurrence = Recurrence(pattern=WeeklyPattern(interval=2, weekdays=[MONDAY]),
                                   start=dt.date(2026, 1, 5), number=3)
    master.save(update_fields=["recurrence"])
    master.refresh()
    assert master.deleted_occurrences is None
    assert master.last_occurrence.start == at(2026, 2, 2, 9)


def test_pattern_without_occurrences_is_refused(account: Account) -> None:
    item = CalendarItem(
        account=account, folder=account.calendar, subject="Nie",
        start=at(2026, 1, 5, 9), end=at(2026, 1, 5, 10),
        recurrence=Recurrence(pattern=AbsoluteMonthlyPattern(interval=1, day_of_month=31),
                              start=dt.date(2026, 1, 5), end=dt.date(2026, 1, 20)))
    with pytest.raises(ErrorRecurrenceHasNoOccurrence):
        item.save()


def _series(pattern: str, rng: str) -> list[str]:
    elem = ET.fromstring(f'<t:Recurrence xmlns:t="{TNS}">{pattern}{rng}</t:Recurrence>')
    start = dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)
    horizon = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    return [s.date().isoformat() for s in
            parse_recurrence(elem).starts(start, dt.UTC, 100, horizon)]


def _numbered(count: int, start: str = "2026-01-01") -> str:
    return (f"<t:NumberedRecurrence><t:StartDate>{start}</t:StartDate>"
            f"<t:NumberOfOccurrences>{count}</t:NumberOfOccurrences></t:NumberedRecurrence>")


def test_monthly_day_31_falls_on_the_last_day() -> None:
    pattern = ("<t:AbsoluteMonthlyRecurrence><t:Interval>1</t:Interval>"
               "<t:DayOfMonth>31</t:DayOfMonth></t:AbsoluteMonthlyRecurrence>")
    assert _series(pattern, _numbered(4)) == ["2026-01-31", "2026-02-28", "2026-03-31",
                                              "2026-04-30"]


def test_relative_monthly_last_weekday_and_yearly() -> None:
    last_friday = ("<t:RelativeMonthlyRecurrence><t:Interval>2</t:Interval>"
                   "<t:DaysOfWeek>Friday</t:DaysOfWeek><t:DayOfWeekIndex>Last</t:DayOfWeekIndex>"
                   "</t:RelativeMonthlyRecurrence>")
    assert _series(last_friday, _numbered(3)) == ["2026-01-30", "2026-03-27", "2026-05-29"]
    first_weekday = ("<t:RelativeYearlyRecurrence><t:DaysOfWeek>Weekday</t:DaysOfWeek>"
                     "<t:DayOfWeekIndex>First</t:DayOfWeekIndex><t:Month>February</t:Month>"
                     "</t:RelativeYearlyRecurrence>")
    assert _series(first_weekday, _numbered(2)) == ["2026-02-02", "2027-02-01"]
    yearly = ("<t:AbsoluteYearlyRecurrence><t:DayOfMonth>29</t:DayOfMonth>"
              "<t:Month>February</t:Month></t:AbsoluteYearlyRecurrence>")
    assert _series(yearly, _numbered(3)) == ["2026-02-28", "2027-02-28", "2028-02-29"]


def test_end_date_is_inclusive_and_weeks_start_on_first_day() -> None:
    pattern = ("<t:WeeklyRecurrence><t:Interval>2</t:Interval><t:DaysOfWeek>Sunday Monday"
               "</t:DaysOfWeek><t:FirstDayOfWeek>Monday</t:FirstDayOfWeek></t:WeeklyRecurrence>")
    rng = ("<t:EndDateRecurrence><t:StartDate>2026-01-05</t:StartDate>"
           "<t:EndDate>2026-01-19</t:EndDate></t:EndDateRecurrence>")
    assert _series(pattern, rng) == ["2026-01-05", "2026-01-11", "2026-01-19"]


def test_clearing_a_property_on_one_occurrence_sticks(account: Account) -> None:
    master = weekly(account, location="Raum 1")
    occ = master.occurrence(2)
    occ.refresh()
    occ.location = None
    occ.save(update_fields=["location"])
    occ.refresh()
    assert occ.location is None and occ.type == "Exception"
    other = master.occurrence(3)
    other.refresh()
    assert other.location == "Raum 1"
