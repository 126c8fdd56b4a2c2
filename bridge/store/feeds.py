"""ICS feed rows: secret-token feeds on one calendar (the store's feed side).

A feed's URL contains a 256-bit token from :func:`new_feed_token`.  Only its sha256
(:func:`hash_feed_token`) is stored, so a leaked database does not leak live URLs; the raw
token is returned once by :meth:`FeedsMixin.create_feed` and :meth:`FeedsMixin.rotate_feed`
and never again.  Lookups go by hash (:meth:`FeedsMixin.feed_for_token_hash`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import Connection, Row, insert, select, update

from bridge.errors import BridgeError, NotFound
from bridge.model import Collection
from bridge.store import schema as s
from bridge.store.base import StoreBase, clean_path

__all__ = [
    "DEFAULT_FUTURE_DAYS",
    "DEFAULT_PAST_DAYS",
    "FEED_TOKEN_RE",
    "PRIVACY_LEVELS",
    "Feed",
    "FeedsMixin",
    "InvalidFeedSettings",
    "Privacy",
    "hash_feed_token",
    "new_feed_token",
]

Privacy = Literal["full", "limited", "busy"]
PRIVACY_LEVELS: tuple[Privacy, ...] = get_args(Privacy)
DEFAULT_PAST_DAYS = 30
DEFAULT_FUTURE_DAYS = 365
MAX_WINDOW_DAYS = 3660
# ``secrets.token_urlsafe(32)``: 32 random bytes as 43 URL-safe base64 characters.
FEED_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")


class InvalidFeedSettings(BridgeError):
    """A feed setting (privacy level, window) is out of range."""


def new_feed_token() -> str:
    """A fresh feed token (256 bits of entropy)."""
    return secrets.token_urlsafe(32)


def hash_feed_token(token: str) -> str:
    """The stored form of a token: its sha256 as 64 hex digits."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class Feed:
    """One feed: which calendar, how much it shows, and its life cycle (never the token)."""

    id: int
    collection_path: str
    privacy: Privacy
    past_days: int
    future_days: int
    label: str
    version: int
    created_at: float
    updated_at: float
    last_used_at: float | None
    revoked_at: float | None

    @property
    def active(self) -> bool:
        """False once revoked."""
        return self.revoked_at is None


def _check(privacy: str, past_days: int, future_days: int) -> None:
    if privacy not in PRIVACY_LEVELS:
        raise InvalidFeedSettings(
            f"unknown privacy level {privacy!r}: use one of {', '.join(PRIVACY_LEVELS)}"
        )
    for name, days in (("past days", past_days), ("future days", future_days)):
        if not 0 <= days <= MAX_WINDOW_DAYS:
            raise InvalidFeedSettings(f"{name} must be 0 to {MAX_WINDOW_DAYS}, got {days}")


