"""The *Kalenderanbieter* step: every provider shown with its state, the ones still to come
disabled, provider-specific callbacks, Microsoft's consent help and disconnect text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bridge.admin.providers_ui import admin_consent_url, provider_states
from bridge.store import SqlStore
from bridge.sync.service import callback_path, provider_of_callback
from bridge.web.providers import provider_factories

from .conftest import csrf_of, login, make_settings

Client = TestClient[Any, Any]
CAL = "staff/praxis"


def _state(html: str, provider: str) -> str:
    match = re.search(rf'data-provider="{provider}" data-state="(\w+)"', html)
    assert match is not None, provider
    return match.group(1)


def _button(html: str, button_id: str) -> str:
    match = re.search(rf'<button[^>]*id="{button_id}"[^>]*>', html)
    assert match is not None, button_id
    return match.group(0)


async def test_provider_page_offers_google_microsoft_and_the_ones_to_come(
    client: Client, admin_settings: Any
) -> None:
    assert (await login(client)).status == 303
    html = await (await client.get(f"/admin/sync/{CAL}")).text()
    offered = set(provider_factories(admin_settings))
    # The test settings carry no client ids: an offered provider needs configuring.
    microsoft = "unconfigured" if "microsoft" in offered else "unavailable"
    assert _state(html, "google") == "unconfigured"
    assert _state(html, "microsoft") == microsoft
    assert _state(html, "icloud") == "later"
    assert "disabled" not in _button(html, "connect-google")  # unchanged: the error says why
    assert "disabled" in _button(html, "connect-microsoft")
    assert "Outlook / Microsoft 365" in html and "Coming later" in html
    assert "[google] client_id" in html
    if microsoft == "unconfigured":
        assert "[microsoft] client_id" in html and "/oauth2/microsoft/callback" in html
    else:
        assert "Not available in this installation yet." in html
    # Microsoft's consent help: what "Need admin approval" means and where to revoke.
    assert "AADSTS90094" in html and "Calendars.ReadWrite" in html
    assert "https://login.microsoftonline.com/{tenant}/adminconsent?client_id={client-id}" in html
    assert "https://myapps.microsoft.com" in html
    assert "https://account.live.com/consent/Manage" in html

    token = await csrf_of(client, f"/admin/sync/{CAL}")
    await client.post("/admin/lang", data={"lang": "de", "csrf_token": token,
                                           "next": f"/admin/sync/{CAL}"})
    german = await (await client.get(f"/admin/sync/{CAL}")).text()
    assert "Folgt später" in german and "Outlook / Microsoft 365 verbinden" in german
    assert "Apple iCloud / anderer CalDAV-Server / Exchange Server" in german
    assert "Genehmigung durch Administrator erforderlich" in german


async def test_a_provider_not_offered_is_refused(client: Client, admin_store: SqlStore) -> None:
    assert (await login(client)).status == 303
    token = await csrf_of(client, f"/admin/sync/{CAL}")
    resp = await client.post(f"/admin/sync/{CAL}/connect",
                             data={"csrf_token": token, "provider": "icloud"},
                             allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/admin/sync/{CAL}"
    html = await (await client.get(f"/admin/sync/{CAL}")).text()
    assert "This calendar provider is not available." in html
    assert admin_store.list_connections() == []


async def test_microsoft_callback_without_state_names_microsoft(client: Client) -> None:
    assert (await login(client)).status == 303
    resp = await client.get("/oauth2/microsoft/callback?error=access_denied")
    assert resp.status == 400
    html = await resp.text()
    assert 'data-reason="state"' in html and 'data-provider="microsoft"' in html
    assert "<title>Outlook / Microsoft 365 was not connected" in html


async def test_disconnecting_microsoft_says_what_the_user_must_remove(
    client: Client, admin_store: SqlStore
) -> None:
    record = admin_store.create_connection(CAL, account_email="dr@praxis.example",
                                           remote_calendar_id="AAMkAD=",
                                           remote_calendar_name="Kalender", provider="microsoft")
    admin_store.activate_connection(record.id, push_existing=False)
    assert (await login(client)).status == 303
    status = await (await client.get(f"/admin/sync/{CAL}")).text()
    assert "Microsoft account" in status and "Last pull from Microsoft" in status
    assert "Google" not in re.sub(r"<select.*?</select>|<nav.*?</nav>", "", status, flags=re.S)
    token = await csrf_of(client, f"/admin/sync/{CAL}")
    resp = await client.post(f"/admin/sync/{CAL}/disconnect", data={"csrf_token": token})
    html = await resp.text()
    assert resp.status == 200
    assert "the stored access and the change subscription were deleted" in html
    assert "https://myapps.microsoft.com" in html
    assert "https://account.live.com/consent/Manage" in html
    assert admin_store.list_connections() == []


def test_callback_paths_name_their_provider() -> None:
    assert callback_path("google") == "/oauth2/callback"  # registered by existing installations
    assert callback_path("microsoft") == "/oauth2/microsoft/callback"
    for name in ("google", "microsoft"):
        assert provider_of_callback("https://praxis.example" + callback_path(name)) == name
    assert provider_of_callback("http://127.0.0.1:8080/oauth2/callback?x=1") == "google"


def test_admin_consent_url_and_states(tmp_path: Path) -> None:
    base = make_settings(tmp_path)
    assert provider_states(base, {"google"}) == {"google": "unconfigured",
                                                 "microsoft": "unavailable"}
    tenant = base.with_overrides(microsoft={
        "client_id": "11111111-2222", "authority": "https://login.microsoftonline.com/contoso.de"})
    assert provider_states(tenant, {"google", "microsoft"})["microsoft"] == "ready"
    assert admin_consent_url(tenant) == (
        "https://login.microsoftonline.com/contoso.de/adminconsent?client_id=11111111-2222")
