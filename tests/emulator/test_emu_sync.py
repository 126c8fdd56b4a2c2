"""Full and incremental sync through the real client: pages, tokens, tombstones, 410."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from emulators.google.server import ALICE, EmulatorServer
from tests.emulator.conftest import timed


def _insert_many(svc: Any, count: int) -> list[dict[str, Any]]:
    return [
        svc.events().insert(calendarId="primary", body=timed(
            f"2030-01-{day:02d}T09:00:00+01:00", f"2030-01-{day:02d}T10:00:00+01:00",
            summary=f"E{day}")).execute()
        for day in range(1, count + 1)
    ]


def _list_all(svc: Any, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pages: list[dict[str, Any]] = []
    token = None
    while True:
        page = svc.events().list(calendarId="primary", pageToken=token, **params).execute()
        pages.append(page)
        token = page.get("nextPageToken")
        if not token:
            break
    return [item for p in pages for item in p.get("items", [])], pages


def test_full_then_incremental_sync_across_pages(svc: Any, emu: EmulatorServer) -> None:
    created = _insert_many(svc, 5)
    items, pages = _list_all(svc, maxResults=2)
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert {i["id"] for i in items} == {e["id"] for e in created}
    # nextSyncToken only on the last page, never together with nextPageToken.
    assert all("nextSyncToken" not in p for p in pages[:-1])
    assert "nextPageToken" not in pages[-1]
    sync_token = pages[-1]["nextSyncToken"]

    # Quiet calendar: nothing changed, a token comes back again.
    quiet = svc.events().list(calendarId="primary", syncToken=sync_token).execute()
    assert quiet["items"] == []
    assert quiet["nextSyncToken"]

    # Changes: one patch by us, one insert and one delete "in Google's UI".
    svc.events().patch(calendarId="primary", eventId=created[0]["id"],
                       body={"summary": "moved"}).execute()
    emu.hooks.external_change(ALICE, "insert", event=timed(
        "2030-02-01T09:00:00Z", "2030-02-01T10:00:00Z", summary="from UI"))
    emu.hooks.external_change(ALICE, "delete", event_id=created[1]["id"])
    changed, inc_pages = _list_all(svc, syncToken=sync_token, maxResults=1)
    assert len(inc_pages) == 3
    assert all("nextSyncToken" not in p for p in inc_pages[:-1])
    by_id = {i["id"]: i for i in changed}
    assert by_id[created[0]["id"]]["summary"] == "moved"
    assert any(i.get("summary") == "from UI" for i in changed)
    # The deleted event comes back as a minimal tombstone.
    assert by_id[created[1]["id"]] == {
        "kind": "calendar#event", "etag": by_id[created[1]["id"]]["etag"],
        "id": created[1]["id"], "status": "cancelled",
    }
    next_token = inc_pages[-1]["nextSyncToken"]
    again = svc.events().list(calendarId="primary", syncToken=next_token).execute()
    assert again["items"] == []


def test_full_list_hides_cancelled_unless_show_deleted(svc: Any) -> None:
    a, b = _insert_many(svc, 2)
    svc.events().delete(calendarId="primary", eventId=a["id"]).execute()
    visible = svc.events().list(calendarId="primary").execute()["items"]
    assert [i["id"] for i in visible] == [b["id"]]
    with_deleted = svc.events().list(calendarId="primary", showDeleted=True).execute()["items"]
    deleted = next(i for i in with_deleted if i["id"] == a["id"])
    assert deleted["status"] == "cancelled"
    assert deleted["summary"] == "E1"  # details kept for the organizer


def test_incremental_show_deleted_keeps_details(svc: Any) -> None:
    (a,) = _insert_many(svc, 1)
    token = svc.events().list(calendarId="primary").execute()["nextSyncToken"]
    svc.events().delete(calendarId="primary", eventId=a["id"]).execute()
    res = svc.events().list(calendarId="primary", syncToken=token, showDeleted=True).execute()
    assert res["items"][0]["summary"] == "E1"
    assert res["items"][0]["status"] == "cancelled"


def test_sync_token_expires_with_clock_and_hook(svc: Any, emu: EmulatorServer) -> None:
    _insert_many(svc, 1)
    token = svc.events().list(calendarId="primary").execute()["nextSyncToken"]
    emu.hooks.expire_sync_tokens(ALICE)
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", syncToken=token).execute()
    assert info.value.status_code == 410
    assert info.value.error_details[0]["reason"] == "fullSyncRequired"
    assert info.value.error_details[0]["domain"] == "calendar"

    token = svc.events().list(calendarId="primary").execute()["nextSyncToken"]
    svc.events().list(calendarId="primary", syncToken=token).execute()  # still fine
    emu.hooks.config(sync_token_ttl=3600)
    emu.hooks.advance_clock(3601)
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", syncToken=token).execute()
    assert info.value.status_code == 410


def test_unknown_sync_token_and_acl_change_give_410(svc: Any, emu: EmulatorServer) -> None:
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", syncToken="bm9wZQ==").execute()
    assert info.value.status_code == 410
    token = svc.events().list(calendarId=ALICE).execute()["nextSyncToken"]
    emu.hooks.acl_change(ALICE, "bob@example.com", "reader")
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId=ALICE, syncToken=token).execute()
    assert info.value.status_code == 410


@pytest.mark.parametrize("extra", [
    {"timeMin": "2030-01-01T00:00:00Z"},
    {"q": "x"},
    {"privateExtendedProperty": "a=b"},
    {"orderBy": "updated"},
    {"showDeleted": False},
])
def test_sync_token_with_restrictions_is_400(svc: Any, extra: dict[str, Any]) -> None:
    token = svc.events().list(calendarId="primary").execute()["nextSyncToken"]
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", syncToken=token, **extra).execute()
    assert info.value.status_code == 400
    assert "Sync token cannot be used" in str(info.value)


def test_bad_page_token_and_max_results(svc: Any) -> None:
    _insert_many(svc, 3)
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", pageToken="garbage").execute()
    assert info.value.status_code == 400
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", maxResults=0).execute()
    assert info.value.status_code == 400
    # Above the cap is clamped, not refused.
    assert len(svc.events().list(calendarId="primary", maxResults=99999).execute()["items"]) == 3


def test_page_snapshot_is_stable_while_paging(svc: Any, emu: EmulatorServer) -> None:
    _insert_many(svc, 3)
    first = svc.events().list(calendarId="primary", maxResults=2).execute()
    emu.hooks.external_change(ALICE, "insert", event=timed(
        "2030-03-01T09:00:00Z", "2030-03-01T10:00:00Z", summary="late"))
    second = svc.events().list(calendarId="primary", maxResults=2,
                               pageToken=first["nextPageToken"]).execute()
    assert len(second["items"]) == 1
    late = svc.events().list(calendarId="primary",
                             syncToken=second["nextSyncToken"]).execute()["items"]
    assert [i["summary"] for i in late] == ["late"]


def test_calendar_list_roles_primary_and_paging(emu: EmulatorServer) -> None:
    alice = emu.service(emu.credentials(ALICE, scopes=["calendar.readonly"]))
    bob = emu.service(emu.credentials("bob@example.com", scopes=["calendar.calendarlist.readonly"]))
    entries = alice.calendarList().list().execute()["items"]
    assert [(e["id"], e["accessRole"], e.get("primary", False)) for e in entries] == [
        (ALICE, "owner", True), ("c_shared@group.calendar.google.com", "owner", False)]
    page = bob.calendarList().list(maxResults=1).execute()
    assert len(page["items"]) == 1 and "nextPageToken" in page
    rest = bob.calendarList().list(maxResults=1, pageToken=page["nextPageToken"]).execute()
    roles = {e["id"]: e["accessRole"] for e in page["items"] + rest["items"]}
    assert roles == {"bob@example.com": "owner", "c_shared@group.calendar.google.com": "reader"}
    writable = bob.calendarList().list(minAccessRole="writer").execute()["items"]
    assert [e["id"] for e in writable] == ["bob@example.com"]
    with pytest.raises(HttpError) as info:
        bob.calendarList().list(syncToken=rest["nextSyncToken"], minAccessRole="writer").execute()
    assert info.value.status_code == 400


def test_calendars_get_and_primary_alias(svc: Any) -> None:
    cal = svc.calendars().get(calendarId="primary").execute()
    assert cal["id"] == ALICE and cal["timeZone"] == "Europe/Berlin"
    with pytest.raises(HttpError) as info:
        svc.calendars().get(calendarId="nobody@example.com").execute()
    assert info.value.status_code == 404


def test_short_and_empty_pages_knobs(svc: Any, emu: EmulatorServer) -> None:
    _insert_many(svc, 3)
    emu.hooks.config(page_size_cap=2, empty_pages=1)
    items, pages = _list_all(svc, maxResults=250)
    assert [len(p["items"]) for p in pages] == [0, 2, 1]
    assert len(items) == 3 and "nextSyncToken" in pages[-1]
