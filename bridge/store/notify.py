"""The notification tables: outbox rows, reminder series, and what a planner reads beside them.

This module only persists; who gets which confirmation, cancellation or reminder is decided in
:mod:`bridge.notify` (its item-write hook, :mod:`bridge.notify.hooks`, is registered on the
store and writes through :class:`NotificationRows` inside the item's own transaction, so the
rows commit or roll back with it).

Reminders of recurring appointments are planned over a rolling horizon: ``reminder_series``
records how far each series is planned, :meth:`NotificationsMixin.top_up_reminder_series`
hands the series that lag behind to a planner, one locked batch at a time.  A partial unique
index (appointment, occurrence, offset, channel among rows not cancelled) makes planning
idempotent.  A transaction that queued a row due now raises ``Signal.NOTIFICATION_DUE`` for the
store's commit listeners and, on PostgreSQL, sends ``NOTIFY termin_bridge_notify``.

Delivery (claiming, finishing, listing rows) is in :mod:`bridge.store.notify_delivery`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bridge.errors import NotFound
from bridge.model import ItemRecord
from bridge.store import schema as s
from bridge.store.base import StoreBase
from bridge.store.engine import is_postgres
from bridge.store.hooks import Signal, WriteTx
from bridge.store.notify_delivery import Notification, NotificationDeliveryMixin

__all__ = [
    "NOTIFY_CHANNEL",
    "NOTIFY_LANGUAGE_PROP",
    "NOTIFY_SWITCH_PROP",
    "CalendarInfo",
    "Notification",
    "NotificationRows",
    "NotificationsMixin",
    "ReminderSeries",
]

_LOGGER = logging.getLogger(__name__)

# Calendar properties (collections.props) a calendar's notifications are switched by.
NOTIFY_SWITCH_PROP = "TB:notifications"
NOTIFY_LANGUAGE_PROP = "TB:notify-language"
# PostgreSQL channel notified by every transaction that queued a notification due now.
NOTIFY_CHANNEL = "termin_bridge_notify"


@dataclass(frozen=True)
class CalendarInfo:
    """What a notification planner reads of a calendar."""

    id: int
    path: str
    timezone: str
    props: dict[str, str]


@dataclass(frozen=True)
class ReminderSeries:
    """A recurring appointment whose reminders are planned up to ``planned_until``."""

    collection_id: int
    uid: str
    planned_until: float


class NotificationRows:
    """The notification tables on one open transaction (given to hooks and planners).

    ``tx`` is the write transaction (``None`` for reads only): a row due now raises its
    ``NOTIFICATION_DUE`` signal.
    """

    def __init__(
        self, conn: Connection, tx: WriteTx | None, *, clock: Callable[[], float], postgres: bool
    ) -> None:
        self.conn = conn
        self.tx = tx
        self.clock = clock
        self.postgres = postgres

    # -- reads -------------------------------------------------------------------------------
    def calendar(self, collection_id: int) -> CalendarInfo:
        """The calendar with id ``collection_id``."""
        found = self._calendar(s.collections.c.id == collection_id)
        if found is None:
            raise NotFound(f"collection {collection_id}")
        return found

    def calendar_by_path(self, path: str) -> CalendarInfo | None:
        """The calendar at ``path``, or ``None``."""
        return self._calendar(s.collections.c.path == path.strip("/"))

    def _calendar(self, where: Any) -> CalendarInfo | None:
        c = s.collections.c
        row = self.conn.execute(select(c.id, c.path, c.timezone, c.props).where(where)).first()
        if row is None:
            return None
        return CalendarInfo(row.id, row.path, row.timezone, json.loads(row.props or "{}"))

    def item_by_uid(self, calendar: CalendarInfo, uid: str) -> ItemRecord | None:
        """The item of ``calendar`` with ``uid``, or ``None``."""
        row = self.conn.execute(
            select(s.items).where(s.items.c.collection_id == calendar.id, s.items.c.uid == uid)
        ).first()
        return StoreBase._item(calendar.path, row) if row is not None else None

    def owner_addresses(self, path: str) -> set[str]:
        """The Google account and calendar id of the calendar's connection, lower-cased."""
        found: set[str] = set()
        for row in self.conn.execute(
            select(s.connections.c.account_email, s.connections.c.remote_calendar_id)
            .join(s.collections, s.collections.c.id == s.connections.c.collection_id)
            .where(s.collections.c.path == path)
        ).all():
            found.update({str(row.account_email).lower(), str(row.remote_calendar_id).lower()})
        return found

    def connection_state(self, connection_id: int) -> tuple[str, str] | None:
        """``(status, import_state)`` of a Google connection, or ``None``."""
        row = self.conn.execute(
            select(s.connections.c.status, s.connections.c.import_state)
            .where(s.connections.c.id == connection_id)
        ).first()
        if row is None:
            return None
        return row.status or "", row.import_state or "{}"

    # -- writes ------------------------------------------------------------------------------
    def enqueue(
        self, collection_id: int, origin: str, kind: str, recipients: Sequence[tuple[str, str]],
        payload: dict[str, Any], language: str, *, due: float, offset: int | None = None,
        occurrence: int | None = None,
    ) -> int:
        """One pending row per ``(channel, recipient)``; returns how many were written.

        A reminder (``occurrence`` given) already planned for that occurrence, offset and
        channel stays as it is.
        """
        now = self.clock()
        rows = [{
            "collection_id": collection_id, "uid": payload["uid"], "kind": kind,
            "channel": channel, "recipient": recipient, "language": language,
            "payload": json.dumps(payload, sort_keys=True), "origin": origin, "due_at": due,
            "offset_seconds": offset, "occurrence_ts": occurrence, "state": "pending",
            "attempts": 0, "next_attempt_at": due, "created_at": now,
        } for channel, recipient in recipients]
        if not rows:
            return 0
        if occurrence is not None:
            stmt: Any = (pg_insert if self.postgres else sqlite_insert)(s.notifications)
            self.conn.execute(stmt.on_conflict_do_nothing(), rows)
        else:
            self.conn.execute(insert(s.notifications), rows)
        _LOGGER.debug("queued %s for %s (%d channel(s))", kind, payload["uid"], len(rows))
        if due <= now:
            if self.tx is not None:
                self.tx.signal(Signal.NOTIFICATION_DUE)
            if self.postgres:  # wakes the workers of other processes once this commits
                self.conn.execute(text("SELECT pg_notify(:c, '')"), {"c": NOTIFY_CHANNEL})
        return len(rows)

    def cancel_reminders(self, collection_id: int, uid: str) -> int:
        """Cancel the pending reminders of an appointment; returns how many."""
        n = s.notifications.c
        return int(self.conn.execute(
            update(s.notifications)
            .where(n.collection_id == collection_id, n.uid == uid, n.kind == "reminder",
                   n.state == "pending")
            .values(state="cancelled")
        ).rowcount)

    def mark_series(self, collection_id: int, uid: str, until: float) -> None:
        """Record a recurring appointment as planned up to ``until``."""
        r = s.reminder_series.c
        done = self.conn.execute(
            update(s.reminder_series).where(r.collection_id == collection_id, r.uid == uid)
            .values(planned_until=until, updated_at=self.clock())
        ).rowcount
        if not done:
            self.conn.execute(insert(s.reminder_series).values(
                collection_id=collection_id, uid=uid, planned_until=until,
                updated_at=self.clock()))

    def drop_series(self, collection_id: int, uid: str) -> bool:
        """Forget a series' planning state; True when there was one."""
        r = s.reminder_series.c
        return bool(self.conn.execute(
            delete(s.reminder_series).where(r.collection_id == collection_id, r.uid == uid)
        ).rowcount)


