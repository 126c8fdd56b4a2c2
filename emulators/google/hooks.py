"""Test hooks under ``/_emulator/``: not part of Google's API.

- ``POST reset`` ``{"seed": {...}?, "demo": bool?}``: forget everything, then seed.
- ``POST seed`` (a seed document): add accounts, clients, calendars, events, tokens.
- ``POST external_change`` ``{calendarId, op, event?, eventId?, actor?}`` with ``op`` one of
  insert/import/patch/update/delete: edit as if in Google's UI (bumps counter, fires push).
- ``POST faults`` (rule or list) / ``GET`` / ``DELETE``: faults per method id.
- ``POST rate_limit`` ``{max, per_seconds, status, reason}`` (``{}`` removes it).
- ``POST clock`` ``{advance_seconds}`` or ``{now, freeze}``; ``GET clock``.
- ``POST expire_sync_tokens`` ``{calendarId?}``: the next incremental list gets 410.
- ``POST acl_change`` ``{calendarId, account, role}``: change sharing, invalidate sync tokens.
- ``POST config`` / ``GET config``: knobs of :class:`~.state.Config`.
- ``POST tokens`` ``{account, client_id, scopes}``: mint tokens without the browser flow.
- ``GET state`` / ``POST reset_counters``: counters, write log, deliveries, channels.
- ``GET events?calendarId=``: stored events, cancelled ones included.
"""

from __future__ import annotations

import logging

from aiohttp import web

from emulators.google import eventlogic
from emulators.google.api import full_scope
from emulators.google.controls import Counters, FaultRule, RateLimit
from emulators.google.errors import ApiError
from emulators.google.seed import apply_seed, demo_seed
from emulators.google.timeutil import format_ts
from emulators.google.tokens import STATE_KEY, issue_tokens
from emulators.shared.hookbase import add_common_hooks, add_seed_hooks, bad, json_body

__all__ = ["PREFIX", "add_hook_routes"]

_LOGGER = logging.getLogger(__name__)
PREFIX = "/_emulator/"










async def external_change(request: web.Request) -> web.Response:
    """Change an event as Google's UI (or another client) would."""
    state = request.app[STATE_KEY]
    body = await json_body(request)
    cal_id = str(body.get("calendarId", ""))
    cal = state.calendars.get(cal_id)
    if cal is None:
        return bad(f"unknown calendar {cal_id!r}")
    actor = str(body.get("actor") or cal.owner)
    op = body.get("op")
    event = dict(body.get("event") or {})
    event_id = str(body.get("eventId") or event.get("id") or "")
    try:
        if op == "insert":
            stored = eventlogic.insert_event(state, cal_id, event, actor, source="external")
        elif op == "import":
            stored = eventlogic.import_event(state, cal_id, event, actor, source="external")
        elif op == "patch":
            stored = eventlogic.patch_event(state, cal_id, event_id, event, actor,
                                            source="external")
        elif op == "update":
            stored = eventlogic.update_event(state, cal_id, event_id, event, actor,
                                             source="external")
        elif op == "delete":
            eventlogic.delete_event(state, cal_id, event_id, actor, source="external")
            return web.json_response({"ok": True})
        else:
            return bad(f"unknown op {op!r}")
    except ApiError as exc:
        return web.json_response(exc.body(), status=exc.code)
    return web.json_response(stored.data)








async def expire_sync_tokens(request: web.Request) -> web.Response:
    """Invalidate sync tokens (all, or those of ``calendarId``)."""
    body = await json_body(request)
    count = request.app[STATE_KEY].expire_sync_tokens(body.get("calendarId"))
    return web.json_response({"expired": count})


async def acl_change(request: web.Request) -> web.Response:
    """Change one account's role on a calendar; invalidates that calendar's sync tokens."""
    state = request.app[STATE_KEY]
    body = await json_body(request)
    cal = state.calendars.get(str(body.get("calendarId", "")))
    if cal is None:
        return bad("unknown calendar")
    role, account = str(body.get("role", "none")), str(body.get("account", ""))
    if role == "none":
        cal.acl.pop(account, None)
    else:
        cal.acl[account] = role
    state.touch_calendar(cal)
    state.expire_sync_tokens(cal.id)
    return web.json_response({"ok": True})




async def tokens(request: web.Request) -> web.Response:
    """Mint an access and a refresh token for an account and client."""
    state = request.app[STATE_KEY]
    body = await json_body(request)
    account, client_id = str(body.get("account", "")), str(body.get("client_id", ""))
    if account not in state.accounts or client_id not in state.clients:
        return bad("unknown account or client")
    scopes = [full_scope(str(s)) for s in body.get("scopes") or ["calendar"]]
    state.grants[(account, client_id)] = scopes
    return web.json_response(issue_tokens(state, account, client_id, scopes, with_refresh=True))


async def state_view(request: web.Request) -> web.Response:
    """Counters, the change counter, the clock and the channels."""
    state = request.app[STATE_KEY]
    out = state.counters.as_json()
    out["counter"] = state.counter
    out["now"] = format_ts(state.clock.now())
    out["channels"] = [
        {"id": c.id, "calendarId": c.calendar_id, "address": c.address, "stopped": c.stopped,
         "messageNumber": c.message_number, "expiration": format_ts(c.expiration)}
        for c in state.channels.values()
    ]
    return web.json_response(out)




async def events_dump(request: web.Request) -> web.Response:
    """Stored events of one calendar, cancelled ones included, with change numbers."""
    state = request.app[STATE_KEY]
    cal_id = request.query.get("calendarId", "")
    table = state.events.get(cal_id, {})
    return web.json_response([{"seq": e.seq, **e.data} for e in table.values()])


def add_hook_routes(app: web.Application) -> None:
    """Register every ``/_emulator/`` route on ``app``."""
    r = app.router
    r.add_post(PREFIX + "external_change", external_change)
    add_common_hooks(app, PREFIX, lambda request: request.app[STATE_KEY], FaultRule, RateLimit,
                     Counters)
    add_seed_hooks(app, PREFIX, lambda request: request.app[STATE_KEY], apply_seed, demo_seed)
    r.add_post(PREFIX + "expire_sync_tokens", expire_sync_tokens)
    r.add_post(PREFIX + "acl_change", acl_change)
    r.add_post(PREFIX + "tokens", tokens)
    r.add_get(PREFIX + "state", state_view)
    r.add_get(PREFIX + "events", events_dump)
