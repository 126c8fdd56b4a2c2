"""The Microsoft connect flow against the emulator: msal's auth-code flow rebuilt from the
pending flow (state, PKCE and nonce), the account and its calendars."""

from __future__ import annotations

import secrets
import time
import urllib.parse
from dataclasses import replace

import pytest

from bridge.errors import BridgeError
from bridge.microsoft.factory import REMOVE_APP_URLS
from bridge.providers.flows import PendingFlow
from emulators.microsoft.server import ADELE, REDIRECT_URI, MsEmulatorServer
from tests.sync.conftest import CAL, fast_options
from tests.sync.providers import PRAXIS, MsClock, ms_factory


def _flow() -> PendingFlow:
    return PendingFlow(state=secrets.token_urlsafe(32), session_ref="admin",
                       code_verifier=secrets.token_urlsafe(64), redirect_uri=REDIRECT_URI,
                       collection_path=CAL, created_at=time.time())


def _sign_in(emu: MsEmulatorServer, url: str) -> dict[str, str]:
    _, location, page = emu.hooks.consent(url, ADELE)
    assert location, page
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


@pytest.fixture
def emu(ms_emu: MsEmulatorServer, monkeypatch: pytest.MonkeyPatch) -> MsEmulatorServer:
    # A CA bundle named in the environment (as on many servers) must not displace the
    # configured ca_file: msal's own verify= would lose to it.
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(name, "/etc/ssl/certs/ca-certificates.crt")
    return ms_emu


async def test_grant_reads_the_account_and_its_calendars(emu: MsEmulatorServer) -> None:
    factory = ms_factory(emu, None, MsClock())
    flow = _flow()
    url = factory.consent_url(flow, login_hint=ADELE)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert flow.code_verifier not in url
    answer = _sign_in(emu, url)
    assert answer["state"] == flow.state
    grant = await factory.grant(flow, answer["code"], fast_options())
    assert grant.account.email == ADELE
    assert "Calendars.ReadWrite" in grant.scopes and grant.refresh_token
    by_id = {c.id: c for c in grant.account.calendars}
    assert by_id[PRAXIS].writable
    assert not by_id["AAMkAGCalTeam"].writable  # Megan's, shared read-only
    assert sum(c.primary for c in grant.account.calendars) == 1
    assert "refresh_token" not in repr(grant) and grant.refresh_token not in repr(grant)
    await factory.revoke(grant.refresh_token)  # nothing to call: only forgotten
    assert REMOVE_APP_URLS


async def test_a_code_with_another_verifier_is_refused(emu: MsEmulatorServer) -> None:
    factory = ms_factory(emu, None, MsClock())
    flow = _flow()
    answer = _sign_in(emu, factory.consent_url(flow, login_hint=None))
    forged = replace(flow, code_verifier=secrets.token_urlsafe(64))
    with pytest.raises(BridgeError):
        await factory.grant(forged, answer["code"], fast_options())


def test_connect_needs_a_client_id(emu: MsEmulatorServer) -> None:
    factory = ms_factory(emu, None, MsClock())
    factory.endpoints = replace(factory.endpoints, client_id="")  # type: ignore[type-var]
    with pytest.raises(BridgeError, match="client_id"):
        factory.check_connect()
