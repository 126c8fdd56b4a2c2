"""Event writes through the real client: ids, 409, 412, 304, 410, merge rules, etags, sequence."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from emulators.google.server import ALICE, EmulatorServer
from tests.emulator.conftest import timed

BODY = timed("2030-01-07T09:00:00+01:00", "2030-01-07T10:00:00+01:00", summary="Termin")


def _error(call: Any) -> HttpError:
    with pytest.raises(HttpError) as info:
        call.execute()
    return info.value


def test_insert_defaults(svc: Any) -> None:
    ev = svc.events().insert(calendarId="primary", body=BODY).execute()
    assert ev["status"] == "confirmed"
    assert ev["iCalUID"] == f"{ev['id']}@google.com"
    assert ev["sequence"] == 0
    assert ev["reminders"] == {"useDefault": True}
    assert ev["organizer"] == {"email": ALICE, "displayName": "Alice Example", "self": True}
    assert ev["created"].endswith("Z") and len(ev["created"]) == 24
    assert ev["start"] == {"dateTime": "2030-01-07T09:00:00+01:00"}
    assert ev["etag"].startswith('"') and ev["etag"].endswith('"')


def test_reinsert_same_id_is_409_even_after_delete(svc: Any) -> None:
    body = dict(BODY, id="booking00042")
    svc.events().insert(calendarId="primary", body=body).execute()
    err = _error(svc.events().insert(calendarId="primary", body=body))
    assert err.status_code == 409
    assert err.error_details[0]["reason"] == "duplicate"
    svc.events().delete(calendarId="primary", eventId="booking00042").execute()
    err = _error(svc.events().insert(calendarId="primary", body=body))
    assert err.status_code == 409
    # Undelete by patching the status back.
    back = svc.events().patch(calendarId="primary", eventId="booking00042",
                              body={"status": "confirmed"}).execute()
    assert back["status"] == "confirmed"
    assert [i["id"] for i in svc.events().list(calendarId="primary").execute()["items"]] == [
        "booking00042"]


def test_delete_twice_is_410_and_unknown_is_404(svc: Any) -> None:
    ev = svc.events().insert(calendarId="primary", body=BODY).execute()
    assert svc.events().delete(calendarId="primary", eventId=ev["id"]).execute() == ""
    err = _error(svc.events().delete(calendarId="primary", eventId=ev["id"]))
    assert err.status_code == 410 and err.error_details[0]["reason"] == "deleted"
    got = svc.events().get(calendarId="primary", eventId=ev["id"]).execute()
    assert got["status"] == "cancelled"  # get always returns cancelled events
    assert _error(svc.events().get(calendarId="primary", eventId="neverexisted1")).status_code \
        == 404


@pytest.mark.parametrize(("body", "reason", "text"), [
    ({**BODY, "id": "UPPER_case"}, "invalid", "Invalid resource id value."),
    ({**BODY, "id": "abcw1"}, "invalid", "Invalid resource id value."),
    ({"start": BODY["start"], "summary": "x"}, "required", "Missing end time."),
    ({"start": {"dateTime": "2030-01-07T09:00:00"}, "end": {"dateTime": "2030-01-07T10:00:00"}},
     "required", "Missing time zone definition for start time."),
    (timed("2030-01-07T10:00:00Z", "2030-01-07T09:00:00Z"), "timeRangeEmpty",
     "The specified time range is empty."),
    ({"start": {"date": "2030-01-07"}, "end": {"dateTime": "2030-01-07T09:00:00Z"}}, "badRequest",
     "Start and end times must either both be date or both be dateTime."),
])
def test_insert_validation(svc: Any, body: dict[str, Any], reason: str, text: str) -> None:
    err = _error(svc.events().insert(calendarId="primary", body=body))
    assert err.status_code == 400
    assert err.error_details[0]["reason"] == reason
    assert err.error_details[0]["message"] == text


def test_time_zone_without_offset_is_accepted(svc: Any) -> None:
    ev = svc.events().insert(calendarId="primary", body={
        "start": {"dateTime": "2030-07-01T09:00:00", "timeZone": "America/New_York"},
        "end": {"dateTime": "2030-07-01T10:00:00", "timeZone": "America/New_York"},
    }).execute()
    assert ev["start"] == {"dateTime": "2030-07-01T09:00:00-04:00", "timeZone": "America/New_York"}


def test_if_match_412_and_if_none_match_304(svc: Any) -> None:
    ev = svc.events().insert(calendarId="primary", body=BODY).execute()
    stale = ev["etag"]
    fresh = svc.events().patch(calendarId="primary", eventId=ev["id"],
                               body={"summary": "v2"}).execute()
    assert fresh["etag"] != stale
    req = svc.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "v3"})
    req.headers["If-Match"] = stale
    err = _error(req)
    assert err.status_code == 412 and err.error_details[0]["reason"] == "conditionNotMet"
    req = svc.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "v3"})
    req.headers["If-Match"] = fresh["etag"]
    assert req.execute()["summary"] == "v3"
    req = svc.events().delete(calendarId="primary", eventId=ev["id"])
    req.headers["If-Match"] = fresh["etag"]
    assert _error(req).status_code == 412

    current = svc.events().get(calendarId="primary", eventId=ev["id"]).execute()
    get = svc.events().get(calendarId="primary", eventId=ev["id"])
    get.headers["If-None-Match"] = current["etag"]
    assert _error(get).status_code == 304


def test_patch_merge_rules_sequence_and_updated(svc: Any, emu: EmulatorServer) -> None:
    ev = svc.events().insert(calendarId="primary", body={
        **BODY, "location": "Room 1", "description": "keep",
        "attendees": [{"email": "a@example.com"}, {"email": "b@example.com"}],
        "extendedProperties": {"private": {"bookingId": "42", "x": "1"}},
    }).execute()
    emu.hooks.advance_clock(60)
    out = svc.events().patch(calendarId="primary", eventId=ev["id"], body={
        "attendees": [{"email": "c@example.com"}],
        "extendedProperties": {"private": {"x": "2"}},
        "location": None,
        "id": "ignoredreadonly",
    }).execute()
    assert out["id"] == ev["id"]
    assert [a["email"] for a in out["attendees"]] == ["c@example.com"]  # arrays replace
    assert out["extendedProperties"]["private"] == {"bookingId": "42", "x": "2"}  # objects merge
    assert "location" not in out  # null removes
    assert out["description"] == "keep"
    assert out["sequence"] == 1  # location change bumps the sequence
    assert out["updated"] > ev["updated"]
    reminders = svc.events().patch(calendarId="primary", eventId=ev["id"], body={
        "reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 5}]},
    }).execute()
    assert reminders["updated"] == out["updated"]  # reminder-only change keeps `updated`
    assert reminders["etag"] != out["etag"]
    err = _error(svc.events().patch(calendarId="primary", eventId=ev["id"],
                                    body={"sequence": 0}))
    assert err.status_code == 400 and "Invalid sequence value" in str(err)


def test_update_is_full_replace(svc: Any) -> None:
    ev = svc.events().insert(calendarId="primary", body={**BODY, "location": "x"}).execute()
    out = svc.events().update(calendarId="primary", eventId=ev["id"], body=timed(
        "2030-01-08T09:00:00Z", "2030-01-08T10:00:00Z", summary="new")).execute()
    assert "location" not in out and out["summary"] == "new"
    assert out["iCalUID"] == ev["iCalUID"] and out["created"] == ev["created"]
    err = _error(svc.events().update(calendarId="primary", eventId=ev["id"], body={"summary": "s"}))
    assert err.status_code == 400


def test_import_upserts_by_ical_uid(svc: Any) -> None:
    body = {**BODY, "iCalUID": "booking-7@termin-bridge", "organizer": {"email": "x@example.com"}}
    first = svc.events().import_(calendarId="primary", body=body).execute()
    changed = {**body, "summary": "changed"}
    again = svc.events().import_(calendarId="primary", body=changed).execute()
    assert again["id"] == first["id"]
    assert again["summary"] == "changed"
    assert first["organizer"]["email"] == "x@example.com"
    items = svc.events().list(calendarId="primary", iCalUID="booking-7@termin-bridge").execute()
    assert len(items["items"]) == 1
    err = _error(svc.events().import_(calendarId="primary", body=BODY))
    assert err.status_code == 400


def test_reader_cannot_write(emu: EmulatorServer) -> None:
    bob = emu.service(emu.credentials("bob@example.com", scopes=["calendar"]))
    err = _error(bob.events().insert(calendarId="c_shared@group.calendar.google.com", body=BODY))
    assert err.status_code == 403
    assert err.error_details[0]["reason"] == "requiredAccessLevel"
    assert bob.events().list(calendarId="c_shared@group.calendar.google.com").execute()[
        "accessRole"] == "reader"
    err = _error(bob.events().list(calendarId=ALICE))
    assert err.status_code == 404


def test_private_extended_property_filter(svc: Any) -> None:
    for n in ("1", "2"):
        svc.events().insert(calendarId="primary", body={
            **BODY, "extendedProperties": {"private": {"bookingId": n, "src": "tb"}}}).execute()
    found = svc.events().list(calendarId="primary",
                              privateExtendedProperty=["bookingId=2", "src=tb"]).execute()
    assert [i["extendedProperties"]["private"]["bookingId"] for i in found["items"]] == ["2"]
    none = svc.events().list(calendarId="primary",
                             privateExtendedProperty=["bookingId=2", "src=other"]).execute()
    assert none["items"] == []


def test_write_log_counts_duplicates(svc: Any, emu: EmulatorServer) -> None:
    emu.hooks.reset_counters()
    svc.events().insert(calendarId="primary", body={**BODY, "id": "dup00001"}).execute()
    _error(svc.events().insert(calendarId="primary", body={**BODY, "id": "dup00001"}))
    state = emu.hooks.state()
    assert [w["op"] for w in state["writes"]] == ["insert"]
    assert state["api_requests"]["calendar.events.insert"] == 2


@pytest.mark.parametrize(("body", "text"), [
    ({"start": {"dateTime": "tomorrow"}, "end": {"dateTime": "2030-01-01T10:00:00Z"}},
     "Invalid start time."),
    ({"start": {"dateTime": "2030-01-01T09:00:00", "timeZone": "Mars/Olympus_Mons"},
      "end": {"dateTime": "2030-01-01T10:00:00Z"}},
     "Invalid time zone definition for start time."),
    ({"start": {"date": "2030-02-30"}, "end": {"date": "2030-03-01"}}, "Invalid start time."),
    ({"start": "2030-01-01", "end": "2030-01-02"}, "Invalid start time."),
])
def test_hostile_times_are_400(svc: Any, body: dict[str, Any], text: str) -> None:
    err = _error(svc.events().insert(calendarId="primary", body=body))
    assert err.status_code == 400
    assert err.error_details[0]["message"] == text


def test_hostile_parameters_are_400(svc: Any, emu: EmulatorServer) -> None:
    import requests

    token = emu.hooks.issue_tokens(ALICE)["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = emu.api_endpoint + "calendars/primary/events"
    assert requests.get(url + "?maxAttendees=abc", headers=headers, timeout=10).status_code == 400
    bad_json = requests.post(url, data="{not json", headers=headers, timeout=10)
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["errors"][0]["reason"] == "parseError"
    watch = requests.post(url + "/watch", json={"id": "c", "type": "web_hook",
                                                "address": "http://x", "params": {"ttl": "x"}},
                          headers=headers, timeout=10)
    assert watch.status_code == 400
