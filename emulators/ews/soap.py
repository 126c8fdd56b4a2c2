"""SOAP 1.1 plumbing of the EWS emulator: namespaces, parsing a request envelope, building
response envelopes (with the ``ServerVersionInfo`` header), response messages and faults.

Elements are :mod:`xml.etree.ElementTree` elements with Clark names (``{ns}Local``); :func:`m`,
:func:`t` build names in the messages and types namespaces.  Requests with a DOCTYPE are refused
before parsing (no entity expansion).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "ENS",
    "MNS",
    "SOAPNS",
    "TNS",
    "EwsError",
    "Request",
    "ServerVersion",
    "each_message",
    "envelope",
    "fault",
    "local",
    "m",
    "parse_request",
    "response_message",
    "sub",
    "t",
    "to_bytes",
]

SOAPNS = "http://schemas.xmlsoap.org/soap/envelope/"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
ENS = "http://schemas.microsoft.com/exchange/services/2006/errors"
for _prefix, _uri in (("s", SOAPNS), ("m", MNS), ("t", TNS), ("e", ENS)):
    ET.register_namespace(_prefix, _uri)


def m(local: str) -> str:
    """A Clark name in the messages namespace."""
    return f"{{{MNS}}}{local}"


def t(local: str) -> str:
    """A Clark name in the types namespace."""
    return f"{{{TNS}}}{local}"


def local(tag: str) -> str:
    """The local part of a Clark name."""
    return tag.rsplit("}", 1)[-1]


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """Append a child element (with optional text and attributes) and return it."""
    child = ET.SubElement(parent, tag, attrs)
    if text is not None:
        child.text = text
    return child


class EwsError(Exception):
    """An EWS response code (``ErrorItemNotFound`` …) for one response message, or, with
    ``fault=True``, for the whole request as a SOAP fault (HTTP 500)."""

    def __init__(self, code: str, message: str, *, fault: bool = False,
                 values: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fault = fault
        self.values = values or {}


@dataclass(frozen=True)
class ServerVersion:
    """What ``t:ServerVersionInfo`` says (Exchange 2016 CU23 by default)."""

    major: int = 15
    minor: int = 1
    major_build: int = 2507
    minor_build: int = 6
    version: str = "Exchange2016"

    @classmethod
    def parse(cls, build: str, version: str) -> ServerVersion:
        """From ``"15.2.1544.4"`` and an API version name; ``ValueError`` when malformed."""
        parts = [int(p) for p in build.split(".")]
        if len(parts) != 4:
            raise ValueError(f"build {build!r} must have four numbers")
        return cls(parts[0], parts[1], parts[2], parts[3], version)


@dataclass
class Request:
    """A parsed SOAP request: the service element, its name and the header values."""

    service: str
    body: ET.Element
    requested_version: str | None
    time_zone: str | None
    impersonated: str | None


def parse_request(data: bytes) -> Request:
    """Parse an EWS request envelope; raises :class:`EwsError` (fault) when it is not one."""
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise EwsError("ErrorSchemaValidation", "DTDs are not allowed.", fault=True)
    try:
        root = ET.fromstring(data)  # noqa: S314 - no DTD (checked above)
    except ET.ParseError as exc:
        raise EwsError("ErrorSchemaValidation",
                       f"The request failed schema validation: {exc}", fault=True) from exc
    if root.tag != f"{{{SOAPNS}}}Envelope":
        raise EwsError("ErrorSchemaValidation", "The request is not a SOAP envelope.",
                       fault=True)
    body = root.find(f"{{{SOAPNS}}}Body")
    if body is None or len(body) == 0:
        raise EwsError("ErrorSchemaValidation", "The SOAP body is empty.", fault=True)
    service = body[0]
    if not service.tag.startswith(f"{{{MNS}}}"):
        raise EwsError("ErrorInvalidRequest", "The request is invalid.", fault=True)
    header = root.find(f"{{{SOAPNS}}}Header")
    version = zone = impersonated = None
    if header is not None:
        rsv = header.find(t("RequestServerVersion"))
        version = rsv.get("Version") if rsv is not None else None
        tzd = header.find(f"{t('TimeZoneContext')}/{t('TimeZoneDefinition')}")
        zone = tzd.get("Id") if tzd is not None else None
        imp = header.find(f"{t('ExchangeImpersonation')}//{t('PrimarySmtpAddress')}")
        impersonated = imp.text if imp is not None else None
    return Request(service.tag.removeprefix(f"{{{MNS}}}"), service, version, zone, impersonated)


def envelope(content: ET.Element | None, server: ServerVersion | None) -> ET.Element:
    """``s:Envelope`` with ``content`` in the body and, given a server version, the
    ``ServerVersionInfo`` header (Exchange sends SOAP faults without it)."""
    env = ET.Element(f"{{{SOAPNS}}}Envelope")
    if server is not None:
        header = sub(env, f"{{{SOAPNS}}}Header")
        sub(header, t("ServerVersionInfo"), MajorVersion=str(server.major),
            MinorVersion=str(server.minor), MajorBuildNumber=str(server.major_build),
            MinorBuildNumber=str(server.minor_build), Version=server.version)
    body = sub(env, f"{{{SOAPNS}}}Body")
    if content is not None:
        body.append(content)
    return env


def fault(error: EwsError) -> ET.Element:
    """The ``s:Fault`` Exchange sends for a request-level error (throttling, schema)."""
    elem = ET.Element(f"{{{SOAPNS}}}Fault")
    faultcode = "a:" + error.code
    sub(elem, "faultcode", faultcode)
    sub(elem, "faultstring", error.message)
    detail = sub(elem, "detail")
    sub(detail, f"{{{ENS}}}ResponseCode", error.code)
    sub(detail, f"{{{ENS}}}Message", error.message)
    if error.values:
        xml = sub(detail, t("MessageXml"))
        for name, value in error.values.items():
            sub(xml, t("Value"), value, Name=name)
    return elem


def response_message(service: str, error: EwsError | None = None) -> ET.Element:
    """``m:<Service>ResponseMessage``: Success/NoError, or Error with code and text."""
    msg = ET.Element(m(f"{service}ResponseMessage"),
                     {"ResponseClass": "Error" if error else "Success"})
    if error is None:
        sub(msg, m("ResponseCode"), "NoError")
        return msg
    sub(msg, m("MessageText"), error.message)
    sub(msg, m("ResponseCode"), error.code)
    sub(msg, m("DescriptiveLinkKey"), "0")
    if error.values:
        xml = sub(msg, m("MessageXml"))
        for name, value in error.values.items():
            sub(xml, t("Value"), value, Name=name)
    return msg


def each_message(service: str, body: ET.Element, container: str,
                 answer: Callable[[ET.Element], ET.Element]) -> list[ET.Element]:
    """One response message per child of ``m:<container>``: ``answer(child)``, or the error
    message of the :class:`EwsError` it raised (a fault still ends the whole request)."""
    elem = body.find(m(container))
    if elem is None or len(elem) == 0:
        raise EwsError("ErrorSchemaValidation", f"{container} is required.", fault=True)
    messages = []
    for child in elem:
        try:
            messages.append(answer(child))
        except EwsError as exc:
            if exc.fault:
                raise
            messages.append(response_message(service, exc))
    return messages


def to_bytes(elem: ET.Element) -> bytes:
    """Serialise with an XML declaration (UTF-8)."""
    data: bytes = ET.tostring(elem, encoding="utf-8", xml_declaration=True)
    return data
