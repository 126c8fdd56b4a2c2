"""Property tests of the Exchange mapping: random resources EWS can hold survive iCalendar →
EWS item dicts → exchangelib ``CalendarItem`` → dicts → iCalendar with the same normalised
hash (dicts a fixed point after one pass); what EWS cannot hold is reported; series made in
Outlook (EWS patterns with modified and deleted occurrences) survive EWS → iCalendar → EWS."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bridge.exchange.items import item_fields, item_to_dict, new_item, write_fields
from bridge.exchange.mapping import (
    EwsEventSet,
    ews_hash,
    ews_to_ical,
    ical_hash,
    ical_to_ews,
)
from bridge.exchange.mapping_preserve import preserve_local_only
from bridge.ical.validate import parse_resource
from tests.unit.mapping.mapping_testlib import vcal, vevent
from tests.unit.mapping.test_mapping_properties import exists
from tests.unit.microsoft.test_ms_properties import CALENDAR_ZONES, resources

PROFILE = settings(max_examples=100, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def through_exchangelib(item: dict[str, Any]) -> dict[str, Any]:
    """What the client reads back for a dict it wrote (through a real ``CalendarItem``)."""
    back = item_to_dict(new_item(item))
    for key in ("original_start",):
        if key in item:
            back[key] = item[key]
    return back


def echo(result: EwsEventSet) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    master = through_exchangelib(result.master)
    modified = [through_exchangelib(o.item or {}) for o in result.overrides]
    return master, modified, [o.original_start for o in result.exdates]


@PROFILE
@given(text=resources(), calendar_tz=st.sampled_from(CALENDAR_ZONES))
def test_ical_to_ews_to_ical_is_stable(text: str, calendar_tz: str) -> None:
    parse_resource(text)
    result = ical_to_ews(text, calendar_tz=calendar_tz)
    # The Graph strategy also draws relative patterns on several days: EWS holds one weekday
    # or a day group, and says so.
    assume(not result.unsupported)
    assert "attendees" not in result.master
    master, modified, deleted = echo(result)
    assert ical_hash(text, calendar_tz=calendar_tz) == result.content_hash
    assert ews_hash(master, modified, deleted, calendar_tz=calendar_tz) == result.content_hash
    back = ews_to_ical(master, modified, deleted, calendar_tz=calendar_tz)
    parse_resource(back)
    assert ical_hash(back, calendar_tz=calendar_tz) == result.content_hash
    again = ical_to_ews(back, calendar_tz=calendar_tz)
    assert again.master == result.master
    assert again.overrides == result.overrides and again.exdates == result.exdates
    # A pulled text keeps what only the stored one has, at the same hash.
    kept = preserve_local_only(back, text, calendar_tz=calendar_tz)
    assert ical_hash(kept, calendar_tz=calendar_tz) == result.content_hash


@PROFILE
@given(text=resources())
def test_every_write_names_its_fields(text: str) -> None:
    result = ical_to_ews(text, calendar_tz="Europe/Berlin")
    assume(not result.unsupported)
    fields = set(item_fields(result.master))
    assert set(write_fields(result.master)) <= fields
    for occ in result.overrides:
        names = write_fields(occ.item or {})
        assert "recurrence" not in names and "uid" not in names


UNSUPPORTED = [
    ("FREQ=HOURLY;COUNT=3", "frequency"),
    ("FREQ=YEARLY;INTERVAL=2;BYMONTH=3;BYMONTHDAY=3", "rule-part"),
    ("FREQ=MONTHLY;BYDAY=MO,WE;BYSETPOS=1", "byday"),
    ("FREQ=DAILY;INTERVAL=1000", "rule-part"),
    ("FREQ=DAILY;COUNT=1000", "rule-part"),
    ("FREQ=MONTHLY;BYMONTHDAY=30", "bymonthday"),
    ("FREQ=WEEKLY;BYDAY=TU", "dtstart-off-rule"),
]


@settings(max_examples=30, deadline=None)
@given(case=st.sampled_from(UNSUPPORTED))
def test_what_ews_cannot_hold_is_reported(case: tuple[str, str]) -> None:
    rule, code = case
    text = vcal(vevent("DTSTART;TZID=Europe/Berlin:20250303T090000",
                       "DTEND;TZID=Europe/Berlin:20250303T100000", f"RRULE:{rule}",
                       "SUMMARY:x"))
    assert code in {u.code for u in ical_to_ews(text, calendar_tz="Europe/Berlin").unsupported}


def test_day_groups_are_ews_relative_patterns() -> None:
    text = vcal(vevent("DTSTART;TZID=Europe/Berlin:20250303T090000",
                       "DTEND;TZID=Europe/Berlin:20250303T100000",
                       "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1", "SUMMARY:x"))
    result = ical_to_ews(text, calendar_tz="Europe/Berlin")
    assert result.unsupported == ()
    assert result.master["recurrence"]["pattern"]["weekday"] == "Weekday"
    assert result.master["start_tz"] == "Europe/Berlin"


WINDOWS = ["W. Europe Standard Time", "Eastern Standard Time", "Tokyo Standard Time", "UTC"]
KINDS = ["single", "daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly",
         "relativeYearly"]
DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@st.composite
def outlook_series(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """A series as an Outlook user makes it in EWS (no extended properties): a pattern, its
    first occurrence as the master's start, some modified and deleted occurrences."""
    from exchangelib.ewsdatetime import EWSTimeZone

    tz = EWSTimeZone.from_ms_id(draw(st.sampled_from(WINDOWS)))
    kind = draw(st.sampled_from(KINDS))
    all_day = draw(st.booleans())
    first = draw(st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)))
    hour = 0 if all_day else draw(st.integers(6, 20))
    pattern: dict[str, Any] = {"type": kind, "interval": draw(st.integers(1, 3))}
    if kind == "weekly":
        pattern["weekdays"] = draw(st.lists(st.sampled_from(DAY_NAMES), min_size=1,
                                            max_size=3, unique=True))
        pattern["first_day_of_week"] = draw(st.sampled_from(["Monday", "Sunday"]))
    if kind.startswith("relative"):
        pattern["weekday"] = draw(st.sampled_from([*DAY_NAMES, "Day", "Weekday",
                                                   "WeekendDay"]))
        pattern["week_number"] = draw(st.sampled_from(["First", "Second", "Last"]))
    if kind.startswith("absolute"):
        pattern["day_of_month"] = draw(st.integers(1, 28))
    if kind.endswith("Yearly"):
        pattern["month"] = draw(st.sampled_from(["January", "March", "December"]))
        pattern["interval"] = 1
    boundary: dict[str, Any] = draw(st.sampled_from([
        {"type": "no_end"}, {"type": "numbered", "number": 6},
        {"type": "end_date", "end": (first + timedelta(days=900)).isoformat()}]))
    item: dict[str, Any] = {
        "uid": "040000008200E00074C5B7101A82E008-outlook", "subject": draw(
            st.sampled_from(["Sprechstunde", "Team", ""])),
        "body": "<html><body><p>Bitte</p><p>p&uuml;nktlich</p></body></html>",
        "body_type": "HTML", "location": "Raum 1", "is_all_day": all_day,
        "legacy_free_busy_status": draw(st.sampled_from(["Free", "Busy", "Tentative", "OOF",
                                                         "WorkingElsewhere", "NoData"])),
        "sensitivity": draw(st.sampled_from(["Normal", "Personal", "Private",
                                             "Confidential"])),
        "categories": ["Kunde"], "reminder_is_set": draw(st.booleans()),
        "reminder_minutes_before_start": 15, "start_tz": tz.key, "end_tz": tz.key,
    }
    length = timedelta(days=1) if all_day else timedelta(minutes=45)
    if kind == "single":
        start = datetime.combine(first, time(hour), tzinfo=tz)
        item.update(start=_when(start, all_day), end=_when(start + length, all_day),
                    recurrence=None)
        return item, [], []
    from dateutil.rrule import rrulestr

    from bridge.exchange.mapping_recurrence import pattern_from_ews
    from bridge.ical.model import Moment
    from bridge.ical.patterns import pattern_rrule

    base = Moment(first)
    rule = pattern_rrule(pattern_from_ews({"pattern": pattern, "boundary": boundary}, base),
                         base)
    days = [d.date() for d in rrulestr("RRULE:" + rule.replace(";UNTIL=", ";X-UNTIL=")
                                       .split(";X-UNTIL=")[0],
                                       dtstart=datetime.combine(first, time()))[:6]]
    start = datetime.combine(days[0], time(hour), tzinfo=tz)
    boundary = {**boundary, "start": days[0].isoformat()}
    item.update(start=_when(start, all_day), end=_when(start + length, all_day),
                recurrence={"pattern": pattern, "boundary": boundary})
    modified: list[dict[str, Any]] = []
    deleted: list[str] = []
    for day in days[1:5]:
        if boundary["type"] == "end_date" and day > date.fromisoformat(boundary["end"]):
            break
        original = datetime.combine(day, time(hour), tzinfo=tz)
        if not all_day and not exists(original.replace(tzinfo=None), tz.key):
            continue  # no such wall-clock time (the zone's DST gap): no instance there
        role = draw(st.sampled_from(["keep", "move", "delete"]))
        if role == "delete":
            deleted.append(original.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        elif role == "move":
            moved = original + (timedelta(days=1) if all_day else timedelta(hours=2))
            modified.append({**item, "recurrence": None, "subject": "verschoben",
                             "start": _when(moved, all_day), "end": _when(moved + length,
                                                                           all_day),
                             "original_start": original.astimezone(UTC).strftime(
                                 "%Y-%m-%dT%H:%M:%SZ")})
    return item, modified, deleted


def _when(value: datetime, all_day: bool) -> str:
    if all_day:
        return value.date().isoformat()
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@PROFILE
@given(series=outlook_series(), calendar_tz=st.sampled_from(CALENDAR_ZONES))
def test_ews_to_ical_to_ews_is_stable(
    series: tuple[dict[str, Any], list[dict[str, Any]], list[str]], calendar_tz: str
) -> None:
    master, modified, deleted = series
    text = ews_to_ical(master, modified, deleted, calendar_tz=calendar_tz)
    parse_resource(text)
    result = ical_to_ews(text, calendar_tz=calendar_tz)
    assert result.unsupported == ()
    assert ews_hash(master, modified, deleted, calendar_tz=calendar_tz) == result.content_hash
    if master["recurrence"]:
        assert result.master["recurrence"]["pattern"]["type"] == \
            master["recurrence"]["pattern"]["type"]
        assert len(result.overrides) == len(modified)
        assert len(result.exdates) == len(deleted)
    again = echo(result)
    assert ews_hash(*again, calendar_tz=calendar_tz) == result.content_hash


def test_instance_index_counts_from_the_series_start() -> None:
    from bridge.exchange.mapping import instance_index
    from bridge.exchange.mapping_ews_parse import event_from_ews

    item = ical_to_ews(vcal(vevent(
        "DTSTART;TZID=Europe/Berlin:20300304T090000", "DTEND;TZID=Europe/Berlin:20300304T100000",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", "EXDATE;TZID=Europe/Berlin:20300306T090000",
        "SUMMARY:x")), calendar_tz="Europe/Berlin")
    assert [o.index for o in item.exdates] == [2]  # Mon 4th is 1, Wed 6th is 2
    master = event_from_ews(item.master, calendar_tz="Europe/Berlin")
    assert instance_index(master, master.start) == 1


def test_pins_are_host_fingerprint_pairs() -> None:
    import pytest

    from bridge.exchange.tls import parse_pins

    digest = "AB:" * 31 + "AB"
    assert parse_pins(f" Mail.Example.com={digest} ,") == {"mail.example.com": "ab" * 32}
    with pytest.raises(ValueError):
        parse_pins("mail.example.com=abc")
