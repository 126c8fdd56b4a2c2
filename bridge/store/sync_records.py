"""Records the sync side of the store returns: connections, outbox claims, links, ledger rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bridge.store import schema as s

__all__ = [
    "ConnectionRecord",
    "LedgerEntry",
    "LedgerRecord",
    "LinkRecord",
    "OutboxClaim",
    "OutboxStats",
    "connection_from_row",
    "connection_query",
    "dump_extra",
    "dump_ids",
    "load_extra",
    "load_ids",
]


def dump_ids(ids: Iterable[str] | None) -> str | None:
    """A JSON list of ``ids`` (sorted, unique), ``None`` for ``None``."""
    return None if ids is None else json.dumps(sorted(set(ids)))


def _load_json(raw: str | None) -> Any:
    """The JSON value of ``raw``; ``None`` when absent or unreadable."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def load_ids(raw: str | None) -> tuple[str, ...] | None:
    """The ids :func:`dump_ids` wrote; ``None`` when absent or unreadable."""
    value = _load_json(raw)
    return tuple(str(v) for v in value) if isinstance(value, list) else None


def dump_extra(extra: Mapping[str, Any] | None) -> str | None:
    """``extra`` as compact JSON, ``None`` for ``None``."""
    return None if extra is None else json.dumps(extra, separators=(",", ":"), sort_keys=True,
                                                 default=str)


def load_extra(raw: str | None) -> dict[str, Any] | None:
    """The mapping :func:`dump_extra` wrote; ``None`` when absent or unreadable."""
    value = _load_json(raw)
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class ConnectionRecord:
    """One connection of a calendar to a provider's calendar (the refresh token is read
    separately); ``provider`` names the factory that opens it."""

    id: int
    collection_id: int
    collection_path: str
    account_email: str
    remote_calendar_id: str
    remote_calendar_name: str
    scopes: str
    status: str
    active: bool
    sync_token: str | None
    sync_state_version: int
    state: dict[str, Any]
    channel_id: str | None
    channel_resource_id: str | None
    channel_token: str | None
    channel_expiry: float | None
    poll_interval: int | None
    paused_reason: str | None
    last_error: str | None
    last_pull_at: float | None
    last_push_at: float | None
    has_token: bool
    created_at: float
    updated_at: float
    provider: str = "google"

    @property
    def import_done(self) -> bool:
        """True once the first full import finished (pushes wait for it)."""
        return bool(self.state.get("import", {}).get("phase") == "done")


@dataclass(frozen=True)
class OutboxClaim:
    """The claimed pending rows of one UID: push the item's current state once."""

    connection_id: int
    collection_id: int
    uid: str
    href: str
    op: str
    revision: int
    row_ids: tuple[int, ...]
    attempts: int


@dataclass(frozen=True)
class OutboxStats:
    """Outbox depth for metrics and status pages."""

    pending: int
    parked: int
    oldest_pending_at: float | None


@dataclass(frozen=True)
class LinkRecord:
    """Item ↔ Google event, with both sides' etag and hash at the last sync."""

    connection_id: int
    uid: str
    remote_id: str
    remote_etag: str | None
    local_etag: str | None
    hash_local: str | None
    hash_remote: str | None
    remote_updated: str | None
    updated_at: float
    # Instance ids of the confirmed exceptions Google held for the series (None: not known).
    remote_held: tuple[str, ...] | None = None
    # What only Google held of the series (mapping_extra.series_extra; None: not known).
    remote_extra: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class LedgerEntry:
    """One sync action to record (``at`` is filled by the store)."""

    direction: str
    trigger: str
    action: str
    outcome: str
    connection_id: int | None = None
    collection_id: int | None = None
    uid: str = ""
    fields: Sequence[str] = ()
    remote_id: str | None = None
    error: str | None = None
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class LedgerRecord:
    """A stored ledger row."""

    id: int
    at: float
    connection_id: int | None
    collection_id: int | None
    uid: str
    direction: str
    trigger: str
    action: str
    fields: tuple[str, ...]
    remote_id: str | None
    outcome: str
    error: str | None
    detail: dict[str, Any] = field(default_factory=dict)


def connection_from_row(row: Any, path: str) -> ConnectionRecord:
    """A :class:`ConnectionRecord` from a ``connections`` row joined with its path."""
    try:
        state = json.loads(row.import_state or "{}")
    except ValueError:
        state = {}
    return ConnectionRecord(
        id=row.id, collection_id=row.collection_id, collection_path=path,
        account_email=row.account_email, remote_calendar_id=row.remote_calendar_id,
        remote_calendar_name=row.remote_calendar_name, scopes=row.scopes,
        status=row.status, active=bool(row.active), sync_token=row.sync_token,
        sync_state_version=row.sync_state_version,
        state=state if isinstance(state, dict) else {},
        channel_id=row.channel_id, channel_resource_id=row.channel_resource_id,
        channel_token=row.channel_token, channel_expiry=row.channel_expiry,
        poll_interval=row.poll_interval, paused_reason=row.paused_reason,
        last_error=row.last_error, last_pull_at=row.last_pull_at,
        last_push_at=row.last_push_at, has_token=row.refresh_token_enc is not None,
        created_at=row.created_at, updated_at=row.updated_at, provider=row.provider,
    )


def connection_query() -> Any:
    """``connections`` rows with their collection path."""
    return select(s.connections, s.collections.c.path).join(
        s.collections, s.collections.c.id == s.connections.c.collection_id
    )
