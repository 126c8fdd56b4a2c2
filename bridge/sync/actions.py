"""What the planner sees (states) and what it decides (actions): frozen dataclasses only.

Hashes live in one space on both sides: ``bridge.google.mapping.ical_hash`` of the local text
equals ``google_hash`` of the Google series exactly when Google would show the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "Action",
    "Conflict",
    "DeleteLocal",
    "DeleteRemote",
    "LinkState",
    "LocalState",
    "Noop",
    "PullFromRemote",
    "PushToRemote",
    "Relink",
    "RemoteState",
    "Side",
    "Unlink",
]

# Which side a conflict decision kept ("google" in ledger rows written before providers).
Side = Literal["local", "remote"]


@dataclass(frozen=True)
class LocalState:
    """A local item: etag, normalised hash, and its modification time on our clock."""

    uid: str
    etag: str
    hash: str
    modified_at: float


@dataclass(frozen=True)
class RemoteState:
    """A Google event (or series): etag of the master, hash of the whole series, ``updated``.

    ``deleted`` is a cancelled master; ``series`` is True when exceptions exist (their etags
    are not in ``etag``, so only the hash tells whether the series changed).
    """

    event_id: str
    uid: str
    etag: str | None
    hash: str | None
    updated: str | None
    deleted: bool = False
    series: bool = False


@dataclass(frozen=True)
class LinkState:
    """Both sides as they were at the last sync (``synced_at`` on our clock)."""

    uid: str
    event_id: str
    local_etag: str | None
    remote_etag: str | None
    hash_local: str | None
    hash_remote: str | None
    remote_updated: str | None
    synced_at: float


@dataclass(frozen=True)
class Noop:
    """Nothing to do (unchanged on both sides, or our own echo)."""

    uid: str
    reason: str


@dataclass(frozen=True)
class PushToRemote:
    """Write the local item to Google (``create``: no event is linked yet)."""

    uid: str
    event_id: str | None
    create: bool


@dataclass(frozen=True)
class PullFromRemote:
    """Write the Google event to the local store (``create``: no local item yet)."""

    uid: str
    event_id: str
    create: bool


@dataclass(frozen=True)
class DeleteRemote:
    """Delete the Google event of a locally deleted item."""

    uid: str
    event_id: str


@dataclass(frozen=True)
class DeleteLocal:
    """Delete the local item of a deleted Google event."""

    uid: str
    event_id: str


@dataclass(frozen=True)
class Relink:
    """Both sides already hold the same content: only record the link."""

    uid: str
    event_id: str


@dataclass(frozen=True)
class Unlink:
    """Both sides are gone: forget the link."""

    uid: str
    event_id: str


@dataclass(frozen=True)
class Conflict:
    """Both sides changed differently; ``winner`` decided by policy, ``then`` carries it out."""

    uid: str
    event_id: str | None
    winner: Side
    reason: str
    then: PushToRemote | PullFromRemote


Action: TypeAlias = (
    Noop | PushToRemote | PullFromRemote | DeleteRemote | DeleteLocal | Relink | Unlink | Conflict
)