class NotificationsMixin(NotificationDeliveryMixin, StoreBase):
    """The notification tables for planners: in a hook's transaction, top-up and reads."""

    def notification_rows(self, tx: WriteTx) -> NotificationRows:
        """The notification tables inside ``tx`` (for item-write hooks)."""
        return NotificationRows(tx.conn, tx, clock=self.clock, postgres=is_postgres(self.engine))

    @contextmanager
    def notification_reads(self) -> Iterator[NotificationRows]:
        """The notification tables in one read transaction (use only the reads)."""
        with self._read() as conn:
            yield NotificationRows(conn, None, clock=self.clock,
                                   postgres=is_postgres(self.engine))

    def top_up_reminder_series(
        self, until: float, plan: Callable[[NotificationRows, ReminderSeries], None], *,
        batch: int = 50,
    ) -> int:
        """Call ``plan`` for every series planned to before ``until``; returns how many.

        Batches of ``batch`` series run in one transaction each, the series locked while
        ``plan`` runs (``FOR UPDATE SKIP LOCKED``; SQLite: the write lock), so two workers never
        plan the same series at once.  ``plan`` must move ``planned_until`` to ``until`` (or
        drop the series), or it comes back.
        """
        r = s.reminder_series.c

        def tx(conn: Connection) -> int:
            rows = conn.execute(
                select(s.reminder_series).where(r.planned_until < until)
                .order_by(r.planned_until, r.id).limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            table = self.notification_rows(self._tx())
            for row in rows:
                plan(table, ReminderSeries(row.collection_id, row.uid, float(row.planned_until)))
            return len(rows)

        total = 0
        while True:
            handled = self._write(tx)
            total += handled
            if handled < batch:
                return total
