"""Sidecar feature module of the sync engine: workers, push receiver, ``/metrics``, health.

``setup(app)`` creates the :class:`~bridge.sync.engine.SyncEngine` and the
:class:`~bridge.sync.service.SyncService` (under :data:`SYNC_ENGINE` / :data:`SYNC_SERVICE` for
the admin page), starts and stops the engine through ``app.cleanup_ctx``, adds
``POST /google/notifications`` and feeds ``/metrics`` (access rules: :mod:`bridge.web.metrics`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bridge.sync.channels import notification_matches
from bridge.sync.engine import SyncEngine
from bridge.sync.service import SyncService
from bridge.web.keys import HEALTH_CHECKS, METRICS_SOURCES, SETTINGS, STORE

__all__ = ["SYNC_ENGINE", "SYNC_SERVICE", "render_metrics", "setup"]

_LOGGER = logging.getLogger(__name__)

SYNC_ENGINE = web.AppKey("sync_engine", SyncEngine)
SYNC_SERVICE = web.AppKey("sync_service", SyncService)


async def _engine_ctx(app: web.Application) -> AsyncIterator[None]:
    engine = app[SYNC_ENGINE]
    await engine.start()
    yield
    await engine.stop()


async def notifications(request: web.Request) -> web.Response:
    """Google push receiver: check channel id and token, then wake one coalesced pull."""
    engine = request.app[SYNC_ENGINE]
    channel = request.headers.get("X-Goog-Channel-ID", "")
    token = request.headers.get("X-Goog-Channel-Token")
    state = request.headers.get("X-Goog-Resource-State", "")
    record = (await asyncio.to_thread(engine.store.connection_by_channel, channel)
              if channel else None)
    if not notification_matches(record, token):
        engine.metrics.notifications["ignored"] += 1
        _LOGGER.debug("ignored a push notification for an unknown channel")
        return web.Response(status=200)
    assert record is not None
    engine.metrics.notifications[state or "unknown"] += 1
    if state != "sync":
        engine.request_pull(record.id, "notification")
    return web.Response(status=200)


def render_metrics(engine: SyncEngine) -> str:
    """Prometheus text: outbox, pull lag, requests, retries, budget, channels, conflicts.

    Every per-connection series is labelled with the connection id, never the Google account.
    """
    store = engine.store
    now = time.time()
    out: list[str] = []

    def metric(name: str, kind: str, help_text: str, rows: list[tuple[str, float]]) -> None:
        out.append(f"# HELP termin_bridge_{name} {help_text}")
        out.append(f"# TYPE termin_bridge_{name} {kind}")
        for labels, value in rows:
            out.append(f"termin_bridge_{name}{labels} {value:g}")

    depth, oldest, lag, expiry, budget = [], [], [], [], []
    for record in store.list_connections():
        label = f'{{connection="{record.id}"}}'
        stats = store.outbox_stats(record.id)
        depth.append((f'{{connection="{record.id}",state="pending"}}', float(stats.pending)))
        depth.append((f'{{connection="{record.id}",state="parked"}}', float(stats.parked)))
        oldest.append((label, now - stats.oldest_pending_at if stats.oldest_pending_at else 0.0))
        lag.append((label, now - record.last_pull_at if record.last_pull_at else -1.0))
        expiry.append((label, record.channel_expiry - now if record.channel_expiry else -1.0))
        available = engine.budget_available(record)
        if available is not None:
            budget.append((label, available))
    metric("outbox_depth", "gauge", "Outbox rows by state.", depth)
    metric("outbox_oldest_pending_seconds", "gauge", "Age of the oldest pending push.", oldest)
    metric("pull_lag_seconds", "gauge", "Seconds since the last successful pull.", lag)
    metric("channel_expiry_seconds", "gauge", "Seconds until the push channel expires.", expiry)
    statuses: dict[str, int] = {}
    retries = 0
    for client in engine.metrics.client_stats:
        retries += client.retries
        for status, count in client.by_status.items():
            statuses[status] = statuses.get(status, 0) + count
    metric("google_requests_total", "counter", "Google API requests by answer.",
           [(f'{{status="{k}"}}', float(v)) for k, v in sorted(statuses.items())])
    metric("google_retries_total", "counter", "Retried Google requests.", [("", float(retries))])
    metric("google_budget_available", "gauge", "Requests the budget of the connection's Google "
           "user allows now.", budget)
    metric("sync_actions_total", "counter", "Sync actions taken.",
           [(f'{{action="{k}"}}', float(v)) for k, v in sorted(engine.metrics.actions.items())])
    metric("conflicts_total", "counter", "Conflicts decided by policy.",
           [("", float(engine.metrics.conflicts))])
    metric("push_notifications_total", "counter", "Push notifications received.",
           [(f'{{state="{k}"}}', float(v))
            for k, v in sorted(engine.metrics.notifications.items())])
    return "\n".join(out) + "\n"


def setup(app: web.Application) -> None:
    """Mount the sync engine on the sidecar."""
    settings, store = app[SETTINGS], app[STORE]
    engine = SyncEngine.from_settings(store, settings)
    app[SYNC_ENGINE] = engine
    app[SYNC_SERVICE] = SyncService(store, settings, engine, cipher=engine.cipher)
    app.cleanup_ctx.append(_engine_ctx)
    app.router.add_post("/google/notifications", notifications)
    app[METRICS_SOURCES].append(lambda: render_metrics(engine))

    async def health() -> tuple[bool, dict[str, Any]]:
        records = await asyncio.to_thread(store.list_connections, active_only=True)
        broken = [r.id for r in records if r.status != "ok" or r.paused_reason]
        return True, {"google_connections": len(records), "google_attention": broken}

    app[HEALTH_CHECKS].append(health)
