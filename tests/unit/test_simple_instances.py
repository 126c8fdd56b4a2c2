"""The fast path for simple series equals the full expansion (recurring-ical-events)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from bridge.ical.recurrence import occurrences, simple_instances


def _text(lines: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:s\r\n"
            f"DTSTAMP:20260101T000000Z\r\n{lines}END:VEVENT\r\nEND:VCALENDAR\r\n")


SIMPLE = [
    "DTSTART;TZID=Europe/Berlin:20260105T090000\r\nDTEND;TZID=Europe/Berlin:20260105T170000"
    "\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\r\n",
    "DTSTART;TZID=Europe/Berlin:20260303T120000\r\nDTEND;TZID=Europe/Berlin:20260303T130000"
    "\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\nEXDATE;TZID=Europe/Berlin:20260310T120000,"
    "20260324T120000\r\n",
    "DTSTART;TZID=America/New_York:20150101T233000\r\nDTEND;TZID=America/New_York:"
    "20150102T003000\r\nRRULE:FREQ=DAILY;INTERVAL=3\r\n",
    "DTSTART:20260110T080000Z\r\nDTEND:20260110T083000Z\r\nRRULE:FREQ=WEEKLY;INTERVAL=2;"
    "BYDAY=SA,SU\r\n",
    "DTSTART;TZID=Europe/Berlin:20260131T100000\r\nDTEND;TZID=Europe/Berlin:20260131T110000"
    "\r\nRRULE:FREQ=MONTHLY;COUNT=12\r\n",
]
NOT_SIMPLE = [
    "DTSTART;VALUE=DATE:20260105\r\nDTEND;VALUE=DATE:20260106\r\nRRULE:FREQ=WEEKLY\r\n",
    "DTSTART;TZID=Europe/Berlin:20260105T090000\r\nDTEND;TZID=Europe/Berlin:20260105T100000"
    "\r\nRRULE:FREQ=WEEKLY;UNTIL=20260301T000000Z\r\n",
    "DTSTART;TZID=Europe/Berlin:20260105T090000\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY\r\n",
    "DTSTART;TZID=Europe/Berlin:20260105T090000\r\nDTEND;TZID=Europe/Berlin:20260105T100000"
    "\r\nRRULE:FREQ=WEEKLY\r\nRDATE;TZID=Europe/Berlin:20260107T090000\r\n",
    # DTSTART on a Monday, the rule on Tuesdays: RFC 5545 counts DTSTART anyway.
    "DTSTART;TZID=Europe/Berlin:20260105T090000\r\nDTEND;TZID=Europe/Berlin:20260105T100000"
    "\r\nRRULE:FREQ=WEEKLY;BYDAY=TU\r\n",
]


@pytest.mark.parametrize("lines", SIMPLE)
def test_simple_series_equal_the_full_expansion(lines: str) -> None:
    text = _text(lines)
    rng = random.Random(lines)
    for _ in range(25):
        lo = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(0, 24 * 400))
        hi = lo + timedelta(hours=rng.randrange(1, 24 * 40))
        fast = simple_instances(text, lo, hi)
        assert fast is not None
        slow = [(o.start.astimezone(UTC), o.end.astimezone(UTC),
                 o.recurrence_id.astimezone(UTC))
                for o in occurrences(Calendar.from_ical(text), lo, hi, zone=UTC)]
        assert fast == slow, (lo, hi)


@pytest.mark.parametrize("lines", NOT_SIMPLE)
def test_other_series_take_the_full_path(lines: str) -> None:
    lo = datetime(2026, 1, 1, tzinfo=UTC)
    assert simple_instances(_text(lines), lo, lo + timedelta(days=30)) is None


def test_overrides_take_the_full_path() -> None:
    text = _text(SIMPLE[0]).replace(
        "END:VCALENDAR", "BEGIN:VEVENT\r\nUID:s\r\nDTSTAMP:20260101T000000Z\r\n"
        "RECURRENCE-ID;TZID=Europe/Berlin:20260106T090000\r\n"
        "DTSTART;TZID=Europe/Berlin:20260106T100000\r\nDTEND;TZID=Europe/Berlin:20260106T110000"
        "\r\nEND:VEVENT\r\nEND:VCALENDAR")
    lo = datetime(2026, 1, 1, tzinfo=UTC)
    assert simple_instances(text, lo, lo + timedelta(days=30)) is None
