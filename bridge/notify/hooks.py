"""The notification hook on the store: rows written in the item write's own transaction.

:func:`install` registers a :class:`Notifier` as the store's ``notify`` item-write hook
(:mod:`bridge.store.hooks`); every process that writes items installs it when it opens the
store (:func:`bridge.bootstrap.open_bridge_store`), so a CalDAV write in a ``dav`` process
queues the same rows as one in ``serve``.  The decisions are :mod:`bridge.notify.planning`'s;
the rows go through :class:`~bridge.store.notify.NotificationRows`.

Recurring appointments get reminders per occurrence over a rolling horizon
(``reminder_horizon``): the hook plans the occurrences whose reminder falls before now + the
horizon and records the series; :meth:`Notifier.top_up_reminders` (run by the worker) extends
it.
"""

from __future__ import annotations

from typing import Any

from bridge.model import ItemRecord
from bridge.notify import planning
from bridge.notify.planning import Kind, NotifyPolicy
from bridge.store import SqlStore
from bridge.store.hooks import ItemWrite, WriteTx
from bridge.store.notify import (
    NOTIFY_LANGUAGE_PROP,
    NOTIFY_SWITCH_PROP,
    CalendarInfo,
    NotificationRows,
    ReminderSeries,
)

__all__ = ["HOOK_NAME", "Notifier", "install", "notifier"]

HOOK_NAME = "notify"


