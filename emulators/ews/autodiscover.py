"""Autodiscover, both kinds Exchange 2010+ serves: SOAP ``GetUserSettings`` at
``/autodiscover/autodiscover.svc`` (what exchangelib 5 uses) and POX at
``/autodiscover/autodiscover.xml`` (what Outlook and most other clients use).

Both answer with the EWS URL of the host the request came to (internal and external alike;
the ``autodiscover_ews_url`` knob names another, e.g. Exchange Online's),
the mailbox's SMTP address and display name; SOAP also with ``EwsSupportedSchemas`` (the API
versions up to the server's), ``CasVersion`` and ``ExternalEwsVersion``.  Settings the emulator
does not fill come back as ``UserSettingErrors`` ``SettingIsNotAvailable``; an unknown mailbox
is ``InvalidUser`` (SOAP) or error 500 "The email address can't be found." (POX).  With the
``autodiscover_redirect_address`` knob every known mailbox is redirected there (SOAP
``ErrorCode`` ``RedirectAddress`` with the address as ``RedirectTarget``; POX ``Action``
``redirectAddr`` with ``RedirectAddr``), as a hybrid Exchange answers for a mailbox that moved
to Exchange Online.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from emulators.ews.soap import SOAPNS, EwsError, ServerVersion, sub
from emulators.ews.state import EwsState, Mailbox

__all__ = ["ANS", "pox_answer", "soap_answer"]

ANS = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
_WSA = "http://www.w3.org/2005/08/addressing"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_POX_REQUEST = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
_POX_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
_POX_OUTLOOK = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
_ACTION = "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/"

def _a(local: str) -> str:
    return f"{{{ANS}}}{local}"


def _settings(state: EwsState, box: Mailbox, ews_url: str, schemas: list[str]
              ) -> dict[str, str]:
    server = ServerVersion.parse(state.config.server_build, state.config.server_version)
    cas = (f"{server.major:02d}.{server.minor:02d}.{server.major_build:04d}."
           f"{server.minor_build:03d}")
    return {"UserDisplayName": box.name or box.email, "AutoDiscoverSMTPAddress": box.email,
            "InternalEwsUrl": ews_url, "ExternalEwsUrl": ews_url,
            "EwsSupportedSchemas": ", ".join(schemas), "CasVersion": cas,
            "ExternalEwsVersion": cas}


def soap_answer(state: EwsState, data: bytes, ews_url: str, schemas: list[str]) -> ET.Element:
    """The ``GetUserSettingsResponseMessage`` envelope for a SOAP autodiscover request."""
    try:
        root = ET.fromstring(data)  # noqa: S314 - DOCTYPEs refused by the caller
    except ET.ParseError as exc:
        raise EwsError("InvalidRequest", f"The request is not XML: {exc}", fault=True) from exc
    request = root.find(f".//{_a('GetUserSettingsRequestMessage')}/{_a('Request')}")
    if request is None:
        raise EwsError("InvalidRequest", "Only GetUserSettings is emulated.", fault=True)
    users = [u.text or "" for u in request.iter(_a("Mailbox"))]
    wanted = [s.text or "" for s in request.iter(_a("Setting"))]
    env = ET.Element(f"{{{SOAPNS}}}Envelope")
    header = sub(env, f"{{{SOAPNS}}}Header")
    sub(header, f"{{{_WSA}}}Action", _ACTION + "GetUserSettingsResponse")
    server = ServerVersion.parse(state.config.server_build, state.config.server_version)
    info = sub(header, _a("ServerVersionInfo"))
    for name, value in (("MajorVersion", server.major), ("MinorVersion", server.minor),
                        ("MajorBuildNumber", server.major_build),
                        ("MinorBuildNumber", server.minor_build)):
        sub(info, _a(name), str(value))
    sub(info, _a("Version"), server.version)
    message = sub(sub(env, f"{{{SOAPNS}}}Body"), _a("GetUserSettingsResponseMessage"))
    response = sub(message, _a("Response"))
    sub(response, _a("ErrorCode"), "NoError")
    sub(response, _a("ErrorMessage"))
    responses = sub(response, _a("UserResponses"))
    for user in users:
        _user_response(sub(responses, _a("UserResponse")), state, user, wanted, ews_url,
                       schemas)
    return env


def _user_response(elem: ET.Element, state: EwsState, user: str, wanted: list[str],
                   ews_url: str, schemas: list[str]) -> None:
    box = state.mailbox(user)
    redirect = state.config.autodiscover_redirect_address
    if box is not None and redirect:
        sub(elem, _a("ErrorCode"), "RedirectAddress")
        sub(elem, _a("ErrorMessage"), "Redirection address.")
        sub(elem, _a("RedirectTarget"), redirect)
        sub(elem, _a("UserSettingErrors"))
        sub(elem, _a("UserSettings"))
        return
    if box is None:
        sub(elem, _a("ErrorCode"), "InvalidUser")
        sub(elem, _a("ErrorMessage"), f"Invalid user: '{user}'")
        return
    values = _settings(state, box, ews_url, schemas)
    sub(elem, _a("ErrorCode"), "NoError")
    sub(elem, _a("ErrorMessage"), "No error.")
    sub(elem, _a("RedirectTarget"), **{f"{{{_XSI}}}nil": "true"})
    errors = sub(elem, _a("UserSettingErrors"))
    settings = sub(elem, _a("UserSettings"))
    for name in wanted:
        if name in values:
            setting = sub(settings, _a("UserSetting"), **{f"{{{_XSI}}}type": "StringSetting"})
            sub(setting, _a("Name"), name)
            sub(setting, _a("Value"), values[name])
            continue
        error = sub(errors, _a("UserSettingError"))
        sub(error, _a("ErrorCode"), "SettingIsNotAvailable")
        sub(error, _a("ErrorMessage"), f"User setting '{name}' is not available.")
        sub(error, _a("SettingName"), name)


def pox_answer(state: EwsState, data: bytes, ews_url: str) -> ET.Element:
    """The POX ``Autodiscover`` response (``outlook/responseschema/2006a``)."""
    root = ET.Element(f"{{{_POX_RESPONSE}}}Autodiscover")
    try:
        request = ET.fromstring(data)  # noqa: S314 - DOCTYPEs refused by the caller
        address = request.findtext(f"{{{_POX_REQUEST}}}Request/{{{_POX_REQUEST}}}EMailAddress")
    except ET.ParseError:
        address = None
    box = state.mailbox(address.strip()) if address else None
    if box is None:
        response = sub(root, f"{{{_POX_RESPONSE}}}Response")
        error = sub(response, f"{{{_POX_RESPONSE}}}Error", Time="00:00:00.0000000",
                    Id="2877474385")
        sub(error, f"{{{_POX_RESPONSE}}}ErrorCode", "500" if address else "600")
        sub(error, f"{{{_POX_RESPONSE}}}Message", "The email address can't be found."
            if address else "Invalid Request")
        sub(error, f"{{{_POX_RESPONSE}}}DebugData")
        return root
    o = f"{{{_POX_OUTLOOK}}}"
    response = sub(root, o + "Response")
    if state.config.autodiscover_redirect_address:
        account = sub(response, o + "Account")
        sub(account, o + "AccountType", "email")
        sub(account, o + "Action", "redirectAddr")
        sub(account, o + "RedirectAddr", state.config.autodiscover_redirect_address)
        return root
    user = sub(response, o + "User")
    sub(user, o + "DisplayName", box.name or box.email)
    sub(user, o + "AutoDiscoverSMTPAddress", box.email)
    account = sub(response, o + "Account")
    sub(account, o + "AccountType", "email")
    sub(account, o + "Action", "settings")
    sub(account, o + "MicrosoftOnline", "False")
    for kind in ("EXCH", "EXPR"):
        protocol = sub(account, o + "Protocol")
        sub(protocol, o + "Type", kind)
        sub(protocol, o + "Server", state.config.realm)
        sub(protocol, o + "EwsUrl", ews_url)
    return root
