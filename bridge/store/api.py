"""Booking-API keys and Idempotency-Key records (the store side of ``bridge.api``).

API keys are 256-bit random secrets shown once; only their sha256 is stored and looked up, so a
database dump does not leak usable keys.  A key's scope is ``admin`` (everything), or ``read`` /
``write`` confined to the calendars listed in ``api_key_calendars``; a ``read`` key that is not
confined reads every calendar (the keys of before scopes).  Idempotency records keep the hash of
a POST request and the response given for it for 24 hours, so a retried POST gets the same
answer instead of a second appointment.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bridge.errors import BridgeError, NotFound
from bridge.model import Collection, ItemRecord
from bridge.store import schema as s
from bridge.store.base import StoreBase, clean_path

__all__ = [
    "KEY_PREFIX",
    "SCOPES",
    "Access",
    "ApiKey",
    "ApiMixin",
    "IdempotencyRecord",
    "Scope",
    "hash_api_key",
]

Scope = Literal["read", "write", "admin"]
Access = Literal["read", "write"]
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")
KEY_PREFIX = "tbk_"
IDEMPOTENCY_TTL = 24 * 3600.0
# An in-progress record older than this is taken to belong to a crashed request.
_IN_PROGRESS_STALE = 60.0


def hash_api_key(secret: str) -> str:
    """The stored form of an API key: hex sha256 of the whole key text."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """An API key's metadata (never the secret itself).

    ``calendar_ids`` is ``None`` for a key over every calendar (``admin``, or ``read`` without
    a calendar list), else the ids of the only calendars it may use (``calendar_paths`` the
    same as paths, for listings).
    """

    id: int
    name: str
    prefix: str
    scope: Scope
    created_at: float
    last_used_at: float | None
    revoked_at: float | None
    calendar_ids: frozenset[int] | None = None
    calendar_paths: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        """True until revoked."""
        return self.revoked_at is None

    @property
    def confined(self) -> bool:
        """True when the key reaches only its listed calendars."""
        return self.calendar_ids is not None

    def allows(self, needed: Access) -> bool:
        """True when this key's scope covers ``needed`` (write and admin imply read)."""
        return self.scope in ("write", "admin") or needed == "read"

    def sees(self, calendar_id: int) -> bool:
        """True when the key may use the calendar with this id."""
        return self.calendar_ids is None or calendar_id in self.calendar_ids


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


def _api_key(row: Any, calendars: Sequence[tuple[int, str]] = ()) -> ApiKey:
    confined = bool(row.confined)
    return ApiKey(row.id, row.name, row.prefix, row.scope, row.created_at, row.last_used_at,
                  row.revoked_at,
                  frozenset(cid for cid, _ in calendars) if confined else None,
                  tuple(sorted(path for _, path in calendars)))


class ApiMixin(StoreBase):
    """API keys, idempotency records and collection lookups by id for the booking API."""

    # -- API keys ----------------------------------------------------------------------------
    def create_api_key(
        self, name: str, scope: Scope, calendars: Sequence[str] | None = None
    ) -> tuple[ApiKey, str]:
        """Create a key; returns its metadata and the secret (shown once, never stored).

        ``calendars`` (``owner/slug`` paths) confines a ``read`` or ``write`` key to those
        calendars.  Without them a ``read`` key reads every calendar and a ``write`` key is an
        ``admin`` key (a key that writes everywhere can do everything).
        """
        if scope not in SCOPES:
            raise ValueError("scope must be read, write or admin")
        if calendars is not None and not calendars:
            raise BridgeError("name at least one calendar, or none for a key over every calendar")
        if scope == "admin" and calendars:
            raise BridgeError("an admin key reaches every calendar: drop the calendars, or use "
                              "the read or write scope")
        if scope == "write" and calendars is None:
            scope = "admin"
        secret = KEY_PREFIX + secrets.token_urlsafe(32)

        def tx(conn: Connection) -> ApiKey:
            ids = [self._calendar_id(conn, path) for path in calendars or ()]
            key_id = conn.execute(
                insert(s.api_keys)
                .values(name=name, key_hash=hash_api_key(secret), prefix=secret[:12],
                        scope=scope, created_at=self.clock(), confined=calendars is not None)
                .returning(s.api_keys.c.id)
            ).scalar_one()
            if ids:
                conn.execute(insert(s.api_key_calendars), [
                    {"api_key_id": key_id, "collection_id": cid} for cid in sorted(set(ids))])
            return self._load_api_key(conn, key_id)

        return self._write(tx), secret

    def _calendar_id(self, conn: Connection, path: str) -> int:
        row = self._collection_row(conn, path)
        if row.tag != "VCALENDAR":
            raise NotFound(f"calendar /{clean_path(path)}/")
        return int(row.id)

    @staticmethod
    def _key_calendars(
        conn: Connection, key_ids: Sequence[int]
    ) -> dict[int, list[tuple[int, str]]]:
        found: dict[int, list[tuple[int, str]]] = {k: [] for k in key_ids}
        if not key_ids:
            return found
        rows = conn.execute(
            select(s.api_key_calendars.c.api_key_id, s.collections.c.id, s.collections.c.path)
            .join(s.collections, s.collections.c.id == s.api_key_calendars.c.collection_id)
            .where(s.api_key_calendars.c.api_key_id.in_(list(key_ids)))
        ).all()
        for key_id, cid, path in rows:
            found[key_id].append((cid, path))
        return found

    def _load_api_key(self, conn: Connection, key_id: int) -> ApiKey:
        row = conn.execute(select(s.api_keys).where(s.api_keys.c.id == key_id)).one()
        return _api_key(row, self._key_calendars(conn, [key_id])[key_id])

    def list_api_keys(self) -> list[ApiKey]:
        """Every key (revoked ones included), oldest first."""
        with self._read() as conn:
            rows = conn.execute(select(s.api_keys).order_by(s.api_keys.c.id)).all()
            calendars = self._key_calendars(conn, [r.id for r in rows])
        return [_api_key(r, calendars[r.id]) for r in rows]

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
            return self._load_api_key(conn, key_id)

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
            return _api_key(row, self._key_calendars(conn, [row.id])[row.id])

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
