"""The login providers' connect flow through the admin pages (aiohttp client) against stock
Radicale: the form, *test connection*, calendar choice, confirm, preview, import, reconnect
with a new password, disconnect, and the explanation of each refusal the peer can produce.
The password never appears on a page or in the log."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from bridge.store import SqlStore
from bridge.web.app import create_app

from .conftest import csrf_of, login
from .login_support import PASSWORD, USER, DavPeer, dav_peer, login_settings, registry

__all__ = ["dav_peer"]

Client = TestClient[Any, Any]
CAL = "staff/praxis"
BASE = f"/admin/sync/{CAL}"


@pytest.fixture
async def lclient(aiohttp_client: Any, admin_store: SqlStore, tmp_path: Path,
                  dav_peer: DavPeer) -> Client:
    """The sidecar with the product's registry (CalDAV may reach loopback) and iCloud's test
    host names, logged in as admin."""
    settings = login_settings(tmp_path)
    app = create_app(settings, admin_store,
                     providers=registry(settings, admin_store, dav_peer.proxy))
    client: Client = await aiohttp_client(app)
    assert (await login(client)).status == 303
    return client


async def _submit(client: Client, provider: str, url: str, password: str,
                  user: str = USER, **extra: str) -> Any:
    token = await csrf_of(client, f"{BASE}/login/{provider}")
    return await client.post(f"{BASE}/login/{provider}", data={
        "csrf_token": token, "url": url, "username": user, "password": password, **extra},
        allow_redirects=False)


def _reason(html: str) -> str:
    match = re.search(r'id="login-error" data-reason="(\w+)"', html)
    assert match is not None, html[:2000]
    return match.group(1)


async def _import(client: Client, store: SqlStore, calendar_url: str) -> int:
    """Choose ``calendar_url``, confirm, save, preview, import; wait until it is done."""
    choose = await (await client.get(f"{BASE}/choose")).text()
    assert f'value="{calendar_url}"' in choose
    confirm = await client.get(f"{BASE}/confirm?calendar={quote(calendar_url, safe='')}")
    assert confirm.status == 200 and 'id="save-changes"' in await confirm.text()
    token = await csrf_of(client, f"{BASE}/confirm?calendar={quote(calendar_url, safe='')}")
    resp = await client.post(f"{BASE}/save", data={"csrf_token": token,
                                                   "calendar": calendar_url},
                             allow_redirects=False)
    assert resp.headers["Location"] == f"{BASE}/preview"
    preview = await (await client.get(f"{BASE}/preview")).text()
    assert 'id="start-import"' in preview and "Server login" in preview
    seen = re.search(r'data-count="google">(\d+)<', preview)
    assert seen is not None and int(seen.group(1)) == 2, preview
    token = await csrf_of(client, f"{BASE}/preview")
    resp = await client.post(f"{BASE}/import", data={"csrf_token": token},
                             allow_redirects=False)
    assert resp.status == 303
    record = store.connection_for_collection(CAL)
    assert record is not None
    for _ in range(1200):  # generous: a busy machine
        progress = await (await client.get(f"{BASE}/progress.json")).json()
        if progress["finished"]:
            return record.id
        assert progress["phase"] != "failed", progress
        await asyncio.sleep(0.1)
    raise AssertionError("the import did not finish")


async def test_caldav_form_test_choose_preview_import_reconnect_disconnect(
    lclient: Client, admin_store: SqlStore, dav_peer: DavPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    calendar_url, controls = dav_peer.calendar("Sprechstunde", "Teamrunde")
    base = dav_peer.proxy.base
    # The provider step offers the CalDAV server; its button leads to the form.
    page = await (await lclient.get(BASE)).text()
    assert 'data-provider="caldav" data-state="ready"' in page
    assert 'data-provider="icloud" data-state="ready"' in page
    token = await csrf_of(lclient, BASE)
    resp = await lclient.post(f"{BASE}/connect", data={"csrf_token": token,
                                                        "provider": "caldav"},
                              allow_redirects=False)
    assert resp.headers["Location"] == f"{BASE}/login/caldav"
    form = await (await lclient.get(f"{BASE}/login/caldav")).text()
    assert 'id="server-url"' in form and 'type="password"' in form
    assert "Which address?" in form and 'name="auth"' not in form

    # A form without its CSRF token is refused; nothing is stored.
    resp = await lclient.post(f"{BASE}/login/caldav", data={
        "url": base + "/", "username": USER, "password": PASSWORD}, allow_redirects=False)
    assert resp.status == 403
    # Empty fields, then a wrong password: explained, the password never echoed.
    resp = await _submit(lclient, "caldav", base + "/", "")
    assert resp.status == 400 and _reason(await resp.text()) == "missing"
    wrong = "wrong-pw-" + "x" * 8
    resp = await _submit(lclient, "caldav", base + "/", wrong)
    html = await resp.text()
    assert resp.status == 200 and _reason(html) == "auth"
    assert "Wrong user name or password" in html
    assert wrong not in html and f'value="{base}/"' in html and f'value="{USER}"' in html
    assert admin_store.list_connections() == []

    # The right password: the test-connection page shows what was discovered.
    resp = await _submit(lclient, "caldav", base + "/", PASSWORD)
    assert resp.status == 303 and resp.headers["Location"] == f"{BASE}/discovered"
    found = await (await lclient.get(f"{BASE}/discovered")).text()
    assert 'id="discovered-server"' in found and base in found
    assert "Change tracking" in found and "sync-collection" in found
    assert calendar_url in found and 'data-writable="yes"' in found
    assert "Test connection" in found and 'aria-current="step">Test connection' in found

    cid = await _import(lclient, admin_store, calendar_url)
    items = {i.summary for i in admin_store.list_items(CAL)}
    assert {"Sprechstunde", "Teamrunde"} <= items
    status = await (await lclient.get(BASE)).text()
    assert "CalDAV account" in status and 'id="change-password"' in status
    assert "stored user name and password" in status
    # CalDAV has no change notifications: the page says so instead of asking for https.
    assert "not offered by CalDAV: checked for changes every 5 minutes" in status
    assert "needs an https public URL" not in status

    # The user changes the password at the server: the next sync asks for the new one, and
    # the banner's button leads to the same form.
    new_password = "new-pw-" + "y" * 8
    dav_peer.server.set_password(new_password)
    token = await csrf_of(lclient, BASE)
    await lclient.post(f"{BASE}/sync-now", data={"csrf_token": token})
    status = await (await lclient.get(BASE)).text()
    assert 'id="needs-reconnect"' in status and "no longer accepts the stored password" in status
    resp = await lclient.post(f"{BASE}/connect", data={"csrf_token": token,
                                                        "provider": "caldav"},
                              allow_redirects=False)
    assert resp.headers["Location"] == f"{BASE}/login/caldav"
    form = await (await lclient.get(f"{BASE}/login/caldav")).text()
    assert f'value="{base}/"' in form and f'value="{USER}"' in form  # pre-filled
    assert "Reconnect Other CalDAV server" in form
    resp = await _submit(lclient, "caldav", base + "/", new_password)
    assert resp.status == 303 and resp.headers["Location"] == BASE
    status = await (await lclient.get(BASE)).text()
    assert "is connected again" in status, status
    record = admin_store.get_connection(cid)
    assert record.active and record.remote_calendar_id == calendar_url
    assert record.status == "ok" and 'id="needs-reconnect"' not in status
    assert len(admin_store.list_connections()) == 1

    # Disconnect: the stored login is deleted, the appointments stay.
    token = await csrf_of(lclient, BASE)
    resp = await lclient.post(f"{BASE}/disconnect", data={"csrf_token": token})
    html = await resp.text()
    assert "the stored user name and password were deleted" in html
    assert admin_store.list_connections() == []
    assert {"Sprechstunde", "Teamrunde"} <= {i.summary for i in admin_store.list_items(CAL)}
    for secret in (PASSWORD, wrong, new_password):
        assert secret not in caplog.text
    assert controls.proxy.writes() == 0  # nothing local was pushed


async def test_icloud_shape_explains_the_app_specific_password(
    lclient: Client, admin_store: SqlStore, dav_peer: DavPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    calendar_url, _controls = dav_peer.calendar("Sprechstunde", "Teamrunde", icloud=True)
    root = f"http://caldav.icloud.test:{dav_peer.proxy.port}/"
    form = await (await lclient.get(f"{BASE}/login/icloud")).text()
    assert f'value="{root}"' in form  # the preset's default URL
    assert "App-specific password" in form and "Sign-In and Security" in form
    # iCloud's 401 (X-MobileMe-AuthToken challenge) is a wrong Apple ID or password.
    resp = await _submit(lclient, "icloud", root, "normal-apple-id-password")
    html = await resp.text()
    assert _reason(html) == "auth" and "Wrong Apple ID or app-specific password" in html
    assert "normal-apple-id-password" not in html
    # Accepted: the calendars are found on the second host.
    resp = await _submit(lclient, "icloud", root, PASSWORD)
    assert resp.headers["Location"] == f"{BASE}/discovered"
    found = await (await lclient.get(f"{BASE}/discovered")).text()
    assert "p42-caldav.icloud.test" in found and calendar_url in found
    await _import(lclient, admin_store, calendar_url)
    status = await (await lclient.get(BASE)).text()
    assert "iCloud account" in status and "https://appleid.apple.com" in status
    token = await csrf_of(lclient, BASE)
    html = await (await lclient.post(f"{BASE}/disconnect", data={"csrf_token": token})).text()
    assert "Revoke the app-specific password yourself at https://appleid.apple.com" in html
    assert admin_store.list_connections() == []
    assert "normal-apple-id-password" not in caplog.text and PASSWORD not in caplog.text


async def test_refusals_are_explained(lclient: Client, admin_store: SqlStore,
                                      dav_peer: DavPeer, tmp_path: Path) -> None:
    # Nothing listens there.
    from tests.sync.davpeer import free_port

    resp = await _submit(lclient, "caldav", f"http://127.0.0.1:{free_port()}/", PASSWORD)
    assert _reason(await resp.text()) == "unreachable"
    # This bridge's own CalDAV server.
    settings = login_settings(tmp_path)
    own = f"http://{settings.dav.host}:{settings.dav.port}/"
    resp = await _submit(lclient, "caldav", own, PASSWORD)
    html = await resp.text()
    assert _reason(html) == "loop" and "connect a calendar to itself" in html
    assert admin_store.list_connections() == []


async def test_loopback_is_refused_unless_the_operator_allows_it(
    aiohttp_client: Any, admin_store: SqlStore, tmp_path: Path, dav_peer: DavPeer
) -> None:
    from .conftest import make_settings

    client: Client = await aiohttp_client(create_app(make_settings(tmp_path), admin_store))
    assert (await login(client)).status == 303
    resp = await _submit(client, "caldav", dav_peer.proxy.base + "/", PASSWORD)
    html = await resp.text()
    assert _reason(html) == "unsafe_url" and "This address is not allowed" in html
    assert admin_store.list_connections() == []


async def test_exchange_form_when_registered(
    aiohttp_client: Any, admin_store: SqlStore, tmp_path: Path, dav_peer: DavPeer
) -> None:
    # Whatever factory is registered as "exchange" gets Exchange's form (the EWS factory comes
    # from its own package); here the CalDAV factory stands in for it.
    settings = login_settings(tmp_path)
    providers = registry(settings, admin_store, dav_peer.proxy)
    providers.setdefault("exchange", providers["caldav"])
    client: Client = await aiohttp_client(create_app(settings, admin_store,
                                                     providers=providers))
    assert (await login(client)).status == 303
    page = await (await client.get(BASE)).text()
    assert 'data-provider="exchange" data-state="ready"' in page
    form = await (await client.get(f"{BASE}/login/exchange")).text()
    assert "EWS URL or e-mail address for autodiscover" in form
    assert 'name="auth" value="ntlm" checked' in form and 'name="auth" value="basic"' in form
    assert "https://mail.example.com/EWS/Exchange.asmx" in form and "April 2027" in form
    button = re.search(r'<button[^>]*id="use-microsoft"[^>]*>', form)
    assert button is not None and "disabled" not in button.group(0)
    # The Microsoft 365 button starts the Outlook provider's flow (here it says what the
    # operator must configure first).
    token = await csrf_of(client, f"{BASE}/login/exchange")
    resp = await client.post(f"{BASE}/connect", data={"csrf_token": token,
                                                      "provider": "microsoft"})
    assert "Cannot connect" in await resp.text()
    # German.
    await client.post("/admin/lang", data={"lang": "de", "csrf_token": token,
                                           "next": f"{BASE}/login/exchange"})
    german = await (await client.get(f"{BASE}/login/exchange")).text()
    assert "EWS-URL oder E-Mail-Adresse für Autodiscover" in german
    assert "Stattdessen Outlook / Microsoft 365 verwenden" in german


async def test_login_form_of_an_unregistered_provider_goes_back(lclient: Client) -> None:
    resp = await lclient.get(f"{BASE}/login/no-such-provider", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == BASE
    resp = await lclient.get(f"{BASE}/login/google", allow_redirects=False)  # OAuth, no form
    assert resp.status == 303 and resp.headers["Location"] == BASE


async def test_a_calendar_connected_to_another_provider_is_not_given_a_login(
    lclient: Client, admin_store: SqlStore
) -> None:
    admin_store.create_connection(CAL, account_email="a@example.com", provider="google")
    resp = await lclient.get(f"{BASE}/login/caldav", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == BASE
    resp = await _submit(lclient, "caldav", "http://127.0.0.1:9/", PASSWORD)
    assert resp.status == 303 and resp.headers["Location"] == BASE
    page = await (await lclient.get(f"{BASE}/choose")).text()
    assert "connected to another provider" in page
    assert [c.provider for c in admin_store.list_connections()] == ["google"]
