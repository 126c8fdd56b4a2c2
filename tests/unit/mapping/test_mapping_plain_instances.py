"""An override identical to its occurrence is no override; reverting a Google exception."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.google.mapping import (
    google_hash,
    google_to_ical,
    ical_hash,
    ical_to_google,
    plain_instance_body,
)
from tests.unit.mapping.mapping_testlib import google_echo, vcal, vevent

WEEKLY = [
    "DTSTART;TZID=Europe/Berlin:20300110T100000",
    "DTEND;TZID=Europe/Berlin:20300110T110000",
    "RRULE:FREQ=WEEKLY;COUNT=6",
    "SUMMARY:Weekly",
    "LOCATION:Room 1",
]
ALL_DAY = ["DTSTART;VALUE=DATE:20300110", "DTEND;VALUE=DATE:20300112",
           "RRULE:FREQ=WEEKLY;COUNT=4", "SUMMARY:Retreat"]
FLOATING = ["DTSTART:20300110T100000", "DTEND:20300110T113000", "RRULE:FREQ=DAILY;COUNT=5",
            "SUMMARY:Local"]
TZ = "Europe/Berlin"


def moved(rid: str, start: str, end: str, *extra: str, summary: str = "Weekly") -> str:
    return vevent(f"RECURRENCE-ID;TZID=Europe/Berlin:{rid}",
                  f"DTSTART;TZID=Europe/Berlin:{start}", f"DTEND;TZID=Europe/Berlin:{end}",
                  f"SUMMARY:{summary}", "LOCATION:Room 1", *extra)


def google_series(text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    bodies = ical_to_google(text, calendar_key="alice/work", calendar_tz=TZ)
    return google_echo(bodies.master), [google_echo(e) for e in bodies.exceptions]


PLAIN_OVERRIDES = [
    ("zoned", WEEKLY, moved("20300117T100000", "20300117T100000", "20300117T110000")),
    ("all-day", ALL_DAY, vevent("RECURRENCE-ID;VALUE=DATE:20300117", "DTSTART;VALUE=DATE:20300117",
                                "DTEND;VALUE=DATE:20300119", "SUMMARY:Retreat")),
    ("floating", FLOATING, vevent("RECURRENCE-ID:20300112T100000", "DTSTART:20300112T100000",
                                  "DTEND:20300112T113000", "SUMMARY:Local")),
    ("after-dst", [*WEEKLY[:2], "RRULE:FREQ=WEEKLY;COUNT=20", *WEEKLY[3:]],
     moved("20300404T100000", "20300404T100000", "20300404T110000")),
]


@pytest.mark.parametrize(("name", "master", "plain"), PLAIN_OVERRIDES,
                         ids=[c[0] for c in PLAIN_OVERRIDES])
def test_plain_override_is_no_override_on_both_sides(name: str, master: list[str],
                                                     plain: str) -> None:
    with_plain = vcal(vevent(*master), plain)
    without = vcal(vevent(*master))
    assert ical_hash(with_plain, calendar_tz=TZ) == ical_hash(without, calendar_tz=TZ)
    assert not ical_to_google(with_plain, calendar_key="k", calendar_tz=TZ).exceptions
    # Google keeps an exception object identical to the series: no override there either.
    g_master, _ = google_series(without)
    bodies = ical_to_google(without, calendar_key="alice/work", calendar_tz=TZ)
    moved_text = vcal(vevent(*master), plain.replace("SUMMARY:", "SUMMARY:x"))
    exc = google_series(moved_text)[1][0]
    reverted = plain_instance_body(bodies, exc, calendar_tz=TZ)
    assert reverted is not None and reverted["id"] == exc["id"]
    held = google_echo(reverted | {"recurringEventId": bodies.event_id}, revision=2)
    assert plain_instance_body(bodies, held, calendar_tz=TZ) is None
    assert google_hash((g_master, [held]), calendar_tz=TZ) == ical_hash(without, calendar_tz=TZ)
    assert "RECURRENCE-ID" not in google_to_ical(g_master, [held], calendar_tz=TZ)


def test_revert_body_has_master_fields_original_start_and_length() -> None:
    text = vcal(vevent(*WEEKLY),
                moved("20300117T100000", "20300117T140000", "20300117T163000",
                      "DESCRIPTION:moved", summary="Moved"))
    bodies = ical_to_google(vcal(vevent(*WEEKLY)), calendar_key="alice/work", calendar_tz=TZ)
    exc = google_series(text)[1][0]
    body = plain_instance_body(bodies, exc, calendar_tz=TZ)
    assert body is not None
    assert body["id"] == exc["id"] == f"{bodies.event_id}_20300117T090000Z"
    assert body["start"] == {"dateTime": "2030-01-17T10:00:00+01:00", "timeZone": TZ}
    assert body["end"] == {"dateTime": "2030-01-17T11:00:00+01:00", "timeZone": TZ}
    assert (body["summary"], body["description"], body["location"]) == ("Weekly", "", "Room 1")
    assert body["originalStartTime"]["dateTime"] == "2030-01-17T10:00:00+01:00"
    assert "recurrence" not in body


@pytest.mark.parametrize("change", [
    ("20300117T100000", "20300117T110500", "Weekly"),  # a longer occurrence
    ("20300117T100500", "20300117T110500", "Weekly"),  # moved by five minutes
    ("20300117T100000", "20300117T110000", "Other"),   # another summary
])
def test_real_overrides_stay(change: tuple[str, str, str]) -> None:
    start, end, summary = change
    text = vcal(vevent(*WEEKLY), moved("20300117T100000", start, end, summary=summary))
    assert ical_hash(text, calendar_tz=TZ) != ical_hash(vcal(vevent(*WEEKLY)), calendar_tz=TZ)
    g_master, excs = google_series(text)
    assert len(excs) == 1
    assert "RECURRENCE-ID" in google_to_ical(g_master, excs, calendar_tz=TZ)
    assert google_hash((g_master, excs), calendar_tz=TZ) == ical_hash(text, calendar_tz=TZ)


def test_cancelled_exception_needs_no_revert() -> None:
    bodies = ical_to_google(vcal(vevent(*WEEKLY)), calendar_key="alice/work", calendar_tz=TZ)
    cancelled = {"id": f"{bodies.event_id}_20300117T090000Z", "status": "cancelled",
                 "recurringEventId": bodies.event_id,
                 "originalStartTime": {"dateTime": "2030-01-17T10:00:00+01:00", "timeZone": TZ}}
    assert plain_instance_body(bodies, cancelled, calendar_tz=TZ) is None
