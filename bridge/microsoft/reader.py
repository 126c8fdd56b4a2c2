"""Graph events read into complete series (mapped in :mod:`bridge.microsoft.series`).

``calendarView/delta`` lists instances (singles, occurrences, exceptions) and ``@removed`` ids,
never a series master.  :class:`SeriesReader` turns a page into :class:`MicrosoftSeries`:

* the masters (and singles) named by the page are read in ``$batch`` envelopes of 20, with our
  UID property expanded (``$expand=singleValueExtendedProperties($filter=id eq '<PROP_UID>')``;
  the hash property is not needed to map, and one id per expand is what every Graph version
  accepts);
* except single events when a page lists many (:data:`INDEX_MIN` or more, an import or a full
  round): delta rows hold everything but the extended properties, so the calendar's ids, etags
  and UID properties are listed instead (``/events?$select=id&$expand=…``, a thousand a page;
  kept for the next pages and listed again when many singles miss it) and a single whose
  listed etag equals its delta row's is mapped from the row with the listed property; the
  others are read as above.  A few requests instead of one batch member per event (each member
  counts against the mailbox's 10,000 requests per 10 minutes);
* a series' exceptions and cancelled occurrences come from ``/me/events/{id}/instances`` over
  the sync window: exceptions are the ``type: exception`` rows, cancelled occurrences are the
  occurrences the pattern expects in the window (up to the last instance listed, so the
  expansion horizon of the server does not look like cancellations) that the listing lacks;
* an ``@removed`` id is confirmed by a read before it counts as a deletion: 404/410 is a
  deletion, an event found changed outside the window and is mapped like any other; a removed
  id that is an occurrence of a series seen before (occurrence ids are remembered per
  connection from every listing, :class:`OccurrenceIndex`) re-reads that series instead (a
  cancelled occurrence); the first removed id the index does not know (after a restart, a
  cancelled occurrence of a series not listed since) re-reads every series master of the
  calendar once, which fills the index and brings that cancellation in;
* mapping is CPU work: it runs off the event loop, a big page in the worker processes of
  :mod:`bridge.cpu`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from bridge.cpu import THREAD, CpuPool
from bridge.errors import RemoteError, RemoteNotFound
from bridge.microsoft.client import BatchRequest, GraphClient
from bridge.microsoft.delta import Window, group_rows
from bridge.microsoft.mapping_graph import PROP_UID
from bridge.microsoft.series import MicrosoftSeries, cancelled_starts, map_series

__all__ = ["EXPAND", "INDEX_MIN", "OccurrenceIndex", "SeriesReader"]

_LOGGER = logging.getLogger(__name__)
EXPAND = f"singleValueExtendedProperties($filter=id eq '{PROP_UID}')"
_EXPAND_QUERY = quote(EXPAND, safe="$()='")
_SERIES_TYPES = ("occurrence", "exception")
# From this many single events on a page, their UID properties are listed, not read one by one.
INDEX_MIN = 100


class OccurrenceIndex(dict[str, str]):
    """Occurrence and exception ids → their series master's id, for one connection (the
    factory keeps it across providers); ``complete`` once every series master of the calendar
    was read into it."""

    complete: bool = False


class SeriesReader:
    """Reads complete series for one calendar (see the module doc)."""

    def __init__(self, client: GraphClient, calendar_id: str, *, calendar_tz: str,
                 write_attendees: bool, occurrence_of: OccurrenceIndex | None = None,
                 pool: CpuPool = THREAD) -> None:
        self.client = client
        self.pool = pool  # where big pages are mapped
        self.calendar_id = calendar_id
        # The calendar's id listing (id → id, etag, UID property), see listed_singles
        self.index: dict[str, Mapping[str, Any]] = {}
        self.calendar_tz = calendar_tz
        self.write_attendees = write_attendees
        self.occurrence_of = OccurrenceIndex() if occurrence_of is None else occurrence_of

    def remember(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Note which series each listed occurrence belongs to."""
        for row in rows:
            master = row.get("seriesMasterId")
            if row.get("id") and master and row.get("type") in _SERIES_TYPES:
                self.occurrence_of[str(row["id"])] = str(master)

    async def read_masters(self, ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """Each event with our UID property (``None``: gone), in ``$batch`` envelopes."""
        if not ids:
            return {}
        if len(ids) == 1:
            try:
                return {ids[0]: await self.client.get_event(ids[0], expand=EXPAND)}
            except RemoteNotFound:
                return {ids[0]: None}
        answers = await self.client.batch([
            BatchRequest("GET", f"/me/events/{quote(i, safe='')}?$expand={_EXPAND_QUERY}")
            for i in ids])
        out: dict[str, dict[str, Any] | None] = {}
        for event_id, answer in zip(ids, answers, strict=True):
            if isinstance(answer.error, RemoteNotFound):
                out[event_id] = None
            elif answer.error is not None:
                raise answer.error
            else:
                out[event_id] = answer.body
        return out

    async def listed_singles(self, rows: Mapping[str, Mapping[str, Any]], ids: Sequence[str]
                             ) -> dict[str, dict[str, Any]]:
        """Single events of a delta page as a read would give them: the row with the UID
        property of the calendar's id listing, for each single whose listed etag is its
        row's (any change to an event, its properties too, changes the etag).  The listing is
        kept and listed again when :data:`INDEX_MIN` singles of a page miss it; fewer misses
        are left out, to be read."""
        singles = {i: rows[i] for i in ids
                   if i in rows and rows[i].get("type") == "singleInstance"
                   and rows[i].get("@odata.etag")}
        if len(singles) < INDEX_MIN:
            return {}

        def current(event_id: str) -> bool:
            entry = self.index.get(event_id)
            return entry is not None and entry.get("@odata.etag") == \
                singles[event_id]["@odata.etag"]

        missing = {i for i in singles if not current(i)}
        if len(missing) >= INDEX_MIN:
            listed = await self.client.event_index(self.calendar_id, EXPAND)
            self.index = {str(e["id"]): e for e in listed if e.get("id")}
        out: dict[str, dict[str, Any]] = {}
        for event_id, row in singles.items():
            if not current(event_id):
                continue  # changed since it was listed: read it
            event = dict(row)
            props = self.index[event_id].get("singleValueExtendedProperties")
            if props:
                event["singleValueExtendedProperties"] = props
            out[event_id] = event
        return out

    async def instances(self, master: Mapping[str, Any], window: Window
                        ) -> tuple[list[dict[str, Any]], list[str]]:
        """The exceptions and the cancelled occurrences of a series master in ``window``."""
        start, end = window.iso()
        rows = await self.client.instances(str(master["id"]), start, end)
        self.remember(rows)
        exceptions = [r for r in rows if r.get("type") == "exception"]
        cancelled = cancelled_starts(master, rows, window, calendar_tz=self.calendar_tz)
        return exceptions, cancelled

    async def complete(self, event_id: str, master: dict[str, Any] | None, window: Window
                       ) -> tuple[str, dict[str, Any] | None, list[dict[str, Any]], list[str]]:
        """A series ready to map: master, exceptions, cancelled occurrences."""
        if master is None or master.get("type") != "seriesMaster":
            return event_id, master, [], []
        try:
            exceptions, cancelled = await self.instances(master, window)
        except RemoteNotFound:
            return event_id, None, [], []
        return event_id, master, exceptions, cancelled

    async def resolve(self, items: Sequence[Mapping[str, Any]], window: Window, *,
                      render: bool = True) -> list[MicrosoftSeries]:
        """Listed rows as complete, mapped series (see the module doc)."""
        self.remember(items)
        grouped = group_rows(items)
        wanted = list(grouped.series)
        removed = [i for i in grouped.removed if i not in wanted]
        if not self.occurrence_of.complete and any(
                i not in self.occurrence_of for i in removed):
            # Perhaps a cancelled occurrence of a series not listed since the start: read
            # every series once (their instances fill the index; unchanged ones plan nothing).
            masters = await self.client.series_masters(self.calendar_id)
            wanted.extend(str(m["id"]) for m in masters if str(m["id"]) not in wanted)
            self.occurrence_of.complete = True
        for gone in list(removed):
            master_id = self.occurrence_of.get(gone)
            if master_id is not None:  # a cancelled occurrence: re-read its series
                removed.remove(gone)
                if master_id not in wanted:
                    wanted.append(master_id)
        read: dict[str, dict[str, Any] | None] = {
            **await self.listed_singles(grouped.rows, wanted)}
        read.update(await self.read_masters([i for i in wanted + removed if i not in read]))
        ready: list[tuple[str, dict[str, Any] | None, list[dict[str, Any]], list[str]]] = []
        for event_id in wanted + removed:
            master = read.get(event_id)
            if master is not None and master.get("type") in _SERIES_TYPES:
                # A removed id that is still there as an occurrence: its series decides.
                master_id = str(master.get("seriesMasterId") or "")
                if master_id and master_id not in read:
                    read.update(await self.read_masters([master_id]))
                event_id, master = master_id, read.get(master_id)
                if any(r[0] == event_id for r in ready):
                    continue
            try:
                ready.append(await self.complete(event_id, master, window))
            except RemoteError as exc:
                _LOGGER.debug("series %s could not be completed: %s", event_id, exc)
                raise
        if not ready:
            return []
        return await self.pool.map(functools.partial(
            map_series, calendar_tz=self.calendar_tz, write_attendees=self.write_attendees,
            render=render), ready)
