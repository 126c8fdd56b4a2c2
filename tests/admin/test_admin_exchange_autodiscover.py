"""The Exchange form with an e-mail address (aiohttp client, the real Exchange factory, the EWS
emulator over https reached through the guard's lookup): autodiscover finds the EWS URL, the
*test connection* page says so and lists the calendars; a Microsoft 365 mailbox is sent to the
Outlook provider, in English and German; the password never appears on a page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bridge.exchange.factory import ExchangeOptions, ExchangeProviderFactory
from bridge.google.crypto import cipher_from_settings
from bridge.providers.netguard import NetGuard, parse_networks
from bridge.store import SqlStore
from bridge.web.app import create_app
from bridge.web.providers import provider_factories
from emulators.ews.server import ADELE, ADELE_PASSWORD, EwsEmulatorServer
from tests.sync.ews_autodiscover_kit import DOMAIN, emu, table, tls_emu

from .conftest import csrf_of, login, make_settings

__all__ = ["emu", "tls_emu"]

Client = TestClient[Any, Any]
CAL = "staff/praxis"
BASE = f"/admin/sync/{CAL}"


async def _client(aiohttp_client: Any, store: SqlStore, tmp_path: Path,
                  emu: EwsEmulatorServer) -> Client:
    settings = make_settings(tmp_path)
    providers = provider_factories(settings, store)
    providers["exchange"] = ExchangeProviderFactory(
        cipher=cipher_from_settings(settings),
        guard=NetGuard(parse_networks("127.0.0.0/8"),
                       lookup=table(emu, f"autodiscover.{DOMAIN}", f"mail.{DOMAIN}")),
        options=ExchangeOptions(ca_file=str(emu.ca_path), max_wait=5))
    client: Client = await aiohttp_client(create_app(settings, store, providers=providers))
    assert (await login(client)).status == 303
    return client


async def _submit(client: Client, address: str) -> Any:
    token = await csrf_of(client, f"{BASE}/login/exchange")
    return await client.post(f"{BASE}/login/exchange", data={
        "csrf_token": token, "url": address, "username": ADELE, "password": ADELE_PASSWORD,
        "auth": "basic"}, allow_redirects=False)


async def test_an_email_address_is_autodiscovered(aiohttp_client: Any, admin_store: SqlStore,
                                                  tmp_path: Path,
                                                  emu: EwsEmulatorServer) -> None:
    ews = f"https://mail.{DOMAIN}/EWS/Exchange.asmx"
    emu.hooks.call("POST", "config", {"autodiscover_ews_url": ews})
    client = await _client(aiohttp_client, admin_store, tmp_path, emu)
    resp = await _submit(client, ADELE)
    assert resp.status == 303 and resp.headers["Location"] == f"{BASE}/discovered"
    found = await (await client.get(f"{BASE}/discovered")).text()
    assert re.search(r'id="discovered-server">' + re.escape(ews), found)
    assert re.search(r"<dt>Found by autodiscover</dt><dd>" + re.escape(ews), found)
    assert "Praxis" in found and ADELE_PASSWORD not in found
    choose = await (await client.get(f"{BASE}/choose")).text()
    assert "Praxis" in choose
    token = await csrf_of(client, f"{BASE}/choose")
    await client.post("/admin/lang", data={"lang": "de", "csrf_token": token,
                                           "next": f"{BASE}/discovered"})
    german = await (await client.get(f"{BASE}/discovered")).text()
    assert "Per Autodiscover gefunden" in german


async def test_a_microsoft_365_mailbox_goes_to_the_outlook_provider(
        aiohttp_client: Any, admin_store: SqlStore, tmp_path: Path,
        emu: EwsEmulatorServer) -> None:
    emu.hooks.call("POST", "config", {
        "autodiscover_redirect_address": "adele@contoso.mail.onmicrosoft.com"})
    client = await _client(aiohttp_client, admin_store, tmp_path, emu)
    resp = await _submit(client, ADELE)
    html = await resp.text()
    assert resp.status == 200 and 'data-reason="exchange_online"' in html
    assert "This mailbox is in Microsoft 365 (Exchange Online)" in html
    assert 'id="use-microsoft-instead"' in html and ADELE_PASSWORD not in html
    assert admin_store.list_connections() == []
    token = await csrf_of(client, f"{BASE}/login/exchange")
    await client.post("/admin/lang", data={"lang": "de", "csrf_token": token,
                                           "next": f"{BASE}/login/exchange"})
    german = await (await _submit(client, ADELE)).text()
    assert "Dieses Postfach liegt in Microsoft 365 (Exchange Online)" in german


async def test_no_autodiscover_is_explained(aiohttp_client: Any, admin_store: SqlStore,
                                            tmp_path: Path, emu: EwsEmulatorServer) -> None:
    client = await _client(aiohttp_client, admin_store, tmp_path, emu)
    html = await (await _submit(client, "adele@fabrikam.example")).text()
    assert 'data-reason="autodiscover"' in html
    assert "Autodiscover found no Exchange server" in html
