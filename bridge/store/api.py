"""Booking-API keys and Idempotency-Key records (the store side of ``bridge.api``).

API keys are 256-bit random secrets shown once; only their sha256 is stored and looked up, so a
database dump does not leak usable keys.  Idempotency records keep the hash of a POST request
and the response given for it for 24 hours, so a retried POST gets the same answer instead of a
second appointment.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bridge.errors import NotFound
from bridge.model import Collection, ItemRecord
from bridge.store import schema as s
from bridge.store.base import StoreBase, clean_path

__all__ = [
    "KEY_PREFIX",
    "ApiKey",
    "ApiMixin",
    "IdempotencyRecord",
    "Scope",
    "hash_api_key",
]

Scope = Literal["read", "write"]
KEY_PREFIX = "tbk_"
IDEMPOTENCY_TTL = 24 * 3600.0
# An in-progress record older than this is taken to belong to a crashed request.
_IN_PROGRESS_STALE = 60.0


def hash_api_key(secret: str) -> str:
    """The stored form of an API key: hex sha256 of the whole key text."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """An API key's metadata (never the secret itself)."""

    id: int
    name: str
    prefix: str
    scope: Scope
    created_at: float
    last_used_at: float | None
    revoked_at: float | None

    @property
    def active(self) -> bool:
        """True until revoked."""
        return self.revoked_at is None

    def allows(self, needed: Scope) -> bool:
        """True when this key's scope covers ``needed`` (write implies read)."""
        return self.scope == "write" or needed == "read"


@dataclass(frozen=True)
class IdempotencyRecord:
    """What :meth:`ApiMixin.begin_idempotent` found for a key.

    ``state`` is ``new`` (the caller runs the request), ``replay`` (a stored response),
    ``mismatch`` (the key was used for another request) or ``in_progress``.
    """

    state: Literal["new", "replay", "mismatch", "in_progress"]
    record_id: int | None = None
    status: int | None = None
    headers: dict[str, str] | None = None
    body: str | None = None


def _api_key(row: Any) -> ApiKey:
    return ApiKey(row.id, row.name, row.prefix, row.scope, row.created_at, row.last_used_at,
                  row.revoked_at)


