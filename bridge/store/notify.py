"""Customer notifications: an outbox written in the item write's own transaction.

:class:`NotificationsMixin` extends the store's ``_after_item_write`` hook.  When a person (the
booking API, a phone over CalDAV, or someone editing in Google outside an initial import or a
full resync) creates an appointment or changes its time or status, a confirmation or
cancellation row is written for every channel; reminder rows are written at the configured
offsets before the start and cancelled or moved with the appointment.  Bulk imports, sync
imports and echoes never notify (echoes produce no store write at all).

Recurring appointments get reminders per occurrence over a rolling horizon
(``reminder_horizon``): the hook plans the occurrences whose reminder falls before now + the
horizon and records the series in ``reminder_series``; :meth:`NotificationsMixin.top_up_reminders`
(run by the worker) extends it.  A partial unique index (appointment, occurrence, offset, channel
among rows not cancelled) makes planning idempotent.  A commit that queued a row due now calls
the in-process listeners and, on PostgreSQL, ``NOTIFY termin_bridge_notify``.

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
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlalchemy import Connection, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bridge.config import Settings, parse_offsets
from bridge.ical.recurrence import occurrences
from bridge.ical.timezones import zone_for_name
from bridge.model import connection_of_origin
from bridge.store import schema as s
from bridge.store.base import StoreBase
from bridge.store.engine import is_postgres
from bridge.store.items import ItemsMixin, ItemWrite
from bridge.store.notify_delivery import Notification, NotificationDeliveryMixin
from bridge.store.sync import in_google_import

__all__ = [
    "NOTIFY_CHANNEL",
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
# PostgreSQL channel notified by every transaction that queued a notification due now.
NOTIFY_CHANNEL = "termin_bridge_notify"
# Set while a top-level write runs: becomes True when it queued a notification due now.
_QUEUED: ContextVar[list[bool] | None] = ContextVar("termin_bridge_notify_queued", default=None)
T = TypeVar("T")


@dataclass(frozen=True)
class NotifyPolicy:
    """What the hook needs from the configuration (set by whoever has the settings)."""

    reminder_offsets: tuple[int, ...] = (24 * 3600,)
    reminder_horizon: int = 14 * 86400
    language: str = "de"
    description_emails: bool = False
    enabled: bool = True


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


def _get(values: Any, name: str) -> Any:
    return values[name] if isinstance(values, dict) else getattr(values, name)


def _dt_value(prop: Any) -> date | datetime | None:
    value = getattr(prop, "dt", None)
    return value if isinstance(value, date) else None


def policy_from_settings(settings: Settings) -> NotifyPolicy:
    """The store-side notification policy from ``[notifications]``."""
    return NotifyPolicy(
        reminder_offsets=parse_offsets(str(settings.get("notifications", "reminder_offsets"))),
        reminder_horizon=int(settings.get("notifications", "reminder_horizon_days")) * 86400,
        language=str(settings.get("notifications", "language")),
        description_emails=bool(settings.get("notifications", "description_emails")),
        enabled=bool(settings.get("notifications", "enabled")),
    )


class NotificationsMixin(NotificationDeliveryMixin, ItemsMixin, StoreBase):
    """Notification outbox rows and reminders, written with every item write."""

    notify_policy: NotifyPolicy = NotifyPolicy()
    _notification_listeners: list[Callable[[], None]]

    def set_notify_policy(self, policy: NotifyPolicy) -> None:
        """Use ``policy`` for the notification rows of later writes in this process."""
        self.notify_policy = policy

    # -- wake-ups ----------------------------------------------------------------------------
    def add_notification_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the writing thread) after each commit that queued a
        notification due now, whichever part of this process wrote it (CalDAV, sync, API)."""
        if not hasattr(self, "_notification_listeners"):
            self._notification_listeners = []
        self._notification_listeners.append(callback)

    def remove_notification_listener(self, callback: Callable[[], None]) -> None:
        """Undo :meth:`add_notification_listener`."""
        listeners = getattr(self, "_notification_listeners", [])
        if callback in listeners:
            listeners.remove(callback)

    def _write(self, fn: Callable[[Connection], T]) -> T:
        if _QUEUED.get() is not None:
            return super()._write(fn)
        queued = [False]
        token = _QUEUED.set(queued)
        try:
            result = super()._write(fn)
        finally:
            _QUEUED.reset(token)
        if queued[0]:
            for callback in list(getattr(self, "_notification_listeners", [])):
                try:
                    callback()
                except Exception:  # a broken listener must not fail the write
                    _LOGGER.exception("notification listener failed")
        return result

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
            # A series edit (RRULE, EXDATE, an override) need not move its first start or end.
            or ((bool(old.recurring) or bool(new["recurring"]))
                and old.content_hash != new["content_hash"])
        )
        had_reminders = False
        if moved:
            # The series row first: it serialises this re-plan with a worker's top-up.
            had_reminders = self._drop_series(conn, write.collection_id, old.uid)
            had_reminders = self._cancel_reminders(conn, write.collection_id, old.uid) > 0 \
                or had_reminders
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
            self._enqueue(conn, write.collection_id, write.origin, kind, payload, recipient,
                          language, due=now)
        if new is None or new["status"] == "CANCELLED":
            return
        if old is None or moved:
            if new["recurring"]:
                self._plan_series(conn, write.collection_id, write.origin, str(new["text"]),
                                  coll.timezone, payload, recipient, language,
                                  since=now, until=now + policy.reminder_horizon)
                return
            start = int(new["start_ts"])
            for offset in policy.reminder_offsets:
                due = start - offset
                if due > now:
                    self._enqueue(conn, write.collection_id, write.origin, "reminder", payload,
                                  recipient, language, due=due, offset=offset, occurrence=start)

    # -- recurring series --------------------------------------------------------------------
    def _plan_series(
        self, conn: Connection, collection_id: int, origin: str, ical: str, timezone: str,
        payload: dict[str, Any], recipient: str, language: str, *, since: float, until: float,
    ) -> int:
        """Reminder rows of the occurrences whose reminder falls in ``(since, until]``.

        Rows already planned (same appointment, occurrence, offset and channel) are left alone,
        so planning a window twice (a restart, two workers) adds nothing.  Records the series
        as planned up to ``until``; returns how many occurrences were planned.
        """
        offsets = self.notify_policy.reminder_offsets
        self._mark_series(conn, collection_id, str(payload["uid"]), until)
        if not offsets or until <= since:
            return 0
        try:
            cal = Calendar.from_ical(ical)
        except ValueError:
            return 0
        zone = zone_for_name(timezone or "UTC") or ZoneInfo("UTC")
        lo = datetime.fromtimestamp(since, UTC)
        hi = datetime.fromtimestamp(until, UTC) + timedelta(seconds=max(offsets) + 1)
        planned = 0
        for occ in occurrences(cal, lo, hi, zone=zone):
            if occ.cancelled:
                continue
            start = int(occ.start.timestamp())
            dues = [(start - off, off) for off in offsets if since < start - off <= until]
            if not dues:
                continue
            planned += 1
            instance = dict(payload)
            if occ.all_day:  # dates travel as midnight UTC, like single all-day appointments
                day = occ.start.date()
                last = occ.end.date() if occ.end.date() > day else day + timedelta(days=1)
                instance["start"] = datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()
                instance["end"] = datetime(last.year, last.month, last.day,
                                           tzinfo=UTC).isoformat()
            else:
                instance["start"] = occ.start.astimezone(UTC).isoformat()
                instance["end"] = occ.end.astimezone(UTC).isoformat()
            instance["all_day"] = occ.all_day
            instance["recurrence_id"] = occ.recurrence_id.astimezone(UTC).isoformat()
            if occ.component.get("LOCATION") is not None:
                instance["location"] = str(occ.component.get("LOCATION"))
            for due, offset in dues:
                self._enqueue(conn, collection_id, origin, "reminder", instance, recipient,
                              language, due=due, offset=offset, occurrence=start)
        return planned

    def _mark_series(self, conn: Connection, collection_id: int, uid: str, until: float) -> None:
        r = s.reminder_series.c
        done = conn.execute(
            update(s.reminder_series).where(r.collection_id == collection_id, r.uid == uid)
            .values(planned_until=until, updated_at=self.clock())
        ).rowcount
        if not done:
            conn.execute(insert(s.reminder_series).values(
                collection_id=collection_id, uid=uid, planned_until=until,
                updated_at=self.clock()))

    @staticmethod
    def _drop_series(conn: Connection, collection_id: int, uid: str) -> bool:
        r = s.reminder_series.c
        return bool(conn.execute(
            delete(s.reminder_series).where(r.collection_id == collection_id, r.uid == uid)
        ).rowcount)

    def top_up_reminders(self, *, batch: int = 50) -> int:
        """Plan reminders of recurring appointments up to now + the horizon.

        Each series is expanded only from where it was planned up to (``reminder_series``) to
        the new horizon, so the work per call is bounded however long a series runs.  A series
        is locked while it is planned (``FOR UPDATE SKIP LOCKED``; SQLite: the write lock), and
        the unique reminder key drops anything planned already, so two workers or a restart
        never plan an occurrence twice.  Returns how many series were looked at.
        """
        policy = self.notify_policy
        if not policy.enabled:
            return 0
        now = self.clock()
        until = now + policy.reminder_horizon
        r = s.reminder_series.c

        def tx(conn: Connection) -> int:
            rows = conn.execute(
                select(s.reminder_series).where(r.planned_until < until)
                .order_by(r.planned_until, r.id).limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                self._top_up_one(conn, row, now, until)
            return len(rows)

        total = 0
        while True:
            handled = self._write(tx)
            total += handled
            if handled < batch:
                return total

    def _top_up_one(self, conn: Connection, row: Any, now: float, until: float) -> None:
        item = conn.execute(
            select(s.items).where(s.items.c.collection_id == row.collection_id,
                                  s.items.c.uid == row.uid)
        ).first()
        if (item is None or not item.recurring or item.component != "VEVENT"
                or item.status == "CANCELLED" or item.end_ts <= now):
            self._drop_series(conn, row.collection_id, row.uid)
            return
        coll = conn.execute(
            select(s.collections.c.props, s.collections.c.timezone, s.collections.c.path)
            .where(s.collections.c.id == row.collection_id)
        ).one()
        props = json.loads(coll.props or "{}")
        payload, recipient = self._payload(conn, item, coll, props)
        payload["change"] = "updated"
        since = max(float(row.planned_until), now)
        if props.get(NOTIFY_SWITCH_PROP, "on") == "off" or (
                not recipient and not payload["customer"]["phone"]):
            self._mark_series(conn, row.collection_id, row.uid, until)  # nothing to plan now
            return
        language = props.get(NOTIFY_LANGUAGE_PROP) or self.notify_policy.language
        self._plan_series(conn, row.collection_id, str(item.origin or ""), str(item.text),
                          coll.timezone, payload, recipient, language, since=since, until=until)

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
        source = connection_of_origin(origin)
        if source is None:
            return False  # "import" (bulk CLI) and anything unknown stay silent
        if in_google_import():
            return False
        connection_id = source[1]
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
        self, conn: Connection, collection_id: int, origin: str, kind: Kind,
        payload: dict[str, Any], recipient: str, language: str, *, due: float,
        offset: int | None = None, occurrence: int | None = None,
    ) -> None:
        now = self.clock()
        rows = []
        for channel in CHANNELS:
            if channel == "email" and not recipient:
                continue
            rows.append({
                "collection_id": collection_id, "uid": payload["uid"], "kind": kind,
                "channel": channel, "recipient": recipient if channel == "email" else "",
                "language": language, "payload": json.dumps(payload, sort_keys=True),
                "origin": origin, "due_at": due, "offset_seconds": offset,
                "occurrence_ts": occurrence, "state": "pending", "attempts": 0,
                "next_attempt_at": due, "created_at": now,
            })
        if not rows:
            return
        postgres = is_postgres(self.engine)
        if occurrence is not None:
            # A reminder already planned for this occurrence, offset and channel stays as it is.
            stmt: Any = (pg_insert if postgres else sqlite_insert)(s.notifications)
            conn.execute(stmt.on_conflict_do_nothing(), rows)
        else:
            conn.execute(insert(s.notifications), rows)
        _LOGGER.debug("queued %s for %s (%d channel(s))", kind, payload["uid"], len(rows))
        if due <= now:
            queued = _QUEUED.get()
            if queued is not None:
                queued[0] = True
            if postgres:  # wakes the workers of other processes once this commits
                conn.execute(text("SELECT pg_notify(:c, '')"), {"c": NOTIFY_CHANNEL})

    @staticmethod
    def _cancel_reminders(conn: Connection, collection_id: int, uid: str) -> int:
        return int(conn.execute(
            update(s.notifications)
            .where(s.notifications.c.collection_id == collection_id,
                   s.notifications.c.uid == uid, s.notifications.c.kind == "reminder",
                   s.notifications.c.state == "pending")
            .values(state="cancelled")
        ).rowcount)

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
