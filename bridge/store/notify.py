"""Customer notifications: an outbox written in the item write's own transaction.

:class:`NotificationsMixin` extends the store's ``_after_item_write`` hook.  When a person (the
booking API, a phone over CalDAV, or someone editing in Google outside an initial import or a
full resync) creates an appointment or changes its time or status, a confirmation or
cancellation row is written for every channel; reminder rows are written at the configured
offsets before the start and cancelled or moved with the appointment.  Bulk imports, sync
imports and echoes never notify (echoes produce no store write at all).

Workers claim due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the database write lock on
SQLite), mark them ``sending`` with a lease, and record ``sent``, a retry, ``failed`` or
``skipped``.  A row is only re-claimed after its lease ran out, so two workers or a restarted
worker never send the same row twice; only a crash between the send and its commit can repeat
a send, and every message carries a stable id for receivers to drop that duplicate.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from icalendar import Calendar
from sqlalchemy import Connection, insert, select, update

from bridge.config import Settings, parse_offsets
from bridge.store import schema as s
from bridge.store.base import StoreBase
from bridge.store.items import ItemsMixin, ItemWrite

__all__ = [
    "NOTIFY_LANGUAGE_PROP",
    "NOTIFY_SWITCH_PROP",
    "Notification",
    "NotificationsMixin",
    "NotifyPolicy",
    "connection_importing",
    "policy_from_settings",
]

_LOGGER = logging.getLogger(__name__)

NOTIFY_SWITCH_PROP = "TB:notifications"
NOTIFY_LANGUAGE_PROP = "TB:notify-language"
CHANNELS = ("email", "webhook")
Kind = Literal["confirmation", "cancellation", "reminder"]
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Import phases written by the sync engine while it must stay silent.
_QUIET_PHASES = frozenset({"importing", "resyncing", "running", "new"})


@dataclass(frozen=True)
class NotifyPolicy:
    """What the hook needs from the configuration (set by whoever has the settings)."""

    reminder_offsets: tuple[int, ...] = (24 * 3600,)
    language: str = "de"
    description_emails: bool = False
    enabled: bool = True


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


def _notification(row: Any) -> Notification:
    return Notification(
        id=row.id, collection_id=row.collection_id, uid=row.uid, kind=row.kind,
        channel=row.channel, recipient=row.recipient, language=row.language,
        payload=json.loads(row.payload), origin=row.origin, due_at=row.due_at,
        offset_seconds=row.offset_seconds, state=row.state, attempts=row.attempts,
        last_error=row.last_error, sent_at=row.sent_at, created_at=row.created_at,
        claimed_by=row.claimed_by,
    )


def connection_importing(status: str, import_state: str) -> bool:
    """True while a connection runs its initial import or a full resync (stay silent then).

    The sync engine (:mod:`bridge.sync.pull`, :mod:`bridge.sync.service`) keeps
    ``{"phase": "importing"|"resyncing"|"idle", "import": {"phase": "new"|"running"|"done"}}``
    in ``connections.import_state``; changes pulled before the first import finished, or during
    a relist after an expired sync token, are not edits by a person.
    """
    if status in ("importing", "resyncing"):
        return True
    try:
        state = json.loads(import_state or "{}")
    except ValueError:
        return False
    if not isinstance(state, dict):
        return False
    if str(state.get("phase", "")).lower() in _QUIET_PHASES:
        return True
    progress = state.get("import")
    if isinstance(progress, dict):
        return str(progress.get("phase", "done")).lower() != "done"
    return False


def _in_import_transaction() -> bool:
    """True inside a first-import page transaction of the sync engine (when it is installed)."""
    try:
        from bridge.store.sync import in_google_import
    except ImportError:
        return False
    return bool(in_google_import())


def _get(values: Any, name: str) -> Any:
    return values[name] if isinstance(values, dict) else getattr(values, name)


def _dt_value(prop: Any) -> date | datetime | None:
    value = getattr(prop, "dt", None)
    return value if isinstance(value, date) else None


def policy_from_settings(settings: Settings) -> NotifyPolicy:
    """The store-side notification policy from ``[notifications]``."""
    return NotifyPolicy(
        reminder_offsets=parse_offsets(str(settings.get("notifications", "reminder_offsets"))),
        language=str(settings.get("notifications", "language")),
        description_emails=bool(settings.get("notifications", "description_emails")),
        enabled=bool(settings.get("notifications", "enabled")),
    )


class NotificationsMixin(ItemsMixin, StoreBase):
    """Notification outbox rows and reminders, written with every item write."""

    notify_policy: NotifyPolicy = NotifyPolicy()

    def set_notify_policy(self, policy: NotifyPolicy) -> None:
        """Use ``policy`` for the notification rows of later writes in this process."""
        self.notify_policy = policy

    # -- the hook ----------------------------------------------------------------------------
    def _after_item_write(self, conn: Connection, write: ItemWrite) -> None:
        super()._after_item_write(conn, write)
        old, new = write.old, write.new
        current = new if new is not None else old
        if current is None or _get(current, "component") != "VEVENT":
            return
        now = self.clock()
        moved = old is not None and (
            new is None
            or old.start_ts != new["start_ts"] or old.end_ts != new["end_ts"]
            or old.status != new["status"] or old.uid != new["uid"]
            or old.customer_email != new["customer_email"]
        )
        had_reminders = False
        if moved:
            had_reminders = self._cancel_reminders(conn, write.collection_id, old.uid) > 0
        person = self._by_person(conn, write.origin)
        policy = self.notify_policy
        if (not person and not had_reminders) or not policy.enabled:
            return  # checked before the calendar query: bulk imports take this exit per item
        coll = conn.execute(
            select(s.collections.c.props, s.collections.c.timezone, s.collections.c.path)
            .where(s.collections.c.id == write.collection_id)
        ).one()
        props = json.loads(coll.props or "{}")
        if props.get(NOTIFY_SWITCH_PROP, "on") == "off":
            return
        language = props.get(NOTIFY_LANGUAGE_PROP) or policy.language
        kind = self._kind(old, new)
        target = new if new is not None else old
        payload, recipient = self._payload(conn, target, coll, props)
        payload["change"] = "created" if old is None else "deleted" if new is None else "updated"
        if not recipient and not payload["customer"]["phone"]:
            return  # no customer bound to this appointment: nobody to tell
        end_ts = int(_get(target, "end_ts"))
        if person and kind is not None and end_ts > now:
            self._enqueue(conn, write, kind, payload, recipient, language, due=now)
        if new is None or new["status"] == "CANCELLED" or new["recurring"]:
            return
        if old is None or moved:
            start = int(new["start_ts"])
            for offset in policy.reminder_offsets:
                due = start - offset
                if due > now:
                    self._enqueue(conn, write, "reminder", payload, recipient, language, due=due,
                                  offset=offset)

    @staticmethod
    def _kind(old: Any, new: dict[str, Any] | None) -> Kind | None:
        if new is None:
            return "cancellation" if old.status != "CANCELLED" else None
        if old is None:
            return None if new["status"] == "CANCELLED" else "confirmation"
        if new["status"] == "CANCELLED":
            return "cancellation" if old.status != "CANCELLED" else None
        if (old.start_ts != new["start_ts"] or old.end_ts != new["end_ts"]
                or old.status != new["status"]):
            return "confirmation"
        return None

    def _by_person(self, conn: Connection, origin: str) -> bool:
        """True for writes a person made (API, phone, Google outside import/resync)."""
        if origin in ("api", "caldav"):
            return True
        if not origin.startswith("google:"):
            return False  # "import" (bulk CLI) and anything unknown stay silent
        if _in_import_transaction():
            return False
        try:
            connection_id = int(origin.split(":", 1)[1])
        except ValueError:
            return False
        row = conn.execute(
            select(s.connections.c.status, s.connections.c.import_state)
            .where(s.connections.c.id == connection_id)
        ).first()
        if row is None:
            return False
        return not connection_importing(row.status or "", row.import_state or "{}")

    def _payload(
        self, conn: Connection, item: Any, coll: Any, props: dict[str, str]
    ) -> tuple[dict[str, Any], str]:
        """The appointment snapshot sent to templates and webhooks, and the e-mail recipient."""
        text = str(_get(item, "text"))
        cal: Any = None
        try:
            cal = Calendar.from_ical(text)
        except ValueError:
            cal = None
        master: Any = None
        if cal is not None:
            for comp in cal.walk("VEVENT"):
                if "RECURRENCE-ID" not in comp:
                    master = comp
                    break
        all_day = False
        location = ""
        if master is not None:
            start = _dt_value(master.get("DTSTART"))
            all_day = start is not None and not isinstance(start, datetime)
            location = str(master.get("LOCATION", "") or "")
        email = _get(item, "customer_email") or self._attendee_email(conn, master, coll)
        if not email and self.notify_policy.description_emails and master is not None:
            match = _EMAIL.search(str(master.get("DESCRIPTION", "") or ""))
            email = match.group(0) if match else None
        payload = {
            "uid": _get(item, "uid"),
            "summary": _get(item, "summary"),
            "start": datetime.fromtimestamp(int(_get(item, "start_ts")), UTC).isoformat(),
            "end": datetime.fromtimestamp(int(_get(item, "end_ts")), UTC).isoformat(),
            "all_day": all_day,
            "timezone": coll.timezone,
            "status": _get(item, "status"),
            "location": location,
            "service": _get(item, "service"),
            "calendar": {"path": coll.path,
                         "name": props.get("D:displayname") or coll.path.rsplit("/", 1)[-1]},
            "customer": {"name": _get(item, "customer_name"), "email": email or None,
                         "phone": _get(item, "customer_phone")},
        }
        return payload, email or ""

    @staticmethod
    def _attendee_email(conn: Connection, master: Any, coll: Any) -> str | None:
        """An attendee's address that is not the organizer's nor the calendar owner's."""
        if master is None:
            return None
        attendees = master.get("ATTENDEE")
        if attendees is None:
            return None
        if not isinstance(attendees, list):
            attendees = [attendees]
        organizer = str(master.get("ORGANIZER", "")).lower().removeprefix("mailto:")
        owners = {organizer}
        for row in conn.execute(
            select(s.connections.c.account_email, s.connections.c.google_calendar_id)
            .join(s.collections, s.collections.c.id == s.connections.c.collection_id)
            .where(s.collections.c.path == coll.path)
        ).all():
            owners.update({str(row.account_email).lower(), str(row.google_calendar_id).lower()})
        for attendee in attendees:
            address = str(attendee).strip()
            if address.lower().startswith("mailto:"):
                address = address[7:]
            if str(attendee.params.get("PARTSTAT", "")).upper() == "DECLINED":
                continue
            if _EMAIL.fullmatch(address) and address.lower() not in owners:
                return address
        return None

    def _enqueue(
        self, conn: Connection, write: ItemWrite, kind: Kind, payload: dict[str, Any],
        recipient: str, language: str, *, due: float, offset: int | None = None,
    ) -> None:
        now = self.clock()
        rows = []
        for channel in CHANNELS:
            if channel == "email" and not recipient:
                continue
            rows.append({
                "collection_id": write.collection_id, "uid": payload["uid"], "kind": kind,
                "channel": channel, "recipient": recipient if channel == "email" else "",
                "language": language, "payload": json.dumps(payload, sort_keys=True),
                "origin": write.origin, "due_at": due, "offset_seconds": offset,
                "state": "pending", "attempts": 0, "next_attempt_at": due, "created_at": now,
            })
        if rows:
            conn.execute(insert(s.notifications), rows)
            _LOGGER.debug("queued %s for %s (%d channel(s))", kind, payload["uid"], len(rows))

    @staticmethod
    def _cancel_reminders(conn: Connection, collection_id: int, uid: str) -> int:
        return int(conn.execute(
            update(s.notifications)
            .where(s.notifications.c.collection_id == collection_id,
                   s.notifications.c.uid == uid, s.notifications.c.kind == "reminder",
                   s.notifications.c.state == "pending")
            .values(state="cancelled")
        ).rowcount)

    # -- workers -----------------------------------------------------------------------------
    def claim_notifications(
        self, worker: str, *, limit: int = 20, lease: float = 120.0
    ) -> list[Notification]:
        """Claim due rows for ``worker`` (pending, or sending with an expired lease)."""
        now = self.clock()

        def tx(conn: Connection) -> list[Notification]:
            n = s.notifications.c
            ids = [r.id for r in conn.execute(
                select(n.id)
                .where(((n.state == "pending") & (n.next_attempt_at <= now))
                       | ((n.state == "sending") & (n.claimed_until < now)))
                .order_by(n.next_attempt_at, n.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()]
            if not ids:
                return []
            conn.execute(
                update(s.notifications).where(n.id.in_(ids))
                .values(state="sending", claimed_by=worker, claimed_until=now + lease,
                        attempts=n.attempts + 1)
            )
            rows = conn.execute(select(s.notifications).where(n.id.in_(ids))
                                .order_by(n.next_attempt_at, n.id)).all()
            return [_notification(r) for r in rows]

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
            return [_notification(r) for r in conn.execute(query).all()]

    def notification_counts(self) -> dict[str, int]:
        """How many rows are in each state."""
        from sqlalchemy import func

        with self._read() as conn:
            rows = conn.execute(
                select(s.notifications.c.state, func.count()).group_by(s.notifications.c.state)
            ).all()
        return {str(r[0]): int(r[1]) for r in rows}

    def notification_payload(self, path: str, uid: str) -> tuple[dict[str, Any], str] | None:
        """The snapshot and recipient a notification for this appointment would carry now."""
        with self._read() as conn:
            coll = conn.execute(
                select(s.collections.c.id, s.collections.c.props, s.collections.c.timezone,
                       s.collections.c.path)
                .where(s.collections.c.path == path.strip("/"))
            ).first()
            if coll is None:
                return None
            item = conn.execute(
                select(s.items).where(s.items.c.collection_id == coll.id, s.items.c.uid == uid)
            ).first()
            if item is None:
                return None
            payload, recipient = self._payload(conn, item, coll, json.loads(coll.props or "{}"))
        payload["change"] = "created"
        return payload, recipient
