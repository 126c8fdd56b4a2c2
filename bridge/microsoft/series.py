"""Graph events assembled into complete series and mapped to iCalendar, ready for the planner.

``calendarView/delta`` lists instances (singles, occurrences, exceptions) and ``@removed`` ids,
never a series master.  :class:`SeriesReader` turns a page into :class:`MicrosoftSeries`:

* the masters (and singles) named by the page are read in ``$batch`` envelopes of 20, with our
  UID property expanded (``$expand=singleValueExtendedProperties($filter=id eq '<PROP_UID>')``;
  the hash property is not needed to map, and one id per expand is what every Graph version
  accepts);
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
* mapping is CPU work and runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from icalendar import Calendar

from bridge.errors import BridgeError, RemoteError, RemoteNotFound
from bridge.ical.recurrence import occurrences
from bridge.microsoft.client import BatchRequest, GraphClient
from bridge.microsoft.delta import Window, group_rows
from bridge.microsoft.mapping import graph_to_resource, item_uid, occurrence_key
from bridge.microsoft.mapping_graph import PROP_UID
from bridge.providers.base import RemoteSeries

__all__ = ["EXPAND", "MicrosoftSeries", "SeriesReader", "build_series"]

_LOGGER = logging.getLogger(__name__)
EXPAND = f"singleValueExtendedProperties($filter=id eq '{PROP_UID}')"
_EXPAND_QUERY = quote(EXPAND, safe="$()='")
_SERIES_TYPES = ("occurrence", "exception")


@dataclass
class MicrosoftSeries(RemoteSeries):
    """One Graph event (master or single) with its exceptions and cancelled occurrences."""

    master: dict[str, Any] | None = None
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    @property
    def etag(self) -> str | None:
        """The master's ``@odata.etag`` (the ``If-Match`` value)."""
        value = (self.master or {}).get("@odata.etag")
        return str(value) if value else None

    @property
    def updated(self) -> str | None:
        """The newest ``lastModifiedDateTime`` of master and exceptions."""
        stamps = [str(e["lastModifiedDateTime"]) for e in [self.master or {}, *self.exceptions]
                  if e.get("lastModifiedDateTime")]
        return max(stamps) if stamps else None

    @property
    def has_overrides(self) -> bool:
        """Whether Graph holds exceptions or cancelled occurrences of the series."""
        return bool(self.exceptions or self.cancelled)

    @property
    def held(self) -> tuple[str, ...]:
        """Ids of the exceptions Graph holds for the series."""
        return tuple(str(e["id"]) for e in self.exceptions if e.get("id"))

    @property
    def version(self) -> str:
        """The master's etag and the exceptions' etags."""
        etags = sorted(str(e.get("@odata.etag")) for e in self.exceptions)
        return ",".join([str(self.etag or "gone"), *etags, *sorted(self.cancelled)])

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy for the ledger."""
        return {"master": self.master, "exceptions": self.exceptions,
                "cancelled": self.cancelled}


def build_series(event_id: str, master: Mapping[str, Any] | None,
                 exceptions: Sequence[Mapping[str, Any]], cancelled: Sequence[str], *,
                 calendar_tz: str, write_attendees: bool, render: bool = True
                 ) -> MicrosoftSeries:
    """Map a complete series (pure): the text through the gate and the normalised hash."""
    series = MicrosoftSeries(event_id, None, master=dict(master) if master else None,
                             exceptions=[dict(e) for e in exceptions],
                             cancelled=list(cancelled))
    if master is None or master.get("isCancelled") or master.get("@removed"):
        series.deleted = True
        series.uid = item_uid(master) if master and len(master) > 3 else None
        return series
    try:
        series.uid = item_uid(master)
        parsed, digest = graph_to_resource(master, exceptions, cancelled,
                                           calendar_tz=calendar_tz,
                                           write_attendees=write_attendees)
        series.hash = digest
        if render:
            series.parsed = parsed
    except (BridgeError, ValueError, TypeError, AttributeError, LookupError,
            OverflowError) as exc:
        series.error = f"{type(exc).__name__}: {exc}"
    return series


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_starts(master: Mapping[str, Any], window: Window, until: datetime | None, *,
                    calendar_tz: str) -> list[str]:
    """Original starts (``…Z`` or dates) the pattern of ``master`` gives in ``window`` up to
    ``until`` (pure; empty when the pattern cannot be expanded)."""
    try:
        parsed, _ = graph_to_resource(master, (), (), calendar_tz=calendar_tz)
    except (BridgeError, ValueError, TypeError, LookupError):
        return []
    end = min(window.end, until + timedelta(seconds=1)) if until is not None else window.end
    out = []
    for occ in occurrences(Calendar.from_ical(parsed.text), window.start, end, zone=UTC):
        rid = occ.recurrence_id
        out.append(rid.date().isoformat() if occ.all_day else _iso(rid))
    return out


def cancelled_starts(master: Mapping[str, Any], instances: Sequence[Mapping[str, Any]],
                     window: Window, *, calendar_tz: str) -> list[str]:
    """The occurrences of ``master`` in ``window`` that ``instances`` lacks (cancelled)."""
    present = set()
    last: datetime | None = None
    for row in instances:
        try:
            present.add(occurrence_key(row, master=master, calendar_tz=calendar_tz))
        except (BridgeError, ValueError, TypeError):
            continue
        value = row.get("originalStart")
        if isinstance(value, str):
            try:
                stamp = datetime.fromisoformat(value.replace("Z", "+00:00")[:19] + "+00:00")
            except ValueError:
                continue
            last = stamp if last is None or stamp > last else last
    if last is None:
        return []
    gone = []
    for start in expected_starts(master, window, last, calendar_tz=calendar_tz):
        try:
            key = occurrence_key({"originalStart": start}, master=master,
                                 calendar_tz=calendar_tz)
        except (BridgeError, ValueError, TypeError):
            continue
        if key not in present:
            gone.append(start)
    return gone


class OccurrenceIndex(dict[str, str]):
    """Occurrence and exception ids → their series master's id, for one connection (the
    factory keeps it across providers); ``complete`` once every series master of the calendar
    was read into it."""

    complete: bool = False


class SeriesReader:
    """Reads complete series for one calendar (see the module doc)."""

    def __init__(self, client: GraphClient, calendar_id: str, *, calendar_tz: str,
                 write_attendees: bool, occurrence_of: OccurrenceIndex | None = None) -> None:
        self.client = client
        self.calendar_id = calendar_id
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
        read = await self.read_masters(wanted + removed)
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
        return await asyncio.to_thread(self._map, ready, render)

    def _map(self, ready: Iterable[tuple[str, dict[str, Any] | None, list[dict[str, Any]],
                                         list[str]]], render: bool) -> list[MicrosoftSeries]:
        return [build_series(event_id, master, exceptions, cancelled,
                             calendar_tz=self.calendar_tz,
                             write_attendees=self.write_attendees, render=render)
                for event_id, master, exceptions, cancelled in ready]
