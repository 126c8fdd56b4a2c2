"""Autodiscover: SOAP GetUserSettings through exchangelib's own AutodiscoverProtocol (the EWS
URL, the newest supported schema as the version, harmless unavailable settings, unknown users),
and POX as Outlook asks for it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests
from exchangelib import BASIC, Configuration, Credentials
from exchangelib.autodiscover.protocol import AutodiscoverProtocol
from exchangelib.errors import ErrorNonExistentMailbox

from emulators.ews.server import ADELE, ADELE_PASSWORD, EwsEmulatorServer

POX = ('<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/'
       'exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>{address}'
       '</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/'
       'autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request>'
       '</Autodiscover>')
OUTLOOK = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"


def protocol(emu: EwsEmulatorServer, auth_type: str | None = BASIC) -> AutodiscoverProtocol:
    return AutodiscoverProtocol(config=Configuration(
        service_endpoint=emu.base_url + "/autodiscover/autodiscover.svc",
        credentials=Credentials(ADELE, ADELE_PASSWORD), auth_type=auth_type))


@pytest.mark.parametrize("auth_type", [BASIC, None])
def test_soap_get_user_settings(ews_emu: EwsEmulatorServer, auth_type: str | None) -> None:
    answer = protocol(ews_emu, auth_type).get_user_settings(user=ADELE)
    assert answer.ews_url == ews_emu.ews_url
    assert answer.autodiscover_smtp_address == ADELE
    assert answer.version.api_version == "Exchange2016"
    assert answer.user_settings["cas_version"] == "15.01.2507.006"
    assert answer.user_settings_errors  # asked for everything; the rest is unavailable
    answer.raise_errors()  # … which exchangelib treats as harmless


def test_soap_unknown_user(ews_emu: EwsEmulatorServer) -> None:
    answer = protocol(ews_emu).get_user_settings(user="nobody@contoso.example")
    with pytest.raises(ErrorNonExistentMailbox):
        answer.raise_errors()


def test_soap_follows_the_server_version(ews_emu: EwsEmulatorServer) -> None:
    ews_emu.hooks.config(server_version="Exchange2013_SP1", server_build="15.0.1497.2")
    answer = protocol(ews_emu).get_user_settings(user=ADELE, settings=["ews_supported_schemas"])
    assert answer.version.api_version == "Exchange2013_SP1"


def test_pox(ews_emu: EwsEmulatorServer) -> None:
    url = ews_emu.base_url + "/Autodiscover/Autodiscover.xml"
    assert requests.post(url, data=POX.format(address=ADELE), timeout=30).status_code == 401
    resp = requests.post(url, data=POX.format(address=ADELE), auth=(ADELE, ADELE_PASSWORD),
                         timeout=30)
    root = ET.fromstring(resp.content)
    assert [p.findtext(f"{OUTLOOK}EwsUrl") for p in root.iter(f"{OUTLOOK}Protocol")] == [
        ews_emu.ews_url, ews_emu.ews_url]
    assert root.findtext(f".//{OUTLOOK}AutoDiscoverSMTPAddress") == ADELE
    missing = requests.post(url, data=POX.format(address="x@contoso.example"),
                            auth=(ADELE, ADELE_PASSWORD), timeout=30)
    error = ET.fromstring(missing.content).find(".//{*}Error")
    assert error is not None and error.findtext("{*}ErrorCode") == "500"
