"""The EWS protocol around the items, through exchangelib and raw HTTP: folders, the
ServerVersionInfo header and version probing, Basic and NTLM authentication with IIS's 401,
https with the generated CA, and faults (ErrorServerBusy back-off honoured by exchangelib's
FaultTolerance, the per-mailbox budget, 500/503, latency)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from exchangelib import BASIC, NTLM, Build, CalendarItem, EWSDateTime
from exchangelib.errors import (
    ErrorInternalServerError,
    ErrorServerBusy,
    TransportError,
    UnauthorizedError,
)
from exchangelib.protocol import BaseProtocol, FaultTolerance

from emulators.ews.server import ADELE, ADELE_PASSWORD, EwsEmulatorServer, basic_seed
from tests.emulator.ews.conftest import TZ, AccountFactory, T, make_account, raw

GET_CALENDAR = ('<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>'
                '<m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds>'
                '</m:GetFolder>')


# -- folders and versions ----------------------------------------------------------------------

def test_calendar_and_sub_calendars(account_for: AccountFactory) -> None:
    account = account_for()
    assert account.calendar.name == "Calendar"
    assert [c.name for c in account.calendar.children] == ["Praxis"]
    names = {f.name for f in account.root.walk()}
    assert {"Top of Information Store", "Calendar", "Praxis"} <= names
    account.calendar.refresh()
    assert account.calendar.folder_class == "IPF.Appointment"
    assert account.calendar.total_count == 0 and account.calendar.child_folder_count == 1


def test_every_answer_carries_server_version_info(ews_emu: EwsEmulatorServer) -> None:
    resp = raw(ews_emu, GET_CALENDAR)
    assert resp.status_code == 200
    info = ET.fromstring(resp.content).find(f".//{T}ServerVersionInfo")
    assert info is not None
    assert {k: info.get(k) for k in ("MajorVersion", "MinorVersion", "MajorBuildNumber",
                                      "MinorBuildNumber", "Version")} == {
        "MajorVersion": "15", "MinorVersion": "1", "MajorBuildNumber": "2507",
        "MinorBuildNumber": "6", "Version": "Exchange2016"}
    bad = raw(ews_emu, GET_CALENDAR, version="Exchange2099")
    assert bad.status_code == 500 and b"ErrorInvalidServerVersion" in bad.content
    # SOAP faults come without the header, as exchangelib expects of Exchange.
    assert ET.fromstring(bad.content).find(f".//{T}ServerVersionInfo") is None


def test_version_probe_reads_the_configured_build(ews_emu: EwsEmulatorServer,
                                                  account_for: AccountFactory) -> None:
    ews_emu.hooks.config(server_build="15.2.1544.4")
    account = account_for(version=None)
    assert account.calendar.name == "Calendar"
    assert account.version.build == Build(15, 2, 1544, 4)
    assert account.version.api_version == "Exchange2016"
    assert ews_emu.hooks.state()["requests"]["ConvertId"] == 1


def test_older_server_negotiated_down(ews_emu: EwsEmulatorServer,
                                      account_for: AccountFactory) -> None:
    ews_emu.hooks.config(server_version="Exchange2013_SP1", server_build="15.0.1497.2")
    account = account_for(version=None)
    assert account.calendar.name == "Calendar"
    assert account.version.api_version == "Exchange2013_SP1"
    assert ews_emu.hooks.state()["requests"]["ConvertId"] > 1  # newer versions refused first
    assert raw(ews_emu, GET_CALENDAR, version="Exchange2016").status_code == 500
    assert raw(ews_emu, GET_CALENDAR, version="Exchange2010_SP2").ok


def test_dtd_is_refused(ews_emu: EwsEmulatorServer) -> None:
    evil = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
            '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>')
    resp = requests.post(ews_emu.ews_url, data=evil, auth=(ADELE, ADELE_PASSWORD), timeout=30)
    assert resp.status_code == 500 and b"ErrorSchemaValidation" in resp.content


# -- authentication ----------------------------------------------------------------------------

def test_401_as_iis_sends_it(ews_emu: EwsEmulatorServer) -> None:
    resp = raw(ews_emu, GET_CALENDAR, auth=None)
    assert resp.status_code == 401
    assert resp.raw.headers.getlist("WWW-Authenticate") == [
        "NTLM", 'Basic realm="mail.contoso.example"']
    assert resp.headers["Server"] == "Microsoft-IIS/10.0"
    wrong = raw(ews_emu, GET_CALENDAR, auth=(ADELE, "nope"))
    assert wrong.status_code == 401
    assert raw(ews_emu, GET_CALENDAR, auth=("CONTOSO\\adele", ADELE_PASSWORD)).ok


@pytest.mark.parametrize("user", [ADELE, "CONTOSO\\adele"])
def test_ntlm(ews_emu: EwsEmulatorServer, account_for: AccountFactory, user: str) -> None:
    account = account_for(email=ADELE, auth_type=NTLM)
    account.protocol.credentials.username = user
    for _ in range(3):
        assert account.calendar.name == "Calendar"
    state = ews_emu.hooks.state()
    assert state["challenges"] >= 2  # the plain 401 and the NTLM challenge
    assert state["auth_failures"] == 0


def test_auth_type_tasted_from_the_401(ews_emu: EwsEmulatorServer,
                                       account_for: AccountFactory) -> None:
    assert account_for(auth_type=None).protocol.auth_type == NTLM
    ews_emu.hooks.config(auth_schemes=["Basic"])
    assert account_for(auth_type=None).protocol.auth_type == BASIC


@pytest.mark.parametrize("auth_type", [BASIC, NTLM])
def test_wrong_password(account_for: AccountFactory, auth_type: str) -> None:
    account = account_for(password="wrong", auth_type=auth_type)
    with pytest.raises(UnauthorizedError):
        account.calendar.refresh()


# -- https ---------------------------------------------------------------------------------------

@pytest.fixture
def tls_emu() -> Iterator[EwsEmulatorServer]:
    with EwsEmulatorServer(seed=basic_seed(), tls=True) as emu:
        yield emu


def test_https_with_the_generated_ca(tls_emu: EwsEmulatorServer,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert tls_emu.ews_url.startswith("https://")
    with pytest.raises(TransportError):
        make_account(tls_emu).calendar.refresh()
    ca = tls_emu.ca_path

    class TrustEmulator(requests.adapters.HTTPAdapter):
        def send(self, *args: Any, **kwargs: Any) -> requests.Response:
            kwargs["verify"] = ca
            return super().send(*args, **kwargs)

    monkeypatch.setattr(BaseProtocol, "HTTP_ADAPTER_CLS", TrustEmulator)
    account = make_account(tls_emu, auth_type=NTLM)
    assert account.calendar.name == "Calendar"


# -- faults ----------------------------------------------------------------------------------------

def _item(account: Any) -> CalendarItem:
    return CalendarItem(account=account, folder=account.calendar, subject="x",
                        start=EWSDateTime(2026, 1, 5, 9, tzinfo=TZ),
                        end=EWSDateTime(2026, 1, 5, 10, tzinfo=TZ))


def test_server_busy_back_off_honoured(ews_emu: EwsEmulatorServer,
                                       account_for: AccountFactory) -> None:
    account = account_for(retry_policy=FaultTolerance(max_wait=60))
    account.calendar.refresh()
    ews_emu.hooks.fault("CreateItem", code="ErrorServerBusy", back_off_ms=1500)
    began = time.monotonic()
    _item(account).save()
    assert time.monotonic() - began >= 1.4
    state = ews_emu.hooks.state()
    assert state["requests"]["CreateItem"] == 2 and state["throttled"] == 1
    assert len(ews_emu.hooks.items()) == 1


def test_server_busy_fail_fast_carries_the_hint(ews_emu: EwsEmulatorServer,
                                                account_for: AccountFactory) -> None:
    account = account_for()
    ews_emu.hooks.fault("GetFolder", code="ErrorServerBusy", back_off_ms=2500)
    with pytest.raises(ErrorServerBusy) as caught:
        account.calendar.refresh()
    assert caught.value.back_off == 2.5


def test_rate_limit_per_mailbox(ews_emu: EwsEmulatorServer,
                                account_for: AccountFactory) -> None:
    account = account_for()
    account.calendar.refresh()
    ews_emu.hooks.call("POST", "rate_limit", {"max": 2, "per_seconds": 60,
                                              "back_off_ms": 300})
    account.calendar.refresh()
    account.calendar.refresh()
    with pytest.raises(ErrorServerBusy) as caught:
        account.calendar.refresh()
    assert caught.value.back_off == 0.3


def test_503_is_retried_under_fault_tolerance(ews_emu: EwsEmulatorServer,
                                              account_for: AccountFactory,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # exchangelib waits RETRY_WAIT (10 s) before the first retry of a bare 503, then doubles.
    monkeypatch.setattr(BaseProtocol, "RETRY_WAIT", 1)
    account = account_for(retry_policy=FaultTolerance(max_wait=60))
    account.calendar.refresh()
    ews_emu.hooks.fault("SyncFolderItems", status=503, times=2)
    assert list(account.calendar.sync_items()) == []
    assert ews_emu.hooks.state()["requests"]["SyncFolderItems"] == 3


def test_500_and_latency(ews_emu: EwsEmulatorServer, account_for: AccountFactory) -> None:
    account = account_for()
    account.calendar.refresh()
    ews_emu.hooks.fault("GetFolder", status=500)
    with pytest.raises(ErrorInternalServerError):
        account.calendar.refresh()
    ews_emu.hooks.fault("GetFolder", latency=1.0)
    began = time.monotonic()
    account.calendar.refresh()
    assert time.monotonic() - began >= 0.9


def test_message_level_fault(ews_emu: EwsEmulatorServer, account_for: AccountFactory) -> None:
    from exchangelib.errors import ErrorItemNotFound

    account = account_for()
    item = _item(account)
    item.save()
    ews_emu.hooks.fault("GetItem", code="ErrorItemNotFound", level="message")
    with pytest.raises(ErrorItemNotFound):
        account.calendar.get(id=item.id)
    assert account.calendar.get(id=item.id).subject == "x"
