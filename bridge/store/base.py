"""Shared plumbing of :class:`~bridge.store.SqlStore`: engine, clock, row conversion."""

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

__all__ = ["StoreBase", "clean_path"]

T = TypeVar("T")


def clean_path(path: str) -> str:
    """A collection path without leading or trailing slashes (``"alice/work"``)."""
    return path.strip("/")


class StoreBase:
    """Engine, clock and helpers every store mixin uses."""

    def __init__(
        self, engine: Engine, *, clock: Callable[[], float] = time.time, history_days: int = 30
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.history_days = history_days

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with read_tx(self.engine) as conn:
            yield conn

    def _write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one write transaction, retried on lock/serialization failures."""

        def attempt() -> T:
            with write_tx(self.engine) as conn:
                return fn(conn)

        return retrying(attempt)

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
