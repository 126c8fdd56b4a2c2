"""Shared plumbing of :class:`~bridge.store.SqlStore`: engine, clock, hooks, transactions.

A store call runs in one write transaction (:meth:`StoreBase._write`) or joins the one already
running in this context: :meth:`StoreBase.run_transaction` lets a caller (the sync engine's
page of Google changes) make several store calls one transaction, each nested write in a
SAVEPOINT.  After the outermost transaction commits, the commit listeners of the signals it
raised run (:mod:`bridge.store.hooks`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, select

from bridge.errors import NotFound
from bridge.model import Collection, ItemRecord
from bridge.store import schema as s
from bridge.store.engine import read_tx, retrying, write_tx
from bridge.store.hooks import CURRENT_TX, Hooks, WriteTx
from bridge.store.liveness import WorkerLiveness

__all__ = ["StoreBase", "clean_path"]

T = TypeVar("T")


def clean_path(path: str) -> str:
    """A collection path without leading or trailing slashes (``"alice/work"``)."""
    return path.strip("/")


class StoreBase:
    """Engine, clock, hooks, worker locks and transactions every store mixin uses."""

    def __init__(
        self, engine: Engine, *, clock: Callable[[], float] = time.time, history_days: int = 30
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.history_days = history_days
        self.hooks = Hooks()
        # Whose outbox and notification claims are alive (bridge.store.liveness).
        self.liveness = WorkerLiveness(engine)

    def close(self) -> None:
        """Drop this process's worker locks, then release every pooled connection."""
        self.liveness.release_all()
        self.engine.dispose()

    # -- transactions ------------------------------------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[Connection]:
        tx = CURRENT_TX.get()
        if tx is not None:
            yield tx.conn
            return
        with read_tx(self.engine) as conn:
            yield conn

    def _write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one write transaction, retried on lock/serialization failures.

        Inside a transaction of this context (``run_transaction``, a hook) ``fn`` joins it.
        """
        tx = CURRENT_TX.get()
        if tx is not None:
            # A SAVEPOINT keeps a failed nested write from poisoning the outer transaction
            # (PostgreSQL aborts it on any error otherwise).
            with tx.conn.begin_nested():
                return fn(tx.conn)
        return self._outermost(fn, importing=False)

    def _outermost(self, fn: Callable[[Connection], T], *, importing: bool) -> T:
        def attempt() -> tuple[T, WriteTx]:
            with write_tx(self.engine) as conn:
                tx = WriteTx(conn, importing=importing)
                token = CURRENT_TX.set(tx)
                try:
                    return fn(conn), tx
                finally:
                    CURRENT_TX.reset(token)

        result, tx = retrying(attempt)
        self.hooks.committed(tx.signals)
        return result

    def run_transaction(self, fn: Callable[[], T], *, importing: bool = False) -> T:
        """Run ``fn`` in one write transaction that every store call inside joins.

        ``importing`` marks the writes inside as an import (a first-connection page): item-write
        hooks read it from :attr:`WriteTx.importing`.
        """
        if CURRENT_TX.get() is not None:
            return fn()
        return self._outermost(lambda _conn: fn(), importing=importing)

    @staticmethod
    def _tx() -> WriteTx:
        """The write transaction running in this context (inside ``_write`` only)."""
        tx = CURRENT_TX.get()
        if tx is None:
            raise RuntimeError("no write transaction is running")
        return tx

    @staticmethod
    def _collection(row: Row[Any]) -> Collection:
        return Collection(
            id=row.id, path=row.path, owner=row.owner, tag=row.tag,
            props=json.loads(row.props), timezone=row.timezone, revision=row.revision,
            min_revision=row.min_revision, sync_epoch=row.sync_epoch,
            created_at=row.created_at, modified_at=row.modified_at,
        )

    @staticmethod
    def _item(path: str, row: Row[Any]) -> ItemRecord:
        return ItemRecord(
            collection_path=path, href=row.href, uid=row.uid, component=row.component,
            text=row.text, etag=row.etag, start_ts=row.start_ts, end_ts=row.end_ts,
            recurring=bool(row.recurring), content_hash=row.content_hash, summary=row.summary,
            status=row.status, customer_name=row.customer_name,
            customer_email=row.customer_email, customer_phone=row.customer_phone,
            service=row.service, origin=row.origin, created_at=row.created_at,
            modified_at=row.modified_at,
        )

    def _collection_row(self, conn: Connection, path: str) -> Row[Any]:
        row = conn.execute(
            select(s.collections).where(s.collections.c.path == clean_path(path))
        ).first()
        if row is None:
            raise NotFound(f"collection /{clean_path(path)}/")
        return row
