"""Pure half of the CalDAV fast path: which request bodies it answers, and the XML it writes.

:func:`classify_propfind` and :func:`classify_report` accept only the exact request shapes the
fast path (:mod:`radicale_plugins.fastpath`) answers and return ``None`` for anything else, which
then goes to Radicale unchanged.  :class:`Multistatus` writes the answer as strings straight into
a list (no element tree), with the same elements, texts and escaping Radicale's ElementTree
output has (``DAV:`` as the default namespace, ``C:`` and ``CS:`` prefixes).
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from http import client
from urllib.parse import quote

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException

__all__ = [
    "CALDAV",
    "CS",
    "DAV",
    "PROPFIND_PROPS",
    "REPORT_FOUND",
    "Multistatus",
    "Report",
    "classify_propfind",
    "classify_report",
    "escape",
    "make_href",
]

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CS = "http://calendarserver.org/ns/"

GETETAG = f"{{{DAV}}}getetag"
GETCONTENTTYPE = f"{{{DAV}}}getcontenttype"
RESOURCETYPE = f"{{{DAV}}}resourcetype"
DISPLAYNAME = f"{{{DAV}}}displayname"
GETLASTMODIFIED = f"{{{DAV}}}getlastmodified"
SYNC_TOKEN = f"{{{DAV}}}sync-token"
GETCTAG = f"{{{CS}}}getctag"
CALENDAR_DATA = f"{{{CALDAV}}}calendar-data"

# Live properties a PROPFIND Depth:1 may ask for (``allprop`` adds many more: not equivalent).
PROPFIND_PROPS = frozenset({GETETAG, GETCONTENTTYPE, RESOURCETYPE, DISPLAYNAME, GETLASTMODIFIED,
                            SYNC_TOKEN, GETCTAG})
# Radicale's REPORT answers these three for items and every other property with 404; these are
# the others clients are known to send in a sync-collection or multiget.
REPORT_FOUND = frozenset({GETETAG, CALENDAR_DATA, GETCONTENTTYPE})
_REPORT_MISSING = frozenset({RESOURCETYPE, DISPLAYNAME, GETLASTMODIFIED, SYNC_TOKEN, GETCTAG,
                             f"{{{DAV}}}getcontentlength", f"{{{CALDAV}}}schedule-tag"})
_CALENDAR_DATA_ATTRIBUTES = {"content-type": "text/calendar", "version": "2.0"}
_PREFIXES = {DAV: "", CALDAV: "C:", CS: "CS:"}
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~/-]*")
_ROOT = (f'<multistatus xmlns="{DAV}" xmlns:C="{CALDAV}" xmlns:CS="{CS}">')


@dataclass(frozen=True)
class Report:
    """A REPORT the fast path answers: ``sync-collection`` (token) or ``calendar-multiget``."""

    kind: str  # "sync" or "multiget"
    props: tuple[str, ...]  # Clark names in request order
    token: str = ""
    hrefs: tuple[str, ...] = ()


def _parse(body: str) -> ET.Element | None:
    try:
        root: ET.Element = DefusedET.fromstring(body)
    except (ET.ParseError, DefusedXmlException, ValueError):  # Radicale gives the answer
        return None
    return root


def _blank(element: ET.Element) -> bool:
    return not (element.text or "").strip() and not (element.tail or "").strip()


def _plain_props(prop: ET.Element, allowed: frozenset[str]) -> tuple[str, ...] | None:
    """The Clark names inside ``<D:prop>`` if each is an allowed, empty, plain element."""
    if not _blank(prop) or prop.attrib or len(prop) == 0:
        return None
    names: list[str] = []
    for child in prop:
        if child.tag not in allowed or len(child) or not _blank(child):
            return None
        if child.tag == CALENDAR_DATA:
            if any(_CALENDAR_DATA_ATTRIBUTES.get(k) != v for k, v in child.attrib.items()):
                return None
        elif child.attrib:
            return None
        names.append(child.tag)
    return tuple(names)


def classify_propfind(body: str) -> tuple[str, ...] | None:
    """Requested properties of ``<D:propfind><D:prop>…`` with only live properties, else None."""
    root = _parse(body)
    if root is None or root.tag != f"{{{DAV}}}propfind" or root.attrib or len(root) != 1:
        return None
    prop = root[0]
    if prop.tag != f"{{{DAV}}}prop" or not _blank(root):
        return None
    return _plain_props(prop, PROPFIND_PROPS)


def classify_report(body: str) -> Report | None:
    """A sync-collection (level 1, no limit) or calendar-multiget of plain properties, else None."""
    root = _parse(body)
    if root is None or root.attrib or not _blank(root):
        return None
    props: tuple[str, ...] | None = None
    allowed = REPORT_FOUND | _REPORT_MISSING
    if root.tag == f"{{{DAV}}}sync-collection":
        token: str | None = None
        level: str | None = None
        for child in root:
            if child.attrib or (len(child) and child.tag != f"{{{DAV}}}prop"):
                return None
            if child.tag == SYNC_TOKEN and token is None:
                token = (child.text or "").strip()
            elif child.tag == f"{{{DAV}}}sync-level" and level is None:
                level = (child.text or "").strip()
            elif child.tag == f"{{{DAV}}}prop" and props is None:
                props = _plain_props(child, allowed)
                if props is None:
                    return None
            else:
                return None
        if level != "1" or props is None:
            return None
        return Report("sync", props, token=token or "")
    if root.tag == f"{{{CALDAV}}}calendar-multiget":
        hrefs: list[str] = []
        for child in root:
            if child.tag == f"{{{DAV}}}href" and not len(child) and not child.attrib:
                if not child.text:
                    return None
                hrefs.append(child.text)
            elif child.tag == f"{{{DAV}}}prop" and props is None:
                props = _plain_props(child, allowed)
                if props is None:
                    return None
            else:
                return None
        if props is None or not hrefs:
            return None
        return Report("multiget", props, hrefs=tuple(hrefs))
    return None


def escape(text: str) -> str:
    """Character data escaped as ElementTree does (``&``, ``<``, ``>``)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


