"""WebDAV/CalDAV XML: the request bodies the client sends and a bounded parse of answers.

Pure (no I/O).  Answers come from an untrusted server: they are parsed with ``defusedxml``
(no DTDs, so no entity expansion and no external entities), only after the client has bounded
their size, and a multistatus of more than :data:`MAX_RESPONSES` rows is refused.  Parsing is
iterative (expat), so deep nesting costs memory in proportion to the bounded size only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from bridge.errors import RemoteError

__all__ = [
    "CALDAV",
    "CS",
    "DAV",
    "ICAL",
    "MAX_RESPONSES",
    "DavResponse",
    "Multistatus",
    "XmlRefused",
    "absolute",
    "calendar_query_uid",
    "multiget_body",
    "parse_multistatus",
    "propfind_body",
    "same_path",
    "sync_collection_body",
    "tag",
]

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CS = "http://calendarserver.org/ns/"
ICAL = "http://apple.com/ns/ical/"
_PREFIX = {DAV: "d", CALDAV: "c", CS: "cs", ICAL: "ic"}
# Rows accepted in one multistatus (a calendar of 100,000 events is far beyond any practice).
MAX_RESPONSES = 200_000


class XmlRefused(RemoteError):
    """An answer that is not acceptable XML (malformed, a DTD or entities, too many rows)."""


def tag(namespace: str, name: str) -> str:
    """The Clark notation ``{namespace}name``."""
    return f"{{{namespace}}}{name}"


def _prop_xml(props: Iterable[tuple[str, str]]) -> str:
    return "".join(f"<{_PREFIX[ns]}:{name}/>" for ns, name in props)


_NS_DECL = (f'xmlns:d="{DAV}" xmlns:c="{CALDAV}" xmlns:cs="{CS}" xmlns:ic="{ICAL}"')


def propfind_body(props: Iterable[tuple[str, str]]) -> bytes:
    """A ``PROPFIND`` asking for ``props`` (``(namespace, name)`` pairs)."""
    return (f'<?xml version="1.0" encoding="utf-8"?><d:propfind {_NS_DECL}><d:prop>'
            f"{_prop_xml(props)}</d:prop></d:propfind>").encode()


def sync_collection_body(token: str) -> bytes:
    """An RFC 6578 ``sync-collection`` REPORT from ``token`` ("" for everything)."""
    return (f'<?xml version="1.0" encoding="utf-8"?><d:sync-collection {_NS_DECL}>'
            f"<d:sync-token>{escape(token)}</d:sync-token><d:sync-level>1</d:sync-level>"
            "<d:prop><d:getetag/></d:prop></d:sync-collection>").encode()


def multiget_body(hrefs: Sequence[str]) -> bytes:
    """A ``calendar-multiget`` REPORT of ``hrefs`` (etag and calendar data)."""
    rows = "".join(f"<d:href>{escape(h)}</d:href>" for h in hrefs)
    return (f'<?xml version="1.0" encoding="utf-8"?><c:calendar-multiget {_NS_DECL}>'
            f"<d:prop><d:getetag/><c:calendar-data/></d:prop>{rows}"
            "</c:calendar-multiget>").encode()


def calendar_query_uid(uid: str) -> bytes:
    """A ``calendar-query`` REPORT for the VEVENT resource with ``uid`` (etags only)."""
    return (f'<?xml version="1.0" encoding="utf-8"?><c:calendar-query {_NS_DECL}>'
            "<d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name=\"VCALENDAR\">"
            "<c:comp-filter name=\"VEVENT\"><c:prop-filter name=\"UID\">"
            f"<c:text-match collation=\"i;octet\">{escape(uid)}</c:text-match>"
            "</c:prop-filter></c:comp-filter></c:comp-filter></c:filter>"
            "</c:calendar-query>").encode()


def _status_code(text: str | None) -> int | None:
    """``HTTP/1.1 404 Not Found`` → 404."""
    if not text:
        return None
    parts = text.split()
    if len(parts) >= 2 and parts[1].isdigit():
        return int(parts[1])
    return None


@dataclass(frozen=True)
class DavResponse:
    """One ``response`` row: its href (as sent), the row's own status (a removed member of a
    sync-collection answer: 404) and the properties found with status 200."""

    href: str
    status: int | None
    props: dict[str, Element] = field(default_factory=dict)

    def text(self, namespace: str, name: str) -> str | None:
        """The text of a found property (``None`` when absent)."""
        element = self.props.get(tag(namespace, name))
        if element is None:
            return None
        return (element.text or "").strip()

    def hrefs(self, namespace: str, name: str) -> list[str]:
        """The ``href`` children of a found property (``current-user-principal``, …)."""
        element = self.props.get(tag(namespace, name))
        if element is None:
            return []
        return [(h.text or "").strip() for h in element.iter(tag(DAV, "href")) if h.text]

    def children(self, namespace: str, name: str) -> list[Element]:
        """The child elements of a found property."""
        element = self.props.get(tag(namespace, name))
        return list(element) if element is not None else []


@dataclass(frozen=True)
class Multistatus:
    """A parsed ``multistatus``: its rows and its ``sync-token`` (sync-collection)."""

    responses: list[DavResponse]
    sync_token: str | None


def parse_multistatus(body: bytes) -> Multistatus:
    """Parse a ``207`` answer (``XmlRefused`` when it is not acceptable)."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except (DefusedXmlException, SafeET.ParseError, ValueError) as exc:
        raise XmlRefused(f"the server's XML answer was refused ({type(exc).__name__})",
                         reason="bad_xml") from None
    if root.tag != tag(DAV, "multistatus"):
        raise XmlRefused("the server's answer is not a WebDAV multistatus", reason="bad_xml")
    rows: list[DavResponse] = []
    for resp in root.iter(tag(DAV, "response")):
        if len(rows) >= MAX_RESPONSES:
            raise XmlRefused("the server's multistatus has too many rows", reason="too_large")
        href_el = resp.find(tag(DAV, "href"))
        if href_el is None or not (href_el.text or "").strip():
            continue
        props: dict[str, Element] = {}
        for propstat in resp.findall(tag(DAV, "propstat")):
            code = _status_code(propstat.findtext(tag(DAV, "status")))
            if code is not None and not 200 <= code < 300:
                continue
            prop = propstat.find(tag(DAV, "prop"))
            if prop is not None:
                for child in prop:
                    props[child.tag] = child
        rows.append(DavResponse((href_el.text or "").strip(),
                                _status_code(resp.findtext(tag(DAV, "status"))), props))
    token_el = root.find(tag(DAV, "sync-token"))
    token = (token_el.text or "").strip() if token_el is not None else None
    return Multistatus(rows, token or None)


def absolute(base: str, href: str) -> str:
    """``href`` (often a path) made absolute against ``base``."""
    return urljoin(base, href)


def same_path(a: str, b: str) -> bool:
    """Whether two hrefs/URLs name the same collection (path compared unquoted, trailing
    slash ignored)."""
    pa, pb = unquote(urlsplit(a).path).rstrip("/"), unquote(urlsplit(b).path).rstrip("/")
    return pa == pb

