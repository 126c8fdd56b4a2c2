"""Finding an account's calendars from a base URL (RFC 6764, RFC 5397, RFC 4791 §6.2.1).

The URL the admin typed is tried as it is, then its host's ``/.well-known/caldav``; the
``current-user-principal`` leads to the ``calendar-home-set`` (on another host for iCloud: the
client's guard decides whether credentials may go there), whose members are the calendars.
A URL that names a calendar itself is taken as that one calendar.  Only collections holding
VEVENTs are offered (a preset may insist on that: iCloud); ``writable`` follows the
``current-user-privilege-set`` where the server reports one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from bridge.caldav.client import DavAnswer, DavClient
from bridge.caldav.davxml import (
    CALDAV,
    DAV,
    ICAL,
    DavResponse,
    absolute,
    parse_multistatus,
    propfind_body,
    same_path,
    tag,
)
from bridge.errors import RemoteNotFound

__all__ = ["CALENDAR_PROPS", "DavCalendar", "Discovery", "calendar_from", "discover",
           "normalise_url"]

_PRINCIPAL_PROPS = ((DAV, "current-user-principal"), (CALDAV, "calendar-home-set"),
                    (DAV, "resourcetype"))
CALENDAR_PROPS = ((DAV, "resourcetype"), (DAV, "displayname"),
                  (CALDAV, "supported-calendar-component-set"),
                  (DAV, "current-user-privilege-set"), (DAV, "supported-report-set"),
                  (CALDAV, "calendar-timezone"), (ICAL, "calendar-order"))
_TZID = re.compile(r"^TZID:(.+)$", re.MULTILINE)


@dataclass(frozen=True)
class DavCalendar:
    """A calendar collection: absolute URL, name, whether we may write, its components,
    time zone and whether it offers ``sync-collection``."""

    url: str
    name: str
    writable: bool
    components: tuple[str, ...]
    time_zone: str
    sync_collection: bool


@dataclass(frozen=True)
class Discovery:
    """What discovery found: where the principal and the calendar home are, the calendars,
    and the server's name (``Server`` header)."""

    principal: str
    home: str
    calendars: tuple[DavCalendar, ...]
    server: str


def normalise_url(url: str) -> str:
    """``example.com`` → ``https://example.com/``; surrounding space removed."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path or "/", parts.query, ""))


async def _propfind(client: DavClient, url: str, props: tuple[tuple[str, str], ...], depth: str
                    ) -> tuple[DavAnswer, list[DavResponse]]:
    answer = await client.request("PROPFIND", url, body=propfind_body(props),
                                  headers={"Depth": depth})
    if answer.status != 207:
        raise RemoteNotFound(f"no WebDAV answer at {url} ({answer.status})", reason="not_found")
    return answer, parse_multistatus(answer.body).responses


def _is_calendar(row: DavResponse) -> bool:
    return any(child.tag == tag(CALDAV, "calendar") for child in row.children(DAV, "resourcetype"))


def calendar_from(row: DavResponse, base: str) -> DavCalendar:
    """A calendar from its PROPFIND row (:data:`CALENDAR_PROPS`)."""
    comps = tuple(str(c.get("name", "")).upper()
                  for c in row.children(CALDAV, "supported-calendar-component-set"))
    privileges = {p.tag for priv in row.children(DAV, "current-user-privilege-set")
                  for p in priv}
    writable = not privileges or bool(privileges & {
        tag(DAV, "write"), tag(DAV, "write-content"), tag(DAV, "all")})
    reports = {r.tag for sup in row.children(DAV, "supported-report-set")
               for r in sup.iter() if r.tag.startswith("{")}
    zone = _TZID.search(row.text(CALDAV, "calendar-timezone") or "")
    url = absolute(base, row.href)
    name = row.text(DAV, "displayname") or urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return DavCalendar(url, name, writable, comps or ("VEVENT",),
                       zone.group(1).strip() if zone else "UTC",
                       tag(DAV, "sync-collection") in reports)


async def discover(client: DavClient, url: str, *, events_only: bool = True) -> Discovery:
    """The principal, home and event calendars behind ``url`` (``RemoteError`` kinds and
    ``UnsafeTarget`` as the client raises them)."""
    start = normalise_url(url)
    parts = urlsplit(start)
    well_known = urlunsplit((parts.scheme, parts.netloc, "/.well-known/caldav", "", ""))
    candidates = [start] if parts.path not in ("", "/") else []
    candidates += [well_known, start] if not candidates else [well_known]
    principal = home = ""
    answer: DavAnswer | None = None
    for candidate in candidates:
        try:
            answer, rows = await _propfind(client, candidate, _PRINCIPAL_PROPS, "0")
        except RemoteNotFound:
            continue
        here = absolute(answer.url, rows[0].href) if rows else answer.url
        row = rows[0] if rows else DavResponse(here, None)
        if _is_calendar(row):
            _, cal_rows = await _propfind(client, here, CALENDAR_PROPS, "0")
            calendars = tuple(calendar_from(r, here) for r in cal_rows[:1])
            return Discovery(here, here.rsplit("/", 2)[0] + "/", calendars,
                             answer.headers.get("Server", ""))
        homes = row.hrefs(CALDAV, "calendar-home-set")
        principals = row.hrefs(DAV, "current-user-principal")
        if homes:
            principal, home = here, absolute(answer.url, homes[0])
            break
        if principals:
            principal = absolute(answer.url, principals[0])
            break
    if not principal or answer is None:
        raise RemoteNotFound("no CalDAV principal found at that URL", reason="not_found")
    if not home:
        answer, rows = await _propfind(client, principal, _PRINCIPAL_PROPS, "0")
        homes = rows[0].hrefs(CALDAV, "calendar-home-set") if rows else []
        if not homes:
            raise RemoteNotFound("the principal names no calendar home", reason="not_found")
        home = absolute(answer.url, homes[0])
    answer, rows = await _propfind(client, home, CALENDAR_PROPS, "1")
    found: list[DavCalendar] = []
    for row in rows:
        if same_path(absolute(answer.url, row.href), answer.url) or not _is_calendar(row):
            continue
        cal = calendar_from(row, answer.url)
        if events_only and "VEVENT" not in cal.components:
            continue
        found.append(cal)
    return Discovery(principal, home, tuple(found), answer.headers.get("Server", ""))

