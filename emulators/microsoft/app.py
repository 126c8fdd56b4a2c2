"""The Microsoft emulator's aiohttp application factory and an in-loop server starter.

``create_app(seed=..., state_file=...)`` builds the app without doing I/O; the seed (or the state
file, when it exists) is loaded at startup, notification delivery runs while the app runs, and
the state is written back to ``state_file`` on shutdown.  Identity routes live at
``/{tenant}/…``, Graph at ``/v1.0/…``, hooks at ``/_emulator/…``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

# Importing the handler modules registers their Graph routes.
from emulators.microsoft import calendar_api, delta, subscriptions  # noqa: F401
from emulators.microsoft.batch import run_batch
from emulators.microsoft.errors import ResetConnection
from emulators.microsoft.graph import GraphRequest, GraphResponse, dispatch
from emulators.microsoft.hooks import CA_PATH_KEY, add_hook_routes
from emulators.microsoft.identity import add_identity_routes
from emulators.microsoft.notify import Notifier
from emulators.microsoft.seed import apply_seed, dump_state, load_state
from emulators.microsoft.state import MsState
from emulators.microsoft.tokens import STATE_KEY
from emulators.shared.lifecycle import lifecycle
from emulators.shared.tls import TlsFiles, make_tls

__all__ = ["STATE_KEY", "create_app", "start_server"]

_LOGGER = logging.getLogger(__name__)


def _graph_request(request: web.Request, body: bytes) -> GraphRequest:
    path = request.rel_url.raw_path.removeprefix("/v1.0") or "/"
    return GraphRequest(request.method, path, request.rel_url.raw_query_string,
                        CIMultiDict(request.headers), body,
                        f"{request.scheme}://{request.host}/v1.0")


def _to_web(resp: GraphResponse) -> web.Response:
    if resp.text is not None:
        return web.Response(status=resp.status, text=resp.text, headers=resp.headers)
    if resp.body is None:
        return web.Response(status=resp.status, headers=resp.headers)
    return web.Response(status=resp.status, text=json.dumps(resp.body), headers=resp.headers)


def _abort(request: web.Request) -> web.StreamResponse:
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)


async def _graph(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    try:
        resp = await dispatch(state, _graph_request(request, await request.read()))
    except ResetConnection:
        return _abort(request)
    _LOGGER.debug("%s %s -> %d", request.method, request.rel_url.raw_path, resp.status)
    return _to_web(resp)


async def _batch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    try:
        resp = await run_batch(state, _graph_request(request, await request.read()))
    except ResetConnection:
        return _abort(request)
    resp.headers.setdefault("Content-Type", "application/json")
    return _to_web(resp)


async def _index(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    lines = [
        "termin-bridge Microsoft identity platform + Graph emulator (offline)",
        "",
        "Authority: /common  /organizations  /consumers  /{tenant-id}",
        "Graph:     /v1.0/   batch: /v1.0/$batch",
        "Hooks:     /_emulator/state, /_emulator/reset, ... (see docs/emulator-microsoft.md)",
        "",
        "Accounts:  " + ", ".join(state.accounts),
        "Clients:   " + ", ".join(state.clients),
    ]
    return web.Response(text="\n".join(lines) + "\n")


def create_app(
    seed: dict[str, Any] | None = None,
    *,
    state: MsState | None = None,
    state_file: str | os.PathLike[str] | None = None,
    config: dict[str, Any] | None = None,
    ca_path: str | None = None,
) -> web.Application:
    """Build the emulator app; ``state_file`` (if it exists) wins over ``seed`` at startup."""
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app[STATE_KEY] = state or MsState()
    if ca_path:
        app[CA_PATH_KEY] = ca_path
    path = Path(state_file) if state_file is not None else None

    app.cleanup_ctx.append(lifecycle(app[STATE_KEY], path, seed, config, apply_seed=apply_seed,
                                     load_state=load_state, dump_state=dump_state,
                                     worker=Notifier))
    r = app.router
    r.add_get("/", _index)
    add_hook_routes(app)
    r.add_post("/v1.0/$batch", _batch)
    r.add_route("*", "/v1.0/{tail:.*}", _graph)
    add_identity_routes(app)
    return app


async def start_server(
    seed: dict[str, Any] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    state_file: str | os.PathLike[str] | None = None,
    config: dict[str, Any] | None = None,
    tls: TlsFiles | None = None,
) -> tuple[web.AppRunner, str, TlsFiles]:
    """Serve over https inside the running loop; returns the runner, base URL and TLS files.

    Call ``await runner.cleanup()`` to stop it (this also writes ``state_file``).
    """
    files: TlsFiles = tls if tls is not None else await asyncio.to_thread(make_tls, None,
                                                                          [host])
    runner = web.AppRunner(create_app(seed, state_file=state_file, config=config,
                                      ca_path=str(files.ca_path)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=files.server_context())
    await site.start()
    bound = runner.addresses[0][1]
    return runner, f"https://{host}:{bound}", files