class FeedsMixin(StoreBase):
    """Create, look up, list, rotate and revoke ICS feeds."""

    @staticmethod
    def _feed(row: Row[Any]) -> Feed:
        return Feed(
            id=row.id, collection_path=row.path, privacy=row.privacy, past_days=row.past_days,
            future_days=row.future_days, label=row.label, version=row.version,
            created_at=row.created_at, updated_at=row.updated_at,
            last_used_at=row.last_used_at, revoked_at=row.revoked_at,
        )

    @staticmethod
    def _feed_query() -> Any:
        return select(s.feeds, s.collections.c.path).select_from(s.feeds.join(s.collections))

    def _feed_row(self, conn: Connection, feed_id: int) -> Row[Any]:
        row = conn.execute(self._feed_query().where(s.feeds.c.id == feed_id)).first()
        if row is None:
            raise NotFound(f"feed {feed_id}")
        return row

    def create_feed(
        self,
        path: str,
        *,
        privacy: Privacy = "limited",
        past_days: int = DEFAULT_PAST_DAYS,
        future_days: int = DEFAULT_FUTURE_DAYS,
        label: str = "",
    ) -> tuple[Feed, str]:
        """Create a feed on calendar ``path``; returns the feed and its token (shown once)."""
        _check(privacy, past_days, future_days)
        path = clean_path(path)
        token = new_feed_token()

        def tx(conn: Connection) -> Feed:
            coll = self._collection_row(conn, path)
            if coll.tag != "VCALENDAR":
                raise NotFound(f"calendar /{path}/")
            now = self.clock()
            result = conn.execute(
                insert(s.feeds)
                .values(
                    collection_id=coll.id, token_hash=hash_feed_token(token), privacy=privacy,
                    past_days=past_days, future_days=future_days, label=label, version=1,
                    created_at=now, updated_at=now,
                )
                .returning(s.feeds.c.id)
            )
            return self._feed(self._feed_row(conn, int(result.scalar_one())))

        return self._write(tx), token

    def get_feed(self, feed_id: int) -> Feed | None:
        """The feed with that id (revoked ones included), or ``None``."""
        with self._read() as conn:
            try:
                return self._feed(self._feed_row(conn, feed_id))
            except NotFound:
                return None

    def list_feeds(self, path: str | None = None) -> list[Feed]:
        """Every feed (or those of calendar ``path``), by id."""
        query = self._feed_query().order_by(s.feeds.c.id)
        if path is not None:
            query = query.where(s.collections.c.path == clean_path(path))
        with self._read() as conn:
            return [self._feed(r) for r in conn.execute(query).all()]

    def feed_for_token_hash(self, token_hash: str) -> tuple[Feed, Collection] | None:
        """The active feed whose token hashes to ``token_hash`` and its calendar, or ``None``.

        One indexed query; revoked feeds answer ``None`` exactly like unknown ones.
        """
        query = (
            select(
                s.feeds,
                s.collections.c.path,
                s.collections.c.id.label("c_id"),
                s.collections.c.owner.label("c_owner"),
                s.collections.c.tag.label("c_tag"),
                s.collections.c.props.label("c_props"),
                s.collections.c.timezone.label("c_timezone"),
                s.collections.c.revision.label("c_revision"),
                s.collections.c.min_revision.label("c_min_revision"),
                s.collections.c.sync_epoch.label("c_sync_epoch"),
                s.collections.c.created_at.label("c_created_at"),
                s.collections.c.modified_at.label("c_modified_at"),
            )
            .select_from(s.feeds.join(s.collections))
            .where(s.feeds.c.token_hash == token_hash, s.feeds.c.revoked_at.is_(None))
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        # The index compared the hash already; this keeps the final check constant-time.
        if row is None or not hmac.compare_digest(row.token_hash, token_hash):
            return None
        coll = Collection(
            id=row.c_id, path=row.path, owner=row.c_owner, tag=row.c_tag,
            props=json.loads(row.c_props), timezone=row.c_timezone, revision=row.c_revision,
            min_revision=row.c_min_revision, sync_epoch=row.c_sync_epoch,
            created_at=row.c_created_at, modified_at=row.c_modified_at,
        )
        return self._feed(row), coll

    def update_feed(
        self,
        feed_id: int,
        *,
        privacy: Privacy | None = None,
        past_days: int | None = None,
        future_days: int | None = None,
        label: str | None = None,
    ) -> Feed:
        """Change a feed's settings (its URL stays valid); raises ``NotFound``."""

        def tx(conn: Connection) -> Feed:
            row = self._feed_row(conn, feed_id)
            new: dict[str, Any] = {
                "privacy": privacy if privacy is not None else row.privacy,
                "past_days": past_days if past_days is not None else row.past_days,
                "future_days": future_days if future_days is not None else row.future_days,
                "label": label if label is not None else row.label,
            }
            _check(new["privacy"], new["past_days"], new["future_days"])
            conn.execute(
                update(s.feeds)
                .where(s.feeds.c.id == feed_id)
                .values(**new, version=row.version + 1, updated_at=self.clock())
            )
            return self._feed(self._feed_row(conn, feed_id))

        return self._write(tx)

    def rotate_feed(self, feed_id: int) -> tuple[Feed, str]:
        """Replace a feed's token (the old URL stops working at once); returns the new token.

        Rotating a revoked feed re-activates it under the new token.
        """
        token = new_feed_token()

        def tx(conn: Connection) -> Feed:
            row = self._feed_row(conn, feed_id)
            conn.execute(
                update(s.feeds)
                .where(s.feeds.c.id == feed_id)
                .values(
                    token_hash=hash_feed_token(token), version=row.version + 1,
                    updated_at=self.clock(), revoked_at=None, last_used_at=None,
                )
            )
            return self._feed(self._feed_row(conn, feed_id))

        return self._write(tx), token

    def revoke_feed(self, feed_id: int) -> Feed:
        """Revoke a feed: its URL answers 404 from the next request on; raises ``NotFound``."""

        def tx(conn: Connection) -> Feed:
            row = self._feed_row(conn, feed_id)
            if row.revoked_at is None:
                now = self.clock()
                conn.execute(
                    update(s.feeds)
                    .where(s.feeds.c.id == feed_id)
                    .values(revoked_at=now, updated_at=now, version=row.version + 1)
                )
            return self._feed(self._feed_row(conn, feed_id))

        return self._write(tx)

    def touch_feed(self, feed_id: int, at: float | None = None) -> None:
        """Record that the feed was fetched (``at`` defaults to now)."""
        when = self.clock() if at is None else at

        def tx(conn: Connection) -> None:
            conn.execute(
                update(s.feeds).where(s.feeds.c.id == feed_id).values(last_used_at=when)
            )

        self._write(tx)

