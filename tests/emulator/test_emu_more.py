"""Smaller behaviours: calendarList sync, updatedMin, roles, zones, token lifetimes."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from emulators.google.server import (
    ALICE,
    BOB,
    CLIENT_ID,
    CLIENT_SECRET,
    SHARED_CAL,
    EmulatorServer,
)
from tests.emulator.conftest import timed


def test_calendar_list_incremental(emu: EmulatorServer) -> None:
    bob = emu.service(emu.credentials(BOB, scopes=["calendar.readonly"]))
    token = bob.calendarList().list().execute()["nextSyncToken"]
    assert bob.calendarList().list(syncToken=token).execute()["items"] == []
    emu.hooks.seed({"calendars": [{"id": "c_new@group.calendar.google.com", "owner": ALICE,
                                   "summary": "New", "acl": {BOB: "writer"}}]})
    changed = bob.calendarList().list(syncToken=token).execute()["items"]
    assert [(c["id"], c["accessRole"]) for c in changed] == [
        ("c_new@group.calendar.google.com", "writer")]
    with pytest.raises(HttpError) as info:
        bob.calendarList().list(syncToken="bogus").execute()
    assert info.value.status_code == 410


def test_updated_min_includes_deletions_and_has_a_limit(svc: Any, emu: EmulatorServer) -> None:
    old = svc.events().insert(calendarId="primary", body=timed(
        "2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z", summary="old")).execute()
    emu.hooks.advance_clock(120)
    since = emu.hooks.advance_clock(1)
    fresh = svc.events().insert(calendarId="primary", body=timed(
        "2030-01-02T09:00:00Z", "2030-01-02T10:00:00Z", summary="fresh")).execute()
    gone = svc.events().insert(calendarId="primary", body=timed(
        "2030-01-03T09:00:00Z", "2030-01-03T10:00:00Z", summary="gone")).execute()
    svc.events().delete(calendarId="primary", eventId=gone["id"]).execute()
    items = svc.events().list(calendarId="primary", updatedMin=since).execute()["items"]
    assert {(i["id"], i["status"]) for i in items} == {
        (fresh["id"], "confirmed"), (gone["id"], "cancelled")}
    assert old["id"] not in {i["id"] for i in items}
    emu.hooks.advance_clock(40 * 86400)
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", updatedMin=since).execute()
    assert info.value.status_code == 410
    assert info.value.error_details[0]["reason"] == "updatedMinTooLongAgo"


def test_free_busy_reader_sees_times_only(svc: Any, emu: EmulatorServer) -> None:
    svc.events().insert(calendarId=SHARED_CAL, body=timed(
        "2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z", summary="secret",
        description="details")).execute()
    emu.hooks.acl_change(SHARED_CAL, BOB, "freeBusyReader")
    bob = emu.service(emu.credentials(BOB))
    res = bob.events().list(calendarId=SHARED_CAL).execute()
    assert res["accessRole"] == "freeBusyReader"
    (item,) = res["items"]
    assert "summary" not in item and "description" not in item
    assert item["start"]["dateTime"] == "2030-01-01T10:00:00+01:00"
    fb = bob.freebusy().query(body={
        "timeMin": "2030-01-01T00:00:00Z", "timeMax": "2030-01-02T00:00:00Z",
        "timeZone": "Europe/Berlin", "items": [{"id": SHARED_CAL}]}).execute()
    assert fb["calendars"][SHARED_CAL]["busy"] == [
        {"start": "2030-01-01T10:00:00+01:00", "end": "2030-01-01T11:00:00+01:00"}]


def test_time_zone_parameter_and_q_filter(svc: Any) -> None:
    svc.events().insert(calendarId="primary", body=timed(
        "2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z", summary="Zahnarzt Müller")).execute()
    svc.events().insert(calendarId="primary", body=timed(
        "2030-01-01T11:00:00Z", "2030-01-01T12:00:00Z", summary="Other")).execute()
    res = svc.events().list(calendarId="primary", timeZone="Asia/Tokyo", q="zahnarzt").execute()
    assert res["timeZone"] == "Asia/Tokyo"
    assert [i["start"]["dateTime"] for i in res["items"]] == ["2030-01-01T18:00:00+09:00"]


def test_channel_can_only_be_stopped_by_its_creator(svc: Any, emu: EmulatorServer) -> None:
    channel = svc.events().watch(calendarId="primary", body={
        "id": "owned-1", "type": "web_hook", "address": "http://127.0.0.1:9/x"}).execute()
    bob = emu.service(emu.credentials(BOB))
    with pytest.raises(HttpError) as info:
        bob.channels().stop(body={"id": "owned-1", "resourceId": channel["resourceId"]}).execute()
    assert info.value.status_code == 404
    with pytest.raises(HttpError):
        svc.channels().stop(body={"id": "owned-1", "resourceId": "wrong"}).execute()
    svc.channels().stop(body={"id": "owned-1", "resourceId": channel["resourceId"]}).execute()


def test_refresh_token_ttl_testing_mode(emu: EmulatorServer) -> None:
    emu.hooks.config(refresh_token_ttl=7 * 86400)
    creds = emu.credentials(ALICE)
    svc = emu.service(creds)
    svc.calendars().get(calendarId="primary").execute()
    emu.hooks.advance_clock(7 * 86400)
    with pytest.raises(RefreshError, match="invalid_grant"):
        svc.calendars().get(calendarId="primary").execute()


def test_oldest_refresh_token_dies_past_the_limit(emu: EmulatorServer) -> None:
    emu.hooks.config(max_refresh_tokens=2)
    first = emu.credentials(ALICE)
    emu.credentials(ALICE)
    emu.credentials(ALICE)
    with pytest.raises(RefreshError, match="invalid_grant"):
        emu.service(first).calendars().get(calendarId="primary").execute()


def test_token_endpoint_errors(emu: EmulatorServer) -> None:
    url = emu.token_uri
    resp = requests.post(url, data={"grant_type": "refresh_token", "client_id": "ghost",
                                    "client_secret": "x", "refresh_token": "1//x"}, timeout=10)
    assert resp.status_code == 401
    assert resp.json() == {"error": "invalid_client",
                           "error_description": "The OAuth client was not found."}
    resp = requests.post(url, data={"grant_type": "password"},
                         auth=(CLIENT_ID, CLIENT_SECRET), timeout=10)
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported_grant_type"
    resp = requests.post(url, data={"grant_type": "authorization_code", "code": "4/bogus",
                                    "redirect_uri": "x"},
                         auth=(CLIENT_ID, CLIENT_SECRET), timeout=10)
    assert resp.json() == {"error": "invalid_grant", "error_description": "Malformed auth code."}


def test_unauthenticated_request_gets_401_body(emu: EmulatorServer) -> None:
    resp = requests.get(emu.api_endpoint + "users/me/calendarList", timeout=10)
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    err = resp.json()["error"]
    assert err["status"] == "UNAUTHENTICATED"
    assert err["errors"][0]["reason"] == "authError"
    assert err["errors"][0]["location"] == "Authorization"


def test_unemulated_method_answers_501(svc: Any) -> None:
    with pytest.raises(HttpError) as info:
        svc.events().quickAdd(calendarId="primary", text="Lunch tomorrow").execute()
    assert info.value.status_code == 501


def test_calendar_list_get(emu: EmulatorServer) -> None:
    bob = emu.service(emu.credentials(BOB, scopes=["calendar.calendarlist.readonly"]))
    entry = bob.calendarList().get(calendarId=SHARED_CAL).execute()
    assert entry["accessRole"] == "reader" and "primary" not in entry
    assert bob.calendarList().get(calendarId="primary").execute()["primary"] is True
    with pytest.raises(HttpError) as info:
        bob.calendarList().get(calendarId=ALICE).execute()
    assert info.value.status_code == 404


def test_attendee_and_reminder_rules(svc: Any) -> None:
    ev = svc.events().insert(calendarId="primary", body=timed(
        "2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z",
        attendees=[{"email": "guest@example.com"}, {"email": ALICE}])).execute()
    assert [a["responseStatus"] for a in ev["attendees"]] == ["needsAction", "needsAction"]
    assert ev["attendees"][1]["self"] is True
    with pytest.raises(HttpError) as info:
        svc.events().patch(calendarId="primary", eventId=ev["id"], body={
            "reminders": {"overrides": [{"method": "popup", "minutes": 5}]}}).execute()
    assert info.value.error_details[0]["reason"] == "cannotUseDefaultRemindersAndSpecifyOverride"


def test_invitation_quota(svc: Any, emu: EmulatorServer) -> None:
    emu.hooks.config(invitation_quota=1)
    guests = [{"email": "guest@example.com"}]
    svc.events().insert(calendarId="primary", body=timed(
        "2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z", attendees=guests)).execute()
    svc.events().insert(calendarId="primary", body=timed(
        "2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z")).execute()  # no guests: fine
    with pytest.raises(HttpError) as info:
        svc.events().insert(calendarId="primary", body=timed(
            "2030-01-02T09:00:00Z", "2030-01-02T10:00:00Z", attendees=guests)).execute(
                num_retries=3)
    assert info.value.status_code == 403
    assert info.value.error_details[0]["reason"] == "quotaExceeded"
    assert emu.hooks.state()["api_requests"]["calendar.events.insert"] == 3  # not retried


async def test_start_server_in_running_loop() -> None:
    from emulators.google.app import start_server
    from emulators.google.seed import demo_seed

    runner, base = await start_server(demo_seed(), config={"auto_consent": True})
    try:
        url = (f"{base}/o/oauth2/v2/auth?client_id=demo-client.apps.googleusercontent.com"
               "&redirect_uri=http://127.0.0.1:8080/oauth2/callback&response_type=code"
               "&scope=https://www.googleapis.com/auth/calendar.events&login_hint="
               "empfang@example.com")
        import aiohttp

        async with aiohttp.ClientSession() as session, session.get(
                url, allow_redirects=False) as resp:
            assert resp.status == 302
            assert resp.headers["Location"].startswith("http://127.0.0.1:8080/oauth2/callback?")
    finally:
        await runner.cleanup()


def test_installed_client_accepts_any_loopback_redirect(emu: EmulatorServer) -> None:
    emu.hooks.seed({"clients": [{"client_id": "desk", "client_secret": "s", "type": "installed"}]})
    emu.hooks.config(auto_consent=True)
    base = (f"{emu.base_url}/o/oauth2/v2/auth?client_id=desk&response_type=code"
            "&scope=https://www.googleapis.com/auth/calendar&redirect_uri=")
    ok = requests.get(base + "http://127.0.0.1:53127/", allow_redirects=False, timeout=10)
    assert ok.status_code == 302
    bad = requests.get(base + "https://evil.example/cb", allow_redirects=False, timeout=10)
    assert bad.status_code == 400 and "redirect_uri_mismatch" in bad.text
