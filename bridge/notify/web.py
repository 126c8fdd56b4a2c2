"""Run the notification worker inside the sidecar (``setup(app)``).

The worker is created and stopped by ``app.cleanup_ctx``; on shutdown it finishes the message
being sent and hands the rest of its batch back, so a restart never repeats a delivery.
``/healthz`` reports the pending and failed counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from bridge.notify import hooks as notify_hooks
from bridge.notify.planning import policy_from_settings
from bridge.notify.worker import NotificationWorker, WorkerConfig
from bridge.web.keys import HEALTH_CHECKS, SETTINGS, STORE

__all__ = ["NOTIFY_WORKER", "setup", "wake_worker"]

_LOGGER = logging.getLogger(__name__)
NOTIFY_WORKER = web.AppKey("notify_worker", NotificationWorker)


async def _worker_ctx(app: web.Application) -> AsyncIterator[None]:
    store, settings = app[STORE], app[SETTINGS]
    notify_hooks.install(store, policy_from_settings(settings))
    async with aiohttp.ClientSession() as session:
        worker = NotificationWorker(store, WorkerConfig.from_settings(settings), session)
        app[NOTIFY_WORKER] = worker
        task = asyncio.create_task(worker.run(), name="notification-worker")
        _LOGGER.debug("notification worker %s started", worker.worker_id)
        try:
            yield
        finally:
            worker.stop()
            try:
                await asyncio.wait_for(asyncio.shield(task), 30)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def wake_worker(request: web.Request) -> None:
    """Let this sidecar's worker deliver a confirmation now, not at its next scan (after a
    write of the booking API or the calendar view)."""
    worker = request.config_dict.get(NOTIFY_WORKER)
    if worker is not None:
        worker.wake()


def setup(app: web.Application) -> None:
    """Start the notification worker with the sidecar and report it on ``/healthz``."""
    store = app[STORE]

    async def health() -> tuple[bool, dict[str, Any]]:
        counts = await asyncio.to_thread(store.notification_counts)
        return True, {"notifications_pending": counts.get("pending", 0),
                      "notifications_failed": counts.get("failed", 0)}

    app[HEALTH_CHECKS].append(health)
    app.cleanup_ctx.append(_worker_ctx)
