"""``parse_calendar`` (the gate for an already-parsed ``Calendar``) equals ``parse_resource``:
the same result for valid input and the same refusal, message and status for hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from icalendar import Calendar

from bridge.errors import InvalidICalendar
from bridge.ical.validate import Limits, parse_calendar, parse_resource
from tests.helpers import vevent

CUSTOM_ZONE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\nTZID:My Zone\r\n"
    "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n"
    "DTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:c\r\nDTSTART;TZID=My Zone:20260701T100000\r\n"
    "DURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)

VALID: list[str | bytes] = [
    vevent("a", "20260329T013000", "20260329T033000", tzid="Europe/Berlin"),
    vevent("w", "20260701T100000", "20260701T110000", tzid="W. Europe Standard Time"),
    CUSTOM_ZONE,
    vevent("d", "20260110", "20260112"),
    vevent("n", "20260110", None),
    vevent("f", "20260110T090000", "20260110T100000"),
    vevent("b", extra="RRULE:FREQ=WEEKLY;COUNT=3"),
    vevent("u", "20260105T100000", "20260105T110000", tzid="Europe/Berlin",
           extra="RRULE:FREQ=DAILY;UNTIL=20260107"),
    vevent("m", extra="RRULE:FREQ=MONTHLY\nEXDATE:20260205T100000Z"),
    vevent("r", extra="RDATE:20260301T100000Z"),
    vevent("o", extra="RRULE:FREQ=DAILY;COUNT=5",
           overrides="BEGIN:VEVENT\nUID:o\nRECURRENCE-ID:20260106T100000Z\n"
                     "DTSTART:20260106T120000Z\nDTEND:20260106T130000Z\nEND:VEVENT"),
    vevent("c", extra="X-TERMIN-CUSTOMER-NAME:Erika Muster\nX-TERMIN-SERVICE:Haircut\n"
                      "STATUS:TENTATIVE\nDESCRIPTION:a\\, b\\nc\nCATEGORIES:x,y"),
    vevent("t", summary="Café").encode("utf-8"),
    b"\xef\xbb\xbf" + vevent("bom").encode("utf-8"),
    vevent("fold", summary="x" * 200),
]

HOSTILE: list[str | bytes] = [
    vevent("x", summary="A" * 5_000_000),
    vevent("x", summary="A" * 100_000),
    "BEGIN:VCALENDAR\r\n" + "BEGIN:VEVENT\r\n" * 600 + "UID:x\r\n" + "END:VEVENT\r\n" * 600
    + "END:VCALENDAR\r\n",
    vevent("r", extra="RRULE:FREQ=DAILY;COUNT=1000000000"),
    vevent("r", extra="RRULE:FREQ=SECONDLY"),
    vevent("r", extra="RRULE:FREQ=DAILY;UNTIL=20250101T000000Z"),
    vevent("r", extra="RRULE:FREQ=HOURLY;UNTIL=20360101T000000Z"),
    vevent("r", extra="RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY"),
    vevent("r", extra="EXRULE:FREQ=WEEKLY"),
    vevent("r", extra="RRULE:FREQ=DAILY;COUNT=3;UNTIL=20270101T000000Z"),
    vevent("e", "20260105T100000Z", "20260105T090000Z"),
    vevent("e", extra="DURATION:-PT1H").replace("DTEND:20260105T110000Z\r\n", ""),
    vevent("e", extra="DURATION:PT1H"),
    vevent("e", "20260105", "20260105T110000Z"),
    vevent("z", "20260105T100000", "20260105T110000", tzid="Mars/Olympus_Mons"),
    vevent("l", summary="Caf\u00e9").encode("latin-1"),
    vevent("x").replace("UID:x\r\n", ""),
    vevent("x").replace("UID:x\r\n", "UID:x\r\nUID:y\r\n"),
    vevent("x", overrides="BEGIN:VTODO\nUID:x\nEND:VTODO"),
    vevent("x", overrides="BEGIN:VEVENT\nUID:other\nDTSTART:20260101T000000Z\nEND:VEVENT"),
    vevent("x", overrides="BEGIN:VEVENT\nUID:x\nDTSTART:20260101T000000Z\nEND:VEVENT"),
    vevent("x", extra="RRULE:FREQ=DAILY;COUNT=5", overrides=(
        "BEGIN:VEVENT\nUID:x\nRECURRENCE-ID:20260106T100000Z\nDTSTART:20260106T120000Z\n"
        "END:VEVENT\nBEGIN:VEVENT\nUID:x\nRECURRENCE-ID:20260106T100000Z\n"
        "DTSTART:20260106T140000Z\nEND:VEVENT")),
    vevent("x").replace("DTSTART:20260105T100000Z\r\n", ""),
    vevent("x").replace("DTSTART:20260105T100000Z", "DTSTART:not-a-date"),
    vevent("x") + vevent("y"),
    "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:x\r\nFN:x\r\nEND:VCARD\r\n",
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VJOURNAL\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
    b"\x00\x01\x02garbage",
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\x07\r\nEND:VEVENT\r\nEND:VCALENDAR",
]


def outcome(gate: Any, *args: Any) -> Any:
    """The gate's result, or what it refused with."""
    try:
        return gate(*args)
    except InvalidICalendar as exc:
        return ("refused", exc.message, exc.status, exc.uid, exc.line)


