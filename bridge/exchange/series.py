"""EWS series as the planner needs them (pure): :class:`ExchangeSeries` and
:func:`build_series`, which maps a master (or single item) with its modified and deleted
occurrences to one validated resource and its hash."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import BridgeError
from bridge.exchange.mapping import ews_to_resource, item_uid
from bridge.providers.series import RemoteSeries

__all__ = ["ExchangeSeries", "build_series", "map_series"]


@dataclass
class ExchangeSeries(RemoteSeries):
    """One EWS item (master or single) with its modified occurrences (full items) and the
    original starts of its deleted occurrences (``cancelled``)."""

    master: dict[str, Any] | None = None
    modified: list[dict[str, Any]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    @property
    def etag(self) -> str | None:
        """The master's ChangeKey (the ``NeverOverwrite`` precondition)."""
        value = (self.master or {}).get("changekey")
        return str(value) if value else None

    @property
    def updated(self) -> str | None:
        """The newest ``LastModifiedTime`` of master and modified occurrences."""
        stamps = [str(i["last_modified_time"]) for i in [self.master or {}, *self.modified]
                  if i.get("last_modified_time")]
        return max(stamps) if stamps else None

    @property
    def has_overrides(self) -> bool:
        """Whether EWS holds modified or deleted occurrences of the series."""
        return bool(self.modified or self.cancelled)

    @property
    def held(self) -> tuple[str, ...]:
        """Ids of the modified occurrences."""
        return tuple(str(i["id"]) for i in self.modified if i.get("id"))

    @property
    def version(self) -> str:
        """The master's and the modified occurrences' ChangeKeys, the deleted starts."""
        keys = sorted(str(i.get("changekey")) for i in self.modified)
        return ",".join([str(self.etag or "gone"), *keys, *sorted(self.cancelled)])

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy for the ledger."""
        return {"master": self.master, "modified": self.modified, "cancelled": self.cancelled}


def build_series(event_id: str, master: Mapping[str, Any] | None,
                 modified: Sequence[Mapping[str, Any]], deleted: Sequence[str], *,
                 calendar_tz: str, render: bool = True) -> ExchangeSeries:
    """Map a complete series: the text through the gate and the normalised hash."""
    series = ExchangeSeries(event_id, None, master=dict(master) if master else None,
                            modified=[dict(m) for m in modified], cancelled=list(deleted))
    if master is None or master.get("is_cancelled"):
        series.deleted = True
        series.uid = item_uid(master) if master else None
        return series
    try:
        series.uid = item_uid(master)
        parsed, digest = ews_to_resource(master, modified, deleted, calendar_tz=calendar_tz)
        series.hash = digest
        if render:
            series.parsed = parsed
    except (BridgeError, ValueError, TypeError, AttributeError, LookupError,
            OverflowError) as exc:
        series.error = f"{type(exc).__name__}: {exc}"
    return series


def map_series(ready: Iterable[tuple[str, Mapping[str, Any] | None,
                                     Sequence[Mapping[str, Any]], Sequence[str]]], *,
               calendar_tz: str, render: bool = True) -> list[ExchangeSeries]:
    """:func:`build_series` for each complete ``(event_id, master, modified, deleted)`` (pure;
    big pages run in the worker processes of :mod:`bridge.cpu`)."""
    return [build_series(event_id, master, modified, deleted, calendar_tz=calendar_tz,
                         render=render)
            for event_id, master, modified, deleted in ready]
