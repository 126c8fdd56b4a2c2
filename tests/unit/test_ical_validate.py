"""The iCalendar gate: valid resources indexed right, hostile ones (group A) refused clearly."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bridge.errors import InvalidICalendar
from bridge.ical import parse_resource, split_calendar
from bridge.ical.normalize import content_hash
from bridge.ical.validate import TIMESTAMP_MAX
from bridge.store import SqlStore
from tests.helpers import vevent


def ts(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=UTC).timestamp())


def check_rejected(data: str | bytes, fragment: str, status: int = 400) -> InvalidICalendar:
    with pytest.raises(InvalidICalendar) as info:
        parse_resource(data)
    assert fragment.lower() in info.value.message.lower(), info.value.message
    assert info.value.status == status
    return info.value


# -- what valid input yields ----------------------------------------------------------------

def test_timed_event_with_iana_zone() -> None:
    res = parse_resource(vevent("a", "20260329T013000", "20260329T033000",
                                tzid="Europe/Berlin"))
    # DST starts at 02:00 local: 01:30 CET = 00:30 UTC, 03:30 CEST = 01:30 UTC.
    assert (res.start_ts, res.end_ts) == (ts(2026, 3, 29, 0, 30), ts(2026, 3, 29, 1, 30))
    assert res.uid == "a" and res.component == "VEVENT" and not res.recurring


def test_windows_zone_and_embedded_vtimezone_resolve() -> None:
    win = parse_resource(vevent("w", "20260701T100000", "20260701T110000",
                                tzid="W. Europe Standard Time"))
    assert win.start_ts == ts(2026, 7, 1, 8)
    custom = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\nTZID:My Zone\r\n"
        "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n"
        "DTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
        "BEGIN:VEVENT\r\nUID:c\r\nDTSTART;TZID=My Zone:20260701T100000\r\n"
        "DURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    res = parse_resource(custom)
    assert (res.start_ts, res.end_ts) == (ts(2026, 7, 1, 8), ts(2026, 7, 1, 9))


def test_all_day_and_floating_count_as_utc() -> None:
    day = parse_resource(vevent("d", "20260110", "20260112"))
    assert (day.start_ts, day.end_ts) == (ts(2026, 1, 10), ts(2026, 1, 12))
    no_end = parse_resource(vevent("n", "20260110", None))
    assert no_end.end_ts == ts(2026, 1, 11)  # RFC 5545: one day
    floating = parse_resource(vevent("f", "20260110T090000", "20260110T100000"))
    assert floating.start_ts == ts(2026, 1, 10, 9)


def test_recurrence_spans() -> None:
    bounded = parse_resource(vevent("b", "20260105T100000Z", "20260105T110000Z",
                                    extra="RRULE:FREQ=WEEKLY;COUNT=3"))
    assert bounded.recurring and bounded.end_ts == ts(2026, 1, 19, 11)
    until = parse_resource(vevent("u", "20260105T100000", "20260105T110000",
                                  tzid="Europe/Berlin", extra="RRULE:FREQ=DAILY;UNTIL=20260107"))
    assert until.end_ts == ts(2026, 1, 7, 10)  # 11:00 Berlin on the 7th
    forever = parse_resource(vevent("f", "20260105T100000Z", "20260105T110000Z",
                                    extra="RRULE:FREQ=MONTHLY"))
    assert forever.end_ts == TIMESTAMP_MAX
    rdate = parse_resource(vevent("r", "20260105T100000Z", "20260105T110000Z",
                                  extra="RDATE:20260301T100000Z"))
    assert rdate.recurring and rdate.end_ts == ts(2026, 3, 1, 11)


def test_customer_fields_and_status_extracted() -> None:
    res = parse_resource(vevent("c", extra="X-TERMIN-CUSTOMER-NAME:Erika Muster\n"
                                "X-TERMIN-CUSTOMER-EMAIL:erika@example.org\n"
                                "X-TERMIN-CUSTOMER-PHONE:+49 30 1234\nX-TERMIN-SERVICE:Haircut\n"
                                "STATUS:TENTATIVE"))
    assert (res.customer_name, res.customer_email, res.customer_phone, res.service) == (
        "Erika Muster", "erika@example.org", "+49 30 1234", "Haircut")
    assert res.status == "TENTATIVE"


def test_content_hash_ignores_server_rewrites() -> None:
    base = vevent("h", "20260105T100000", "20260105T110000", tzid="Europe/Berlin",
                  extra="LOCATION:Room 1\nDESCRIPTION:Notes")
    rewritten = (base.replace("PRODID:-//test//EN", "PRODID:-//Google Inc//EN")
                 .replace("DTSTAMP:20250101T000000Z", "DTSTAMP:20260909T090909Z\r\nSEQUENCE:3")
                 .replace("LOCATION:Room 1\r\nDESCRIPTION:Notes", "DESCRIPTION:Notes\r\nLOCATION:Ro"
                          "om 1")
                 .replace("Europe/Berlin", "W. Europe Standard Time"))
    assert content_hash(base) == content_hash(rewritten)
    assert content_hash(base) != content_hash(base.replace("Room 1", "Room 2"))
    folded = base.replace("DESCRIPTION:Notes", "DESCRIPTION:No\r\n tes")
    assert parse_resource(folded).content_hash == parse_resource(base).content_hash


# -- group A: hostile iCalendar -------------------------------------------------------------

def test_a1_huge_single_line() -> None:
    check_rejected(vevent("x", summary="A" * 5_000_000), "larger than", status=413)
    check_rejected(vevent("x", summary="A" * 100_000), "longer than")


def test_a2_a3_oversized_resource_refused_before_parsing() -> None:
    body = vevent("x", extra="\n".join(f"X-PAD-{i}:{'p' * 1000}" for i in range(15_000)))
    started = time.process_time()  # CPU time: a busy machine must not fail this
    check_rejected(body, "larger than", status=413)
    assert time.process_time() - started < 1.0


@pytest.mark.parametrize("depth", [400, 600, 1200, 5000])
def test_a4_nested_components(depth: int) -> None:
    nested = ("BEGIN:VCALENDAR\r\n" + "BEGIN:VEVENT\r\n" * depth + "UID:x\r\n"
              + "END:VEVENT\r\n" * depth + "END:VCALENDAR\r\n")
    check_rejected(nested, "nested deeper")


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("RRULE:FREQ=DAILY;COUNT=1000000000", "COUNT must be"),
        ("RRULE:FREQ=SECONDLY", "FREQ=SECONDLY is not allowed"),
        ("RRULE:FREQ=MINUTELY;COUNT=5", "FREQ=MINUTELY is not allowed"),
        ("RRULE:FREQ=SECONDLY;UNTIL=20360101T000000Z", "not allowed"),
        ("RRULE:FREQ=DAILY;UNTIL=20250101T000000Z", "UNTIL is before DTSTART"),
        ("RRULE:FREQ=HOURLY;UNTIL=20360101T000000Z", "more than 20000 occurrences"),
        ("RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY", "more than one RRULE"),
        ("EXRULE:FREQ=WEEKLY", "EXRULE is not supported"),
    ],
)
def test_a5_to_a8_recurrence_rules(rule: str, fragment: str) -> None:
    check_rejected(vevent("r", extra=rule), fragment)


def test_a9_end_before_start() -> None:
    check_rejected(vevent("e", "20260105T100000Z", "20260105T090000Z"), "DTEND is before DTSTART")
    check_rejected(vevent("e", extra="DURATION:-PT1H").replace("DTEND:20260105T110000Z\r\n", ""),
             "non-negative")


def test_a10_unknown_time_zone() -> None:
    err = check_rejected(
        vevent("z", "20260105T100000", "20260105T110000", tzid="Mars/Olympus_Mons"),
        "unknown time zone 'Mars/Olympus_Mons'",
    )
    assert err.uid == "z"


def test_a11_non_utf8() -> None:
    latin1 = vevent("l", summary="Caf\u00e9").encode("latin-1")
    check_rejected(latin1, "not valid UTF-8", status=415)
    check_rejected(b"\xff\xfe" + vevent("l").encode(), "not valid UTF-8", status=415)
    assert parse_resource(vevent("u", summary="Café").encode("utf-8")).summary == "Café"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (vevent("x").replace("UID:x\r\n", ""), "without UID"),
        (vevent("x").replace("UID:x\r\n", "UID:x\r\nUID:y\r\n"), "more than one UID"),
        (vevent("x", overrides="BEGIN:VTODO\nUID:x\nEND:VTODO"), "one component type"),
        (vevent("x", overrides="BEGIN:VEVENT\nUID:other\nDTSTART:20260101T000000Z\nEND:VEVENT"),
         "one UID"),
        ("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:x\r\nFN:x\r\nEND:VCARD\r\n", "BEGIN:VCALENDAR"),
        (vevent("x") + vevent("y"), "more than one VCALENDAR"),
        (vevent("x").replace("DTSTART:20260105T100000Z\r\n", ""), "without DTSTART"),
        (vevent("x", overrides="BEGIN:VEVENT\nUID:x\nDTSTART:20260101T000000Z\nEND:VEVENT"),
         "more than one component without RECURRENCE-ID"),
    ],
)
def test_a13_structure(text: str, fragment: str) -> None:
    check_rejected(text, fragment)


def test_a14_binary_garbage() -> None:
    check_rejected(b"\x00\x01\x02garbage", "control characters")
    check_rejected("BEGIN:VCALENDAR\r\nthis is not ical\r\n", "cannot parse")


def test_rejections_store_nothing(store: SqlStore) -> None:
    store.create_collection("alice/work", tag="VCALENDAR")
    for bad in (vevent("x", "20260105T100000Z", "20260101T000000Z"), "garbage"):
        with pytest.raises(InvalidICalendar):
            store.put_item("alice/work", "x.ics", parse_resource(bad), origin="t")
    assert store.list_items("alice/work") == []


def test_split_calendar_groups_by_uid_and_copies_timezones() -> None:
    whole = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
        "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
        "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Berlin:20260101T100000\r\n"
        "RRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260102T100000\r\n"
        "DTSTART;TZID=Europe/Berlin:20260102T120000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    pieces = list(split_calendar(whole))
    assert [line for _text, line in pieces] == [12, 17]  # lines of each UID's BEGIN:VEVENT
    first = parse_resource(pieces[0][0])
    assert first.uid == "a" and first.recurring and "VTIMEZONE" in pieces[0][0]
    assert "VTIMEZONE" not in pieces[1][0]


def test_many_tiny_properties_are_capped_cheaply() -> None:
    body = vevent("x", extra="\n".join(f"X-A{i}:v" for i in range(60_000)))
    started = time.process_time()  # CPU time: a busy machine must not fail this
    check_rejected(body, "more than 10000 content lines")
    assert time.process_time() - started < 1.0  # ~0.06 s: the cap stops early
    assert parse_resource(vevent("ok", extra="\n".join(f"X-A{i}:v" for i in range(2_000))))
