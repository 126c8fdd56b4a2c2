"""Exchange Server (EWS) as a provider (:class:`bridge.providers.base.Provider`).

Reading is ``SyncFolderItems`` on the connection's calendar folder: the cursor is EWS's
SyncState of the last finished round, and the states in between are page tokens, so a state is
only stored once the whole round was applied; an invalid state (``ErrorInvalidSyncStateData``)
is :class:`~bridge.errors.CursorExpired` and the core lists everything again and diffs by link
(no duplicates).  SyncFolderItems gives singles and series masters; a master's modified
occurrences are read with ``GetItem`` (one request per page), its deleted occurrences are on
the master.  EWS assigns item ids, so a create is made idempotent by our UID property: every
create first looks for an item holding the UID (``FindItem`` restricted on the extended
property; found: :class:`~bridge.providers.base.RemoteChanged`).  Updates
send the master under ``NeverOverwrite`` with the link's ChangeKey (a stale one is a conflict),
then every override onto its occurrence (``OccurrenceItemId`` by instance index, or the
modified occurrence's own id), delete the EXDATE occurrences and set back exceptions the
resource no longer has.  What EWS cannot hold is refused (``UnsupportedResource``), never
flattened.  See docs/sync.md (*Exchange*).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from icalendar import Calendar

from bridge.cpu import THREAD, CpuPool
from bridge.errors import RemoteError, RemoteNotFound, RemotePreconditionFailed
from bridge.exchange.client import EwsClient
from bridge.exchange.mapping import (
    EwsEventSet,
    ical_hash,
    ical_to_ews,
    occurrence_key,
)
from bridge.exchange.mapping_preserve import preserve_local_only
from bridge.exchange.series import ExchangeSeries, map_series
from bridge.ical.model import MappingError, UnsupportedResource
from bridge.providers.base import (
    Capabilities,
    ChangePage,
    Channel,
    LinkedRemote,
    RemoteChanged,
    RemoteSeries,
    WholeOverrides,
    WriteResult,
)

__all__ = ["NOTIFY_PATH", "STATUS_FREQUENCY", "ExchangeProvider"]

_LOGGER = logging.getLogger(__name__)


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# Where the sidecar receives Exchange's push notifications (below its public URL), and the
# minutes between the server's status notifications (keepalives).
NOTIFY_PATH = "/sync/exchange/notify"
STATUS_FREQUENCY = 30


class ExchangeProvider(WholeOverrides):
    """One connection's Exchange calendar folder."""

    name = "exchange"
    capabilities = Capabilities(watch=True, batch_restore=False)

    def __init__(self, client: EwsClient, *, calendar_tz: str, pool: CpuPool = THREAD) -> None:
        self.client = client
        self.calendar_tz = calendar_tz
        self.pool = pool  # where big pages are mapped

    # -- reading -------------------------------------------------------------------------------
    async def list_page(self, cursor: str | None, page_token: str | None, page_size: int
                        ) -> ChangePage:
        """One ``SyncFolderItems`` round (see the module doc)."""
        state = page_token if page_token is not None else cursor
        page = await self.client.sync_page(state, page_size)
        if page.last:
            return ChangePage(page.changes, None, page.state)
        return ChangePage(page.changes, page.state, None)

    async def resolve(self, items: Sequence[Any], *, render: bool = True) -> list[RemoteSeries]:
        """Listed changes as complete, mapped series (modified occurrences read in one go)."""
        latest: dict[str, Any] = {}
        for kind, value in items:
            key = str(value if kind == "delete" else value.get("id"))
            latest.pop(key, None)
            latest[key] = None if kind == "delete" else value
        return list(await self._complete(latest, render=render))

    async def _complete(self, masters: Mapping[str, dict[str, Any] | None], *,
                        render: bool = True) -> list[ExchangeSeries]:
        wanted = [str(m["id"]) for master in masters.values() if master
                  for m in master.get("modified") or [] if m.get("id")]
        found = await self.client.get_items(wanted) if wanted else []
        occurrences = {i: item for i, item in zip(wanted, found, strict=True) if item}
        ready = []
        for event_id, master in masters.items():
            modified = [] if master is None else [
                {**occurrences[str(m["id"])], "original_start": m.get("original_start")
                 or occurrences[str(m["id"])].get("original_start")}
                for m in master.get("modified") or [] if str(m.get("id")) in occurrences]
            ready.append((event_id, master, modified,
                          list(master.get("deleted") or []) if master else []))
        if not ready:
            return []
        return await self.pool.map(functools.partial(
            map_series, calendar_tz=self.calendar_tz, render=render), ready)

    async def get(self, event_id: str) -> ExchangeSeries:
        """The series as EWS holds it now (deleted when gone)."""
        found = await self.client.get_items([event_id])
        master = found[0] if found else None
        return (await self._complete({event_id: master}))[0]

    # -- writing -------------------------------------------------------------------------------
    def _items(self, text: str) -> EwsEventSet:
        items = ical_to_ews(text, calendar_tz=self.calendar_tz)
        if items.unsupported:
            reasons = ", ".join(sorted({u.code for u in items.unsupported}))
            raise UnsupportedResource(f"Exchange cannot hold {reasons}", uid=items.uid,
                                      provider="Exchange")
        if items.cancelled:
            raise MappingError("a cancelled event is not created on Exchange")
        return items

    async def create(self, text: str, *, key: str | None, gone: RemoteSeries | None,
                     link: LinkedRemote | None) -> WriteResult:
        """``CreateItem`` unless an item holds the UID property already (then
        ``RemoteChanged``: a create retried after a lost answer finds the first item)."""
        items = self._items(text)
        existing = await self.client.find_by_uid(items.uid)
        if existing:
            raise RemoteChanged(await self.get(existing[0]))
        item_id, _ = await self.client.create(items.master)
        return await self._finish(items, item_id)

    async def update(self, event_id: str, text: str, *, etag: str | None,
                     fetched: RemoteSeries | None, link: LinkedRemote | None) -> WriteResult:
        """``UpdateItem`` of the master under ``NeverOverwrite`` with ``etag``, then its
        occurrences; the pattern is only written when it changed (EWS drops every exception
        of a series whose recurrence is written)."""
        items = self._items(text)
        master = {k: v for k, v in items.master.items() if k != "uid"}  # set on create only
        held = fetched.master if isinstance(fetched, ExchangeSeries) else None
        if held is not None and held.get("recurrence") == master.get("recurrence"):
            master.pop("recurrence", None)
        try:
            await self.client.update(event_id, etag, master)
        except (RemotePreconditionFailed, RemoteNotFound):
            raise RemoteChanged(await self.get(event_id)) from None
        return await self._finish(items, event_id)

    async def delete(self, event_id: str, *, etag: str | None) -> None:
        """``DeleteItem`` if the item still has ``etag`` (gone: done)."""
        current = await self.get(event_id)
        if current.deleted:
            return
        if etag is not None and current.etag != etag:
            raise RemoteChanged(current)
        try:
            await self.client.delete(event_id)
        except RemoteNotFound:
            return

    async def _finish(self, items: EwsEventSet, item_id: str) -> WriteResult:
        """Write the occurrences of a series, then read the version to link."""
        held: frozenset[str] = frozenset()
        if items.master.get("recurrence") or items.overrides or items.exdates:
            held = await self._occurrences(items, item_id)
        found = await self.client.get_items([item_id])
        master = found[0] if found else None
        if master is None:
            raise RemoteNotFound(f"Exchange item {item_id} vanished after the write")
        return WriteResult(item_id, master.get("changekey"), items.content_hash,
                           master.get("last_modified_time"), held)

    async def _occurrences(self, items: EwsEventSet, item_id: str) -> frozenset[str]:
        """Write every override onto its occurrence, delete every EXDATE occurrence and set
        back exceptions the resource no longer has; returns the exception ids."""
        found = await self.client.get_items([item_id])
        master = found[0] if found else None
        if master is None:
            raise RemoteNotFound(f"Exchange item {item_id} vanished")
        by_key: dict[str, dict[str, Any]] = {}
        for row in master.get("modified") or []:
            with contextlib.suppress(MappingError, ValueError, TypeError):
                by_key[occurrence_key(row.get("original_start"), master,
                                      calendar_tz=self.calendar_tz)] = row
        gone: set[str] = set()
        for value in master.get("deleted") or []:
            with contextlib.suppress(MappingError, ValueError, TypeError):
                gone.add(occurrence_key(value, master, calendar_tz=self.calendar_tz))
        held: set[str] = set()
        for occ in items.overrides:
            row = by_key.get(occ.key)
            target: tuple[str, str | None] | None = None
            if row is not None:
                target = str(row["id"]), None
            elif occ.index is not None and occ.key not in gone:
                current = await self.client.get_occurrence(item_id, occ.index)
                if current is not None:
                    target = str(current["id"]), current.get("changekey")
            if target is None:
                _LOGGER.warning("Occurrence %s of %s not found on Exchange: override not "
                                "written", occ.key, items.uid)
                continue
            written, _ = await self.client.update(target[0], target[1], occ.item or {})
            held.add(written)
        for occ in items.exdates:
            if occ.key in gone or occ.index is None:
                continue
            if occ.key in by_key:
                with contextlib.suppress(RemoteNotFound):
                    await self.client.delete(str(by_key[occ.key]["id"]))
                continue
            with contextlib.suppress(RemoteNotFound):
                await self.client.delete(item_id, occurrence=occ.index)
        wanted = {o.key for o in items.overrides} | {o.key for o in items.exdates}
        for key, row in by_key.items():
            if key not in wanted:
                await self._revert(items, master, row)
        return frozenset(held)

    async def _revert(self, items: EwsEventSet, master: Mapping[str, Any],
                      row: Mapping[str, Any]) -> None:
        """Set an exception the resource no longer overrides back to the series' values."""
        original = row.get("original_start")
        if not original or items.master.get("is_all_day"):
            return  # an all-day exception is left as it is
        plain = {k: v for k, v in items.master.items() if k not in ("recurrence", "uid")}
        begin = _stamp(str(original))
        length = _stamp(str(items.master["end"])) - _stamp(str(items.master["start"]))
        plain["start"] = begin.strftime("%Y-%m-%dT%H:%M:%SZ")
        plain["end"] = (begin + length).strftime("%Y-%m-%dT%H:%M:%SZ")
        _LOGGER.info("Reverting occurrence %s of %s to the series on Exchange", row.get("id"),
                     items.uid)
        with contextlib.suppress(RemoteNotFound):
            await self.client.update(str(row["id"]), None, plain)

    # -- notifications: EWS push subscriptions ---------------------------------------------------
    async def watch(self, channel_id: str, address: str, token: str, ttl: int) -> Channel:
        """A push subscription on the calendar folder; ``address`` names the sidecar's public
        base (its ``/exchange/notifications`` tail is replaced by :data:`NOTIFY_PATH`), the
        callback URL carries the channel id and token (a secret: never logged).

        A push subscription has no expiry: it lives while the server reaches us, with a
        status notification every :data:`STATUS_FREQUENCY` minutes (``keepalive``); the
        channel is still replaced after ``ttl`` like the other providers' channels."""
        base = address.removesuffix(f"/{self.name}/notifications").rstrip("/")
        url = f"{base}{NOTIFY_PATH}?{urlencode({'channel': channel_id, 'token': token})}"
        subscription, _ = await self.client.subscribe_push(url, STATUS_FREQUENCY)
        return Channel(subscription, None, keepalive=STATUS_FREQUENCY * 60.0)

    async def unwatch(self, channel_id: str, resource_id: str) -> None:
        """``Unsubscribe``; a server that refuses it for push subscriptions ends it at the next
        notification instead (the receiver answers ``Unsubscribe`` for a forgotten channel)."""
        if not resource_id:
            return
        try:
            await self.client.unsubscribe(resource_id)
        except RemoteError as exc:
            _LOGGER.info("Exchange refused Unsubscribe (%s); the subscription ends at its next "
                         "notification", exc.reason)

    # -- the iCalendar side (pure) -------------------------------------------------------------
    def local_hash(self, cal: Calendar) -> str:
        """:func:`~bridge.exchange.mapping.ical_hash` in the calendar's zone."""
        return ical_hash(cal, calendar_tz=self.calendar_tz)

    def preserve_local(self, text: str, old_text: str) -> str:
        """A pulled text with what EWS cannot hold kept from the stored text."""
        return preserve_local_only(text, old_text, calendar_tz=self.calendar_tz)
