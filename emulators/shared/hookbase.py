"""The ``/_emulator/`` hooks every emulator has, for any state with ``faults``, ``rate_limit``,
``rate_hits``, ``clock`` and ``config`` (a :class:`~emulators.shared.knobs.Knobs` dataclass):

- ``GET/POST/DELETE faults``: list, add (one rule or a list) or clear fault rules;
- ``POST rate_limit``: set the per-account limit (``{}`` removes it);
- ``GET/POST clock``: read, ``{advance_seconds}`` or ``{now, freeze}``;
- ``GET/POST config``: read or set knobs; ``POST reset_counters``: zero the counters;

and, with :func:`add_seed_hooks`, ``POST reset`` (``{"seed"?, "demo"?}``: forget everything, then
seed) and ``POST seed`` (add a seed document) for a state with ``reset()``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from aiohttp import web

from emulators.shared.clock import format_ts, parse_rfc3339

__all__ = ["add_common_hooks", "add_seed_hooks", "bad", "json_body"]


async def json_body(request: web.Request) -> Any:
    """The hook's JSON body (``{}`` when empty); 400 when it is not JSON."""
    if not request.can_read_body:
        return {}
    try:
        return await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text="body is not JSON") from exc


def bad(message: str) -> web.Response:
    """A 400 hook answer."""
    return web.json_response({"error": message}, status=400)


def add_common_hooks(app: web.Application, prefix: str, state_of: Callable[[web.Request], Any],
                     fault_rule: type, rate_limit_type: type, counters_type: type) -> None:
    """Register faults, rate_limit, clock, config and reset_counters under ``prefix``."""

    async def reset_counters(request: web.Request) -> web.Response:
        """Zero the counters and the write log."""
        state_of(request).counters = counters_type()
        return web.json_response({"ok": True})

    async def faults(request: web.Request) -> web.Response:
        """``GET`` lists, ``DELETE`` clears, ``POST`` adds fault rules."""
        state = state_of(request)
        if request.method == "DELETE":
            state.faults.clear()
        elif request.method == "POST":
            body = await json_body(request)
            try:
                state.faults.extend(fault_rule(**r) for r in (body if isinstance(body, list)
                                                              else [body]))
            except TypeError as exc:
                return bad(str(exc))
        return web.json_response([dataclasses.asdict(f) for f in state.faults])

    async def rate_limit(request: web.Request) -> web.Response:
        """Set (or with ``{}`` remove) the rate limit."""
        state = state_of(request)
        body = await json_body(request)
        try:
            state.rate_limit = rate_limit_type(**body) if body else None
        except TypeError as exc:
            return bad(str(exc))
        state.rate_hits.clear()
        return web.json_response({"ok": True})

    async def clock(request: web.Request) -> web.Response:
        """Read, advance or set the clock."""
        state = state_of(request)
        if request.method == "POST":
            body = await json_body(request)
            if body.get("now"):
                state.clock.set(parse_rfc3339(str(body["now"])),
                                freeze=bool(body.get("freeze")))
            if body.get("advance_seconds"):
                state.clock.advance(float(body["advance_seconds"]))
        return web.json_response({"now": format_ts(state.clock.now())})

    async def config(request: web.Request) -> web.Response:
        """Read or change config knobs."""
        state = state_of(request)
        if request.method == "POST":
            try:
                state.config.update(await json_body(request))
            except ValueError as exc:
                return bad(str(exc))
        return web.json_response(dataclasses.asdict(state.config))

    r = app.router
    for method in ("GET", "POST", "DELETE"):
        r.add_route(method, prefix + "faults", faults)
    r.add_post(prefix + "rate_limit", rate_limit)
    r.add_post(prefix + "reset_counters", reset_counters)
    for name, func in (("clock", clock), ("config", config)):
        r.add_get(prefix + name, func)
        r.add_post(prefix + name, func)


def add_seed_hooks(app: web.Application, prefix: str, state_of: Callable[[web.Request], Any],
                   apply_seed: Callable[[Any, dict[str, Any]], None],
                   demo_seed: Callable[[], dict[str, Any]]) -> None:
    """Register reset and seed under ``prefix`` (seed errors are ``ValueError``)."""

    async def reset(request: web.Request) -> web.Response:
        """Forget everything, then apply ``seed`` (or the demo seed with ``demo: true``)."""
        state = state_of(request)
        body = await json_body(request)
        state.reset()
        seed = body.get("seed") or (demo_seed() if body.get("demo") else None)
        if seed:
            try:
                apply_seed(state, seed)
            except ValueError as exc:
                return bad(str(exc))
        return web.json_response({"ok": True})

    async def seed(request: web.Request) -> web.Response:
        """Add a seed document to the current state."""
        try:
            apply_seed(state_of(request), await json_body(request))
        except ValueError as exc:
            return bad(str(exc))
        return web.json_response({"ok": True})

    app.router.add_post(prefix + "reset", reset)
    app.router.add_post(prefix + "seed", seed)

