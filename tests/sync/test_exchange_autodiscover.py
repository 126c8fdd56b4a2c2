"""Exchange autodiscover from an e-mail address, against the EWS emulator over https with
exchangelib's own autodiscovery unmodified: the example domains reach the emulator through the
guard's lookup (a fixed table, no ``/etc/hosts``), the emulator's certificate names them.

Paths: ``https://autodiscover.<domain>/…``, the HTTP redirect of ``http://autodiscover.<domain>/``,
the SRV record; refusals: Exchange Online (an e-mail redirect or an EWS URL there), a redirect
to a host of another domain, a private address without ``allow_networks``, an untrusted
certificate, a wrong password, no autodiscover at all.  Then the found URL is connected and
synced."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bridge.errors import FlowError
from bridge.exchange.client import EwsLogin
from bridge.exchange.factory import ExchangeOptions, ExchangeProviderFactory
from bridge.google.crypto import TokenCipher
from bridge.providers.base import ServerLogin
from bridge.providers.netguard import NetGuard, SrvAnswer, parse_networks
from bridge.store import SqlStore
from bridge.sync.engine import SyncEngine
from emulators.ews.server import ADELE, ADELE_PASSWORD, EwsEmulatorServer
from tests.sync.conftest import CAL, SECRET, TZ, fast_options
from tests.sync.ews_autodiscover_kit import (
    DOMAIN,
    RedirectSite,
    TableLookup,
    emu,
    table,
    tls_emu,
)

__all__ = ["emu", "tls_emu"]


def factory(emu: EwsEmulatorServer, lookup: TableLookup, allow: str = "127.0.0.0/8",
            **options: Any) -> ExchangeProviderFactory:
    return ExchangeProviderFactory(
        cipher=TokenCipher(SECRET), guard=NetGuard(parse_networks(allow), lookup=lookup),
        options=ExchangeOptions(**{"max_wait": 5, "ca_file": str(emu.ca_path),
                                   "autodiscover_seconds": 60.0, **options}))


def login(password: str = ADELE_PASSWORD) -> ServerLogin:
    return ServerLogin(ADELE, ADELE, password, {"auth": "basic"})


async def refused(found_by: ExchangeProviderFactory, entry: ServerLogin | None = None) -> str:
    with pytest.raises(FlowError) as caught:
        await found_by.discover(entry or login(), fast_options())
    return str(caught.value.reason)


async def test_autodiscover_subdomain_then_connect_and_sync(emu: EwsEmulatorServer,
                                                            sync_store: SqlStore) -> None:
    emu.hooks.call("POST", "config", {"autodiscover_ews_url":
                                      f"https://mail.{DOMAIN}/EWS/Exchange.asmx"})
    lookup = table(emu, f"autodiscover.{DOMAIN}", f"mail.{DOMAIN}")
    made = factory(emu, lookup)
    found = await made.discover(login(), fast_options())
    facts = dict(found.facts)
    assert facts["autodiscover"] == f"https://mail.{DOMAIN}/EWS/Exchange.asmx"
    assert found.server == facts["autodiscover"]
    assert facts["version"] == "15.1.2507.6"
    names = [c.name for c in found.grant.account.calendars]
    assert "Praxis" in names
    # step 1 (the bare domain) was tried first, then autodiscover.<domain>
    assert lookup.asked.index(f"{DOMAIN}:443") < lookup.asked.index(f"autodiscover.{DOMAIN}:443")
    blob = EwsLogin.load(found.grant.refresh_token)
    assert blob.endpoint == facts["autodiscover"] and blob.build == "15.1.2507.6"

    # connect "Praxis" with that login; the sync talks to the stored URL, no autodiscover
    praxis = next(c for c in found.grant.account.calendars if c.name == "Praxis")
    emu.hooks.call("POST", "reset_counters")
    sync_store.create_user("alice", "x")
    sync_store.create_collection(CAL, tag="VCALENDAR", timezone=TZ)
    cipher = TokenCipher(SECRET)
    record = sync_store.create_connection(
        CAL, account_email=ADELE, remote_calendar_id=praxis.id, remote_calendar_name="Praxis",
        scopes="ews", seal_token=lambda cid: cipher.encrypt(cid, found.grant.refresh_token))
    sync_store.update_connection(record.id, provider="exchange")
    sync_store.update_connection_state(record.id, {"calendar_tz": TZ,
                                                   "import": {"phase": "running"},
                                                   "phase": "importing"})
    sync_store.activate_connection(record.id, push_existing=False)
    engine = SyncEngine(sync_store, fast_options(), providers={"exchange": made})
    try:
        await engine.pull_connection(record.id, "import")
        await engine.drain()
    finally:
        await engine.stop()
    requests = emu.hooks.state()["requests"]
    assert requests.get("SyncFolderItems", 0) >= 1
    assert "Autodiscover" not in requests


async def test_autodiscover_follows_the_http_redirect_step(emu: EwsEmulatorServer) -> None:
    with RedirectSite(f"https://adsrv.{DOMAIN}/Autodiscover/Autodiscover.svc") as site:
        site_port = int(site.base_url.rsplit(":", 1)[1])
        lookup = table(emu, f"adsrv.{DOMAIN}")
        lookup.hosts[(f"autodiscover.{DOMAIN}", 80)] = ("127.0.0.1", site_port)
        found = await factory(emu, lookup).discover(login(), fast_options())
        assert site.state["hits"] == 1
    assert dict(found.facts)["autodiscover"] == f"https://adsrv.{DOMAIN}/EWS/Exchange.asmx"


async def test_autodiscover_uses_the_srv_record(emu: EwsEmulatorServer) -> None:
    lookup = table(emu, f"adsrv.{DOMAIN}", srv={
        f"_autodiscover._tcp.{DOMAIN}": [SrvAnswer(10, 10, 443, f"adsrv.{DOMAIN}")]})
    found = await factory(emu, lookup).discover(login(), fast_options())
    assert dict(found.facts)["autodiscover"] == f"https://adsrv.{DOMAIN}/EWS/Exchange.asmx"
    assert f"SRV _autodiscover._tcp.{DOMAIN}" in lookup.asked


async def test_a_redirect_to_another_domain_gets_no_password(emu: EwsEmulatorServer) -> None:
    with RedirectSite("https://mail.fabrikam.example/Autodiscover/Autodiscover.svc") as site:
        lookup = table(emu, "mail.fabrikam.example")
        lookup.hosts[(f"autodiscover.{DOMAIN}", 80)] = (
            "127.0.0.1", int(site.base_url.rsplit(":", 1)[1]))
        emu.hooks.call("POST", "reset_counters")
        assert await refused(factory(emu, lookup)) == "redirect"
    assert emu.hooks.state()["requests"].get("Autodiscover", 0) == 0
    # an EWS URL on another domain is refused the same way
    emu.hooks.call("POST", "config", {"autodiscover_ews_url":
                                      "https://mail.fabrikam.example/EWS/Exchange.asmx"})
    assert await refused(factory(emu, table(emu, f"autodiscover.{DOMAIN}",
                                            "mail.fabrikam.example"))) == "redirect"


@pytest.mark.parametrize("knob", [
    {"autodiscover_redirect_address": "adele@contoso.mail.onmicrosoft.com"},
    {"autodiscover_ews_url": "https://outlook.office365.com/EWS/Exchange.asmx"},
])
async def test_exchange_online_is_sent_to_the_outlook_provider(emu: EwsEmulatorServer,
                                                              knob: dict[str, str]) -> None:
    emu.hooks.call("POST", "config", knob)
    assert await refused(factory(emu, table(emu, f"autodiscover.{DOMAIN}"))) \
        == "exchange_online"


async def test_a_microsoft_365_address_is_named_without_a_request(
        emu: EwsEmulatorServer) -> None:
    lookup = table(emu)
    entry = ServerLogin("adele@contoso.onmicrosoft.com", ADELE, ADELE_PASSWORD)
    assert await refused(factory(emu, lookup), entry) == "exchange_online"
    assert lookup.asked == []


async def test_private_addresses_are_refused_without_allow_networks(
        emu: EwsEmulatorServer) -> None:
    emu.hooks.call("POST", "reset_counters")
    assert await refused(factory(emu, table(emu, f"autodiscover.{DOMAIN}"), allow="")) \
        == "unsafe_url"
    assert emu.hooks.state()["requests"].get("Autodiscover", 0) == 0


async def test_an_untrusted_certificate_is_refused(emu: EwsEmulatorServer) -> None:
    made = factory(emu, table(emu, f"autodiscover.{DOMAIN}"), ca_file="")
    assert await refused(made) == "tls"


async def test_a_wrong_password_and_no_autodiscover_at_all(emu: EwsEmulatorServer) -> None:
    assert await refused(factory(emu, table(emu, f"autodiscover.{DOMAIN}")),
                         login("wrong")) == "auth"
    assert await refused(factory(emu, table(emu))) == "autodiscover"


async def test_an_unknown_mailbox_is_named(emu: EwsEmulatorServer) -> None:
    entry = replace(login(), url=f"nobody@{DOMAIN}")
    assert await refused(factory(emu, table(emu, f"autodiscover.{DOMAIN}")), entry) == "auth"


async def test_an_oversized_answer_is_refused(emu: EwsEmulatorServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge.providers import netguard

    monkeypatch.setattr(netguard, "MAX_BODY_BYTES", 600)
    with pytest.raises(FlowError) as caught:
        await factory(emu, table(emu, f"autodiscover.{DOMAIN}")).discover(login(),
                                                                          fast_options())
    assert caught.value.reason == "too_large" and "bytes" in str(caught.value)


def test_the_adapter_itself_refuses_credentials_to_other_hosts(emu: EwsEmulatorServer) -> None:
    import requests

    from bridge.exchange import tls
    from bridge.providers.netguard import UnsafeTarget

    guard = NetGuard(parse_networks("127.0.0.0/8"), lookup=table(emu, f"mail.{DOMAIN}"))
    url = f"https://mail.{DOMAIN}/EWS/Exchange.asmx"
    with requests.Session() as session:
        session.mount("https://", tls.TrustAdapter())
        with tls.discovering(str(emu.ca_path), {}, guard, lambda host: host == DOMAIN):
            with pytest.raises(UnsafeTarget):
                session.post(url, data=b"<x/>", auth=(ADELE, ADELE_PASSWORD), timeout=30)
            answer = session.post(url, data=b"<x/>", timeout=30)  # no login: sent
            assert answer.status_code == 401 and answer.url == url
