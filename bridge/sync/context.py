"""Per-connection context shared by push, pull and import: store, provider, options, metrics."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from icalendar import Calendar

from bridge.config import Settings
from bridge.cpu import CpuPool
from bridge.model import ItemRecord, origin_for_connection
from bridge.providers.base import PROVIDER_NAMES, LinkedRemote, Provider, RemoteSeries
from bridge.providers.http import RetryPolicy
from bridge.store import SqlStore
from bridge.store.sync import ConnectionRecord, LinkRecord
from bridge.sync.actions import LinkState, LocalState, RemoteState

__all__ = [
    "SYNC_STATE_VERSION",
    "ConnectionContext",
    "SyncMetrics",
    "SyncOptions",
    "link_state",
    "linked_remote",
    "local_state",
    "remote_state",
]

_LOGGER = logging.getLogger(__name__)

# Bump when what we store per link changes meaning: connections then re-list in full.
SYNC_STATE_VERSION = 1


@dataclass(frozen=True)
class SyncOptions:
    """Tunables of the engine (from ``[sync]`` and ``[google]``; tests shorten the waits)."""

    poll_interval: float = 300.0
    safety_share: float = 0.5
    safety_min_deletes: int = 5
    safety_window: float = 600.0
    requests_per_minute: int = 500
    max_push_attempts: int = 8
    push_retry_base: float = 5.0
    push_retry_cap: float = 3600.0
    claim_batch: int = 50
    pull_lease: float = 60.0
    idle_wait: float = 1.0
    page_size: int = 2500
    push_channels: bool = False
    public_url: str = ""
    channel_ttl: int = 7 * 86400
    channel_renew_before: float = 86400.0
    http_timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    api_endpoint: str = "https://www.googleapis.com/calendar/v3/"
    cpu: CpuPool = field(default_factory=lambda: CpuPool(0))  # tests map in a thread

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SyncOptions:
        """Options from ``[sync]``, ``[google]`` and ``[http] public_url``."""
        g, sync = settings.google, settings.sync
        public_url = settings.http.public_url
        push = sync.push
        channels = push == "on" or (push == "auto" and public_url.startswith("https://"))
        values: dict[str, Any] = {
            "poll_interval": float(sync.poll_interval),
            "safety_share": sync.safety_delete_share,
            "safety_window": sync.safety_window,
            "requests_per_minute": g.requests_per_minute,
            "push_channels": channels and bool(public_url),
            "public_url": public_url.rstrip("/"),
            "api_endpoint": g.api_endpoint,
            "cpu": CpuPool(None if sync.workers == "auto" else int(sync.workers)),
        }
        values.update(overrides)
        return cls(**values)


@dataclass
class SyncMetrics:
    """Counters exported on ``/metrics`` (gauges are computed at scrape time)."""

    actions: Counter[str] = field(default_factory=Counter)
    pulls: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    notifications: Counter[str] = field(default_factory=Counter)
    push_latency_sum: float = 0.0
    push_count: int = 0


@dataclass
class ConnectionContext:
    """What push and pull need for one connection."""

    store: SqlStore
    record: ConnectionRecord
    provider: Provider
    options: SyncOptions
    worker: str
    metrics: SyncMetrics

    @property
    def id(self) -> int:
        """The connection id."""
        return self.record.id

    @property
    def calendar_tz(self) -> str:
        """The Google calendar's time zone (stored at connect time)."""
        return str(self.record.state.get("calendar_tz") or "UTC")

    @property
    def provider_name(self) -> str:
        """The provider's short name for texts (``"Microsoft"``)."""
        return PROVIDER_NAMES.get(self.record.provider, self.record.provider)

    @property
    def origin(self) -> str:
        """The ``origin`` of our writes for this connection (no echo into its outbox)."""
        return origin_for_connection(self.record.provider, self.record.id)

    def reload(self) -> ConnectionRecord:
        """Re-read the connection row."""
        self.record = self.store.get_connection(self.record.id)
        return self.record


def local_state(item: ItemRecord, provider: Provider, link: LinkRecord | None = None
                ) -> LocalState | None:
    """The planner's view of a local item; ``None`` when the provider cannot hold it (e.g.
    VTODO).

    With the item's ``link``: an item still at the linked etag (the very text of the last
    sync) takes the link's hash instead of mapping the text again, so planning a large pull
    (or a restore) does not parse every unchanged appointment.
    """
    if link is not None and link.local_etag == item.etag and link.hash_local:
        return LocalState(item.uid, item.etag, link.hash_local, item.modified_at)
    try:
        # Stored items passed the validation gate when written: parse only (half the cost).
        digest = provider.local_hash(Calendar.from_ical(item.text))
    except Exception as exc:  # mapping refuses the shape: not syncable
        _LOGGER.debug("item %s not mappable: %s", item.uid, type(exc).__name__)
        return None
    return LocalState(item.uid, item.etag, digest, item.modified_at)


def link_state(link: LinkRecord | None) -> LinkState | None:
    """The planner's view of a link row."""
    if link is None:
        return None
    return LinkState(link.uid, link.remote_id, link.local_etag, link.remote_etag,
                     link.hash_local, link.hash_remote, link.remote_updated, link.updated_at)


def remote_state(series: RemoteSeries, uid: str) -> RemoteState:
    """The planner's view of a remote series."""
    return RemoteState(series.event_id, uid, series.etag, series.hash, series.updated,
                       deleted=series.deleted, series=series.has_overrides)


def linked_remote(link: LinkRecord) -> LinkedRemote:
    """What the link recorded of the remote side (the base of a write)."""
    return LinkedRemote(link.remote_id, link.remote_etag, link.remote_held,
                        link.remote_extra)
