"""Recurring events, instance exceptions, all-day ends and time windows through the real client."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from emulators.google.server import ALICE, EmulatorServer

WEEKLY = {
    "summary": "Sprechstunde",
    "start": {"dateTime": "2030-03-25T09:00:00", "timeZone": "Europe/Berlin"},
    "end": {"dateTime": "2030-03-25T10:00:00", "timeZone": "Europe/Berlin"},
    "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],
}


def _series(svc: Any) -> dict[str, Any]:
    body = {**WEEKLY, "id": "series0001"}
    master = svc.events().insert(calendarId="primary", body=body).execute()
    # Second instance moved by an hour, third one cancelled.
    svc.events().patch(calendarId="primary", eventId="series0001_20300401T070000Z", body={
        "start": {"dateTime": "2030-04-01T10:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-04-01T11:00:00", "timeZone": "Europe/Berlin"},
    }).execute()
    svc.events().delete(calendarId="primary", eventId="series0001_20300408T070000Z").execute()
    return dict(master)


def test_single_events_expansion_with_exceptions(svc: Any) -> None:
    _series(svc)
    items = svc.events().list(calendarId="primary", singleEvents=True,
                              orderBy="startTime").execute()["items"]
    # DST starts 2030-03-31: 09:00 Berlin is 08:00Z before and 07:00Z after.
    assert [i["id"] for i in items] == [
        "series0001_20300325T080000Z", "series0001_20300401T070000Z",
        "series0001_20300415T070000Z"]
    assert [i["start"]["dateTime"] for i in items] == [
        "2030-03-25T09:00:00+01:00", "2030-04-01T10:00:00+02:00", "2030-04-15T09:00:00+02:00"]
    moved = items[1]
    assert moved["recurringEventId"] == "series0001"
    assert moved["originalStartTime"] == {"dateTime": "2030-04-01T09:00:00+02:00",
                                          "timeZone": "Europe/Berlin"}
    with_deleted = svc.events().list(calendarId="primary", singleEvents=True,
                                     showDeleted=True).execute()["items"]
    cancelled = [i for i in with_deleted if i["status"] == "cancelled"]
    assert [i["id"] for i in cancelled] == ["series0001_20300408T070000Z"]


def test_without_single_events_master_plus_exceptions(svc: Any) -> None:
    _series(svc)
    items = svc.events().list(calendarId="primary").execute()["items"]
    by_id = {i["id"]: i for i in items}
    assert set(by_id) == {"series0001", "series0001_20300401T070000Z",
                          "series0001_20300408T070000Z"}
    assert by_id["series0001"]["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=4"]
    # Cancelled instances of a live series stay visible without showDeleted.
    assert by_id["series0001_20300408T070000Z"]["status"] == "cancelled"
    assert by_id["series0001_20300408T070000Z"]["recurringEventId"] == "series0001"


def test_instances_endpoint_and_incremental_exceptions(svc: Any) -> None:
    svc.events().insert(calendarId="primary", body={**WEEKLY, "id": "series0001"}).execute()
    token = svc.events().list(calendarId="primary").execute()["nextSyncToken"]
    svc.events().delete(calendarId="primary", eventId="series0001_20300408T070000Z").execute()
    inc = svc.events().list(calendarId="primary", syncToken=token).execute()["items"]
    assert inc == [{
        "kind": "calendar#event", "etag": inc[0]["etag"], "id": "series0001_20300408T070000Z",
        "status": "cancelled", "recurringEventId": "series0001",
        "originalStartTime": {"dateTime": "2030-04-08T09:00:00+02:00",
                              "timeZone": "Europe/Berlin"},
    }]
    inst = svc.events().instances(calendarId="primary", eventId="series0001").execute()["items"]
    assert len(inst) == 3
    got = svc.events().get(calendarId="primary", eventId="series0001_20300415T070000Z").execute()
    assert got["recurringEventId"] == "series0001"
    with pytest.raises(HttpError) as info:
        svc.events().get(calendarId="primary", eventId="series0001_20300416T070000Z").execute()
    assert info.value.status_code == 404


def test_exdate_and_time_window(svc: Any) -> None:
    svc.events().insert(calendarId="primary", body={
        **WEEKLY, "recurrence": ["RRULE:FREQ=DAILY;UNTIL=20300329T235959Z",
                                 "EXDATE;TZID=Europe/Berlin:20300327T090000"],
    }).execute()
    items = svc.events().list(
        calendarId="primary", singleEvents=True, orderBy="startTime",
        timeMin="2030-03-26T09:00:00+01:00",  # exclusive bound on the end
        timeMax="2030-03-29T09:00:00+01:00",  # exclusive bound on the start
    ).execute()["items"]
    assert [i["start"]["dateTime"][:10] for i in items] == ["2030-03-26", "2030-03-28"]


def test_all_day_exclusive_end(svc: Any) -> None:
    ev = svc.events().insert(calendarId="primary", body={
        "summary": "Urlaub", "start": {"date": "2030-01-10"}, "end": {"date": "2030-01-11"},
    }).execute()
    assert ev["end"] == {"date": "2030-01-11"}
    # Calendar zone is Europe/Berlin: the day is 2030-01-09T23:00Z .. 2030-01-10T23:00Z.
    def listed(tmin: str, tmax: str) -> list[str]:
        return [i["id"] for i in svc.events().list(
            calendarId="primary", timeMin=tmin, timeMax=tmax).execute()["items"]]
    assert listed("2030-01-10T23:00:00Z", "2030-01-12T00:00:00Z") == []
    assert listed("2030-01-10T22:59:00Z", "2030-01-12T00:00:00Z") == [ev["id"]]
    assert listed("2030-01-08T00:00:00Z", "2030-01-09T23:00:00Z") == []
    fb = svc.freebusy().query(body={
        "timeMin": "2030-01-10T00:00:00Z", "timeMax": "2030-01-12T00:00:00Z",
        "items": [{"id": "primary"}, {"id": "nobody@example.com"}],
    }).execute()
    assert fb["calendars"]["primary"]["busy"] == [
        {"start": "2030-01-10T00:00:00Z", "end": "2030-01-10T23:00:00Z"}]
    assert fb["calendars"]["nobody@example.com"]["errors"][0]["reason"] == "notFound"


def test_all_day_recurring_instance_ids(svc: Any) -> None:
    svc.events().insert(calendarId="primary", body={
        "id": "alldat0001", "start": {"date": "2030-05-01"}, "end": {"date": "2030-05-02"},
        "recurrence": ["RRULE:FREQ=YEARLY;COUNT=2"],
    }).execute()
    items = svc.events().list(calendarId="primary", singleEvents=True).execute()["items"]
    assert [(i["id"], i["end"]["date"]) for i in items] == [
        ("alldat0001_20300501", "2030-05-02"), ("alldat0001_20310501", "2031-05-02")]


def test_order_by_and_time_range_errors(svc: Any) -> None:
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", orderBy="startTime").execute()
    assert info.value.status_code == 400
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", timeMin="2030-01-02T00:00:00Z",
                          timeMax="2030-01-01T00:00:00Z").execute()
    assert info.value.error_details[0]["reason"] == "timeRangeEmpty"


def test_deleting_master_cancels_series(svc: Any, emu: EmulatorServer) -> None:
    _series(svc)
    svc.events().delete(calendarId="primary", eventId="series0001").execute()
    assert svc.events().list(calendarId="primary", singleEvents=True).execute()["items"] == []
    stored = {e["id"]: e["status"] for e in emu.hooks.stored_events(ALICE)}
    assert set(stored.values()) == {"cancelled"}
