"""Plain data shared by every layer: validated resources, stored items, users, collections.

Standard library only; frozen dataclasses, no behaviour beyond small derived properties.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal, NamedTuple

__all__ = [
    "Change",
    "Collection",
    "Grant",
    "ItemHead",
    "ItemRecord",
    "ParsedResource",
    "Role",
    "User",
    "compute_etag",
    "connection_of_origin",
    "origin_for_connection",
]

Role = Literal["admin", "staff"]


def compute_etag(text: str) -> str:
    """The strong etag of a resource text: quoted sha256, as Radicale computes it."""
    return '"' + hashlib.sha256(text.encode("utf-8")).hexdigest() + '"'


def origin_for_connection(provider: str, connection_id: int) -> str:
    """The ``origin`` of writes the sync engine makes for one connection:
    ``<provider>:<connection id>`` (``google:7``)."""
    return f"{provider}:{connection_id}"


def connection_of_origin(origin: str) -> tuple[str, int] | None:
    """``(provider, connection id)`` of an origin :func:`origin_for_connection` made, else
    ``None`` (``caldav``, ``api``, ``sync:split``, ...)."""
    provider, sep, rest = origin.partition(":")
    if not sep or not provider or not rest.isascii() or not rest.isdigit():
        return None
    return provider, int(rest)


@dataclass(frozen=True)
class ParsedResource:
    """A validated resource and the columns the store indexes.

    ``start_ts``/``end_ts`` are POSIX seconds covering every occurrence (dates and floating
    times counted as UTC); ``end_ts`` is ``TIMESTAMP_MAX`` for an unbounded series.
    """

    text: str
    uid: str
    component: str
    start_ts: int
    end_ts: int
    recurring: bool
    content_hash: str
    summary: str = ""
    status: str = "CONFIRMED"
    customer_name: str | None = None
    customer_email: str | None = None
    customer_phone: str | None = None
    service: str | None = None

    @property
    def etag(self) -> str:
        """The strong etag of ``text``."""
        return compute_etag(self.text)


@dataclass(frozen=True)
class ItemRecord:
    """One stored resource, self-contained (no lazy database handles)."""

    collection_path: str
    href: str
    uid: str
    component: str
    text: str
    etag: str
    start_ts: int
    end_ts: int
    recurring: bool
    content_hash: str
    summary: str
    status: str
    customer_name: str | None
    customer_email: str | None
    customer_phone: str | None
    service: str | None
    origin: str
    created_at: float
    modified_at: float


class ItemHead(NamedTuple):
    """The listing columns of an item (no text): what PROPFIND and getetag reports need.

    A named tuple: listings build one per item, ten thousand at a time.
    """

    href: str
    etag: str
    component: str
    modified_at: float
    chars: int  # length of the text in characters


@dataclass(frozen=True)
class Collection:
    """A collection: calendar (tag VCALENDAR), address book, principal or plain collection."""

    id: int
    path: str
    owner: str
    tag: str
    props: dict[str, str]
    timezone: str
    revision: int
    min_revision: int
    sync_epoch: str
    created_at: float
    modified_at: float

    @property
    def slug(self) -> str:
        """The last path segment."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def display_name(self) -> str:
        """``D:displayname`` or the slug."""
        return self.props.get("D:displayname") or self.slug

    @property
    def color(self) -> str:
        """``ICAL:calendar-color`` or empty."""
        return self.props.get("ICAL:calendar-color", "")

    @property
    def is_calendar(self) -> bool:
        """True for calendar collections."""
        return self.tag == "VCALENDAR"


@dataclass(frozen=True)
class User:
    """A staff or admin account (CalDAV, admin page)."""

    id: int
    name: str
    role: Role
    password_hash: str
    email: str
    created_at: float

    @property
    def is_admin(self) -> bool:
        """True for administrators."""
        return self.role == "admin"


@dataclass(frozen=True)
class Grant:
    """Read or write access of a user on another user's collection."""

    collection_path: str
    user: str
    level: Literal["read", "write"]


@dataclass(frozen=True)
class Change:
    """The answer to "what changed since revision N" for one collection."""

    revision: int
    hrefs: tuple[str, ...]
