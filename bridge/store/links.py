"""Links (appointment ↔ Google event, both sides' etag and hash) and the sync ledger."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from bridge.errors import NotFound
from bridge.store import schema as s
from bridge.store.base import StoreBase
from bridge.store.sync_records import (
    LedgerEntry,
    LedgerRecord,
    LinkRecord,
    dump_extra,
    dump_ids,
    load_extra,
    load_ids,
)

__all__ = ["LinksLedgerMixin"]

_LOGGER = logging.getLogger(__name__)


class LinksLedgerMixin(StoreBase):
    """Link rows and ledger rows of the sync engine."""

    # -- links -------------------------------------------------------------------------------
    @staticmethod
    def _link(row: Row[Any]) -> LinkRecord:
        return LinkRecord(
            connection_id=row.connection_id, uid=row.uid, remote_id=row.remote_id,
            remote_etag=row.remote_etag, local_etag=row.local_etag, hash_local=row.hash_local,
            hash_remote=row.hash_remote, remote_updated=row.remote_updated,
            updated_at=row.updated_at, remote_held=load_ids(row.remote_held),
            remote_extra=load_extra(row.remote_extra),
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
                        query.where(s.links.c.remote_id.in_(wanted[i : i + 500]))
                    ).all()
        for row in rows:
            found[row.remote_id] = self._link(row)
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
        remote_id: str,
        *,
        remote_etag: str | None,
        local_etag: str | None,
        hash_local: str | None,
        hash_remote: str | None,
        remote_updated: str | None,
        remote_held: Iterable[str] | None = None,
        remote_extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Create or replace the link of ``uid`` (and drop a stale link of the same event).

        ``remote_held``: instance ids of the confirmed exceptions Google holds for the
        series (``None``: not known); ``remote_extra``: what only Google holds of it
        (``mapping_extra.series_extra``; ``None``: not known).
        """
        values = {"remote_id": remote_id, "remote_etag": remote_etag,
                  "local_etag": local_etag, "hash_local": hash_local, "hash_remote": hash_remote,
                  "remote_updated": remote_updated,
                  "remote_held": dump_ids(remote_held),
                  "remote_extra": dump_extra(remote_extra)}

        def tx(conn: Connection) -> None:
            now = self.clock()
            conn.execute(delete(s.links).where(
                s.links.c.connection_id == connection_id,
                s.links.c.remote_id == remote_id, s.links.c.uid != uid))
            # One upsert: a pull of another process may link the same UID between an update
            # and an insert (seen as a failed push whose ledger row was lost).
            stmt: Any = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(
                s.links)
            conn.execute(stmt.values(connection_id=connection_id, uid=uid, updated_at=now,
                                     **values).on_conflict_do_update(
                index_elements=["connection_id", "uid"], set_={**values, "updated_at": now}))

        self._write(tx)

    def put_links(self, connection_id: int, links: Sequence[LinkRecord]) -> None:
        """Create or replace many links at once (bulk import)."""
        if not links:
            return

        def tx(conn: Connection) -> None:
            now = self.clock()
            uids = [lk.uid for lk in links]
            events = [lk.remote_id for lk in links]
            for i in range(0, len(uids), 500):
                conn.execute(delete(s.links).where(s.links.c.connection_id == connection_id,
                                                   s.links.c.uid.in_(uids[i : i + 500])))
                conn.execute(delete(s.links).where(
                    s.links.c.connection_id == connection_id,
                    s.links.c.remote_id.in_(events[i : i + 500])))
            conn.execute(insert(s.links), [
                {"connection_id": connection_id, "uid": lk.uid,
                 "remote_id": lk.remote_id, "remote_etag": lk.remote_etag,
                 "local_etag": lk.local_etag, "hash_local": lk.hash_local,
                 "hash_remote": lk.hash_remote, "remote_updated": lk.remote_updated,
                 "remote_held": dump_ids(lk.remote_held),
                 "remote_extra": dump_extra(lk.remote_extra), "updated_at": now}
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
            conn.execute(insert(s.ledger), [_ledger_values(e, now) for e in batch])
            return len(batch)

        return self._write(tx)

    def record_conflict(self, entry: LedgerEntry) -> int:
        """Record a conflict decision, keeping one open conflict row per appointment.

        The same decision seen again (another trigger, or a replan, met the same two
        versions: equal ``detail["winner"]`` and ``detail["version"]``) adds nothing; a
        different one marks the open row ``superseded`` (its losing version stays in the
        ledger) and becomes the open row, naming the rows it ``supersedes``.  A unique partial
        index backs this across processes.  Returns the id of the open row.
        """
        lg = s.ledger.c
        wanted = _conflict_key(entry.detail)

        def tx(conn: Connection) -> int:
            if conn.dialect.name == "postgresql":
                # Writers of one appointment's conflict queue up here (READ COMMITTED: the
                # next one then sees the row the first committed); other appointments don't.
                conn.execute(text("SELECT pg_advisory_xact_lock(:c, hashtext(:u))"),
                             {"c": entry.connection_id or 0, "u": entry.uid})
            for _ in range(5):
                rows = conn.execute(
                    select(lg.id, lg.detail).where(
                        lg.connection_id == entry.connection_id, lg.uid == entry.uid,
                        lg.action == "conflict", lg.outcome == "open")
                    .order_by(lg.id.desc())).all()
                for row in rows:
                    if wanted is not None and _conflict_key(_json(row.detail)) == wanted:
                        return int(row.id)
                detail = dict(entry.detail or {})
                if rows:
                    detail["supersedes"] = [int(r.id) for r in rows]
                    conn.execute(update(s.ledger).where(lg.id.in_(detail["supersedes"]))
                                 .values(outcome="superseded"))
                try:
                    with conn.begin_nested():
                        return int(conn.execute(
                            insert(s.ledger).values(**_ledger_values(
                                replace(entry, outcome="open", detail=detail), self.clock()))
                            .returning(lg.id)).scalar_one())
                except IntegrityError:
                    continue  # recorded meanwhile (unique index): look again
            raise RuntimeError(f"conflict on {entry.uid} could not be recorded")

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
            remote_id=r.remote_id, outcome=r.outcome, error=r.error,
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


def _ledger_values(e: LedgerEntry, now: float) -> dict[str, Any]:
    return {"at": now, "connection_id": e.connection_id, "collection_id": e.collection_id,
            "uid": e.uid, "direction": e.direction, "trigger": e.trigger,
            "action": e.action, "fields": ",".join(e.fields),
            "remote_id": e.remote_id, "outcome": e.outcome,
            "error": e.error[:2000] if e.error else None,
            "detail": json.dumps(dict(e.detail), default=str) if e.detail else None}


def _json(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _conflict_key(detail: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """Which decision a conflict row records: the winner and the losing version."""
    if not detail or not detail.get("version"):
        return None
    return str(detail.get("winner")), str(detail["version"])
