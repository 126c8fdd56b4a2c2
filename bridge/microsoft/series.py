"""Graph series mapped to iCalendar, ready for the planner (pure).

A :class:`MicrosoftSeries` is one event (a single or a series master) with its exceptions and
cancelled occurrences, as :class:`~bridge.microsoft.reader.SeriesReader` completes them from a
delta page.  This module imports no client code: the worker processes that map a big page
(:mod:`bridge.cpu`) import only the mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar

from bridge.errors import BridgeError
from bridge.ical.recurrence import occurrences
from bridge.microsoft.delta import Window
from bridge.microsoft.mapping import graph_to_resource, item_uid, occurrence_key
from bridge.providers.series import RemoteSeries

__all__ = ["MicrosoftSeries", "build_series", "cancelled_starts", "expected_starts",
           "map_series"]


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


def map_series(ready: Iterable[tuple[str, Mapping[str, Any] | None,
                                     Sequence[Mapping[str, Any]], Sequence[str]]], *,
               calendar_tz: str, write_attendees: bool, render: bool = True
               ) -> list[MicrosoftSeries]:
    """:func:`build_series` for each complete ``(event_id, master, exceptions, cancelled)``
    (pure; big pages run in the worker processes of :mod:`bridge.cpu`)."""
    return [build_series(event_id, master, exceptions, cancelled, calendar_tz=calendar_tz,
                         write_attendees=write_attendees, render=render)
            for event_id, master, exceptions, cancelled in ready]


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
