"""Change and lifecycle notification delivery.

Every event write calls :meth:`Notifier.on_change`; each live subscription whose resource covers
the calendar and whose ``changeType`` lists the change gets one notification item queued.  A
worker per subscription waits ``notification_batch_delay`` to gather what is queued and POSTs
``{"value": [...]}`` (several items per POST) to the ``notificationUrl``; answers other than
2xx, timeouts and connection errors are retried ``notification_max_attempts`` times with
exponential backoff.  Lifecycle events (``reauthorizationRequired``, ``subscriptionRemoved``,
``missed``) go to the ``lifecycleNotificationUrl`` on demand (``/_emulator/lifecycle``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp

from emulators.microsoft import eventdata
from emulators.microsoft.state import MsState, Subscription

__all__ = ["Notifier"]

_LOGGER = logging.getLogger(__name__)


def _ts(sub: Subscription) -> str:
    return sub.expiration.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


class Notifier:
    """Delivers the notifications of one :class:`MsState`."""

    def __init__(self, state: MsState) -> None:
        self.state = state
        self.session: aiohttp.ClientSession | None = None
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open the HTTP session and listen for changes."""
        self.session = aiohttp.ClientSession()
        self.state.listeners.append(self.on_change)
        self.state.lifecycle_listeners.append(self.on_lifecycle)

    async def close(self) -> None:
        """Stop the workers and close the session."""
        with contextlib.suppress(ValueError):
            self.state.listeners.remove(self.on_change)
        with contextlib.suppress(ValueError):
            self.state.lifecycle_listeners.remove(self.on_lifecycle)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._queues.clear()
        if self.session is not None:
            await self.session.close()
            self.session = None

    def _covers(self, sub: Subscription, calendar_id: str) -> bool:
        if sub.calendar_id is not None:
            return sub.calendar_id == calendar_id
        cal = self.state.calendars.get(calendar_id)
        return cal is not None and cal.owner == sub.account

    def on_change(self, calendar_id: str, event_id: str, change_type: str) -> None:
        """Queue one item for every subscription covering the change."""
        if self.session is None:
            return
        now = self.state.clock.now()
        stored = self.state.find_event(event_id)
        etag = stored.data.get("@odata.etag") if stored is not None else None
        for sub in list(self.state.subscriptions.values()):
            if sub.expiration <= now or change_type not in sub.change_types:
                continue
            if not self._covers(sub, calendar_id):
                continue
            account = self.state.accounts[sub.account]
            resource = f"Users/{account.oid}/Events/{event_id}"
            item = {
                "subscriptionId": sub.id, "subscriptionExpirationDateTime": _ts(sub),
                "changeType": change_type, "resource": resource,
                "resourceData": {"@odata.type": "#Microsoft.Graph.Event",
                                 "@odata.id": resource,
                                 "@odata.etag": etag or eventdata.etag(self.state.counter),
                                 "id": event_id},
                "clientState": sub.client_state, "tenantId": account.tenant_id,
            }
            self._enqueue(sub.id, item)

    def on_lifecycle(self, sub: Subscription, event: str) -> None:
        """Send one lifecycle notification to the subscription's lifecycle URL."""
        if self.session is None or not sub.lifecycle_url:
            return
        account = self.state.accounts[sub.account]
        item = {"subscriptionId": sub.id, "subscriptionExpirationDateTime": _ts(sub),
                "tenantId": account.tenant_id, "clientState": sub.client_state,
                "lifecycleEvent": event}
        task = asyncio.get_running_loop().create_task(
            self._post(sub.id, sub.lifecycle_url, [item], "lifecycle"))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _enqueue(self, sub_id: str, item: dict[str, Any]) -> None:
        queue = self._queues.get(sub_id)
        if queue is None:
            queue = self._queues[sub_id] = asyncio.Queue()
            task = asyncio.get_running_loop().create_task(self._worker(sub_id, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        queue.put_nowait(item)

    async def _worker(self, sub_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            items = [await queue.get()]
            await asyncio.sleep(self.state.config.notification_batch_delay)
            while not queue.empty():
                items.append(queue.get_nowait())
            sub = self.state.subscriptions.get(sub_id)
            if sub is None:
                continue
            await self._post(sub_id, sub.notification_url, items, "change")

    async def _post(self, sub_id: str, url: str, items: list[dict[str, Any]],
                    kind: str) -> None:
        cfg = self.state.config
        assert self.session is not None
        outcome: int | str = "none"
        for attempt in range(max(1, cfg.notification_max_attempts)):
            try:
                async with self.session.post(
                        url, json={"value": items},
                        timeout=aiohttp.ClientTimeout(total=cfg.notification_timeout)) as resp:
                    outcome = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcome = type(exc).__name__
            if isinstance(outcome, int) and 200 <= outcome < 300:
                break
            _LOGGER.debug("Notification for %s failed (%s), attempt %d", sub_id, outcome,
                          attempt + 1)
            await asyncio.sleep(cfg.notification_retry_base * (2 ** attempt))
        self.state.counters.deliveries.append({
            "subscriptionId": sub_id, "kind": kind, "count": len(items), "outcome": outcome,
            "changeTypes": [i.get("changeType") or i.get("lifecycleEvent") for i in items],
        })
