"""The store side of Google sync: connections, leases, sync state and shared transactions.

* **Connections** (one per calendar): account, Google calendar id, encrypted refresh token (the
  caller seals it, see :mod:`bridge.google.crypto`), status, sync token and a JSON ``state``
  (import progress, pull lease, safety-valve confirmation) kept in ``import_state``.
* **Outbox claims** (:mod:`bridge.store.outbox`) and **links and ledger**
  (:mod:`bridge.store.links`) are mixed in; their records live in :mod:`bridge.store.sync_records`.
* **Shared transactions**: ``run_transaction`` (:mod:`bridge.store.base`) lets a page of Google
  changes go through the ordinary item write path (change log, outbox fan-out, hooks) and commit
  with the new sync token.
* **Wake-ups**: a commit that created outbox rows raises ``Signal.OUTBOX_QUEUED`` for the
  listeners of ``store.hooks``; on PostgreSQL it also sends ``NOTIFY termin_bridge_outbox`` for
  other processes (:data:`NOTIFY_CHANNEL`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, insert, select, update

from bridge.errors import AlreadyExists, NotFound
from bridge.model import ItemRecord
from bridge.store import schema as s
from bridge.store.base import StoreBase, clean_path
from bridge.store.engine import is_postgres
from bridge.store.hooks import Signal
from bridge.store.items import OUTBOX_CHANNEL
from bridge.store.links import LinksLedgerMixin
from bridge.store.outbox import OutboxMixin
from bridge.store.sync_records import (
    ConnectionRecord,
    LedgerEntry,
    LedgerRecord,
    LinkRecord,
    OutboxClaim,
    OutboxStats,
    connection_from_row,
    connection_query,
)

__all__ = [
    "NOTIFY_CHANNEL",
    "ConnectionRecord",
    "LedgerEntry",
    "LedgerRecord",
    "LinkRecord",
    "OutboxClaim",
    "OutboxStats",
    "SyncMixin",
]

# PostgreSQL channel notified by every transaction that queued outbox rows.
NOTIFY_CHANNEL = OUTBOX_CHANNEL

_CONN_FIELDS = frozenset({
    "account_email", "remote_calendar_id", "remote_calendar_name", "scopes", "status", "active",
    "sync_token", "sync_state_version", "channel_id", "channel_resource_id", "channel_token",
    "channel_expiry", "poll_interval", "paused_reason", "last_error", "last_pull_at",
    "last_push_at", "provider",
})


class SyncMixin(OutboxMixin, LinksLedgerMixin, StoreBase):
    """Connections, outbox claims, links, ledger and sync state for the sync engine."""

    # -- connections -------------------------------------------------------------------------
    def create_connection(
        self,
        collection_path: str,
        *,
        account_email: str = "",
        remote_calendar_id: str = "",
        remote_calendar_name: str = "",
        scopes: str = "",
        seal_token: Callable[[int], bytes] | None = None,
        provider: str = "google",
    ) -> ConnectionRecord:
        """Create the (inactive) connection of a calendar to ``provider``; ``seal_token(id)``
        encrypts the token."""
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
                        remote_calendar_id=remote_calendar_id,
                        remote_calendar_name=remote_calendar_name, scopes=scopes,
                        provider=provider, status="ok", active=False, sync_state_version=0,
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
            connection_query().where(s.connections.c.id == connection_id)
        ).first()
        if row is None:
            raise NotFound(f"Google connection {connection_id}")
        return connection_from_row(row, row.path)

    def get_connection(self, connection_id: int) -> ConnectionRecord:
        """One connection; raises ``NotFound``."""
        with self._read() as conn:
            return self._get_connection(conn, connection_id)

    def connection_for_collection(self, collection_path: str) -> ConnectionRecord | None:
        """The connection of a calendar, or ``None``."""
        with self._read() as conn:
            row = conn.execute(
                connection_query().where(s.collections.c.path == clean_path(collection_path))
            ).first()
        return connection_from_row(row, row.path) if row is not None else None

    def connection_by_channel(self, channel_id: str) -> ConnectionRecord | None:
        """The connection whose push channel is ``channel_id``, or ``None``."""
        return self._connection_where(s.connections.c.channel_id == channel_id)

    def connection_by_channel_resource(self, resource_id: str) -> ConnectionRecord | None:
        """The connection whose channel resource (Graph: subscription id) is ``resource_id``."""
        return self._connection_where(s.connections.c.channel_resource_id == resource_id)

    def _connection_where(self, clause: ColumnElement[bool]) -> ConnectionRecord | None:
        with self._read() as conn:
            row = conn.execute(connection_query().where(clause)).first()
        return connection_from_row(row, row.path) if row is not None else None

    def list_connections(self, *, active_only: bool = False) -> list[ConnectionRecord]:
        """Every connection, by id."""
        query = connection_query().order_by(s.connections.c.id)
        if active_only:
            query = query.where(s.connections.c.active.is_(True))
        with self._read() as conn:
            return [connection_from_row(r, r.path) for r in conn.execute(query).all()]

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
            self._tx().signal(Signal.OUTBOX_QUEUED)

        self._write(tx)

    def drop_queued_pushes(self, connection_id: int, uids: Sequence[str]) -> int:
        """Drop the pending, unclaimed pushes of ``uids`` (the import found them equal on
        Google, so pushing their current state would write nothing); returns how many."""
        if not uids:
            return 0
        o = s.outbox.c

        def tx(conn: Connection) -> int:
            now = self.clock()
            dropped = 0
            for start in range(0, len(uids), 500):
                dropped += conn.execute(delete(s.outbox).where(
                    o.connection_id == connection_id, o.uid.in_(uids[start:start + 500]),
                    o.state == "pending", o.op != "restore",
                    o.claimed_until.is_(None) | (o.claimed_until < now))).rowcount
            return dropped

        return self._write(tx)

    def uids_of_collection(self, collection_id: int) -> dict[str, tuple[str, str]]:
        """``uid -> (href, etag)`` of every item of a collection (cheap columns only)."""
        with self._read() as conn:
            rows = conn.execute(
                select(s.items.c.uid, s.items.c.href, s.items.c.etag)
                .where(s.items.c.collection_id == collection_id)
            ).all()
        return {r.uid: (r.href, r.etag) for r in rows}
