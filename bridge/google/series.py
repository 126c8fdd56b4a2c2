"""Google events grouped into series and mapped to iCalendar, ready for the planner.

Google lists a recurring event's master and its exceptions as separate items (and a change to
one instance arrives alone).  :func:`resolve_items` groups a page by master id and fetches whatever
a series lacks (the master with ``events.get``, the exceptions with ``events.list(iCalUID=…)``),
so every :class:`GoogleSeries` is complete; :func:`build_series` maps it to one resource text
through the validation gate.  Mapping is pure CPU work: :func:`resolve_items` runs it off the
event loop (lease renewal, pushes, webhooks stay responsive during an import), a big page in the
worker processes of :mod:`bridge.cpu`; this module imports no client code, so they import only
the mapping.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bridge.cpu import CpuPool
from bridge.errors import BridgeError, RemoteNotFound
from bridge.google.mapping import google_hash, google_to_resource, is_syncable
from bridge.google.mapping_extra import series_extra
from bridge.google.mapping_google_parse import item_uid
from bridge.providers.series import RemoteSeries

if TYPE_CHECKING:  # the worker processes that run map_series import no client code
    from bridge.google.client import GoogleClient

__all__ = ["GoogleSeries", "build_series", "fetch_series", "map_series", "resolve_items"]

_LOGGER = logging.getLogger(__name__)
# One complete series: event id, master (None: never existed), exceptions.
_Group = tuple[str, Mapping[str, Any] | None, Sequence[Mapping[str, Any]]]


@dataclass
class GoogleSeries(RemoteSeries):
    """One Google event with its exceptions (the bodies later writes need), mapped."""

    master: dict[str, Any] | None = None
    exceptions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def etag(self) -> str | None:
        """The master's etag (the one ``If-Match`` needs)."""
        return str(self.master["etag"]) if self.master and self.master.get("etag") else None

    @property
    def updated(self) -> str | None:
        """The newest ``updated`` of master and exceptions (Google's clock)."""
        stamps = [str(e["updated"]) for e in [self.master or {}, *self.exceptions]
                  if e.get("updated")]
        return max(stamps) if stamps else None

    @property
    def has_overrides(self) -> bool:
        """Whether Google listed exceptions of the series."""
        return bool(self.exceptions)

    @property
    def held(self) -> tuple[str, ...]:
        """Instance ids of the confirmed exceptions Google holds for the series."""
        return tuple(str(e["id"]) for e in self.exceptions
                     if e.get("status") != "cancelled" and e.get("id")
                     and e.get("recurringEventId") == self.event_id)

    @property
    def extra(self) -> dict[str, Any] | None:
        """What only Google holds of master and exceptions (:func:`series_extra`)."""
        return series_extra(self.master, self.exceptions)

    @property
    def version(self) -> str:
        """The master's and the exceptions' etags."""
        etags = sorted(str(e.get("etag")) for e in self.exceptions)
        return ",".join([str(self.etag or "gone"), *etags])

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy for the ledger (the losing side of a conflict)."""
        return {"master": self.master, "exceptions": self.exceptions}


def build_series(
    event_id: str,
    master: Mapping[str, Any] | None,
    exceptions: Sequence[Mapping[str, Any]],
    *,
    calendar_tz: str,
    render: bool = True,
) -> GoogleSeries:
    """Map a complete series (pure): text through the gate, normalised hash.

    ``render=False`` (dry runs) computes the hash only, from the model: about a tenth of the
    cost, and ``parsed`` stays ``None``.
    """
    series = GoogleSeries(event_id, None, master=dict(master) if master else None,
                          exceptions=[dict(e) for e in exceptions])
    if master is None or master.get("status") == "cancelled":
        series.deleted = True
        series.uid = item_uid(master) if master and len(master) > 4 else None
        return series
    try:
        series.uid = item_uid(master)
        live = [e for e in exceptions if e.get("recurringEventId") == event_id]
        if render:
            series.parsed, series.hash = google_to_resource(master, live,
                                                            calendar_tz=calendar_tz)
        else:
            series.hash = google_hash((master, live), calendar_tz=calendar_tz)
    except (BridgeError, ValueError, TypeError, AttributeError, LookupError,
            OverflowError) as exc:
        # A malformed item (a string where Google sends an object, a date out of range) is
        # this event's error; it must not abort the page and stall the whole calendar.
        series.error = f"{type(exc).__name__}: {exc}"
    return series


async def fetch_series(
    client: GoogleClient, calendar_id: str, event_id: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The master (``None`` if it never existed) and every exception of ``event_id``."""
    try:
        master = await client.get_event(calendar_id, event_id)
    except RemoteNotFound:
        return None, []
    if master.get("status") == "cancelled" or not master.get("recurrence"):
        return master, []
    exceptions: list[dict[str, Any]] = []
    page: str | None = None
    while True:
        data = await client.list_events(calendar_id, ical_uid=str(master.get("iCalUID")),
                                        page_token=page)
        exceptions += [e for e in data.get("items") or []
                       if e.get("recurringEventId") == event_id]
        page = data.get("nextPageToken")
        if not page:
            return master, exceptions


async def resolve_items(
    client: GoogleClient,
    calendar_id: str,
    items: Iterable[Mapping[str, Any]],
    *,
    calendar_tz: str,
    render: bool = True,
    pool: CpuPool,
) -> list[GoogleSeries]:
    """Group listed items into complete series and map them (``render``: see
    :func:`build_series`; a big page in ``pool``'s worker processes).

    In a full listing a cancelled master is a leftover tombstone of an event deleted long ago;
    it is still returned (as deleted) so a re-list can apply deletions it missed.
    """
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        if not is_syncable(item):
            continue
        key = str(item.get("recurringEventId") or item.get("id"))
        group = groups.setdefault(key, {"master": None, "exceptions": []})
        if item.get("recurringEventId"):
            group["exceptions"].append(dict(item))
        else:
            group["master"] = dict(item)
    ready: list[_Group] = []
    for event_id, group in groups.items():
        master = group["master"]
        exceptions = group["exceptions"]
        complete = master is not None and (
            master.get("status") == "cancelled" or not master.get("recurrence"))
        if not complete:
            # A series (or a lone instance change): fetch master and all exceptions.
            master, exceptions = await fetch_series(client, calendar_id, event_id)
            if master is None:
                _LOGGER.debug("series %s vanished while fetching it", event_id)
                master = {"id": event_id, "status": "cancelled"}
        ready.append((event_id, master, exceptions))
    if not ready:
        return []
    return await pool.map(functools.partial(map_series, calendar_tz=calendar_tz, render=render),
                          ready)


def map_series(groups: Iterable[_Group], *, calendar_tz: str, render: bool = True
               ) -> list[GoogleSeries]:
    """:func:`build_series` for each complete ``(event_id, master, exceptions)`` (pure)."""
    return [build_series(event_id, master, exceptions, calendar_tz=calendar_tz, render=render)
            for event_id, master, exceptions in groups]