@functools.lru_cache(maxsize=64)
def name(clark: str) -> str:
    """The element name as written (``getetag``, ``C:calendar-data``, ``CS:getctag``)."""
    namespace, _, local = clark[1:].partition("}")
    return _PREFIXES[namespace] + local


def make_href(base_prefix: str, path: str) -> str:
    """Radicale's href: the prefixed path, percent-encoded (non-ASCII as UTF-8)."""
    return quote_path(base_prefix + path)


def quote_path(path: str) -> str:
    """``urllib.parse.quote`` (as Radicale's hrefs use it), skipped when nothing needs it.

    Quoting works character by character, so a quoted prefix plus a quoted name equals the
    quoted whole; the result has no characters XML would escape.
    """
    return path if _UNRESERVED.fullmatch(path) else quote(path)


def _status(code: int) -> str:
    return f"<status>HTTP/1.1 {code} {client.responses[code]}</status>"


OK = _status(200)
NOT_FOUND = _status(404)


class Multistatus:
    """A ``D:multistatus`` document written as string pieces."""

    def __init__(self) -> None:
        self.parts: list[str] = ["<?xml version='1.0' encoding='utf-8'?>\n", _ROOT]

    def sync_token(self, token: str) -> None:
        """The ``D:sync-token`` element of a sync-collection answer."""
        self.parts.append(f"<sync-token>{escape(token)}</sync-token>")

    def missing(self, href: str) -> None:
        """A response with status 404 for a member that does not exist (``href`` escaped)."""
        self.parts.append(f"<response><href>{href}</href>{NOT_FOUND}</response>")

    def response(self, href: str, propstats: list[tuple[int, list[str]]]) -> None:
        """A response with ``(status, [written property elements])`` propstats."""
        parts = self.parts
        parts.append(f"<response><href>{href}</href>")
        for code, elements in propstats:
            if elements:
                parts.append("<propstat><prop>")
                parts.extend(elements)
                parts.append("</prop>")
                parts.append(OK if code == 200 else NOT_FOUND)
                parts.append("</propstat>")
        parts.append("</response>")

    def add(self, text: str) -> None:
        """Already written XML (a response from :func:`row_template`)."""
        self.parts.append(text)

    def body(self) -> bytes:
        """The finished document, UTF-8."""
        self.parts.append("</multistatus>")
        return "".join(self.parts).encode("utf-8")


def placeholder(clark: str, index: int) -> str:
    """A property element whose (escaped) text is the ``str.format`` field ``index``."""
    tag = name(clark)
    return f"<{tag}>{{{index}}}</{tag}>"


def row_template(found: list[str], missing: list[str], *, missing_first: bool = False) -> str:
    """A ``str.format`` template of one response: field 0 the href, then the found values.

    ``found`` and ``missing`` are written elements (with :func:`placeholder` fields); a propstat
    is left out when it has no elements, as Radicale does.
    """
    stats = [(404, missing), (200, found)] if missing_first else [(200, found), (404, missing)]
    parts = ["<response><href>{0}</href>"]
    for code, elements in stats:
        if elements:
            parts += ["<propstat><prop>", *elements, "</prop>", OK if code == 200 else NOT_FOUND,
                      "</propstat>"]
    parts.append("</response>")
    return "".join(parts)


def element(clark: str, text: str | None = None) -> str:
    """One property element with (escaped) text, or empty."""
    tag = name(clark)
    if text is None or text == "":
        return f"<{tag} />"
    return f"<{tag}>{escape(text)}</{tag}>"
