"""Microsoft Graph as a provider (:class:`bridge.providers.base.Provider`).

Reading goes over ``calendarView/delta`` of the connection's calendar inside the sync window of
:mod:`bridge.microsoft.delta` (the cursor is the window plus Graph's link; a window that moved
is drained once, then a new round over the new window is listed as more pages of the same
pull; a full listing tells the core its ``scope``, so linked events merely outside the window
are never deleted).  Series are completed by :mod:`bridge.microsoft.reader`.  Creates carry a
``transactionId`` derived from the calendar, the UID and the link, so a create retried after a
lost answer returns the first event; an event already holding our UID property is a duplicate
(:class:`~bridge.providers.base.RemoteChanged`).  Overrides are PATCHed onto their occurrences
(found by original start among the series' instances) and EXDATEs DELETE theirs, after every
create and update of a series (a changed pattern resets Graph's exceptions).  What Graph cannot
hold is refused (``UnsupportedResource``: the core parks the push), never flattened.  See
docs/sync.md (*Microsoft Graph*).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar

from bridge.cpu import THREAD, CpuPool
from bridge.errors import (
    CursorExpired,
    RemoteNotFound,
    RemotePreconditionFailed,
)
from bridge.ical.model import MappingError, UnsupportedResource
from bridge.microsoft.client import GraphClient, GraphConflict
from bridge.microsoft.delta import Cursor, Window, window_for
from bridge.microsoft.mapping import (
    GraphEventSet,
    ical_hash,
    ical_to_graph,
    occurrence_key,
)
from bridge.microsoft.mapping_graph import PROP_UID
from bridge.microsoft.mapping_preserve import preserve_local_only
from bridge.microsoft.reader import OccurrenceIndex, SeriesReader
from bridge.microsoft.series import MicrosoftSeries
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

__all__ = ["LIFECYCLE_PATH", "MAX_SUBSCRIPTION_MINUTES", "NOTIFY_PATH", "MicrosoftProvider",
           "transaction_id"]

_LOGGER = logging.getLogger(__name__)

# Where the sidecar receives Graph's change and lifecycle notifications (below its public URL).
NOTIFY_PATH = "/sync/microsoft/notify"
LIFECYCLE_PATH = "/sync/microsoft/lifecycle"
# Graph refuses calendar subscriptions longer than 10,080 minutes; stay an hour below.
MAX_SUBSCRIPTION_MINUTES = 10_080 - 60
_TXN_NAMESPACE = uuid.UUID("6f1c2f7e-5d0a-5b9e-9a53-7d2b8f0c1e44")


def transaction_id(calendar_id: str, uid: str, previous: str | None) -> str:
    """The deterministic ``transactionId`` of creating ``uid`` in a calendar (``previous``: the
    event id the link names, so a re-create after a deletion is a new transaction)."""
    return str(uuid.uuid5(_TXN_NAMESPACE, f"{calendar_id}\n{uid}\n{previous or ''}"))


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")[:19]).replace(tzinfo=UTC)


class MicrosoftProvider(WholeOverrides):
    """One connection's Microsoft calendar."""

    name = "microsoft"
    capabilities = Capabilities(watch=True, batch_restore=False)

    def __init__(self, client: GraphClient, calendar_id: str, *, calendar_tz: str,
                 write_attendees: bool = False,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 occurrence_of: OccurrenceIndex | None = None, pool: CpuPool = THREAD) -> None:
        self.client = client
        self.calendar_id = calendar_id
        self.calendar_tz = calendar_tz
        self.write_attendees = write_attendees
        self.clock = clock  # the sync window's clock
        self.reader = SeriesReader(client, calendar_id, calendar_tz=calendar_tz,
                                   write_attendees=write_attendees,
                                   occurrence_of=occurrence_of, pool=pool)

    def window(self) -> Window:
        """The sync window of now."""
        return window_for(self.clock())

    # -- reading -------------------------------------------------------------------------------
    async def list_page(self, cursor: str | None, page_token: str | None, page_size: int
                        ) -> ChangePage:
        """One ``calendarView/delta`` page (see the module doc for the window rules)."""
        if page_token is not None:
            state = Cursor.load(page_token)
            if state is None:
                raise CursorExpired("unreadable page token", reason="page_token")
        elif cursor is None:
            window = self.window()
            state = Cursor(window, self.client.delta_start(self.calendar_id, *window.iso()),
                           False)
        else:
            state = Cursor.load(cursor)
            if state is None:
                raise CursorExpired("unreadable cursor", reason="cursor")
        page = await self.client.delta_page(state.link, page_size=page_size)
        full = cursor is None
        scope = (state.window.start.timestamp(), state.window.end.timestamp()) if full else None
        if page.next_link:
            return ChangePage(page.items, Cursor(state.window, page.next_link, False).dump(),
                              None, scope)
        current = self.window()
        if not full and state.window != current:
            # The old window's link is drained: list the new window as more pages of this pull
            # (no deletions follow from it; unchanged events match their links).
            _LOGGER.info("Microsoft sync window moved to %s…%s: new delta round",
                         *current.iso())
            first = self.client.delta_start(self.calendar_id, *current.iso())
            return ChangePage(page.items, Cursor(current, first, False).dump(), None)
        assert page.delta_link is not None
        return ChangePage(page.items, None, Cursor(state.window, page.delta_link, True).dump(),
                          scope)

    async def resolve(self, items: Sequence[Any], *, render: bool = True) -> list[RemoteSeries]:
        """Group delta rows into complete series and map them."""
        return list(await self.reader.resolve(items, self.window(), render=render))

    async def get(self, event_id: str) -> MicrosoftSeries:
        """The series as Graph holds it now (deleted when gone)."""
        found = await self.reader.resolve([{"id": event_id, "type": "singleInstance"}],
                                          self.window())
        for series in found:
            if series.event_id == event_id or not series.deleted:
                return series
        return MicrosoftSeries(event_id, None, deleted=True)

    # -- writing -------------------------------------------------------------------------------
    def _bodies(self, text: str) -> GraphEventSet:
        bodies = ical_to_graph(text, calendar_tz=self.calendar_tz,
                               write_attendees=self.write_attendees)
        if bodies.unsupported:
            reasons = ", ".join(sorted({u.code for u in bodies.unsupported}))
            raise UnsupportedResource(f"Outlook cannot hold {reasons}", uid=bodies.uid,
                                      provider="Microsoft")
        if bodies.cancelled:
            raise MappingError("a cancelled event is not created on Microsoft")
        return bodies

    async def _existing(self, uid: str) -> RemoteSeries | None:
        found = await self.client.find_by_property(self.calendar_id, PROP_UID, uid)
        live = [e for e in found if not e.get("isCancelled") and e.get("id")]
        return await self.get(str(live[0]["id"])) if live else None

    async def create(self, text: str, *, key: str | None, gone: RemoteSeries | None,
                     link: LinkedRemote | None) -> WriteResult:
        """POST under a deterministic ``transactionId``; an event holding the UID already is
        a duplicate (``RemoteChanged``)."""
        bodies = self._bodies(text)
        existing = await self._existing(bodies.uid)
        if existing is not None:
            raise RemoteChanged(existing)
        previous = link.event_id if link is not None else None
        body = {**bodies.master,
                "transactionId": transaction_id(self.calendar_id, bodies.uid, previous)}
        try:
            master = await self.client.create_event(self.calendar_id, body)
        except GraphConflict:
            existing = await self._existing(bodies.uid)
            if existing is None:
                raise
            raise RemoteChanged(existing) from None
        return await self._finish(bodies, master)

    async def update(self, event_id: str, text: str, *, etag: str | None,
                     fetched: RemoteSeries | None, link: LinkedRemote | None) -> WriteResult:
        """PATCH the master under ``If-Match``, then its overrides and cancelled occurrences."""
        bodies = self._bodies(text)
        try:
            master = await self.client.update_event(event_id, bodies.master, etag=etag)
        except (RemotePreconditionFailed, RemoteNotFound):
            raise RemoteChanged(await self.get(event_id)) from None
        return await self._finish(bodies, master)

    async def delete(self, event_id: str, *, etag: str | None) -> None:
        """DELETE under ``If-Match`` (gone: done)."""
        try:
            await self.client.delete_event(event_id, etag=etag)
        except RemoteNotFound:
            return
        except RemotePreconditionFailed:
            raise RemoteChanged(await self.get(event_id)) from None

    async def _finish(self, bodies: GraphEventSet, master: dict[str, Any]) -> WriteResult:
        """Write the occurrences of a series, then the version to link."""
        held: frozenset[str] = frozenset()
        if master.get("type") == "seriesMaster" or bodies.master.get("recurrence"):
            held = await self._occurrences(bodies, master)
            # Occurrence writes change the master's etag: read the final one.
            master = await self.client.get_event(str(master["id"]))
        return WriteResult(str(master["id"]), master.get("@odata.etag"), bodies.content_hash,
                           master.get("lastModifiedDateTime"), held)

    async def _occurrences(self, bodies: GraphEventSet, master: Mapping[str, Any]
                           ) -> frozenset[str]:
        """PATCH every override onto its occurrence, DELETE every EXDATE occurrence, and set
        back exceptions the resource no longer has; returns the exception ids."""
        window = self.window()
        start, end = window.iso()
        rows = await self.client.instances(str(master["id"]), start, end)
        by_key: dict[str, dict[str, Any]] = {}
        for row in rows:
            with contextlib.suppress(MappingError, ValueError, TypeError):
                by_key[occurrence_key(row, master=master, calendar_tz=self.calendar_tz)] = row
        wanted = {o.key for o in bodies.overrides}
        held: set[str] = set()
        for occ in bodies.overrides:
            found = by_key.get(occ.key)
            if found is None:
                _LOGGER.warning("Occurrence %s of %s not found on Microsoft (outside the "
                                "window?): override not written", occ.key, bodies.uid)
                continue
            written = await self.client.update_event(str(found["id"]), occ.body or {},
                                                     etag=None)
            held.add(str(written.get("id") or found["id"]))
        for occ in bodies.exdates:
            found = by_key.get(occ.key)
            if found is not None:
                with contextlib.suppress(RemoteNotFound):
                    await self.client.delete_event(str(found["id"]), etag=None)
        for key, row in by_key.items():
            if row.get("type") == "exception" and key not in wanted:
                await self._revert(bodies, master, row)
        return frozenset(held)

    async def _revert(self, bodies: GraphEventSet, master: Mapping[str, Any],
                      row: Mapping[str, Any]) -> None:
        """Set an exception the resource no longer overrides back to the series' values."""
        plain = {k: v for k, v in bodies.master.items()
                 if k not in ("recurrence", "start", "end", "singleValueExtendedProperties")}
        original = row.get("originalStart")
        if not original:
            return
        begin = _parse_stamp(str(original))
        length = _parse_stamp(str(master["end"]["dateTime"])) - \
            _parse_stamp(str(master["start"]["dateTime"]))
        plain["start"] = {"dateTime": begin.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
        plain["end"] = {"dateTime": (begin + length).strftime("%Y-%m-%dT%H:%M:%S"),
                        "timeZone": "UTC"}
        if bodies.master.get("isAllDay"):
            return  # an all-day exception is left as it is (its zone is the series')
        _LOGGER.info("Reverting occurrence %s of %s to the series on Microsoft", row.get("id"),
                     bodies.uid)
        with contextlib.suppress(RemoteNotFound):
            await self.client.update_event(str(row["id"]), plain, etag=None)

    # -- notifications ---------------------------------------------------------------------------
    async def watch(self, channel_id: str, address: str, token: str, ttl: int) -> Channel:
        """A Graph subscription on the calendar's events; ``address`` names the sidecar's
        public base (its ``/microsoft/notifications`` tail is replaced by :data:`NOTIFY_PATH`)."""
        base = address.removesuffix(f"/{self.name}/notifications").rstrip("/")
        minutes = max(45, min(MAX_SUBSCRIPTION_MINUTES, ttl // 60))
        expiry = datetime.now(UTC) + timedelta(minutes=minutes)  # Graph's wall clock
        created = await self.client.subscribe({
            "changeType": "created,updated,deleted",
            "notificationUrl": base + NOTIFY_PATH,
            "lifecycleNotificationUrl": base + LIFECYCLE_PATH,
            "resource": f"/me/calendars/{self.calendar_id}/events",
            "expirationDateTime": _iso(expiry),
            "clientState": token,
        })
        stamp = created.get("expirationDateTime")
        return Channel(str(created.get("id") or channel_id),
                       _parse_stamp(str(stamp)).timestamp() if stamp else expiry.timestamp())

    async def unwatch(self, channel_id: str, resource_id: str) -> None:
        """Delete the subscription (gone: done)."""
        await self.client.unsubscribe(resource_id or channel_id)

    # -- the iCalendar side (pure) -------------------------------------------------------------
    def local_hash(self, cal: Calendar) -> str:
        """:func:`~bridge.microsoft.mapping.ical_hash` in the calendar's zone."""
        return ical_hash(cal, calendar_tz=self.calendar_tz, write_attendees=self.write_attendees)

    def preserve_local(self, text: str, old_text: str) -> str:
        """A pulled text with what Graph cannot hold kept from the stored text."""
        return preserve_local_only(text, old_text, calendar_tz=self.calendar_tz,
                                   write_attendees=self.write_attendees)
