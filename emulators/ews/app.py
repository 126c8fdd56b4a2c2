"""The EWS emulator's aiohttp application: ``POST /EWS/Exchange.asmx`` (any letter case, as
IIS), autodiscover at ``/autodiscover/autodiscover.svc|xml``, hooks at ``/_emulator/…``, a
plain-text index at ``/``.

``create_app(seed=..., state_file=...)`` builds the app without doing I/O; the seed (or the
state file, when it exists) is loaded at startup and the state is written back to ``state_file``
on shutdown.  Serve it over http or https (:mod:`emulators.shared.tls`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from aiohttp import web

from emulators.ews.auth import Authenticator
from emulators.ews.autodiscover import pox_answer, soap_answer
from emulators.ews.context import Ctx
from emulators.ews.hooks import STATE_KEY, add_hook_routes
from emulators.ews.push import Notifier
from emulators.ews.seed import apply_seed, dump_state, load_state
from emulators.ews.services import Reset, Status, handle, supported_schemas
from emulators.ews.soap import EwsError, ServerVersion, envelope, fault, parse_request, to_bytes
from emulators.ews.state import EwsState
from emulators.shared.lifecycle import lifecycle

__all__ = ["STATE_KEY", "create_app"]

_LOGGER = logging.getLogger(__name__)
_AUTH_KEY: web.AppKey[Authenticator] = web.AppKey("ews_emulator_auth", Authenticator)
_XML = "text/xml"


def _any_case(path: str) -> str:
    """A route pattern matching ``path`` in any letter case, as IIS does."""
    return "".join(f"[{c.upper()}{c}]" if c.isalpha() else "\\." if c == "." else c
                   for c in path)


_EWS_PATH = _any_case("ews/exchange.asmx")
_AUTODISCOVER_PATH = _any_case("autodiscover/autodiscover.") + "(?:[Ss][Vv][Cc]|[Xx][Mm][Ll])"
_HEADERS = {"Server": "Microsoft-IIS/10.0", "X-AspNet-Version": "4.0.30319",
            "X-Powered-By": "ASP.NET", "X-FEServer": "EXCH01"}
_UNAVAILABLE = ('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN"'
                '"http://www.w3.org/TR/html4/strict.dtd">\r\n<HTML><HEAD><TITLE>Service '
                'Unavailable</TITLE>\r\n<META HTTP-EQUIV="Content-Type" Content="text/html; '
                'charset=us-ascii"></HEAD>\r\n<BODY><h2>Service Unavailable</h2>\r\n<hr><p>HTTP '
                'Error 503. The service is unavailable.</p>\r\n</BODY></HTML>\r\n')


def _server_version(state: EwsState) -> ServerVersion:
    return ServerVersion.parse(state.config.server_build, state.config.server_version)


def _soap(state: EwsState, content: Any, status: int = 200) -> web.Response:
    body = to_bytes(envelope(content, _server_version(state) if status == 200 else None))
    return web.Response(status=status, body=body, headers=_HEADERS,
                        content_type=_XML, charset="utf-8")


async def _ews(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    who = request.app[_AUTH_KEY].check(state, request)
    if isinstance(who, web.Response):
        await request.read()
        return who
    if request.method != "POST":
        return web.Response(status=405, text="Method Not Allowed", headers=_HEADERS)
    data = await request.read()
    try:
        parsed = parse_request(data)
        result = await handle(Ctx(state, who, parsed))
    except EwsError as exc:
        _LOGGER.debug("EWS fault %s", exc.code)
        return _soap(state, fault(exc), 500)
    except Reset:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)
    except Status as exc:
        if exc.status == 503:
            return web.Response(status=503, text=_UNAVAILABLE, content_type="text/html",
                                headers={"Server": "Microsoft-HTTPAPI/2.0"})
        return web.Response(status=exc.status, headers=_HEADERS)
    return _soap(state, result)


async def _autodiscover(request: web.Request) -> web.StreamResponse:
    """SOAP (``.svc``) or POX (``.xml``) autodiscover for a signed-in caller."""
    state = request.app[STATE_KEY]
    who = request.app[_AUTH_KEY].check(state, request)
    data = await request.read()
    if isinstance(who, web.Response):
        return who
    if request.method != "POST":
        return web.Response(status=405, text="Method Not Allowed", headers=_HEADERS)
    state.counters.requests["Autodiscover"] += 1
    ews_url = (state.config.autodiscover_ews_url
               or f"{request.scheme}://{request.host}/EWS/Exchange.asmx")
    if b"<!DOCTYPE" in data.upper():
        return web.Response(status=400, text="DTDs are not allowed", headers=_HEADERS)
    if request.path.lower().endswith(".xml"):
        body = to_bytes(pox_answer(state, data, ews_url))
        return web.Response(body=body, headers=_HEADERS, content_type=_XML, charset="utf-8")
    try:
        answer = soap_answer(state, data, ews_url, supported_schemas(state.config.server_version))
    except EwsError as exc:
        return web.Response(status=500, body=to_bytes(envelope(fault(exc), None)),
                            headers=_HEADERS, content_type=_XML, charset="utf-8")
    return web.Response(body=to_bytes(answer), headers=_HEADERS, content_type=_XML,
                        charset="utf-8")


async def _index(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    lines = [
        "termin-bridge Exchange Web Services emulator (offline)",
        "",
        "EWS:       /EWS/Exchange.asmx  (SOAP 1.1; auth " + ", ".join(state.config.auth_schemes)
        + ")",
        "Autodiscover: /autodiscover/autodiscover.svc (SOAP), /autodiscover/autodiscover.xml (POX)",
        "Hooks:     /_emulator/state, /_emulator/reset, ... (see docs/emulator-ews.md)",
        "",
        "Mailboxes: " + ", ".join(state.mailboxes),
    ]
    return web.Response(text="\n".join(lines) + "\n")


def create_app(
    seed: dict[str, Any] | None = None,
    *,
    state: EwsState | None = None,
    state_file: str | os.PathLike[str] | None = None,
    config: dict[str, Any] | None = None,
) -> web.Application:
    """Build the emulator app; ``state_file`` (if it exists) wins over ``seed`` at startup."""
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app[STATE_KEY] = state or EwsState()
    app[_AUTH_KEY] = Authenticator()
    path = Path(state_file) if state_file is not None else None
    app.cleanup_ctx.append(lifecycle(app[STATE_KEY], path, seed, config, apply_seed=apply_seed,
                                     load_state=load_state, dump_state=dump_state,
                                     worker=Notifier))
    r = app.router
    r.add_get("/", _index)
    add_hook_routes(app)
    r.add_route("*", "/{path:" + _EWS_PATH + "}", _ews)
    r.add_route("*", "/{path:" + _AUTODISCOVER_PATH + "}", _autodiscover)
    return app
