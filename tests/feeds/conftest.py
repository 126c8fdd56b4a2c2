"""Fixtures for the feed tests: a calendar with a varied corpus, a frozen 'now'."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bridge.ical import parse_resource
from bridge.store import SqlStore
from bridge.store.items import href_for_uid

# 2026-01-15 12:00 UTC: the window is 2025-12-16 .. 2027-01-16.
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC).timestamp()
CAL = "alice/work"

# Customer data that must never appear below privacy "full" (no , or ; so no escaping).
SECRETS = (
    "Anna Schmidt", "anna.schmidt@example.com", "+49 170 1234567", "Allergic to latex",
    "Hauptstrasse 5", "Bob Meyer", "bob.meyer@example.org", "0049301111111", "Gate code 4711",
)

BERLIN_TZ = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE"""

CUSTOM_TZ = """BEGIN:VTIMEZONE
TZID:My Office Zone
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0530
TZOFFSETTO:+0530
END:STANDARD
END:VTIMEZONE"""


def cal(*blocks: str) -> str:
    """A VCALENDAR around ``blocks`` (LF-separated lines become CRLF)."""
    body = "\n".join(b.strip() for b in blocks)
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{body}\nEND:VCALENDAR\n"
    return text.replace("\n", "\r\n")


def ev(uid: str, start: str, end: str, *extra: str, tzid: str | None = None) -> str:
    """One VEVENT block."""
    tz = f";TZID={tzid}" if tzid else ""
    value = ";VALUE=DATE" if len(start) == 8 else ""
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z",
             f"DTSTART{tz}{value}:{start}", f"DTEND{tz}{value}:{end}", *extra, "END:VEVENT"]
    return "\n".join(lines)


def corpus() -> list[str]:
    """Resources covering the shapes a feed must carry."""
    customer = (
        "SUMMARY:Haircut Anna Schmidt",
        "DESCRIPTION:Allergic to latex\\nGate code 4711",
        "LOCATION:Hauptstrasse 5",
        "X-TERMIN-CUSTOMER-NAME:Anna Schmidt",
        "X-TERMIN-CUSTOMER-EMAIL:anna.schmidt@example.com",
        "X-TERMIN-CUSTOMER-PHONE:+49 170 1234567",
        "X-TERMIN-SERVICE:Haircut",
        'ATTENDEE;CN="Anna Schmidt";PARTSTAT=ACCEPTED:mailto:anna.schmidt@example.com',
        "ORGANIZER;CN=Salon:mailto:salon@example.net",
        "CATEGORIES:VIP,Regular",
        "SEQUENCE:3",
    )
    return [
        cal(ev("single-utc", "20260120T090000Z", "20260120T100000Z", *customer)),
        cal(BERLIN_TZ, ev("berlin", "20260121T100000", "20260121T113000", *customer,
                          tzid="Europe/Berlin")),
        cal(ev("iana-no-vtz", "20260122T100000", "20260122T110000", "SUMMARY:NY call",
               tzid="America/New_York")),
        cal(ev("allday", "20260123", "20260124", "SUMMARY:Closed")),
        cal(ev("floating", "20260124T150000", "20260124T160000", "SUMMARY:Floating")),
        cal(CUSTOM_TZ, ev("custom-tz", "20260125T100000", "20260125T110000",
                          "SUMMARY:Custom zone", tzid="My Office Zone")),
        # Weekly series across DST with an EXDATE, a moved and a cancelled instance.
        cal(BERLIN_TZ,
            ev("weekly", "20260105T090000", "20260105T100000",
               "RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20260601T000000Z",
               "EXDATE;TZID=Europe/Berlin:20260112T090000",
               "SUMMARY:Bob Meyer weekly", "X-TERMIN-CUSTOMER-NAME:Bob Meyer",
               "X-TERMIN-CUSTOMER-EMAIL:bob.meyer@example.org",
               "X-TERMIN-CUSTOMER-PHONE:0049301111111", "X-TERMIN-SERVICE:Massage",
               tzid="Europe/Berlin"),
            ev("weekly", "20260119T140000", "20260119T150000",
               "RECURRENCE-ID;TZID=Europe/Berlin:20260119T090000", "SUMMARY:Bob Meyer moved",
               "SEQUENCE:1", tzid="Europe/Berlin"),
            ev("weekly", "20260126T090000", "20260126T100000",
               "RECURRENCE-ID;TZID=Europe/Berlin:20260126T090000", "STATUS:CANCELLED",
               tzid="Europe/Berlin")),
        # Open-ended daily series that started long before the window.
        cal(ev("daily-open", "20240101T070000Z", "20240101T071500Z",
               "RRULE:FREQ=DAILY;INTERVAL=10", "SUMMARY:Standup")),
        cal(ev("count-series", "20260201T080000Z", "20260201T083000Z",
               "RRULE:FREQ=MONTHLY;COUNT=5;BYMONTHDAY=1", "SUMMARY:Monthly")),
        cal(ev("cancelled", "20260127T100000Z", "20260127T110000Z", "STATUS:CANCELLED",
               "SUMMARY:Cancelled one")),
        cal(ev("transparent", "20260128T100000Z", "20260128T110000Z", "TRANSP:TRANSPARENT",
               "SUMMARY:FYI only")),
        cal(ev("private", "20260129T100000Z", "20260129T110000Z", "CLASS:PRIVATE",
               "SUMMARY:Doctor Bob Meyer", "DESCRIPTION:Gate code 4711")),
        cal(ev("duration", "20260130T100000Z", "20260130T100000Z", "SUMMARY:x")
            .replace("DTEND:20260130T100000Z", "DURATION:PT45M")),
        # Outside the window on both sides.
        cal(ev("far-past", "20240301T100000Z", "20240301T110000Z", "SUMMARY:Old")),
        cal(ev("far-future", "20290301T100000Z", "20290301T110000Z", "SUMMARY:Later")),
    ]


def fill(store: SqlStore, path: str = CAL, texts: list[str] | None = None) -> None:
    """Create the calendar and store every resource of ``texts`` (default: the corpus)."""
    store.create_collection(
        path, tag="VCALENDAR",
        props={"tag": "VCALENDAR", "D:displayname": "Alice's Work",
               "ICAL:calendar-color": "#3366ccff"},
        timezone="Europe/Berlin", exist_ok=True,
    )
    for text in texts if texts is not None else corpus():
        data = parse_resource(text)
        store.put_item(path, href_for_uid(data.uid), data, origin="test")


@pytest.fixture
def filled(store: SqlStore) -> Iterator[SqlStore]:
    """The store with the corpus in ``alice/work``."""
    fill(store)
    yield store
