"""The emulator's aiohttp application factory.

``create_app(seed=..., state_file=...)`` builds the app without doing I/O; the seed (or the state
file, when it exists) is loaded at startup, push delivery runs while the app runs, and the state
is written back to ``state_file`` on shutdown.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

# Importing the handler modules registers them in api.HANDLERS.
from emulators.google import calendar_api, events, push  # noqa: F401
from emulators.google.api import ApiRequest, dispatch
from emulators.google.batch import run_batch
from emulators.google.errors import ResetConnection
from emulators.google.hooks import add_hook_routes
from emulators.google.oauth import CONSENT_PATH, authorize_handler, consent_handler
from emulators.google.scopes import discovery_document
from emulators.google.seed import apply_seed, dump_state, load_state
from emulators.google.state import EmulatorState
from emulators.google.tokens import STATE_KEY, revoke_handler, token_handler
from emulators.shared.lifecycle import lifecycle

__all__ = ["STATE_KEY", "create_app", "start_server"]

_LOGGER = logging.getLogger(__name__)


def _abort(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=500)


async def _api(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    api_request = ApiRequest(
        request.method,
        request.rel_url.raw_path,
        request.rel_url.raw_query_string,
        CIMultiDict(request.headers),
        await request.read(),
    )
    try:
        resp = await dispatch(state, api_request)
    except ResetConnection:
        return _abort(request)
    _LOGGER.debug("%s %s -> %d", request.method, request.rel_url.raw_path, resp.status)
    if resp.raw is not None:
        return web.Response(status=resp.status, body=resp.raw, headers=resp.headers,
                            content_type="application/json")
    if resp.body is None:
        return web.Response(status=resp.status, headers=resp.headers)
    return web.json_response(resp.body, status=resp.status, headers=resp.headers)


async def _batch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    try:
        status, body, content_type = await run_batch(
            state, request.headers.get("Content-Type", ""), await request.read(),
            CIMultiDict(request.headers),
        )
    except ResetConnection:
        return _abort(request)
    return web.Response(status=status, body=body, headers={"Content-Type": content_type})


async def _discovery(request: web.Request) -> web.Response:
    doc = dict(discovery_document())
    root = f"{request.scheme}://{request.host}/"
    doc["rootUrl"] = root
    doc["baseUrl"] = root + doc["servicePath"]
    return web.json_response(doc)


async def _index(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    lines = [
        "termin-bridge Google Calendar emulator (offline)",
        "",
        "API:      /calendar/v3/   batch: /batch/calendar/v3",
        "OAuth:    /o/oauth2/v2/auth   /token   /revoke",
        "Hooks:    /_emulator/state, /_emulator/reset, ... (see docs/emulator.md)",
        "",
        "Accounts: " + ", ".join(state.accounts),
        "Clients:  " + ", ".join(state.clients),
    ]
    return web.Response(text="\n".join(lines) + "\n")


async def start_server(
    seed: dict[str, Any] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    state_file: str | os.PathLike[str] | None = None,
    config: dict[str, Any] | None = None,
) -> tuple[web.AppRunner, str]:
    """Serve the emulator inside the running loop; returns the runner and its base URL.

    Call ``await runner.cleanup()`` to stop it (this also writes ``state_file``).
    """
    runner = web.AppRunner(create_app(seed, state_file=state_file, config=config),
                           access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, f"http://{host}:{bound}"


def create_app(
    seed: dict[str, Any] | None = None,
    *,
    state: EmulatorState | None = None,
    state_file: str | os.PathLike[str] | None = None,
    config: dict[str, Any] | None = None,
) -> web.Application:
    """Build the emulator app; ``state_file`` (if it exists) wins over ``seed`` at startup."""
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app[STATE_KEY] = state or EmulatorState()
    path = Path(state_file) if state_file is not None else None

    app.cleanup_ctx.append(lifecycle(app[STATE_KEY], path, seed, config, apply_seed=apply_seed,
                                     load_state=load_state, dump_state=dump_state,
                                     worker=push.Notifier))
    r = app.router
    r.add_get("/", _index)
    for path_ in ("/o/oauth2/v2/auth", "/o/oauth2/auth"):
        r.add_get(path_, authorize_handler)
    r.add_post(CONSENT_PATH, consent_handler)
    for path_ in ("/token", "/o/oauth2/token", "/oauth2/v4/token"):
        r.add_post(path_, token_handler)
    for path_ in ("/revoke", "/o/oauth2/revoke"):
        r.add_post(path_, revoke_handler)
    r.add_route("*", "/calendar/v3/{tail:.*}", _api)
    r.add_post("/batch/calendar/v3", _batch)
    r.add_post("/batch", _batch)
    r.add_get("/discovery/v1/apis/calendar/v3/rest", _discovery)
    add_hook_routes(app)
    return app
