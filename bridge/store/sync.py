"""The store side of Google sync: connections, outbox claims, links, ledger, shared transactions.

* **Connections** (one per calendar): account, Google calendar id, encrypted refresh token (the
  caller seals it, see :mod:`bridge.google.crypto`), status, sync token and a JSON ``state``
  (import progress, pull lease, safety-valve confirmation) kept in ``import_state``.
* **Outbox claims**: a worker claims the pending rows of up to ``limit`` UIDs with a lease.  On
  PostgreSQL the claim locks the connection rows and the outbox rows ``FOR UPDATE SKIP LOCKED``, so
  several processes share the work without waiting on each other; on SQLite the write lock
  (``BEGIN IMMEDIATE``) serialises claimers.  A UID with a live lease is never claimed twice,
  and finishing a claim marks every older pending row of that UID done (the push sent the
  current state).
* **Shared transactions**: :meth:`SyncMixin.run_transaction` runs a function in one write
  transaction that every store call inside joins (each nested write in a SAVEPOINT), so a page of
  Google changes goes through the ordinary item write path (change log, outbox fan-out, hooks) and
  the new sync token commits with it.
* **Wake-ups**: after a commit that created outbox rows, in-process listeners are called; on
  PostgreSQL the transaction also sends ``NOTIFY termin_bridge_outbox`` for other processes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, delete, func, insert, select, text, update

from bridge.errors import AlreadyExists, NotFound
from bridge.model import ItemRecord
from bridge.store import schema as s
from bridge.store.base import StoreBase, clean_path
from bridge.store.engine import is_postgres

__all__ = [
    "NOTIFY_CHANNEL",
    "ConnectionRecord",
    "LedgerEntry",
    "LedgerRecord",
    "LinkRecord",
    "OutboxClaim",
    "OutboxStats",
    "SyncMixin",
    "in_google_import",
]

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

NOTIFY_CHANNEL = "termin_bridge_outbox"
_TX: ContextVar[Connection | None] = ContextVar("termin_bridge_tx", default=None)
_TOUCHED: ContextVar[list[bool] | None] = ContextVar("termin_bridge_touched", default=None)
_IMPORTING: ContextVar[bool] = ContextVar("termin_bridge_importing", default=False)

_CONN_FIELDS = frozenset({
    "account_email", "google_calendar_id", "google_calendar_name", "scopes", "status", "active",
    "sync_token", "sync_state_version", "channel_id", "channel_resource_id", "channel_token",
    "channel_expiry", "poll_interval", "paused_reason", "last_error", "last_pull_at",
    "last_push_at",
})


def _dump_ids(ids: Iterable[str] | None) -> str | None:
    return None if ids is None else json.dumps(sorted(set(ids)))


def _load_ids(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return tuple(str(v) for v in value) if isinstance(value, list) else None


def in_google_import() -> bool:
    """True inside the transaction of a first-connection import page (hooks: no notifications)."""
    return _IMPORTING.get()


@dataclass(frozen=True)
class ConnectionRecord:
    """One Google connection of a calendar (the refresh token is read separately)."""

    id: int
    collection_id: int
    collection_path: str
    account_email: str
    google_calendar_id: str
    google_calendar_name: str
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
    google_event_id: str
    google_etag: str | None
    local_etag: str | None
    hash_local: str | None
    hash_google: str | None
    google_updated: str | None
    updated_at: float
    # Instance ids of the confirmed exceptions Google held for the series (None: not known).
    google_exceptions: tuple[str, ...] | None = None


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
    google_event_id: str | None = None
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
    google_event_id: str | None
    outcome: str
    error: str | None
    detail: dict[str, Any] = field(default_factory=dict)


class SyncMixin(StoreBase):
    """Connections, outbox claims, links, ledger and shared transactions for the sync engine."""

    _outbox_listeners: list[Callable[[], None]]

    # -- transactions ------------------------------------------------------------------------
    def _write(self, fn: Callable[[Connection], T]) -> T:
        conn = _TX.get()
        if conn is not None:
            # Join the enclosing run_transaction; a SAVEPOINT keeps a failed nested write from
            # poisoning the outer transaction (PostgreSQL aborts it on any error otherwise).
            with conn.begin_nested():
                return fn(conn)
        touched = [False]
        token = _TOUCHED.set(touched)
        try:
            result = super()._write(fn)
        finally:
            _TOUCHED.reset(token)
        if touched[0]:
            self._fire_outbox_listeners()
        return result

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        conn = _TX.get()
        if conn is not None:
            yield conn
            return
        with super()._read() as fresh:
            yield fresh

    def run_transaction(self, fn: Callable[[], T], *, importing: bool = False) -> T:
        """Run ``fn`` in one write transaction that every store call inside joins."""
        if _TX.get() is not None:
            return fn()

        def outer(conn: Connection) -> T:
            token = _TX.set(conn)
            imp = _IMPORTING.set(importing)
            try:
                return fn()
            finally:
                _IMPORTING.reset(imp)
                _TX.reset(token)

        return self._write(outer)

    def _log(
        self,
        conn: Connection,
        collection_id: int,
        entries: Sequence[tuple[int, str, str, bool]],
        origin: str,
    ) -> None:
        super()._log(conn, collection_id, entries, origin)  # type: ignore[misc]
        if entries and self._connections_for(conn, collection_id, origin):  # type: ignore[attr-defined]
            touched = _TOUCHED.get()
            if touched is not None:
                touched[0] = True
            if is_postgres(self.engine):
                conn.execute(text("SELECT pg_notify(:c, '')"), {"c": NOTIFY_CHANNEL})

    def add_outbox_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from any thread) after each commit that queued outbox rows."""
        if not hasattr(self, "_outbox_listeners"):
            self._outbox_listeners = []
        self._outbox_listeners.append(callback)

    def remove_outbox_listener(self, callback: Callable[[], None]) -> None:
        """Undo :meth:`add_outbox_listener`."""
        listeners = getattr(self, "_outbox_listeners", [])
        if callback in listeners:
            listeners.remove(callback)

    def _fire_outbox_listeners(self) -> None:
        for callback in list(getattr(self, "_outbox_listeners", [])):
            try:
                callback()
            except Exception:  # a broken listener must not fail the write
                _LOGGER.exception("outbox listener failed")

    # -- connections -------------------------------------------------------------------------
    @staticmethod
    def _connection(row: Row[Any], path: str) -> ConnectionRecord:
        try:
            state = json.loads(row.import_state or "{}")
        except ValueError:
            state = {}
        return ConnectionRecord(
            id=row.id, collection_id=row.collection_id, collection_path=path,
            account_email=row.account_email, google_calendar_id=row.google_calendar_id,
            google_calendar_name=row.google_calendar_name, scopes=row.scopes,
            status=row.status, active=bool(row.active), sync_token=row.sync_token,
            sync_state_version=row.sync_state_version,
            state=state if isinstance(state, dict) else {},
            channel_id=row.channel_id, channel_resource_id=row.channel_resource_id,
            channel_token=row.channel_token, channel_expiry=row.channel_expiry,
            poll_interval=row.poll_interval, paused_reason=row.paused_reason,
            last_error=row.last_error, last_pull_at=row.last_pull_at,
            last_push_at=row.last_push_at, has_token=row.refresh_token_enc is not None,
            created_at=row.created_at, updated_at=row.updated_at,
        )

    def _connection_query(self) -> Any:
        return select(s.connections, s.collections.c.path).join(
            s.collections, s.collections.c.id == s.connections.c.collection_id
        )

    def create_connection(
        self,
        collection_path: str,
        *,
        account_email: str = "",
        google_calendar_id: str = "",
        google_calendar_name: str = "",
        scopes: str = "",
        seal_token: Callable[[int], bytes] | None = None,
    ) -> ConnectionRecord:
        """Create the (inactive) connection of a calendar; ``seal_token(id)`` encrypts the token."""
        path = clean_path(collection_path)

        def tx(conn: Connection) -> ConnectionRecord:
            coll = self._collection_row(conn, path)
            exists = conn.execute(
                select(s.connections.c.id).where(s.connections.c.collection_id == coll.id)
            ).first()
            if exists is not None:
                raise AlreadyExists(f"Google connection of /{path}/")
            now = self.clock()
            new_id = conn.execute(
                insert(s.connections)
                .values(collection_id=coll.id, account_email=account_email,
                        google_calendar_id=google_calendar_id,
                        google_calendar_name=google_calendar_name, scopes=scopes,
                        status="ok", active=False, sync_state_version=0,
                        import_state=json.dumps({"import": {"phase": "new"}}),
                        created_at=now, updated_at=now)
                .returning(s.connections.c.id)
            ).scalar_one()
            if seal_token is not None:
                conn.execute(update(s.connections).where(s.connections.c.id == new_id)
                             .values(refresh_token_enc=seal_token(int(new_id))))
            return self._get_connection(conn, int(new_id))

        return self._write(tx)

    def _get_connection(self, conn: Connection, connection_id: int) -> ConnectionRecord:
        row = conn.execute(
            self._connection_query().where(s.connections.c.id == connection_id)
        ).first()
        if row is None:
            raise NotFound(f"Google connection {connection_id}")
        return self._connection(row, row.path)

    def get_connection(self, connection_id: int) -> ConnectionRecord:
        """One connection; raises ``NotFound``."""
        with self._read() as conn:
            return self._get_connection(conn, connection_id)

    def connection_for_collection(self, collection_path: str) -> ConnectionRecord | None:
        """The connection of a calendar, or ``None``."""
        with self._read() as conn:
            row = conn.execute(
                self._connection_query().where(s.collections.c.path == clean_path(collection_path))
            ).first()
        return self._connection(row, row.path) if row is not None else None

    def connection_by_channel(self, channel_id: str) -> ConnectionRecord | None:
        """The connection whose push channel is ``channel_id``, or ``None``."""
        with self._read() as conn:
            row = conn.execute(
                self._connection_query().where(s.connections.c.channel_id == channel_id)
            ).first()
        return self._connection(row, row.path) if row is not None else None

    def list_connections(self, *, active_only: bool = False) -> list[ConnectionRecord]:
        """Every connection, by id."""
        query = self._connection_query().order_by(s.connections.c.id)
        if active_only:
            query = query.where(s.connections.c.active.is_(True))
        with self._read() as conn:
            return [self._connection(r, r.path) for r in conn.execute(query).all()]

    def update_connection(self, connection_id: int, **values: Any) -> ConnectionRecord:
        """Set plain columns of a connection (names from the ``connections`` table)."""
        unknown = set(values) - _CONN_FIELDS
        if unknown:
            raise ValueError(f"not connection fields: {sorted(unknown)}")

        def tx(conn: Connection) -> ConnectionRecord:
            result = conn.execute(
                update(s.connections).where(s.connections.c.id == connection_id)
                .values(**values, updated_at=self.clock())
            )
            if result.rowcount == 0:
                raise NotFound(f"Google connection {connection_id}")
            return self._get_connection(conn, connection_id)

        return self._write(tx)

    def update_connection_state(
        self, connection_id: int, patch: Mapping[str, Any], **values: Any
    ) -> ConnectionRecord:
        """Merge ``patch`` into the JSON state (``None`` removes a key) and set ``values``."""
        unknown = set(values) - _CONN_FIELDS
        if unknown:
            raise ValueError(f"not connection fields: {sorted(unknown)}")

        def tx(conn: Connection) -> ConnectionRecord:
            row = conn.execute(
                select(s.connections.c.import_state).where(s.connections.c.id == connection_id)
            ).first()
            if row is None:
                raise NotFound(f"Google connection {connection_id}")
            state = json.loads(row.import_state or "{}")
            for key, value in patch.items():
                if value is None:
                    state.pop(key, None)
                else:
                    state[key] = value
            conn.execute(
                update(s.connections).where(s.connections.c.id == connection_id)
                .values(import_state=json.dumps(state, sort_keys=True),
                        updated_at=self.clock(), **values)
            )
            return self._get_connection(conn, connection_id)

        return self._write(tx)

    def set_refresh_token(self, connection_id: int, blob: bytes | None) -> None:
        """Store (or clear) the sealed refresh token of a connection."""

        def tx(conn: Connection) -> None:
            conn.execute(
                update(s.connections).where(s.connections.c.id == connection_id)
                .values(refresh_token_enc=blob, updated_at=self.clock())
            )

        self._write(tx)

    def get_refresh_token(self, connection_id: int) -> bytes | None:
        """The sealed refresh token of a connection, or ``None``."""
        with self._read() as conn:
            row = conn.execute(
                select(s.connections.c.refresh_token_enc)
                .where(s.connections.c.id == connection_id)
            ).first()
        return bytes(row.refresh_token_enc) if row and row.refresh_token_enc else None

    def activate_connection(self, connection_id: int, *, push_existing: bool) -> int:
        """Turn the outbox fan-out on; with ``push_existing`` queue every existing item.

        Returns the number of queued items.  Both happen in one transaction, so no local write
        falls between "existing" and "new".
        """

        def tx(conn: Connection) -> int:
            row = conn.execute(
                select(s.connections.c.collection_id).where(s.connections.c.id == connection_id)
            ).first()
            if row is None:
                raise NotFound(f"Google connection {connection_id}")
            conn.execute(update(s.connections).where(s.connections.c.id == connection_id)
                         .values(active=True, updated_at=self.clock()))
            if not push_existing:
                return 0
            coll = conn.execute(
                select(s.collections.c.revision).where(s.collections.c.id == row.collection_id)
            ).one()
            items = conn.execute(
                select(s.items.c.uid, s.items.c.href)
                .where(s.items.c.collection_id == row.collection_id)
            ).all()
            now = self.clock()
            if items:
                conn.execute(insert(s.outbox), [
                    {"connection_id": connection_id, "collection_id": row.collection_id,
                     "uid": it.uid, "href": it.href, "op": "upsert", "revision": coll.revision,
                     "state": "pending", "attempts": 0, "next_attempt_at": now,
                     "created_at": now}
                    for it in items
                ])
            return len(items)

        return self._write(tx)

    def delete_connection(self, connection_id: int) -> None:
        """Remove a connection with its outbox rows and links (ledger rows stay)."""

        def tx(conn: Connection) -> None:
            conn.execute(delete(s.outbox).where(s.outbox.c.connection_id == connection_id))
            conn.execute(delete(s.links).where(s.links.c.connection_id == connection_id))
            conn.execute(update(s.ledger).where(s.ledger.c.connection_id == connection_id)
                         .values(connection_id=None))
            conn.execute(delete(s.connections).where(s.connections.c.id == connection_id))

        self._write(tx)

    def acquire_lease(self, connection_id: int, name: str, owner: str, ttl: float) -> bool:
        """Take or renew the named lease of a connection (e.g. ``pull``) for ``ttl`` seconds."""

        def tx(conn: Connection) -> bool:
            query = select(s.connections.c.import_state).where(s.connections.c.id == connection_id)
            if is_postgres(self.engine):
                query = query.with_for_update()
            row = conn.execute(query).first()
            if row is None:
                return False
            state = json.loads(row.import_state or "{}")
            leases = state.setdefault("leases", {})
            now = self.clock()
            held = leases.get(name)
            if held and held.get("owner") != owner and float(held.get("until", 0)) > now:
                return False
            leases[name] = {"owner": owner, "until": now + ttl}
            conn.execute(update(s.connections).where(s.connections.c.id == connection_id)
                         .values(import_state=json.dumps(state, sort_keys=True)))
            return True

        return self._write(tx)

    def release_lease(self, connection_id: int, name: str, owner: str) -> None:
        """Give up a lease taken with :meth:`acquire_lease` (no-op when not held)."""

        def tx(conn: Connection) -> None:
            row = conn.execute(select(s.connections.c.import_state)
                               .where(s.connections.c.id == connection_id)).first()
            if row is None:
                return
            state = json.loads(row.import_state or "{}")
            held = state.get("leases", {}).get(name)
            if held and held.get("owner") == owner:
                del state["leases"][name]
                conn.execute(update(s.connections).where(s.connections.c.id == connection_id)
                             .values(import_state=json.dumps(state, sort_keys=True)))

        self._write(tx)

    # -- outbox ------------------------------------------------------------------------------
    def _claimable_connections(self, conn: Connection, only: Iterable[int] | None) -> list[int]:
        query = self._connection_query().where(
            s.connections.c.active.is_(True), s.connections.c.status == "ok",
            s.connections.c.paused_reason.is_(None),
        )
        wanted = set(only) if only is not None else None
        ids = []
        for row in conn.execute(query).all():
            record = self._connection(row, row.path)
            if record.import_done and (wanted is None or record.id in wanted):
                ids.append(record.id)
        if ids and is_postgres(self.engine):
            locked = conn.execute(
                select(s.connections.c.id).where(s.connections.c.id.in_(ids))
                .with_for_update(skip_locked=True)
            ).all()
            ids = [r.id for r in locked]
        return ids

    def claim_outbox(
        self,
        worker: str,
        *,
        limit: int = 50,
        lease: float = 120.0,
        connection_ids: Iterable[int] | None = None,
    ) -> list[OutboxClaim]:
        """Claim pending rows of up to ``limit`` UIDs that no live lease holds."""

        def tx(conn: Connection) -> list[OutboxClaim]:
            now = self.clock()
            cids = self._claimable_connections(conn, connection_ids)
            if not cids:
                return []
            o = s.outbox.c
            free = (o.claimed_until.is_(None)) | (o.claimed_until < now)
            query = (
                select(s.outbox)
                .where(o.connection_id.in_(cids), o.state == "pending",
                       o.next_attempt_at <= now, free)
                .order_by(o.id)
                .limit(limit * 4)
            )
            if is_postgres(self.engine):
                query = query.with_for_update(skip_locked=True)
            rows = conn.execute(query).all()
            if not rows:
                return []
            busy = {
                (r.connection_id, r.uid)
                for r in conn.execute(
                    select(o.connection_id, o.uid).where(
                        o.connection_id.in_(cids), o.state == "pending", o.claimed_until >= now
                    )
                ).all()
            }
            groups: dict[tuple[int, str], list[Any]] = {}
            for row in rows:
                key = (row.connection_id, row.uid)
                if key in busy:
                    continue
                if key not in groups and len(groups) >= limit:
                    continue
                groups.setdefault(key, []).append(row)
            claims = []
            for (cid, uid), group in groups.items():
                ids = [r.id for r in group]
                conn.execute(
                    update(s.outbox).where(o.id.in_(ids))
                    .values(claimed_by=worker, claimed_until=now + lease,
                            attempts=o.attempts + 1)
                )
                last = max(group, key=lambda r: (r.revision, r.id))
                claims.append(OutboxClaim(
                    connection_id=cid, collection_id=last.collection_id, uid=uid,
                    href=last.href, op=last.op, revision=last.revision, row_ids=tuple(ids),
                    attempts=max(r.attempts for r in group) + 1,
                ))
            return claims

        return self._write(tx)

    def finish_outbox(self, claim: OutboxClaim, worker: str) -> int:
        """Mark the claim and every older unclaimed pending row of its UID done."""

        def tx(conn: Connection) -> int:
            o = s.outbox.c
            mine = conn.execute(
                update(s.outbox)
                .where(o.id.in_(claim.row_ids), o.claimed_by == worker, o.state == "pending")
                .values(state="done", claimed_until=None, last_error=None)
            ).rowcount
            conn.execute(
                update(s.outbox)
                .where(o.connection_id == claim.connection_id, o.uid == claim.uid,
                       o.state == "pending", o.revision <= claim.revision,
                       o.claimed_by.is_(None))
                .values(state="done")
            )
            conn.execute(update(s.connections).where(s.connections.c.id == claim.connection_id)
                         .values(last_push_at=self.clock()))
            return int(mine)

        return self._write(tx)

    def retry_outbox(self, claim: OutboxClaim, worker: str, error: str, delay: float) -> None:
        """Release the claim and schedule another attempt after ``delay`` seconds."""

        def tx(conn: Connection) -> None:
            o = s.outbox.c
            conn.execute(
                update(s.outbox)
                .where(o.id.in_(claim.row_ids), o.claimed_by == worker, o.state == "pending")
                .values(claimed_by=None, claimed_until=None, last_error=error[:2000],
                        next_attempt_at=self.clock() + delay)
            )

        self._write(tx)

    def release_outbox(self, claims: Iterable[OutboxClaim], worker: str) -> None:
        """Give claims back untouched (worker shutting down); attempts are not refunded."""
        ids = [i for c in claims for i in c.row_ids]
        if not ids:
            return

        def tx(conn: Connection) -> None:
            o = s.outbox.c
            conn.execute(update(s.outbox).where(o.id.in_(ids), o.claimed_by == worker,
                                                o.state == "pending")
                         .values(claimed_by=None, claimed_until=None))

        self._write(tx)

    def park_outbox(self, claim: OutboxClaim, worker: str, error: str) -> None:
        """Stop retrying the claim's rows (permanent error); visible with the error."""

        def tx(conn: Connection) -> None:
            o = s.outbox.c
            conn.execute(
                update(s.outbox)
                .where(o.connection_id == claim.connection_id, o.uid == claim.uid,
                       o.state == "pending", o.revision <= claim.revision,
                       (o.claimed_by == worker) | o.claimed_by.is_(None))
                .values(state="parked", claimed_until=None, last_error=error[:2000])
            )

        self._write(tx)

    def parked_outbox(self, connection_id: int) -> list[dict[str, Any]]:
        """Parked rows of a connection with their error, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(s.outbox).where(s.outbox.c.connection_id == connection_id,
                                       s.outbox.c.state == "parked")
                .order_by(s.outbox.c.id.desc())
            ).all()
        return [{"id": r.id, "uid": r.uid, "href": r.href, "op": r.op, "attempts": r.attempts,
                 "error": r.last_error, "created_at": r.created_at} for r in rows]

    def requeue_parked(self, connection_id: int) -> int:
        """Give parked rows of a connection another chance (after the admin fixed the cause)."""

        def tx(conn: Connection) -> int:
            return int(conn.execute(
                update(s.outbox).where(s.outbox.c.connection_id == connection_id,
                                       s.outbox.c.state == "parked")
                .values(state="pending", attempts=0, claimed_by=None, claimed_until=None,
                        next_attempt_at=self.clock())
            ).rowcount)

        return self._write(tx)

    def outbox_stats(self, connection_id: int | None = None) -> OutboxStats:
        """Pending and parked counts and the oldest pending row's creation time."""
        o = s.outbox.c
        query = select(o.state, func.count(), func.min(o.created_at)).group_by(o.state)
        if connection_id is not None:
            query = query.where(o.connection_id == connection_id)
        with self._read() as conn:
            rows = {r[0]: (int(r[1]), r[2]) for r in conn.execute(query).all()}
        pending = rows.get("pending", (0, None))
        return OutboxStats(pending[0], rows.get("parked", (0, None))[0], pending[1])

    def prune_outbox(self, older_than: float) -> int:
        """Delete done rows created before ``older_than``."""

        def tx(conn: Connection) -> int:
            return int(conn.execute(
                delete(s.outbox).where(s.outbox.c.state == "done",
                                       s.outbox.c.created_at < older_than)
            ).rowcount)

        return self._write(tx)

    # -- links -------------------------------------------------------------------------------
    @staticmethod
    def _link(row: Row[Any]) -> LinkRecord:
        return LinkRecord(
            connection_id=row.connection_id, uid=row.uid, google_event_id=row.google_event_id,
            google_etag=row.google_etag, local_etag=row.local_etag, hash_local=row.hash_local,
            hash_google=row.hash_google, google_updated=row.google_updated,
            updated_at=row.updated_at, google_exceptions=_load_ids(row.google_exceptions),
        )

    def get_link(self, connection_id: int, uid: str) -> LinkRecord | None:
        """The link of an item, or ``None``."""
        with self._read() as conn:
            row = conn.execute(select(s.links).where(
                s.links.c.connection_id == connection_id, s.links.c.uid == uid)).first()
        return self._link(row) if row is not None else None

    def links_by_event(
        self, connection_id: int, event_ids: Iterable[str] | None = None
    ) -> dict[str, LinkRecord]:
        """Links of a connection keyed by Google event id (all, or those of ``event_ids``)."""
        query = select(s.links).where(s.links.c.connection_id == connection_id)
        found: dict[str, LinkRecord] = {}
        with self._read() as conn:
            if event_ids is None:
                rows = conn.execute(query).all()
            else:
                wanted = list(dict.fromkeys(event_ids))
                rows = []
                for i in range(0, len(wanted), 500):
                    rows += conn.execute(
                        query.where(s.links.c.google_event_id.in_(wanted[i : i + 500]))
                    ).all()
        for row in rows:
            found[row.google_event_id] = self._link(row)
        return found

    def links_by_uid(
        self, connection_id: int, uids: Iterable[str] | None = None
    ) -> dict[str, LinkRecord]:
        """Links of a connection keyed by UID (all, or those of ``uids``)."""
        query = select(s.links).where(s.links.c.connection_id == connection_id)
        found: dict[str, LinkRecord] = {}
        with self._read() as conn:
            if uids is None:
                rows = conn.execute(query).all()
            else:
                wanted = list(dict.fromkeys(uids))
                rows = []
                for i in range(0, len(wanted), 500):
                    rows += conn.execute(query.where(s.links.c.uid.in_(wanted[i : i + 500]))).all()
        for row in rows:
            found[row.uid] = self._link(row)
        return found

    def put_link(
        self,
        connection_id: int,
        uid: str,
        google_event_id: str,
        *,
        google_etag: str | None,
        local_etag: str | None,
        hash_local: str | None,
        hash_google: str | None,
        google_updated: str | None,
        google_exceptions: Iterable[str] | None = None,
    ) -> None:
        """Create or replace the link of ``uid`` (and drop a stale link of the same event).

        ``google_exceptions``: instance ids of the confirmed exceptions Google holds for the
        series (``None``: not known).
        """
        values = {"google_event_id": google_event_id, "google_etag": google_etag,
                  "local_etag": local_etag, "hash_local": hash_local, "hash_google": hash_google,
                  "google_updated": google_updated,
                  "google_exceptions": _dump_ids(google_exceptions)}

        def tx(conn: Connection) -> None:
            now = self.clock()
            conn.execute(delete(s.links).where(
                s.links.c.connection_id == connection_id,
                s.links.c.google_event_id == google_event_id, s.links.c.uid != uid))
            done = conn.execute(
                update(s.links).where(s.links.c.connection_id == connection_id,
                                      s.links.c.uid == uid)
                .values(**values, updated_at=now)
            ).rowcount
            if not done:
                conn.execute(insert(s.links).values(connection_id=connection_id, uid=uid,
                                                    updated_at=now, **values))

        self._write(tx)

    def put_links(self, connection_id: int, links: Sequence[LinkRecord]) -> None:
        """Create or replace many links at once (bulk import)."""
        if not links:
            return

        def tx(conn: Connection) -> None:
            now = self.clock()
            uids = [lk.uid for lk in links]
            events = [lk.google_event_id for lk in links]
            for i in range(0, len(uids), 500):
                conn.execute(delete(s.links).where(s.links.c.connection_id == connection_id,
                                                   s.links.c.uid.in_(uids[i : i + 500])))
                conn.execute(delete(s.links).where(
                    s.links.c.connection_id == connection_id,
                    s.links.c.google_event_id.in_(events[i : i + 500])))
            conn.execute(insert(s.links), [
                {"connection_id": connection_id, "uid": lk.uid,
                 "google_event_id": lk.google_event_id, "google_etag": lk.google_etag,
                 "local_etag": lk.local_etag, "hash_local": lk.hash_local,
                 "hash_google": lk.hash_google, "google_updated": lk.google_updated,
                 "google_exceptions": _dump_ids(lk.google_exceptions), "updated_at": now}
                for lk in links
            ])

        self._write(tx)

    def delete_link(self, connection_id: int, uid: str) -> None:
        """Forget the link of ``uid``."""

        def tx(conn: Connection) -> None:
            conn.execute(delete(s.links).where(s.links.c.connection_id == connection_id,
                                               s.links.c.uid == uid))

        self._write(tx)

    def count_links(self, connection_id: int) -> int:
        """How many items of a connection are linked to a Google event."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(s.links)
                                    .where(s.links.c.connection_id == connection_id))
                       .scalar_one())

    # -- ledger ------------------------------------------------------------------------------
    def add_ledger(self, entries: Iterable[LedgerEntry]) -> int:
        """Append ledger rows (one statement); returns how many."""
        batch = list(entries)
        if not batch:
            return 0

        def tx(conn: Connection) -> int:
            now = self.clock()
            conn.execute(insert(s.ledger), [
                {"at": now, "connection_id": e.connection_id, "collection_id": e.collection_id,
                 "uid": e.uid, "direction": e.direction, "trigger": e.trigger,
                 "action": e.action, "fields": ",".join(e.fields),
                 "google_event_id": e.google_event_id, "outcome": e.outcome,
                 "error": e.error[:2000] if e.error else None,
                 "detail": json.dumps(dict(e.detail), default=str) if e.detail else None}
                for e in batch
            ])
            return len(batch)

        return self._write(tx)

    def query_ledger(
        self,
        *,
        connection_id: int | None = None,
        collection_path: str | None = None,
        uid: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[LedgerRecord]:
        """Ledger rows matching every given filter, newest first."""
        lg = s.ledger.c
        query = select(s.ledger).order_by(lg.id.desc()).limit(limit)
        if connection_id is not None:
            query = query.where(lg.connection_id == connection_id)
        if uid is not None:
            query = query.where(lg.uid == uid)
        if action is not None:
            query = query.where(lg.action == action)
        if outcome is not None:
            query = query.where(lg.outcome == outcome)
        if since is not None:
            query = query.where(lg.at >= since)
        with self._read() as conn:
            if collection_path is not None:
                coll = self._collection_row(conn, collection_path)
                query = query.where(lg.collection_id == coll.id)
            rows = conn.execute(query).all()
        return [self._ledger(r) for r in rows]

    @staticmethod
    def _ledger(r: Row[Any]) -> LedgerRecord:
        return LedgerRecord(
            id=r.id, at=r.at, connection_id=r.connection_id, collection_id=r.collection_id,
            uid=r.uid, direction=r.direction, trigger=r.trigger, action=r.action,
            fields=tuple(f for f in r.fields.split(",") if f),
            google_event_id=r.google_event_id, outcome=r.outcome, error=r.error,
            detail=json.loads(r.detail) if r.detail else {},
        )

    def get_ledger(self, ledger_id: int) -> LedgerRecord:
        """One ledger row; raises ``NotFound``."""
        with self._read() as conn:
            row = conn.execute(select(s.ledger).where(s.ledger.c.id == ledger_id)).first()
        if row is None:
            raise NotFound(f"ledger row {ledger_id}")
        return self._ledger(row)

    def set_ledger_outcome(self, ledger_id: int, outcome: str) -> None:
        """Change the outcome of a ledger row (e.g. a conflict the admin resolved)."""

        def tx(conn: Connection) -> None:
            conn.execute(update(s.ledger).where(s.ledger.c.id == ledger_id)
                         .values(outcome=outcome))

        self._write(tx)

    # -- sync state --------------------------------------------------------------------------
    def save_sync_token(
        self, connection_id: int, sync_token: str | None, *, state_version: int | None = None
    ) -> None:
        """Store the Google sync token (call inside the page's ``run_transaction``)."""
        values: dict[str, Any] = {"sync_token": sync_token, "last_pull_at": self.clock(),
                                  "updated_at": self.clock()}
        if state_version is not None:
            values["sync_state_version"] = state_version

        def tx(conn: Connection) -> None:
            conn.execute(update(s.connections).where(s.connections.c.id == connection_id)
                         .values(**values))

        self._write(tx)

    def items_by_uid(self, collection_id: int, uids: Iterable[str]) -> dict[str, ItemRecord]:
        """The items of a collection with those UIDs, by UID (one query per 500)."""
        wanted = list(dict.fromkeys(uids))
        found: dict[str, ItemRecord] = {}
        with self._read() as conn:
            path = conn.execute(select(s.collections.c.path)
                                .where(s.collections.c.id == collection_id)).scalar_one()
            for i in range(0, len(wanted), 500):
                for row in conn.execute(select(s.items).where(
                        s.items.c.collection_id == collection_id,
                        s.items.c.uid.in_(wanted[i : i + 500]))).all():
                    found[row.uid] = self._item(path, row)
        return found

    def enqueue_push(self, connection_id: int, uid: str, href: str, op: str) -> None:
        """Queue one outbox row for ``uid`` (the pull found a local change Google lacks)."""

        def tx(conn: Connection) -> None:
            row = conn.execute(select(s.connections.c.collection_id, s.collections.c.revision)
                               .join(s.collections,
                                     s.collections.c.id == s.connections.c.collection_id)
                               .where(s.connections.c.id == connection_id)).one()
            now = self.clock()
            conn.execute(insert(s.outbox).values(
                connection_id=connection_id, collection_id=row.collection_id, uid=uid,
                href=href, op=op, revision=row.revision, state="pending", attempts=0,
                next_attempt_at=now, created_at=now))
            touched = _TOUCHED.get()
            if touched is not None:
                touched[0] = True

        self._write(tx)

    def uids_of_collection(self, collection_id: int) -> dict[str, tuple[str, str]]:
        """``uid -> (href, etag)`` of every item of a collection (cheap columns only)."""
        with self._read() as conn:
            rows = conn.execute(
                select(s.items.c.uid, s.items.c.href, s.items.c.etag)
                .where(s.items.c.collection_id == collection_id)
            ).all()
        return {r.uid: (r.href, r.etag) for r in rows}
