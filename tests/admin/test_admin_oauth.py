"""The Google connect flow over HTTP against the emulator: state handling and error pages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bridge.store import SqlStore, schema
from bridge.web.app import create_app
from emulators.google.server import ALICE, BOB, EmulatorServer

from .conftest import csrf_of, login, make_settings
from .emulator_support import SHARED, emulator_google_settings, follow_consent, seed_for

Client = TestClient[Any, Any]
CAL = "staff/praxis"


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    """One emulator for the module; each test resets it."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture
async def gclient(aiohttp_client: Any, admin_store: SqlStore, emu: EmulatorServer,
                  tmp_path: Path) -> Client:
    """A logged-in admin client of a sidecar whose Google settings point at the emulator."""
    settings = make_settings(tmp_path, **emulator_google_settings(emu))
    server = TestServer(create_app(settings, admin_store))
    await server.start_server()
    emu.hooks.reset(seed_for([f"http://127.0.0.1:{server.port}/oauth2/callback"]))
    emu.hooks.config(auto_consent=True, auto_consent_account=ALICE)
    client: Client = await aiohttp_client(server)
    assert (await login(client)).status == 303
    return client


def _connections(store: SqlStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.connections))
                   .scalar_one())


async def _start(client: Client) -> str:
    token = await csrf_of(client, f"/admin/sync/{CAL}")
    resp = await client.post(f"/admin/sync/{CAL}/connect", data={"csrf_token": token},
                             allow_redirects=False)
    assert resp.status == 303, await resp.text()
    location = resp.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"][0]
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    return location


def _path(callback_url: str) -> str:
    parts = urlsplit(callback_url)
    return urlunsplit(("", "", parts.path, parts.query, ""))


