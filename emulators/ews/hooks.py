"""Test hooks under ``/_emulator/``: not part of Exchange.

- ``POST reset`` ``{"seed"?, "demo"?}`` / ``POST seed``: forget everything and seed / add a seed.
- ``GET/POST/DELETE faults``: fault rules per operation (``ErrorServerBusy`` with
  ``back_off_ms``, any EWS ``code``, bare ``status`` 500/503, ``latency``, ``reset``);
  ``POST rate_limit`` ``{max, per_seconds, back_off_ms}``.
- ``GET/POST clock``; ``GET/POST config``; ``POST reset_counters``.
- ``POST invalidate_sync`` ``{folder_id?}``: SyncStates issued so far (of one folder, or all)
  answer ``ErrorInvalidSyncStateData``.
- ``GET state``: counters (requests per operation, challenges, throttled, write and mail log),
  clock, mailboxes and folders; ``GET items?folder_id=``: item digests.

faults, rate_limit, clock, config, reset, seed and reset_counters come from
:mod:`emulators.shared.hookbase`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulators.ews.calendar import summary
from emulators.ews.controls import Counters, FaultRule, RateLimit
from emulators.ews.seed import apply_seed, demo_seed
from emulators.ews.state import EwsState
from emulators.shared.clock import format_ts
from emulators.shared.hookbase import add_common_hooks, add_seed_hooks, json_body

__all__ = ["PREFIX", "STATE_KEY", "add_hook_routes"]

PREFIX = "/_emulator/"
STATE_KEY: web.AppKey[EwsState] = web.AppKey("ews_emulator_state", EwsState)


def _state_of(request: web.Request) -> EwsState:
    return request.app[STATE_KEY]


async def state_dump(request: web.Request) -> web.Response:
    """Counters, clock, mailboxes and folders."""
    state = _state_of(request)
    body: dict[str, Any] = {
        **state.counters.as_json(), "now": format_ts(state.clock.now()),
        "change_counter": state.counter,
        "mailboxes": sorted(state.mailboxes),
        "folders": [{"id": f.id, "owner": f.owner, "name": f.name, "class": f.folder_class,
                     "distinguished": f.distinguished, "parent_id": f.parent_id}
                    for f in state.folders.values()],
        "faults": len(state.faults),
    }
    return web.json_response(body)


async def items(request: web.Request) -> web.Response:
    """Digests of the stored items (of one folder with ``?folder_id=``)."""
    state = _state_of(request)
    folder_id = request.query.get("folder_id")
    return web.json_response([summary(i) for i in state.items.values()
                              if folder_id in (None, i.folder_id)])


async def invalidate_sync(request: web.Request) -> web.Response:
    """Make the SyncStates issued so far invalid (all folders, or one)."""
    state = _state_of(request)
    body = await json_body(request)
    target = body.get("folder_id")
    count = 0
    for folder in state.folders.values():
        if target in (None, folder.id):
            folder.epoch += 1
            count += 1
    return web.json_response({"invalidated": count})


def add_hook_routes(app: web.Application) -> None:
    """Register every hook."""
    add_common_hooks(app, PREFIX, _state_of, FaultRule, RateLimit, Counters)
    add_seed_hooks(app, PREFIX, _state_of, apply_seed, demo_seed)
    r = app.router
    r.add_get(PREFIX + "state", state_dump)
    r.add_get(PREFIX + "items", items)
    r.add_post(PREFIX + "invalidate_sync", invalidate_sync)
