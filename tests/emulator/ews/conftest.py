"""Fixtures for the EWS emulator tests: unmodified exchangelib accounts against the emulator
(fixed EWS URL, no autodiscover).

exchangelib caches one protocol (sessions, retry policy, auth type) per endpoint and
credentials, so every account here starts from a cleared cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from exchangelib import (
    BASIC,
    DELEGATE,
    Account,
    Build,
    Configuration,
    Credentials,
    EWSTimeZone,
    Version,
)
from exchangelib.protocol import FailFast, Protocol, RetryPolicy

from emulators.ews.server import ADELE, ADELE_PASSWORD, EwsEmulatorServer
from emulators.ews.soap import MNS, TNS

TZ = EWSTimeZone("Europe/Berlin")
EXCHANGE_2016 = Version(build=Build(15, 1, 2507, 6))
AccountFactory = Callable[..., Account]
SOAP = ('<?xml version="1.0" encoding="utf-8"?><s:Envelope '
        'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:m="{MNS}" xmlns:t="{TNS}"><s:Header>'
        '<t:RequestServerVersion Version="{version}"/></s:Header><s:Body>{body}</s:Body>'
        '</s:Envelope>')
M, T = f"{{{MNS}}}", f"{{{TNS}}}"


def raw(emu: EwsEmulatorServer, body: str, version: str = "Exchange2016",
        auth: tuple[str, str] | None = (ADELE, ADELE_PASSWORD)) -> requests.Response:
    """POST a hand-written SOAP body (``m:``/``t:`` prefixes bound) to the emulator."""
    return requests.post(emu.ews_url, data=SOAP.replace("{version}", version)
                         .replace("{body}", body).encode(),
                         headers={"Content-Type": "text/xml; charset=utf-8"}, auth=auth,
                         timeout=30)


def make_account(emu: EwsEmulatorServer, *, email: str = ADELE, password: str = ADELE_PASSWORD,
                 auth_type: str | None = BASIC, version: Version | None = EXCHANGE_2016,
                 retry_policy: RetryPolicy | None = None) -> Account:
    """An exchangelib Account on the emulator's EWS URL (``version=None``: exchangelib probes
    the server version; ``auth_type=None``: it tastes the 401's ``WWW-Authenticate``)."""
    Protocol.clear_cache()
    config = Configuration(
        service_endpoint=emu.ews_url, credentials=Credentials(email, password),
        auth_type=auth_type, version=version, retry_policy=retry_policy or FailFast(),
        max_connections=2)
    return Account(email, config=config, autodiscover=False, access_type=DELEGATE,
                   default_timezone=TZ)


@pytest.fixture
def account_for(ews_emu: EwsEmulatorServer) -> Iterator[AccountFactory]:
    """Build exchangelib accounts on the (reset) emulator; closes them afterwards."""

    def build(**kwargs: Any) -> Account:
        return make_account(ews_emu, **kwargs)

    yield build
    Protocol.clear_cache()


@pytest.fixture
def account(account_for: AccountFactory) -> Account:
    """Adele's account with Basic auth and a fixed Exchange 2016 version."""
    return account_for()