async def test_connect_choose_save_then_state_replay_is_refused(
    gclient: Client, admin_store: SqlStore
) -> None:
    callback = follow_consent(await _start(gclient))
    resp = await gclient.get(_path(callback), allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == f"/admin/sync/{CAL}/choose"
    assert _connections(admin_store) == 1
    page = await gclient.get(f"/admin/sync/{CAL}/choose")
    html = await page.text()
    assert SHARED in html and ALICE in html
    assert "Feiertage" not in html, "read-only calendars must not be offered"
    assert "Termine &lt;b&gt;Praxis&lt;/b&gt;" in html, "calendar names are escaped"
    # Replaying the same callback (state already used) is refused and writes nothing.
    resp = await gclient.get(_path(callback))
    assert resp.status == 400
    assert 'data-reason="state"' in await resp.text()
    assert _connections(admin_store) == 1
    # Confirmation, then Save changes binds the calendar.
    resp = await gclient.get(f"/admin/sync/{CAL}/confirm", params={"calendar": SHARED})
    assert resp.status == 200
    token = await csrf_of(gclient, f"/admin/sync/{CAL}/confirm?calendar={SHARED}")
    resp = await gclient.post(f"/admin/sync/{CAL}/save",
                              data={"csrf_token": token, "calendar": SHARED},
                              allow_redirects=False)
    assert resp.headers["Location"] == f"/admin/sync/{CAL}/preview"
    record = admin_store.connection_for_collection(CAL)
    assert record is not None and record.remote_calendar_id == SHARED
    page = await gclient.get(f"/admin/sync/{CAL}/preview")
    html = await page.text()
    assert page.status == 200 and 'data-count="google">2<' in html


async def test_wrong_missing_and_foreign_state_are_refused(
    gclient: Client, admin_store: SqlStore, aiohttp_client: Any
) -> None:
    callback = follow_consent(await _start(gclient))
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    code = query["code"][0]
    for bad in (f"?code={code}", f"?code={code}&state=forged", f"?code={code}&state="):
        resp = await gclient.get("/oauth2/callback" + bad)
        assert resp.status == 400, bad
    # The state of this session, presented by another logged-in admin session.
    other: Client = await aiohttp_client(gclient.server)
    assert (await login(other)).status == 303
    resp = await other.get(_path(callback))
    assert resp.status == 400
    assert _connections(admin_store) == 0
    # Not logged in at all: refused without redirecting the code anywhere.
    anonymous: Client = await aiohttp_client(gclient.server)
    resp = await anonymous.get(_path(callback), allow_redirects=False)
    assert resp.status == 403
    assert _connections(admin_store) == 0


async def test_access_denied_page(gclient: Client, emu: EmulatorServer,
                                  admin_store: SqlStore) -> None:
    emu.hooks.config(consent_decision="deny")
    callback = follow_consent(await _start(gclient))
    assert "error=access_denied" in callback
    resp = await gclient.get(_path(callback))
    assert resp.status == 200
    assert 'data-reason="access_denied"' in await resp.text()
    assert _connections(admin_store) == 0


async def test_admin_policy_enforced_page(gclient: Client, emu: EmulatorServer,
                                          admin_store: SqlStore) -> None:
    callback = follow_consent(await _start(gclient))
    # The Workspace admin restricts Calendar between consent and code exchange.
    emu.hooks.config(admin_policy_enforced=["*"])
    resp = await gclient.get(_path(callback))
    html = await resp.text()
    assert 'data-reason="admin_policy_enforced"' in html
    assert "API controls" in html and "24 hours" in html
    assert _connections(admin_store) == 0


async def test_missing_calendar_scope_page(gclient: Client, emu: EmulatorServer,
                                           admin_store: SqlStore) -> None:
    emu.hooks.config(grant_subset_scopes=[
        "https://www.googleapis.com/auth/calendar.calendarlist.readonly"])
    callback = follow_consent(await _start(gclient))
    resp = await gclient.get(_path(callback))
    assert 'data-reason="scope"' in await resp.text()
    assert _connections(admin_store) == 0


async def test_no_writable_calendar_page(gclient: Client, emu: EmulatorServer,
                                         admin_store: SqlStore,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    emu.hooks.config(auto_consent_account=BOB)
    callback = follow_consent(await _start(gclient))

    def no_row(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no connection row may be written for a read-only account")

    monkeypatch.setattr(admin_store, "create_connection", no_row)
    resp = await gclient.get(_path(callback))
    html = await resp.text()
    assert 'data-reason="no_writable"' in html, html[-1500:]
    assert BOB in html, "the account is named even though it may not write"
    assert _connections(admin_store) == 0
    # The grant Bob just gave was revoked at Google.
    grants = emu.run(lambda st: [(rt.account, rt.revoked) for rt in st.refresh_tokens.values()])
    assert grants and all(revoked for account, revoked in grants if account == BOB)


async def test_reconnect_keeps_the_connection(gclient: Client, admin_store: SqlStore) -> None:
    callback = follow_consent(await _start(gclient))
    assert (await gclient.get(_path(callback), allow_redirects=False)).status == 303
    record = admin_store.connection_for_collection(CAL)
    assert record is not None
    admin_store.update_connection(record.id, remote_calendar_id=SHARED, status="needs_reconnect",
                                  last_error="invalid_grant")
    callback = follow_consent(await _start(gclient))
    resp = await gclient.get(_path(callback), allow_redirects=False)
    assert resp.headers["Location"] == f"/admin/sync/{CAL}"
    again = admin_store.connection_for_collection(CAL)
    assert again is not None and again.id == record.id and again.status == "ok"
    assert _connections(admin_store) == 1


async def _connected(client: Client, store: SqlStore) -> int:
    """Connect ``CAL`` to the shared calendar through the pages and wait for the import."""
    callback = follow_consent(await _start(client))
    assert (await client.get(_path(callback), allow_redirects=False)).status == 303
    token = await csrf_of(client, f"/admin/sync/{CAL}/confirm?calendar={SHARED}")
    await client.post(f"/admin/sync/{CAL}/save", data={"csrf_token": token, "calendar": SHARED},
                      allow_redirects=False)
    token = await csrf_of(client, f"/admin/sync/{CAL}/preview")
    resp = await client.post(f"/admin/sync/{CAL}/import", data={"csrf_token": token},
                             allow_redirects=False)
    assert resp.status == 303
    record = store.connection_for_collection(CAL)
    assert record is not None
    for _ in range(200):
        if store.get_connection(record.id).import_done:
            return record.id
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not finish")


async def test_cancel_pause_keeps_appointments_and_restores_google(
    gclient: Client, admin_store: SqlStore, emu: EmulatorServer
) -> None:
    for day in range(10, 18):
        emu.hooks.external_change(SHARED, "insert", event={
            "summary": f"Termin {day}", "start": {"dateTime": f"2030-01-{day}T09:00:00Z"},
            "end": {"dateTime": f"2030-01-{day}T10:00:00Z"}})
    cid = await _connected(gclient, admin_store)
    assert len(admin_store.list_items(CAL)) == 10
    live = [e["id"] for e in emu.hooks.stored_events(SHARED) if e.get("status") != "cancelled"]
    for eid in live[:8]:
        emu.hooks.external_change(SHARED, "delete", event_id=eid)
    token = await csrf_of(gclient, f"/admin/sync/{CAL}")
    await gclient.post(f"/admin/sync/{CAL}/sync-now", data={"csrf_token": token})
    assert admin_store.get_connection(cid).paused_reason
    page = await (await gclient.get(f"/admin/sync/{CAL}")).text()
    assert 'id="pause-cancel"' in page and "put them back into Google" in page
    resp = await gclient.post(f"/admin/sync/{CAL}/pause/cancel", data={"csrf_token": token})
    html = await resp.text()
    assert resp.status == 200
    assert "being put back into Google in the background" in html
    assert len(admin_store.list_items(CAL)) == 10
    back: set[str] = set()
    for _ in range(600):  # the background restore job sends them
        back = {e["id"] for e in emu.hooks.stored_events(SHARED)
                if e.get("status") != "cancelled"}
        if len(back) == 10 and admin_store.get_connection(cid).paused_reason is None:
            break
        await asyncio.sleep(0.05)
    assert set(live) <= back and len(back) == 10
    assert admin_store.get_connection(cid).paused_reason is None
    assert len(admin_store.list_items(CAL)) == 10
    page = await (await gclient.get(f"/admin/sync/{CAL}")).text()
    assert 'id="paused"' not in page


def _appointment(uid: str, summary: str, day: int) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\n"
            f"DTSTART;TZID=Europe/Berlin:203002{day:02d}T090000\r\n"
            f"DTEND;TZID=Europe/Berlin:203002{day:02d}T100000\r\n"
            f"SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


async def test_preview_shows_what_will_really_be_written_in_both_languages(
    gclient: Client, admin_store: SqlStore, emu: EmulatorServer
) -> None:
    from bridge.google.mapping import ical_to_google
    from bridge.ical import parse_resource

    # Here: one appointment Google already holds unchanged, one it holds in an older version,
    # one it lacks.  Google: those two plus the seed's two events.
    texts = {"same@x": _appointment("same@x", "Kontrolle", 4),
             "moved@x": _appointment("moved@x", "Verschoben", 5),
             "new@x": _appointment("new@x", "Neu", 6)}
    admin_store.bulk_put(CAL, [parse_resource(t) for t in texts.values()], origin="caldav")
    for text in (texts["same@x"], _appointment("moved@x", "Alt", 5)):
        body = ical_to_google(text, calendar_key=CAL, calendar_tz="Europe/Berlin").master
        emu.hooks.external_change(SHARED, "insert", event=body)
    resp = await gclient.get(_path(follow_consent(await _start(gclient))),
                             allow_redirects=False)
    assert resp.status == 303
    token = await csrf_of(gclient, f"/admin/sync/{CAL}/confirm?calendar={SHARED}")
    await gclient.post(f"/admin/sync/{CAL}/save", data={"csrf_token": token, "calendar": SHARED},
                       allow_redirects=False)
    expected = {"google": 4, "local": 3, "in-sync": 1, "create": 2, "update": 0,
                "google-update": 1, "google-create": 1}
    for lang, words in (("en", ("missing in Google", "already the same on both sides",
                                "Also send the 1 appointments Google does not have yet")),
                        ("de", ("fehlen in Google", "auf beiden Seiten schon gleich",
                                "Auch die 1 Termine an Google senden, die dort noch fehlen"))):
        page = await gclient.get(f"/admin/sync/{CAL}/preview", headers={"Accept-Language": lang})
        html = await page.text()
        assert page.status == 200, html
        for name, count in expected.items():
            assert f'data-count="{name}">{count}<' in html, (lang, name)
        for text in words:
            assert text in html, (lang, text)
        assert 'id="push-existing" checked' in html