def calendar_of(data: str | bytes) -> Calendar | None:
    """``Calendar.from_ical`` of ``data`` as the caller of ``parse_calendar`` would have it."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        cal = Calendar.from_ical(text)
    except Exception:  # whatever the parser refuses, the caller has no Calendar
        return None
    return cal if isinstance(cal, Calendar) else None


@pytest.mark.parametrize("data", VALID + HOSTILE)
def test_parse_calendar_equals_parse_resource(data: str | bytes) -> None:
    expected = outcome(parse_resource, data)
    cal = calendar_of(data)
    if cal is None:
        # The caller cannot have a Calendar: the text itself must still be refused.
        assert isinstance(expected, tuple)
        assert isinstance(outcome(parse_calendar, Calendar(), data), tuple)
        return
    assert outcome(parse_calendar, cal, data) == expected


def test_valid_samples_are_valid_and_hostile_ones_refused() -> None:
    assert all(not isinstance(outcome(parse_resource, d), tuple) for d in VALID)
    assert all(isinstance(outcome(parse_resource, d), tuple) for d in HOSTILE)


@pytest.mark.parametrize("data", [d for d in HOSTILE if calendar_of(d) is None] + [
    vevent("x", summary="A" * 100_000), vevent("l", summary="Caf\u00e9").encode("latin-1"),
])
def test_text_checks_hold_whatever_calendar_is_passed(data: str | bytes) -> None:
    # A well-formed Calendar does not get hostile text past the raw-text checks.
    good = Calendar.from_ical(vevent("ok"))
    assert isinstance(outcome(parse_calendar, good, data), tuple)


def test_limits_apply_to_both() -> None:
    text = vevent("b", extra="RRULE:FREQ=DAILY;COUNT=50")
    tight = Limits(max_count=10)
    cal = Calendar.from_ical(text)
    assert outcome(parse_calendar, cal, text, tight) == outcome(parse_resource, text, tight)
    assert isinstance(outcome(parse_resource, text, tight), tuple)


def test_parser_errors_recorded_on_the_calendar_are_refused() -> None:
    text = vevent("x").replace("DTEND:20260105T110000Z", "DTEND:garbage")
    cal = Calendar.from_ical(text)
    expected = outcome(parse_resource, text)
    assert isinstance(expected, tuple) and "invalid VEVENT property" in expected[1]
    assert outcome(parse_calendar, cal, text) == expected


def test_not_a_calendar_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse_calendar("BEGIN:VCALENDAR", vevent("x"))  # type: ignore[arg-type]