class ApiMixin(StoreBase):
    """API keys, idempotency records and collection lookups by id for the booking API."""

    # -- API keys ----------------------------------------------------------------------------
    def create_api_key(self, name: str, scope: Scope) -> tuple[ApiKey, str]:
        """Create a key; returns its metadata and the secret (shown once, never stored)."""
        if scope not in ("read", "write"):
            raise ValueError("scope must be read or write")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)

        def tx(conn: Connection) -> ApiKey:
            key_id = conn.execute(
                insert(s.api_keys)
                .values(name=name, key_hash=hash_api_key(secret), prefix=secret[:12],
                        scope=scope, created_at=self.clock())
                .returning(s.api_keys.c.id)
            ).scalar_one()
            row = conn.execute(select(s.api_keys).where(s.api_keys.c.id == key_id)).one()
            return _api_key(row)

        return self._write(tx), secret

    def list_api_keys(self) -> list[ApiKey]:
        """Every key (revoked ones included), oldest first."""
        with self._read() as conn:
            rows = conn.execute(select(s.api_keys).order_by(s.api_keys.c.id)).all()
        return [_api_key(r) for r in rows]

    def revoke_api_key(self, key_id: int) -> ApiKey:
        """Revoke a key (effective on the next request); ``NotFound`` for an unknown id."""

        def tx(conn: Connection) -> ApiKey:
            row = conn.execute(select(s.api_keys).where(s.api_keys.c.id == key_id)).first()
            if row is None:
                raise NotFound(f"API key {key_id}")
            if row.revoked_at is None:
                conn.execute(
                    update(s.api_keys).where(s.api_keys.c.id == key_id)
                    .values(revoked_at=self.clock())
                )
            return _api_key(conn.execute(
                select(s.api_keys).where(s.api_keys.c.id == key_id)).one())

        return self._write(tx)

    def authenticate_api_key(self, secret: str) -> ApiKey | None:
        """The active key whose secret is ``secret`` (lookup by hash), or ``None``."""
        if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
            return None
        digest = hash_api_key(secret)
        with self._read() as conn:
            row = conn.execute(
                select(s.api_keys).where(s.api_keys.c.key_hash == digest)
            ).first()
        if row is None or row.revoked_at is not None:
            return None
        return _api_key(row)

    def touch_api_key(self, key_id: int) -> None:
        """Record that the key was used now (at most about once a minute per key)."""
        now = self.clock()

        def tx(conn: Connection) -> None:
            conn.execute(
                update(s.api_keys)
                .where(s.api_keys.c.id == key_id,
                       (s.api_keys.c.last_used_at.is_(None))
                       | (s.api_keys.c.last_used_at < now - 60))
                .values(last_used_at=now)
            )

        self._write(tx)

    # -- idempotency -------------------------------------------------------------------------
    def begin_idempotent(self, api_key_id: int, key: str, request_hash: str) -> IdempotencyRecord:
        """Claim ``key`` for a request, or report the stored response / a conflict."""
        now = self.clock()

        def tx(conn: Connection) -> IdempotencyRecord:
            conn.execute(delete(s.idempotency_keys).where(s.idempotency_keys.c.expires_at < now))
            row = conn.execute(
                select(s.idempotency_keys).where(
                    s.idempotency_keys.c.api_key_id == api_key_id,
                    s.idempotency_keys.c.key == key,
                )
            ).first()
            if row is not None and row.state == "in_progress" and \
                    row.created_at < now - _IN_PROGRESS_STALE:
                conn.execute(delete(s.idempotency_keys).where(s.idempotency_keys.c.id == row.id))
                row = None
            if row is None:
                try:
                    with conn.begin_nested():
                        record_id = conn.execute(
                            insert(s.idempotency_keys)
                            .values(api_key_id=api_key_id, key=key, request_hash=request_hash,
                                    state="in_progress", created_at=now,
                                    expires_at=now + IDEMPOTENCY_TTL)
                            .returning(s.idempotency_keys.c.id)
                        ).scalar_one()
                except IntegrityError:
                    return IdempotencyRecord("in_progress")
                return IdempotencyRecord("new", record_id=record_id)
            if row.request_hash != request_hash:
                return IdempotencyRecord("mismatch", record_id=row.id)
            if row.state == "in_progress":
                return IdempotencyRecord("in_progress", record_id=row.id)
            return IdempotencyRecord(
                "replay", record_id=row.id, status=row.response_status,
                headers=json.loads(row.response_headers or "{}"), body=row.response_body,
            )

        return self._write(tx)

    def finish_idempotent(
        self, record_id: int, status: int, headers: dict[str, str], body: str
    ) -> None:
        """Store the response given for a claimed key."""

        def tx(conn: Connection) -> None:
            conn.execute(
                update(s.idempotency_keys).where(s.idempotency_keys.c.id == record_id)
                .values(state="done", response_status=status,
                        response_headers=json.dumps(headers), response_body=body)
            )

        self._write(tx)

    def abandon_idempotent(self, record_id: int) -> None:
        """Forget a claimed key whose request failed without an answer worth replaying."""

        def tx(conn: Connection) -> None:
            conn.execute(delete(s.idempotency_keys).where(s.idempotency_keys.c.id == record_id))

        self._write(tx)

    # -- collections by id -------------------------------------------------------------------
    def get_collection_by_id(self, collection_id: int) -> Collection | None:
        """The collection with that database id, or ``None``."""
        with self._read() as conn:
            row = conn.execute(
                select(s.collections).where(s.collections.c.id == collection_id)
            ).first()
        return self._collection(row) if row is not None else None

    def page_events(
        self,
        path: str,
        start_ts: int,
        end_ts: int,
        after: tuple[int, str] | None,
        limit: int,
    ) -> list[ItemRecord]:
        """VEVENT items overlapping ``[start_ts, end_ts)`` ordered by (start, href), keyset-paged.

        ``after`` is the (start_ts, href) of the last item of the previous page.
        """
        path = clean_path(path)
        query = (
            select(s.items)
            .join(s.collections)
            .where(
                s.collections.c.path == path,
                s.items.c.component == "VEVENT",
                s.items.c.start_ts < end_ts,
                s.items.c.end_ts > start_ts,
            )
            .order_by(s.items.c.start_ts, s.items.c.href)
            .limit(limit)
        )
        if after is not None:
            query = query.where(
                (s.items.c.start_ts > after[0])
                | ((s.items.c.start_ts == after[0]) & (s.items.c.href > after[1]))
            )
        with self._read() as conn:
            return [self._item(path, r) for r in conn.execute(query).all()]
