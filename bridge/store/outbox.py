"""Outbox claims for the push workers: claim, finish, retry, park, requeue.

A worker claims the pending rows of up to ``limit`` UIDs.  On PostgreSQL the claim locks the
connection rows and the outbox rows ``FOR UPDATE SKIP LOCKED``, so several processes share the
work without waiting on each other; on SQLite the write lock (``BEGIN IMMEDIATE``) serialises
claimers.  A claim has no time limit: it stays with its worker while that worker lives, and is
free at the next claim once the worker is dead (:mod:`bridge.store.liveness`), so a UID is never
pushed by two workers, however slow a push is.  Finishing a claim marks every older pending row
of that UID done (the push sent the current state).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from bridge.store import schema as s
from bridge.store.base import StoreBase
from bridge.store.engine import is_postgres
from bridge.store.sync_records import (
    OutboxClaim,
    OutboxStats,
    connection_from_row,
    connection_query,
)

__all__ = ["OutboxMixin"]

_LOGGER = logging.getLogger(__name__)


class OutboxMixin(StoreBase):
    """The push side of the outbox."""

    # -- outbox ------------------------------------------------------------------------------
    def _claimable_connections(self, conn: Connection, only: Iterable[int] | None) -> list[int]:
        query = connection_query().where(
            s.connections.c.active.is_(True), s.connections.c.status == "ok",
            s.connections.c.paused_reason.is_(None),
        )
        wanted = set(only) if only is not None else None
        ids = []
        for row in conn.execute(query).all():
            record = connection_from_row(row, row.path)
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
        connection_ids: Iterable[int] | None = None,
        in_flight: Collection[int] = (),
        restores: bool | None = None,
    ) -> list[OutboxClaim]:
        """Claim pending rows of up to ``limit`` UIDs that no live worker holds.

        Rows claimed by a dead worker are taken over.  Rows claimed by ``worker`` itself are
        taken again unless their id is in ``in_flight`` (the rows it is pushing right now): a
        claim it lost track of (an error between claim and finish) is not stuck.
        ``restores``: only ``restore`` rows (True; the background restore job), none of them
        (False; the ordinary push loop), or any (None).
        """
        self.liveness.hold(worker)
        pushing = set(in_flight)

        def tx(conn: Connection) -> list[OutboxClaim]:
            now = self.clock()
            cids = self._claimable_connections(conn, connection_ids)
            if not cids:
                return []
            o = s.outbox.c
            owners = conn.execute(
                select(o.claimed_by).distinct().where(
                    o.connection_id.in_(cids), o.state == "pending", o.claimed_by.is_not(None))
            ).scalars().all()
            dead = [w for w in owners if w != worker and self.liveness.is_dead(conn, w)]
            if dead:
                _LOGGER.info("Taking over the outbox claims of stopped workers %s", dead)
            free = (o.claimed_by.is_(None) | o.claimed_by.in_(dead)
                    | ((o.claimed_by == worker) & o.id.not_in(pushing)))
            query = (
                select(s.outbox)
                .where(o.connection_id.in_(cids), o.state == "pending",
                       o.next_attempt_at <= now, free)
                .order_by(o.id)
                .limit(limit * 4)
            )
            if restores is not None:
                query = query.where((o.op == "restore") if restores else (o.op != "restore"))
            if is_postgres(self.engine):
                query = query.with_for_update(skip_locked=True)
            rows = conn.execute(query).all()
            if not rows:
                return []
            busy = {
                (r.connection_id, r.uid)
                for r in conn.execute(
                    select(o.connection_id, o.uid).where(
                        o.connection_id.in_(cids), o.state == "pending",
                        o.claimed_by.is_not(None), ~free)
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
                    .values(claimed_by=worker, claimed_until=None, attempts=o.attempts + 1)
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