class Notifier:
    """The ``notify`` item-write hook of one store, with its policy."""

    def __init__(self, store: SqlStore, policy: NotifyPolicy) -> None:
        self.store = store
        self.policy = policy

    # -- the hook ----------------------------------------------------------------------------
    def __call__(self, tx: WriteTx, write: ItemWrite) -> None:
        """Queue the confirmation, cancellation and reminders a write earns, inside ``tx``."""
        old, new = write.old, write.new
        if write.current.component != "VEVENT":
            return
        rows = self.store.notification_rows(tx)
        now = self.store.clock()
        moved = planning.moved(old, new)
        had_reminders = False
        if moved:
            assert old is not None
            # The series row first: it serialises this re-plan with a worker's top-up.
            had_reminders = rows.drop_series(write.collection_id, old.uid)
            had_reminders = rows.cancel_reminders(write.collection_id, old.uid) > 0 \
                or had_reminders
        person = planning.by_person(write.origin, importing=tx.importing,
                                    connection_state=rows.connection_state)
        policy = self.policy
        if (not person and not had_reminders) or not policy.enabled:
            return  # checked before the calendar query: bulk imports take this exit per item
        calendar = rows.calendar(write.collection_id)
        if calendar.props.get(NOTIFY_SWITCH_PROP, "on") == "off":
            return
        kind = planning.kind_of(old, new)
        payload, recipient = self._payload(rows, write.current, calendar)
        language = self._language(payload, calendar)
        payload["change"] = "created" if old is None else "deleted" if new is None else "updated"
        if not recipient and not payload["customer"]["phone"]:
            return  # no customer bound to this appointment: nobody to tell
        if person and kind is not None and write.current.end_ts > now:
            self._enqueue(rows, write.collection_id, write.origin, kind, payload, recipient,
                          language, due=now)
        if new is None or new.status == "CANCELLED":
            return
        if old is None or moved:
            if new.recurring:
                self._plan_series(rows, write.collection_id, write.origin, new.text,
                                  calendar.timezone, payload, recipient, language,
                                  since=now, until=now + policy.reminder_horizon)
                return
            for offset in policy.reminder_offsets:
                due = new.start_ts - offset
                if due > now:
                    self._enqueue(rows, write.collection_id, write.origin, "reminder", payload,
                                  recipient, language, due=due, offset=offset,
                                  occurrence=new.start_ts)

    # -- recurring series --------------------------------------------------------------------
    def _plan_series(
        self, rows: NotificationRows, collection_id: int, origin: str, ical: str,
        timezone: str, payload: dict[str, Any], recipient: str, language: str, *,
        since: float, until: float,
    ) -> None:
        """Reminder rows of the occurrences whose reminder falls in ``(since, until]``.

        Rows already planned (same appointment, occurrence, offset and channel) are left alone,
        so planning a window twice (a restart, two workers) adds nothing.  Records the series
        as planned up to ``until``.
        """
        rows.mark_series(collection_id, str(payload["uid"]), until)
        for dues in planning.series_reminders(ical, timezone, payload,
                                              self.policy.reminder_offsets,
                                              since=since, until=until):
            for due in dues:
                self._enqueue(rows, collection_id, origin, "reminder", due.payload, recipient,
                              language, due=due.due, offset=due.offset,
                              occurrence=due.occurrence)

    def top_up_reminders(self, *, batch: int = 50) -> int:
        """Plan reminders of recurring appointments up to now + the horizon.

        Each series is expanded only from where it was planned up to to the new horizon, so
        the work per call is bounded however long a series runs; the store locks each series
        while it is planned and the unique reminder key drops anything planned already, so two
        workers or a restart never plan an occurrence twice.  Returns how many series were
        looked at.
        """
        if not self.policy.enabled:
            return 0
        now = self.store.clock()
        until = now + self.policy.reminder_horizon

        def plan(rows: NotificationRows, series: ReminderSeries) -> None:
            self._top_up_one(rows, series, now, until)

        return self.store.top_up_reminder_series(until, plan, batch=batch)

    def _top_up_one(
        self, rows: NotificationRows, series: ReminderSeries, now: float, until: float
    ) -> None:
        calendar = rows.calendar(series.collection_id)
        item = rows.item_by_uid(calendar, series.uid)
        if (item is None or not item.recurring or item.component != "VEVENT"
                or item.status == "CANCELLED" or item.end_ts <= now):
            rows.drop_series(series.collection_id, series.uid)
            return
        payload, recipient = self._payload(rows, item, calendar)
        payload["change"] = "updated"
        since = max(series.planned_until, now)
        if calendar.props.get(NOTIFY_SWITCH_PROP, "on") == "off" or (
                not recipient and not payload["customer"]["phone"]):
            rows.mark_series(series.collection_id, series.uid, until)  # nothing to plan now
            return
        language = self._language(payload, calendar)
        self._plan_series(rows, series.collection_id, item.origin or "", item.text,
                          calendar.timezone, payload, recipient, language, since=since,
                          until=until)

    # -- helpers -----------------------------------------------------------------------------
    def preview(self, path: str, uid: str) -> tuple[dict[str, Any], str] | None:
        """The snapshot and recipient a notification for this appointment would carry now."""
        with self.store.notification_reads() as rows:
            calendar = rows.calendar_by_path(path)
            if calendar is None:
                return None
            item = rows.item_by_uid(calendar, uid)
            if item is None:
                return None
            payload, recipient = self._payload(rows, item, calendar)
        payload["change"] = "created"
        return payload, recipient

    def _payload(
        self, rows: NotificationRows, item: ItemRecord, calendar: CalendarInfo
    ) -> tuple[dict[str, Any], str]:
        return planning.payload_of(
            item, path=calendar.path, timezone=calendar.timezone, props=calendar.props,
            policy=self.policy, owners=lambda: rows.owner_addresses(calendar.path))

    def _language(self, payload: dict[str, Any], calendar: CalendarInfo) -> str:
        """The customer's own language (chosen on the booking page), else the calendar's, else
        the configured one."""
        return str(payload["customer"].get("language")
                   or calendar.props.get(NOTIFY_LANGUAGE_PROP) or self.policy.language)

    def _enqueue(
        self, rows: NotificationRows, collection_id: int, origin: str, kind: Kind,
        payload: dict[str, Any], recipient: str, language: str, *, due: float,
        offset: int | None = None, occurrence: int | None = None,
    ) -> None:
        channels = planning.recipients(recipient, webhook=self.policy.webhook)
        rows.enqueue(collection_id, origin, kind, channels, payload, language, due=due,
                     offset=offset, occurrence=occurrence)


def install(store: SqlStore, policy: NotifyPolicy | None = None) -> Notifier:
    """Register the notification hook on ``store`` (replacing an earlier one); returns it."""
    hook = Notifier(store, policy if policy is not None else NotifyPolicy())
    store.hooks.on_item_write(HOOK_NAME, hook)
    return hook


def notifier(store: SqlStore) -> Notifier:
    """The notification hook installed on ``store``; raises ``LookupError`` when none is."""
    hook = store.hooks.item_write_hook(HOOK_NAME)
    if not isinstance(hook, Notifier):
        raise LookupError("no notification hook on this store (see bridge.notify.hooks.install)")
    return hook
