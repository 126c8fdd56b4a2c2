"""The delivery side of the notification outbox: claim due rows, finish them, list them.

Workers claim due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the database write lock on
SQLite), mark them ``sending`` and record ``sent``, a retry, ``failed`` or ``skipped``.  A claim
belongs to its worker for as long as the worker lives (its liveness lock,
:mod:`bridge.store.liveness`, as for outbox claims): a slow live worker never loses a row to
another one, and a killed worker's rows are taken over at the next claim instead of after a
time lease.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, func, select, update

from bridge.store import schema as s
from bridge.store.base import StoreBase

__all__ = ["Notification", "NotificationDeliveryMixin", "notification_from_row"]


@dataclass(frozen=True)
class Notification:
    """One outbox row: a message for one channel, due at ``due_at``."""

    id: int
    collection_id: int
    uid: str
    kind: str
    channel: str
    recipient: str
    language: str
    payload: dict[str, Any]
    origin: str
    due_at: float
    offset_seconds: int | None
    state: str
    attempts: int
    last_error: str | None
    sent_at: float | None
    created_at: float
    claimed_by: str | None = field(default=None)


def notification_from_row(row: Any) -> Notification:
    """A :class:`Notification` from a ``notifications`` row."""
    return Notification(
        id=row.id, collection_id=row.collection_id, uid=row.uid, kind=row.kind,
        channel=row.channel, recipient=row.recipient, language=row.language,
        payload=json.loads(row.payload), origin=row.origin, due_at=row.due_at,
        offset_seconds=row.offset_seconds, state=row.state, attempts=row.attempts,
        last_error=row.last_error, sent_at=row.sent_at, created_at=row.created_at,
        claimed_by=row.claimed_by,
    )


class NotificationDeliveryMixin(StoreBase):
    """Claiming, finishing and listing notification rows (used by the workers and the API)."""

    def claim_notifications(self, worker: str, *, limit: int = 20) -> list[Notification]:
        """Claim due rows for ``worker``: pending ones, and ``sending`` ones whose worker is dead
        or is ``worker`` itself (it claims only when its previous batch is finished, so such a
        row is one it lost track of)."""
        self.liveness.hold(worker)
        now = self.clock()

        def tx(conn: Connection) -> list[Notification]:
            n = s.notifications.c
            owners = conn.execute(
                select(n.claimed_by).distinct()
                .where(n.state == "sending", n.claimed_by.is_not(None))
            ).scalars().all()
            free = [w for w in owners if w == worker or self.liveness.is_dead(conn, w)]
            ids = [r.id for r in conn.execute(
                select(n.id)
                .where(((n.state == "pending") & (n.next_attempt_at <= now))
                       | ((n.state == "sending") & n.claimed_by.in_(free)))
                .order_by(n.next_attempt_at, n.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()]
            if not ids:
                return []
            conn.execute(
                update(s.notifications).where(n.id.in_(ids))
                .values(state="sending", claimed_by=worker, claimed_until=None,
                        attempts=n.attempts + 1)
            )
            rows = conn.execute(select(s.notifications).where(n.id.in_(ids))
                                .order_by(n.next_attempt_at, n.id)).all()
            return [notification_from_row(r) for r in rows]

        return self._write(tx)

    def finish_notification(
        self,
        notification_id: int,
        worker: str,
        state: Literal["sent", "failed", "skipped", "pending"],
        *,
        error: str | None = None,
        retry_at: float | None = None,
    ) -> bool:
        """Record a claimed row's outcome; False when the claim was lost to another worker."""
        now = self.clock()

        def tx(conn: Connection) -> bool:
            n = s.notifications.c
            values: dict[str, Any] = {"state": state, "last_error": error, "claimed_by": None,
                                      "claimed_until": None}
            if state == "sent":
                values["sent_at"] = now
            if state == "pending":
                values["next_attempt_at"] = retry_at if retry_at is not None else now
            result = conn.execute(
                update(s.notifications)
                .where(n.id == notification_id, n.state == "sending", n.claimed_by == worker)
                .values(values)
            )
            return bool(result.rowcount)

        return self._write(tx)

    def list_notifications(
        self,
        *,
        collection_id: int | None = None,
        uid: str | None = None,
        state: str | None = None,
        limit: int = 200,
    ) -> list[Notification]:
        """Outbox rows, newest first, optionally filtered."""
        n = s.notifications.c
        query = select(s.notifications).order_by(n.id.desc()).limit(limit)
        if collection_id is not None:
            query = query.where(n.collection_id == collection_id)
        if uid is not None:
            query = query.where(n.uid == uid)
        if state is not None:
            query = query.where(n.state == state)
        with self._read() as conn:
            return [notification_from_row(r) for r in conn.execute(query).all()]

    def notification_counts(self) -> dict[str, int]:
        """How many rows are in each state."""

        with self._read() as conn:
            rows = conn.execute(
                select(s.notifications.c.state, func.count()).group_by(s.notifications.c.state)
            ).all()
        return {str(r[0]): int(r[1]) for r in rows}
