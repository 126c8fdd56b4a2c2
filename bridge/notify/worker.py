"""The notification worker: claims due outbox rows and delivers them by e-mail or webhook.

Any number of workers (threads of one sidecar, or several sidecars on one PostgreSQL) can run:
a row is claimed before it is sent and finished by the same worker, so nobody else touches it
while that worker lives; a killed worker's rows are taken over at the next claim.  Failures are
retried with exponential backoff and jitter; after ``max_attempts`` the row is marked ``failed``
(listed by ``GET /api/v1/notifications``).

The worker wakes at once after a commit that queued a notification due now: in this process
through the store's notification listeners (the CalDAV server, the sync engine and the API share
the store), from other processes through ``LISTEN termin_bridge_notify`` on PostgreSQL; otherwise
it scans every ``poll_interval``.  Every ``topup_interval`` it plans the reminders of recurring
appointments up to the horizon (:meth:`~bridge.notify.hooks.Notifier.top_up_reminders`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime

import aiohttp

from bridge.booking.tokens import Signer, manage_path
from bridge.config import Settings
from bridge.notify.email import PermanentError, SmtpConfig, build_email, send_email
from bridge.notify.hooks import notifier
from bridge.notify.render import Renderer
from bridge.notify.webhook import build_body, post_webhook
from bridge.store import SqlStore
from bridge.store.engine import is_postgres
from bridge.store.hooks import Signal
from bridge.store.listen import PgListener
from bridge.store.notify import NOTIFY_CHANNEL, Notification

__all__ = ["NotificationWorker", "WorkerConfig"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    """Delivery settings of one worker."""

    smtp: SmtpConfig | None
    webhook_url: str
    webhook_secret: str
    template_dir: str
    max_attempts: int = 8
    retry_base: float = 30.0
    poll_interval: float = 5.0
    topup_interval: float = 300.0
    # The booking page's cancel/reschedule links: the public base URL and the signing keys
    # (empty secret: no links).
    public_url: str = ""
    secret_key: str = ""
    old_secret_keys: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerConfig:
        """Read ``[notifications]``."""
        return cls(
            smtp=SmtpConfig.from_settings(settings),
            webhook_url=settings.notifications.webhook_url,
            webhook_secret=settings.notifications.webhook_secret,
            template_dir=settings.notifications.template_dir,
            max_attempts=settings.notifications.max_attempts,
            retry_base=settings.notifications.retry_base,
            poll_interval=settings.notifications.poll_interval,
            public_url=settings.base_url,
            secret_key=settings.security.secret_key,
            old_secret_keys=tuple(k.strip() for k in settings.security.old_secret_keys.split(",")
                                  if k.strip()),
        )

    def manage_link(self, row: Notification) -> str | None:
        """The cancel/reschedule link of an appointment booked on the booking page (its
        confirmations and reminders, also after the staff moved it), valid until the
        appointment starts; else ``None``."""
        online = row.origin == "booking" or bool(row.payload.get("booked_online"))
        if not online or row.kind == "cancellation" or not self.secret_key \
                or not self.public_url:
            return None
        try:
            start = datetime.fromisoformat(str(row.payload.get("start")))
        except ValueError:
            return None
        token = Signer(self.secret_key, self.old_secret_keys).manage_token(
            row.collection_id, row.uid, int(start.timestamp()))
        return self.public_url + manage_path(token)


class NotificationWorker:
    """Delivers due notifications; :meth:`run_once` is one scan, :meth:`run` loops."""

    def __init__(
        self, store: SqlStore, config: WorkerConfig, session: aiohttp.ClientSession,
        *, worker_id: str | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.session = session
        self.worker_id = worker_id or "notify-" + secrets.token_hex(6)
        self.renderer = Renderer(config.template_dir or None)
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._last_topup: float | None = None
        self.listener: PgListener | None = None  # PostgreSQL: LISTEN for other processes

    def wake(self) -> None:
        """Scan now instead of at the next interval (safe from any thread)."""
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_thread:
            self._wake.set()
        elif not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        """Finish the row being sent, then leave :meth:`run`."""
        self._stop.set()
        self.wake()

    async def top_up(self) -> int:
        """Plan recurring appointments' reminders up to the horizon; returns series looked at."""
        self._last_topup = self.store.clock()
        return await asyncio.to_thread(notifier(self.store).top_up_reminders)

    async def run(self) -> None:
        """Scan for due rows until :meth:`stop`, woken by commits (here and, on PostgreSQL,
        in other processes) and at least every ``poll_interval``."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.store.hooks.add_listener(Signal.NOTIFICATION_DUE, self.wake)
        if is_postgres(self.store.engine):
            self.listener = PgListener(self.store.engine, NOTIFY_CHANNEL, self.wake)
            self.listener.start()
        try:
            await self._loop_until_stopped()
        finally:
            self.store.hooks.remove_listener(Signal.NOTIFICATION_DUE, self.wake)
            # Claims it still held are free for the next claim at once.
            await asyncio.to_thread(self.store.liveness.release, self.worker_id)
            if self.listener is not None:
                await asyncio.to_thread(self.listener.stop)
                self.listener = None

    async def _loop_until_stopped(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                last = self._last_topup
                if last is None or self.store.clock() - last >= self.config.topup_interval:
                    await self.top_up()
                while await self.run_once() and not self._stop.is_set():
                    pass
            except Exception as exc:  # e.g. the database is away: keep the loop alive
                _LOGGER.exception("notification scan failed (%s); retrying",
                                  type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.poll_interval)

    async def run_once(self, limit: int = 20) -> int:
        """Claim and deliver one batch; returns how many rows were handled."""
        rows = await asyncio.to_thread(self.store.claim_notifications, self.worker_id,
                                       limit=limit)
        for row in rows:
            if self._stop.is_set():
                # Hand the rest back at once.
                await asyncio.to_thread(self.store.finish_notification, row.id, self.worker_id,
                                        "pending")
                continue
            await self._deliver(row)
        return len(rows)

    async def _deliver(self, row: Notification) -> None:
        try:
            skipped = await self._send(row)
        except PermanentError as exc:
            _LOGGER.warning("notification %d (%s, %s) failed permanently: %s", row.id, row.kind,
                            row.channel, exc)
            await self._finish(row, "failed", str(exc))
            return
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            if row.attempts >= self.config.max_attempts:
                _LOGGER.warning("notification %d (%s, %s) failed after %d attempts: %s",
                                row.id, row.kind, row.channel, row.attempts, error)
                await self._finish(row, "failed", error)
                return
            delay = min(3600.0, self.config.retry_base * 2 ** (row.attempts - 1))
            delay *= 0.8 + 0.4 * random.random()
            _LOGGER.info("notification %d (%s, %s) attempt %d failed, retry in %.0f s: %s",
                         row.id, row.kind, row.channel, row.attempts, delay, error)
            await asyncio.to_thread(self.store.finish_notification, row.id, self.worker_id,
                                    "pending", error=error,
                                    retry_at=self.store.clock() + delay)
            return
        if skipped:
            await self._finish(row, "skipped", skipped)
        else:
            _LOGGER.info("sent %s %d by %s", row.kind, row.id, row.channel)
            await self._finish(row, "sent", None)

    async def _finish(self, row: Notification, state: str, error: str | None) -> None:
        done = await asyncio.to_thread(self.store.finish_notification, row.id, self.worker_id,
                                       state, error=error)  # type: ignore[arg-type]
        if not done:
            _LOGGER.warning("notification %d: claim was lost before it was finished", row.id)

    async def _send(self, row: Notification) -> str | None:
        """Deliver one row; returns a reason when the channel is not configured."""
        delivery_id = f"tb-notification-{row.id}-{row.created_at:.0f}"
        if row.channel == "email":
            smtp = self.config.smtp
            if smtp is None:
                return "e-mail is not configured (smtp_host, sender)"
            link = self.config.manage_link(row)
            payload = row.payload if link is None else {**row.payload, "manage_url": link}
            message = self.renderer.render(row.kind, row.language, payload)
            calendar_name = str((row.payload.get("calendar") or {}).get("name") or "")
            mail = build_email(smtp, row.recipient, message,
                               message_id=f"<{delivery_id}@termin-bridge>",
                               sender_name=calendar_name)
            await send_email(smtp, mail)
            return None
        if row.channel == "webhook":
            if not self.config.webhook_url:
                return "webhook is not configured (webhook_url)"
            body = build_body(delivery_id, row.kind, row.language, row.recipient, row.payload,
                              row.created_at)
            await post_webhook(self.session, self.config.webhook_url, self.config.webhook_secret,
                               body, delivery_id=delivery_id)
            return None
        return f"unknown channel {row.channel!r}"
