"""The sidecar application factory and runner.

:func:`create_app` builds the aiohttp application used by ``termin-bridge sidecar``/``serve``
and by every test.  Feature modules (feeds, sync, admin page, booking API, booking page) each expose
``setup(app)``; they read the store and settings from :mod:`bridge.web.keys`, add their routes,
and own their background tasks through ``app.cleanup_ctx``.  Nothing does I/O at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from bridge.admin import web as admin_web
from bridge.api import web as api_web
from bridge.bookpage import web as bookpage_web
from bridge.config import Settings
from bridge.feeds import http as feeds_http
from bridge.notify import web as notify_web
from bridge.providers.base import ProviderFactory
from bridge.providers.netguard import parse_networks
from bridge.store import SqlStore
from bridge.sync import web as sync_web
from bridge.web.accesslog import RedactingAccessLogger
from bridge.web.forwarded import forwarded_middleware
from bridge.web.keys import HEALTH_CHECKS, METRICS, PROVIDERS, SETTINGS, STORE
from bridge.web.metrics import create_metrics_app, metrics_public
from bridge.web.providers import provider_factories

__all__ = ["FEATURES", "create_app", "run_sidecar"]

_LOGGER = logging.getLogger(__name__)

# Feature modules, mounted in this order; each exposes ``setup(app)``.
FEATURES = (feeds_http, sync_web, admin_web, api_web, notify_web, bookpage_web)


async def _healthz(request: web.Request) -> web.Response:
    store = request.app[STORE]
    details: dict[str, Any] = {}
    ok = True
    try:
        await asyncio.to_thread(store.count_users)
        details["database"] = "ok"
    except Exception as exc:
        ok = False
        details["database"] = type(exc).__name__
    for check in request.app[HEALTH_CHECKS]:
        check_ok, check_details = await check()
        ok = ok and check_ok
        details.update(check_details)
    return web.json_response(
        {"status": "ok" if ok else "unhealthy", **details}, status=200 if ok else 503
    )


def create_app(settings: Settings, store: SqlStore, *,
               providers: Mapping[str, ProviderFactory] | None = None) -> web.Application:
    """Build the sidecar application with every feature module (``providers``: the calendar
    providers' factories, by default those :func:`provider_factories` configures)."""
    app = web.Application(
        client_max_size=2 * 1024 * 1024,
        middlewares=[forwarded_middleware(parse_networks(settings.http.trusted_proxies))])
    app[SETTINGS] = settings
    app[STORE] = store
    app[PROVIDERS] = (dict(providers) if providers is not None
                      else provider_factories(settings, store))
    app[HEALTH_CHECKS] = []
    app[METRICS] = CollectorRegistry(auto_describe=False)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", metrics_public)
    for module in FEATURES:
        module.setup(app)
    return app


def run_sidecar(
    settings: Settings, store: SqlStore, stop_event: threading.Event | None = None
) -> int:
    """Serve the sidecar on ``[http] host/port`` until ``stop_event`` is set or a signal."""
    host = settings.http.host
    port = settings.http.port

    async def main() -> None:
        app = create_app(settings, store)
        runner = web.AppRunner(app, access_log_class=RedactingAccessLogger)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        _LOGGER.info("sidecar listening on http://%s:%d/", host, port)
        metrics_runner = await _start_metrics_listener(settings, app)
        try:
            while stop_event is None or not stop_event.is_set():
                await asyncio.sleep(0.2)
        finally:
            if metrics_runner is not None:
                await metrics_runner.cleanup()
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0


async def _start_metrics_listener(
    settings: Settings, app: web.Application
) -> web.AppRunner | None:
    """Serve ``/metrics`` on ``[http] metrics_host/metrics_port``; ``None`` when off or busy."""
    host = settings.http.metrics_host
    port = settings.http.metrics_port
    if port == 0:
        return None
    runner = web.AppRunner(create_metrics_app(app), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        # Metrics are diagnostics: a taken port must not stop bookings and sync.
        _LOGGER.error("cannot serve /metrics on %s:%d (%s); set [http] metrics_port",
                      host, port, exc.strerror or exc)
        await runner.cleanup()
        return None
    _LOGGER.info("metrics listening on http://%s:%d/metrics", host, port)
    return runner
