"""The safety valve's window: deletions from Google held back per connection (see docs/sync.md).

A row per appointment whose Google event was deleted while the valve's sliding window was open:
when the deletion arrived (``seen_at``, store clock) and the link's Google etag then.  The rows
are the window's state, so it survives restarts and is shared by every sidecar on the database;
the sync engine decides with :func:`bridge.sync.plan.valve_check` and applies, drops or restores
the rows inside its pull transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select

from bridge.store import schema as s
from bridge.store.base import StoreBase

__all__ = ["HeldDeletion", "ValveMixin"]


@dataclass(frozen=True)
class HeldDeletion:
    """One deletion from Google the valve holds (not applied here yet)."""

    uid: str
    remote_id: str
    remote_etag: str | None
    seen_at: float


class ValveMixin(StoreBase):
    """Held deletions of the safety valve's sliding window."""

    def held_deletions(self, connection_id: int) -> dict[str, HeldDeletion]:
        """Every held deletion of a connection, keyed by UID."""
        h = s.held_deletions.c
        with self._read() as conn:
            rows = conn.execute(select(s.held_deletions)
                                .where(h.connection_id == connection_id)).all()
        return {r.uid: HeldDeletion(r.uid, r.remote_id, r.remote_etag, r.seen_at)
                for r in rows}

    def hold_deletions(self, connection_id: int, held: Iterable[HeldDeletion]) -> None:
        """Record deletions as held (UIDs already held keep their first ``seen_at``)."""
        rows = [{"connection_id": connection_id, "uid": d.uid,
                 "remote_id": d.remote_id, "remote_etag": d.remote_etag,
                 "seen_at": d.seen_at} for d in held]
        if not rows:
            return

        def tx(conn: Connection) -> None:
            h = s.held_deletions.c
            known = {r.uid for r in conn.execute(
                select(h.uid).where(h.connection_id == connection_id,
                                    h.uid.in_([r["uid"] for r in rows]))).all()}
            fresh = [r for r in rows if r["uid"] not in known]
            if fresh:
                conn.execute(insert(s.held_deletions), fresh)

        self._write(tx)

    def drop_held(self, connection_id: int, uids: Iterable[str]) -> int:
        """Forget held deletions (applied, restored, or the event came back)."""
        wanted = list(dict.fromkeys(uids))
        if not wanted:
            return 0

        def tx(conn: Connection) -> int:
            h = s.held_deletions.c
            count = 0
            for i in range(0, len(wanted), 500):
                count += int(conn.execute(delete(s.held_deletions).where(
                    h.connection_id == connection_id,
                    h.uid.in_(wanted[i:i + 500]))).rowcount)
            return count

        return self._write(tx)

    def held_due(self, seen_before: float) -> list[int]:
        """Connections holding a deletion that arrived before ``seen_before`` (window passed)."""
        h = s.held_deletions.c
        with self._read() as conn:
            rows = conn.execute(select(h.connection_id).where(h.seen_at <= seen_before)
                                .group_by(h.connection_id)).all()
        return [int(r[0]) for r in rows]

    def held_count(self, connection_id: int) -> int:
        """How many deletions a connection holds."""
        h = s.held_deletions.c
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(s.held_deletions)
                                    .where(h.connection_id == connection_id)).scalar_one())

    def restore_counts(self, connection_id: int, since: float = 0.0) -> dict[str, int]:
        """``restore`` outbox rows of a connection created since ``since``, by state."""
        o = s.outbox.c
        with self._read() as conn:
            rows = conn.execute(
                select(o.state, func.count()).where(o.connection_id == connection_id,
                                                    o.op == "restore", o.created_at >= since)
                .group_by(o.state)).all()
        return {str(r[0]): int(r[1]) for r in rows}
