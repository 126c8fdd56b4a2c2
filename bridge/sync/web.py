"""Sidecar feature module of the sync engine: workers, push receiver, ``/metrics``, health.

``setup(app)`` creates the :class:`~bridge.sync.engine.SyncEngine` and the
:class:`~bridge.sync.service.SyncService` (under :data:`SYNC_ENGINE` / :data:`SYNC_SERVICE` for
the admin page), starts and stops the engine through ``app.cleanup_ctx``, adds
``POST /google/notifications``, the Graph receivers (:mod:`bridge.sync.graph_webhook`) and
the Exchange receiver (:mod:`bridge.sync.ews_webhook`), and
feeds ``/metrics`` (access rules: :mod:`bridge.web.metrics`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bridge.providers.base import ProviderFactory
from bridge.sync.channels import notification_matches
from bridge.sync.engine import SyncEngine
from bridge.sync.ews_webhook import setup_ews_webhook
from bridge.sync.graph_webhook import setup_graph_webhook
from bridge.sync.service import SyncService
from bridge.web.keys import HEALTH_CHECKS, METRICS, PROVIDERS, SETTINGS, STORE

__all__ = ["SYNC_ENGINE", "SYNC_SERVICE", "SyncCollector", "setup"]

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


class SyncCollector(Collector):
    """Prometheus figures of the sync engine: outbox, pull lag, requests, retries, budget,
    channels, actions, conflicts, notifications.

    Every per-connection series is labelled with the connection id and its provider
    (``google``, ``microsoft``), never the account.
    """

    def __init__(self, engine: SyncEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        """Read the figures now (called by the registry at scrape time, in a thread)."""
        engine, store, now = self.engine, self.engine.store, time.time()
        depth = GaugeMetricFamily("termin_bridge_outbox_depth", "Outbox rows by state.",
                                  labels=["connection", "provider", "state"])
        oldest = _per_connection("outbox_oldest_pending_seconds",
                                 "Age of the oldest pending push.")
        lag = _per_connection("pull_lag_seconds", "Seconds since the last successful pull.")
        expiry = _per_connection("channel_expiry_seconds",
                                 "Seconds until the push channel expires.")
        budget = _per_connection("sync_budget_available",
                                 "Requests the budget of the connection's remote account allows "
                                 "now.")
        for record in store.list_connections():
            key = [str(record.id), record.provider]
            stats = store.outbox_stats(record.id)
            depth.add_metric([*key, "pending"], stats.pending)
            depth.add_metric([*key, "parked"], stats.parked)
            oldest.add_metric(key, now - stats.oldest_pending_at
                              if stats.oldest_pending_at else 0.0)
            lag.add_metric(key, now - record.last_pull_at if record.last_pull_at else -1.0)
            expiry.add_metric(key, record.channel_expiry - now
                              if record.channel_expiry else -1.0)
            available = engine.budget_available(record)
            if available is not None:
                budget.add_metric(key, available)
        yield from (depth, oldest, lag, expiry, budget)
        requests = CounterMetricFamily("termin_bridge_sync_requests",
                                       "Requests to the calendar providers by answer.",
                                       labels=["provider", "status"])
        retries = CounterMetricFamily("termin_bridge_sync_retries",
                                      "Retried requests to the calendar providers.",
                                      labels=["provider"])
        statuses: dict[str, Counter[str]] = {name: Counter() for name in engine.providers}
        retried: Counter[str] = Counter()
        for name, client in engine.client_stats():
            retried[name] += client.retries
            statuses[name].update(client.by_status)
        for name, counts in sorted(statuses.items()):
            retries.add_metric([name], retried[name])
            for status, value in sorted(counts.items()):
                requests.add_metric([name, status], value)
        yield from (requests, retries)
        yield _counter("sync_actions", "Sync actions taken.", "action", engine.metrics.actions)
        yield CounterMetricFamily("termin_bridge_conflicts", "Conflicts decided by policy.",
                                  value=engine.metrics.conflicts)
        yield _counter("push_notifications", "Push notifications received.", "state",
                       engine.metrics.notifications)


def _per_connection(name: str, help_text: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"termin_bridge_{name}", help_text, labels=["connection", "provider"])


def _counter(name: str, help_text: str, label: str, counts: Mapping[str, int]
             ) -> CounterMetricFamily:
    family = CounterMetricFamily(f"termin_bridge_{name}", help_text, labels=[label])
    for key, value in sorted(counts.items()):
        family.add_metric([str(key)], value)
    return family


def setup(app: web.Application) -> None:
    """Mount the sync engine on the sidecar."""
    settings, store = app[SETTINGS], app[STORE]
    providers: dict[str, ProviderFactory] = app[PROVIDERS]
    engine = SyncEngine.from_settings(store, settings, providers=providers)
    app[SYNC_ENGINE] = engine
    app[SYNC_SERVICE] = SyncService(store, settings, engine)
    app.cleanup_ctx.append(_engine_ctx)
    app.router.add_post("/google/notifications", notifications)
    setup_graph_webhook(app, engine)
    setup_ews_webhook(app, engine)
    app[METRICS].register(SyncCollector(engine))

    async def health() -> tuple[bool, dict[str, Any]]:
        records = await asyncio.to_thread(store.list_connections, active_only=True)
        broken = [r.id for r in records if r.status != "ok" or r.paused_reason]
        return True, {"sync_connections": len(records), "sync_attention": broken}

    app[HEALTH_CHECKS].append(health)
