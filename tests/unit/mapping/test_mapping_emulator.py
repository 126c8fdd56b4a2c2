"""Our bodies written through the real Google client to the emulator, and read back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bridge.google.mapping import (
    google_to_ical,
    ical_to_google,
    is_echo,
    same_content,
)
from bridge.ical.validate import parse_resource
from emulators.google.server import ALICE, EmulatorServer, basic_seed
from tests.unit.mapping.mapping_testlib import vcal, vevent

CAL_TZ = "Europe/Berlin"
SERIES = vcal(
    vevent(
        "DTSTART;TZID=Europe/Berlin:20300325T090000", "DURATION:PT45M",
        "RRULE:FREQ=WEEKLY;COUNT=5", "SUMMARY:Sprechstunde", "LOCATION:Praxis",
        "X-TERMIN-CUSTOMER-NAME:Anna", "X-TERMIN-SERVICE:Beratung", "CATEGORIES:A,B",
        "URL:https://shop.example/b/1", "CLASS:PRIVATE",
        "ATTENDEE;CN=Anna;PARTSTAT=ACCEPTED:mailto:anna@example.com",
        "ORGANIZER;CN=Praxis:mailto:praxis@example.com",
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT30M\r\nDESCRIPTION:x\r\nEND:VALARM",
    ),
    vevent("RECURRENCE-ID;TZID=Europe/Berlin:20300401T090000",
           "DTSTART;TZID=Europe/Berlin:20300401T110000",
           "DTEND;TZID=Europe/Berlin:20300401T114500", "SUMMARY:Sprechstunde (spät)"),
    vevent("RECURRENCE-ID;TZID=Europe/Berlin:20300408T090000",
           "DTSTART;TZID=Europe/Berlin:20300408T090000", "STATUS:CANCELLED"),
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def svc(emulator: EmulatorServer) -> Any:
    emulator.hooks.reset(basic_seed())
    return emulator.service(emulator.credentials(ALICE, scopes=["calendar"]))


def _write(svc: Any, text: str) -> Any:
    result = ical_to_google(text, calendar_key="alice/praxis", calendar_tz=CAL_TZ)
    svc.events().insert(calendarId="primary", body=result.master, sendUpdates="none").execute()
    for body in result.exceptions:
        svc.events().update(calendarId="primary", eventId=body["id"], body=body,
                            sendUpdates="none").execute()
    return result


def _read(svc: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    items = svc.events().list(calendarId="primary", showDeleted=True).execute()["items"]
    masters = [i for i in items if not i.get("recurringEventId")]
    assert len(masters) == 1
    return masters[0], [i for i in items if i.get("recurringEventId")]


def test_our_write_comes_back_as_an_echo(svc: Any) -> None:
    result = _write(svc, SERIES)
    master, exceptions = _read(svc)
    assert master["id"] == result.event_id
    assert is_echo(master)
    assert all(is_echo(e) for e in exceptions if e.get("status") != "cancelled")
    assert same_content((master, exceptions), result)
    text = google_to_ical(master, exceptions, calendar_tz=CAL_TZ)
    assert parse_resource(text).uid == "appt-1@termin.test"
    assert same_content(SERIES, text)


def test_edits_made_in_google_come_back_as_overrides_and_exdates(svc: Any) -> None:
    result = _write(svc, SERIES)
    moved_id = f"{result.event_id}_20300415T070000Z"
    svc.events().patch(calendarId="primary", eventId=moved_id, body={
        "summary": "Moved in Google",
        "start": {"dateTime": "2030-04-15T15:00:00+02:00", "timeZone": CAL_TZ},
        "end": {"dateTime": "2030-04-15T15:45:00+02:00", "timeZone": CAL_TZ},
    }, sendUpdates="none").execute()
    svc.events().delete(calendarId="primary", eventId=f"{result.event_id}_20300422T070000Z",
                        sendUpdates="none").execute()
    master, exceptions = _read(svc)
    edited = [e for e in exceptions if e["id"] == moved_id]
    assert edited and not is_echo(edited[0])
    text = google_to_ical(master, exceptions, calendar_tz=CAL_TZ)
    assert not same_content(SERIES, text)
    assert "Moved in Google" in text
    assert "20300422T090000" in text  # the deleted occurrence is an EXDATE now
    again = ical_to_google(text, calendar_key="alice/praxis", calendar_tz=CAL_TZ)
    assert again.event_id == result.event_id
    assert same_content((master, exceptions), again)
