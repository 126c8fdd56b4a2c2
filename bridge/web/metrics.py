"""``GET /metrics``: who may read it, and the separate listener that serves it.

Feature modules register prometheus-client collectors in the registry under
:data:`~bridge.web.keys.METRICS` (asked for their figures in a thread at scrape time; the client
library renders and escapes the exposition text); this module only decides access. The sidecar
serves ``/metrics`` on its own listener (``[http] metrics_host``/``metrics_port``, loopback by
default) and on the public port only when ``[http] metrics_token`` is set; the token, when set, is
required on both (``Authorization: Bearer <token>``, compared in constant time). Without a token
the public port answers 404, as if there were no such page. Labels name connections by id, never by
Google account.
"""

from __future__ import annotations

import asyncio
import hmac

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bridge.config import Settings
from bridge.web.keys import METRICS, SETTINGS

__all__ = ["create_metrics_app", "metrics_public", "token_matches"]

_SOURCE_APP = web.AppKey("metrics_source_app", web.Application)


def token_matches(settings: Settings, header: str) -> bool:
    """True when no token is configured or ``header`` is ``Bearer <the token>``."""
    token = settings.http.metrics_token
    if not token:
        return True
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8"), token.encode("utf-8"))


async def _render(app: web.Application, request: web.Request) -> web.Response:
    if not token_matches(app[SETTINGS], request.headers.get("Authorization", "")):
        raise web.HTTPUnauthorized(text="send 'Authorization: Bearer <[http] metrics_token>'\n",
                                   headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    body = await asyncio.to_thread(generate_latest, app[METRICS])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST,
                                            "Cache-Control": "no-store"})


async def metrics_public(request: web.Request) -> web.Response:
    """``GET /metrics`` on the public port: only with a configured token (else 404)."""
    if not request.app[SETTINGS].http.metrics_token:
        raise web.HTTPNotFound()
    return await _render(request.app, request)


async def _metrics_private(request: web.Request) -> web.Response:
    return await _render(request.app[_SOURCE_APP], request)


def create_metrics_app(app: web.Application) -> web.Application:
    """The application of the separate metrics listener: ``GET /metrics`` of ``app`` only."""
    metrics_app = web.Application()
    metrics_app[_SOURCE_APP] = app
    metrics_app.router.add_get("/metrics", _metrics_private)
    return metrics_app
