"""A CalDAV calendar as a provider (:class:`bridge.providers.base.Provider`).

The remote side is iCalendar already, so the mapping is the identity: a series (master and
overrides, all-day, time zones) is one resource, pulled through the validation gate and
pushed as it is (with ``LAST-MODIFIED`` stamped and a ``VTIMEZONE`` for every ``TZID``).  Both
sides are hashed with the project's normalised hash (:func:`bridge.ical.normalize.content_hash`),
so what servers rewrite (``PRODID``, ``DTSTAMP``, ``VTIMEZONE``, ``SEQUENCE``, folding, order)
never looks like an edit.

* Reading: :mod:`bridge.caldav.listing` (sync-collection, or ctag + etag listing); bodies come
  by ``calendar-multiget`` in chunks of :data:`MULTIGET_CHUNK`.  A full listing is read once and
  handed to the core in pages ordered by path; the page token names the listing and the last
  path, so an import resumed after a restart lists again and goes on after that path.
* Writing: ``PUT`` with ``If-None-Match: *`` under the path derived from the UID (a retried
  create meets 412 and relinks), ``If-Match`` on updates and deletes; 412 → the series as it is
  now (:class:`~bridge.providers.base.RemoteChanged`).  A ``PUT`` answered without a strong
  ``ETag`` is read back, and the link keeps the server's etag and hash.
* ``updated`` is the newest ``LAST-MODIFIED`` (else ``DTSTAMP``) of the resource: the clock of
  whoever edited it, compared only with stamps of the same calendar.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from icalendar import Calendar

from bridge.caldav.client import DavAnswer, DavClient
from bridge.caldav.davxml import (
    CALDAV,
    CS,
    DAV,
    calendar_query_uid,
    multiget_body,
    parse_multistatus,
    propfind_body,
    sync_collection_body,
)
from bridge.caldav.listing import (
    ListedItem,
    Listing,
    diff,
    listing_cursor,
    parse_cursor,
    path_of,
    rows_of,
    sync_cursor,
)
from bridge.caldav.series import CaldavSeries, map_bodies, updated_stamp
from bridge.cpu import THREAD, CpuPool
from bridge.errors import (
    CursorExpired,
    RemoteError,
    RemoteNotFound,
    RemotePreconditionFailed,
)
from bridge.ical.normalize import content_hash
from bridge.model import ParsedResource
from bridge.providers.base import (
    Capabilities,
    ChangePage,
    Channel,
    LinkedRemote,
    RemoteChanged,
    RemoteSeries,
    WriteResult,
)
from bridge.store.items import href_for_uid

__all__ = ["MULTIGET_CHUNK", "CaldavProvider", "ListingMemory"]

_LOGGER = logging.getLogger(__name__)

MULTIGET_CHUNK = 200
# Rounds of a truncated (507) sync-collection answer followed within one listing.
_MAX_ROUNDS = 1000
_CTAG_PROPS = ((CS, "getctag"), (DAV, "sync-token"))
_LIST_PROPS = ((DAV, "getetag"), (CS, "getctag"), (DAV, "sync-token"))


def outgoing(text: str, now: datetime) -> tuple[str, Calendar]:
    """The resource as pushed: ``LAST-MODIFIED``/``DTSTAMP`` of now, a ``VTIMEZONE`` for every
    ``TZID`` (RFC 5545 asks for them; iCloud needs them)."""
    cal = Calendar.from_ical(text)
    stamp = now.astimezone(UTC).replace(microsecond=0)
    for comp in cal.walk("VEVENT"):
        for name in ("LAST-MODIFIED", "DTSTAMP"):
            comp.pop(name, None)
            comp.add(name, stamp)
    cal.add_missing_timezones()
    return cal.to_ical().decode("utf-8"), cal


@dataclass
class ListingMemory:
    """What the factory keeps per calendar between polls: whether sync-collection works,
    the etags of the last ctag listing (by its cursor) and full listings being paged."""

    no_sync: set[str] = field(default_factory=set)
    etags: dict[str, tuple[str, dict[str, str | None]]] = field(default_factory=dict)
    full: dict[str, tuple[str, list[ListedItem]]] = field(default_factory=dict)


def _quoted(path: str) -> str:
    """A member path as sent in a request line or an ``href``."""
    return quote(path, safe="/@:+,;=~!$&'()*")


def _token_key(listing_id: str, after: str) -> str:
    return json.dumps({"l": listing_id, "a": after})


class CaldavProvider:
    """One connection's CalDAV calendar."""

    capabilities = Capabilities()

    def __init__(self, client: DavClient, calendar_url: str, *, name: str = "caldav",
                 memory: ListingMemory | None = None,
                 uid_elsewhere: Callable[[str], bool] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 pool: CpuPool = THREAD) -> None:
        self.client = client
        self.pool = pool  # where big pages are mapped
        self.calendar_url = calendar_url if calendar_url.endswith("/") else calendar_url + "/"
        self.name = name
        self.memory = memory or ListingMemory()
        self.uid_elsewhere = uid_elsewhere
        self.clock = clock

    def url(self, href: str) -> str:
        """The absolute URL of a member path."""
        return urljoin(self.calendar_url, _quoted(href))

    # -- listing ---------------------------------------------------------------------------------
    async def _sync_report(self, token: str) -> Listing | None:
        """One sync-collection answer (with the bodies; without them when that answer is too
        large); ``None`` when the server does not offer it; ``CursorExpired`` for an unknown
        token."""
        try:
            answer = await self._sync_request(token, data=True)
        except RemoteError as exc:
            if exc.reason != "too_large":
                raise
            answer = await self._sync_request(token, data=False)
        if answer.status == 207:
            return rows_of(parse_multistatus(answer.body), self.calendar_url)
        if token and b"valid-sync-token" in answer.body:
            raise CursorExpired("the server no longer knows the sync token",
                                status=answer.status, reason="valid-sync-token")
        self.memory.no_sync.add(self.calendar_url)
        _LOGGER.info("%s: no sync-collection (%d), listing by etags", self.calendar_url,
                     answer.status)
        return None

    async def _sync_request(self, token: str, *, data: bool) -> DavAnswer:
        return await self.client.request(
            "REPORT", self.calendar_url, body=sync_collection_body(token, data=data),
            headers={"Depth": "0"}, accept=(400, 403, 405, 409, 415, 501))

    async def _propfind(self, props: tuple[tuple[str, str], ...], depth: str) -> Listing:
        answer = await self.client.request("PROPFIND", self.calendar_url,
                                           body=propfind_body(props), headers={"Depth": depth})
        if answer.status != 207:
            raise RemoteError(f"PROPFIND answered {answer.status}", status=answer.status)
        return rows_of(parse_multistatus(answer.body), self.calendar_url)

    async def _full(self) -> tuple[list[ListedItem], str]:
        """Every member and the cursor of the listing."""
        if self.calendar_url not in self.memory.no_sync:
            token = ""
            items: dict[str, ListedItem] = {}
            for _ in range(_MAX_ROUNDS):
                got = await self._sync_report(token)
                if got is None:
                    break
                for item in got.items:
                    items[item.href] = item
                token = got.sync_token or token
                if not got.truncated:
                    live = [i for i in items.values() if not i.deleted]
                    return live, sync_cursor(token)
        listing = await self._propfind(_LIST_PROPS, "1")
        etags = {i.href: i.etag for i in listing.items}
        cursor = listing_cursor(listing.ctag, etags)
        self.memory.etags[self.calendar_url] = (cursor, etags)
        return listing.items, cursor

    async def list_page(self, cursor: str | None, page_token: str | None, page_size: int
                        ) -> ChangePage:
        """One page (see the module doc)."""
        if page_token is not None:
            return await self._next_page(page_token, page_size)
        if cursor is None:
            items, final = await self._full()
            items.sort(key=lambda i: i.href)
            self.memory.full[self.calendar_url] = (final, items)
            return self._page(final, items, "", page_size)
        mode, value, _ = parse_cursor(cursor)
        if mode == "sync":
            return await self._sync_changes(value)
        if mode == "ctag":
            return await self._ctag_changes(cursor, value)
        raise CursorExpired("unreadable cursor", reason="cursor")

    def _page(self, final: str, items: list[ListedItem], after: str, page_size: int
              ) -> ChangePage:
        rest = [i for i in items if i.href > after] if after else items
        page = rest[:max(1, page_size)]
        if len(rest) > len(page):
            return ChangePage(page, _token_key(final, page[-1].href), None)
        self.memory.full.pop(self.calendar_url, None)
        return ChangePage(page, None, final)

    async def _next_page(self, page_token: str, page_size: int) -> ChangePage:
        try:
            data = json.loads(page_token)
            final, after = str(data["l"]), str(data["a"])
        except (ValueError, KeyError, TypeError):
            if page_token.startswith("sync:"):  # a truncated incremental answer goes on
                return await self._sync_changes(page_token[5:])
            raise CursorExpired("unreadable page token", reason="page_token") from None
        kept = self.memory.full.get(self.calendar_url)
        if kept is None or kept[0] != final:
            items, _ = await self._full()  # resumed: list again, keep the first cursor
            items.sort(key=lambda i: i.href)
            kept = (final, items)
            self.memory.full[self.calendar_url] = kept
        return self._page(final, kept[1], after, page_size)

    async def _sync_changes(self, token: str) -> ChangePage:
        got = await self._sync_report(token)
        if got is None:
            raise CursorExpired("sync-collection is not offered any more", reason="no_sync")
        new = got.sync_token or token
        if got.truncated:
            return ChangePage(got.items, "sync:" + new, None)
        return ChangePage(got.items, None, sync_cursor(new))

    async def _ctag_changes(self, cursor: str, ctag: str) -> ChangePage:
        probe = await self._propfind(_CTAG_PROPS, "0")
        if probe.ctag is not None and probe.ctag == ctag:
            return ChangePage([], None, cursor)
        known = self.memory.etags.get(self.calendar_url)
        if known is None or known[0] != cursor:
            raise CursorExpired("the listing behind the cursor is not known", reason="ctag")
        listing = await self._propfind(_LIST_PROPS, "1")
        etags = {i.href: i.etag for i in listing.items}
        new_cursor = listing_cursor(listing.ctag, etags)
        self.memory.etags[self.calendar_url] = (new_cursor, etags)
        return ChangePage(diff(known[1], listing.items), None, new_cursor)

    # -- reading bodies ----------------------------------------------------------------------------
    async def _multiget(self, hrefs: Sequence[str]) -> dict[str, tuple[str | None, str]]:
        """The ``(etag, text)`` of each member found (a missing one is gone)."""
        answer = await self.client.request(
            "REPORT", self.calendar_url, body=multiget_body([_quoted(h) for h in hrefs]),
            headers={"Depth": "1"})
        found: dict[str, tuple[str | None, str]] = {}
        for row in parse_multistatus(answer.body).responses:
            data = row.text(CALDAV, "calendar-data")
            if row.status not in (404, 410) and data is not None:
                found[path_of(self.calendar_url, row.href)] = (row.text(DAV, "getetag"), data)
        return found

    async def resolve(self, items: Sequence[Any], *, render: bool = True) -> list[RemoteSeries]:
        """The listed members as series: bodies the listing carried, the others fetched
        (removed ones come back deleted), mapped off the event loop."""
        bodies: dict[str, tuple[str | None, str]] = {}
        wanted: list[str] = []
        for item in items:
            if item.deleted:
                continue
            if item.text is not None:
                bodies[item.href] = (item.etag, item.text)
            else:
                wanted.append(item.href)
        for start in range(0, len(wanted), MULTIGET_CHUNK):
            bodies.update(await self._multiget(wanted[start:start + MULTIGET_CHUNK]))
        mapped = await self.pool.map(map_bodies, [(href, etag, text)
                                                  for href, (etag, text) in bodies.items()])
        by_href = {series.event_id: series for series in mapped}
        return [by_href.get(item.href) or CaldavSeries(item.href, None, deleted=True)
                for item in items]

    async def get(self, event_id: str) -> CaldavSeries:
        """The resource as the server holds it now (deleted when gone)."""
        (series,) = await self.resolve([ListedItem(event_id, None)])
        assert isinstance(series, CaldavSeries)
        return series

    # -- writing -----------------------------------------------------------------------------------
    def _href_for(self, uid: str, key: str | None) -> str:
        base = urlsplit(self.calendar_url).path
        if key and key.startswith(base) and not key.endswith("/"):
            return key
        return base + href_for_uid(uid)

    async def _put(self, href: str, body: str, headers: dict[str, str]) -> DavAnswer:
        return await self.client.request(
            "PUT", self.url(href), body=body.encode("utf-8"),
            headers={"Content-Type": "text/calendar; charset=utf-8", **headers},
            accept=(409, 412) if "If-None-Match" in headers else ())

    async def _result(self, href: str, answer: DavAnswer, body: str, cal: Calendar
                      ) -> WriteResult:
        etag = answer.headers.get("ETag")
        if etag and not etag.startswith("W/"):
            return WriteResult(href, etag, content_hash(cal), updated_stamp(cal))
        now = await self.get(href)  # no (strong) ETag: the server changed the body
        if now.deleted:
            raise RemoteNotFound("the resource vanished right after it was written")
        return WriteResult(href, now.etag, now.hash, now.updated)

    async def _existing(self, uid: str) -> CaldavSeries | None:
        """The member holding ``uid`` (calendar-query), if any."""
        answer = await self.client.request(
            "REPORT", self.calendar_url, body=calendar_query_uid(uid), headers={"Depth": "1"},
            accept=(400, 403, 501))
        if answer.status != 207:
            return None
        for item in rows_of(parse_multistatus(answer.body), self.calendar_url).items:
            if not item.deleted:
                return await self.get(item.href)
        return None

    async def create(self, text: str, *, key: str | None, gone: RemoteSeries | None,
                     link: LinkedRemote | None) -> WriteResult:
        """``PUT`` with ``If-None-Match: *`` (exists: ``RemoteChanged``)."""
        body, cal = outgoing(text, self.clock())
        events = cal.walk("VEVENT")
        uid = str(events[0].get("UID") or "") if events else ""
        if self.uid_elsewhere is not None and uid and self.uid_elsewhere(uid):
            raise RemoteError(f"UID {uid} is already in another calendar of this account",
                              reason="uid_elsewhere")
        href = self._href_for(uid, key)
        answer = await self._put(href, body, {"If-None-Match": "*"})
        if answer.status == 412:
            raise RemoteChanged(await self.get(href))
        if answer.status in (403, 409):  # no-uid-conflict: the UID lives under another name
            existing = await self._existing(uid)
            if existing is None:
                raise RemoteError(f"the server refused the new resource ({answer.status})",
                                  status=answer.status)
            raise RemoteChanged(existing)
        return await self._result(href, answer, body, cal)

    async def update(self, event_id: str, text: str, *, etag: str | None,
                     fetched: RemoteSeries | None, link: LinkedRemote | None) -> WriteResult:
        """``PUT`` with ``If-Match`` (changed or gone: ``RemoteChanged``)."""
        body, cal = outgoing(text, self.clock())
        try:
            answer = await self._put(event_id, body, {"If-Match": etag} if etag else {})
        except (RemotePreconditionFailed, RemoteNotFound):
            raise RemoteChanged(await self.get(event_id)) from None
        return await self._result(event_id, answer, body, cal)

    async def delete(self, event_id: str, *, etag: str | None) -> None:
        """``DELETE`` with ``If-Match`` (gone: done)."""
        try:
            await self.client.request("DELETE", self.url(event_id),
                                      headers={"If-Match": etag} if etag else {})
        except RemoteNotFound:
            return
        except RemotePreconditionFailed:
            raise RemoteChanged(await self.get(event_id)) from None

    async def restore_batch(self, kept: Sequence[tuple[str, str]]
                            ) -> list[WriteResult | None]:
        """Not offered: every event goes the push way."""
        return [None] * len(kept)

    async def watch(self, channel_id: str, address: str, token: str, ttl: int) -> Channel:
        """CalDAV has no push here (capability ``watch`` is off)."""
        raise RemoteError("CalDAV offers no push notifications", reason="no_push")

    async def unwatch(self, channel_id: str, resource_id: str) -> None:
        """Nothing to end."""

    # -- the iCalendar side (pure) ---------------------------------------------------------------
    def local_hash(self, cal: Calendar) -> str:
        """The project's normalised content hash."""
        return content_hash(cal)

    def preserve_local(self, text: str, old_text: str) -> str:
        """CalDAV holds every property: the pulled text as it is."""
        return text

    def split(self, text: str) -> list[str] | None:
        """Pushed as it is."""
        return None

    def follows_master(self, text: str) -> bool:
        """Overrides travel with their series in one resource."""
        return False

    async def renamed(self, text: str, link: LinkedRemote) -> str | None:
        """Nothing to follow."""
        return None

    def renamed_after_pull(self, parsed: ParsedResource, old_text: str) -> ParsedResource:
        """A pulled series as it is."""
        return parsed

