"""Test hooks under ``/_emulator/``: not part of Microsoft's API.

- ``POST reset`` ``{"seed"?, "demo"?}`` / ``POST seed``: forget everything and seed / add a seed.
- ``POST external_change`` ``{calendarId, op: create|patch|delete, event?, eventId?}``: edit as
  the owner would in Outlook (counter, notifications, mail log as for API writes).
- ``GET/POST/DELETE faults``: fault rules per operation id; ``POST rate_limit``.
- ``GET/POST clock``; ``GET/POST config``.
- ``POST invalidate_delta`` ``{calendarId?}``: the next delta request with an old token is 410.
- ``POST tokens`` ``{account, client_id, scopes}``: tokens without the browser.
- ``POST revoke`` ``{account, mode: sessions|consent|token, client_id?, refresh_token?,
  access_tokens?}``; ``POST expire_tokens`` ``{account?, kind: access|refresh|all}``.
- ``POST admin_consent`` ``{tenant, required?: bool, granted?: bool, client_id?}``.
- ``POST lifecycle`` ``{subscriptionId, event}``: send a lifecycle notification.
- ``GET mail`` / ``DELETE mail``: invitations and cancellations Exchange would have e-mailed.
- ``GET state`` / ``POST reset_counters``; ``GET events?calendarId=``; ``GET ca.pem``.

faults, rate_limit, clock, config, reset, seed and reset_counters come from
:mod:`emulators.shared.hookbase`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from aiohttp import web

from emulators.microsoft import eventlogic
from emulators.microsoft.controls import Counters, FaultRule, RateLimit
from emulators.microsoft.errors import GraphError, graph_body
from emulators.microsoft.scopes import graph_scopes, normalise_scopes
from emulators.microsoft.seed import apply_seed, default_calendar_id, demo_seed
from emulators.microsoft.tokens import STATE_KEY, issue_tokens
from emulators.shared.clock import format_ts
from emulators.shared.hookbase import add_common_hooks, add_seed_hooks, bad, json_body

__all__ = ["CA_PATH_KEY", "PREFIX", "add_hook_routes"]

_LOGGER = logging.getLogger(__name__)
PREFIX = "/_emulator/"
CA_PATH_KEY: web.AppKey[str] = web.AppKey("ms_emulator_ca_path", str)
_LIFECYCLE = ("reauthorizationRequired", "subscriptionRemoved", "missed")










async def external_change(request: web.Request) -> web.Response:
    """Change an event as its owner would in Outlook."""
    state = request.app[STATE_KEY]
    body = await json_body(request)
    target = str(body.get("calendarId", ""))
    cal_id = default_calendar_id(target) if target in state.accounts else target
    cal = state.calendars.get(cal_id)
    if cal is None:
        return bad(f"unknown calendar {target!r}")
    op, event = body.get("op"), dict(body.get("event") or {})
    event_id = str(body.get("eventId") or "")
    try:
        if op == "create":
            stored, _ = eventlogic.create_event(state, cal_id, event, cal.owner, "external")
            return web.json_response(_public(stored.data))
        if op == "patch":
            row = eventlogic.patch_event(state, cal.owner, event_id, event, None, "external")
            return web.json_response(_public(row))
        if op == "delete":
            eventlogic.delete_event(state, cal.owner, event_id, None, "external")
            return web.json_response({"ok": True})
    except GraphError as exc:
        return web.json_response(graph_body(exc.code, exc.message, state.clock.now()),
                                 status=exc.status)
    return bad(f"unknown op {op!r}")


def _public(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not k.startswith("_")}










async def invalidate_delta(request: web.Request) -> web.Response:
    """Invalidate delta tokens (all, or one calendar's)."""
    body = await json_body(request)
    target = body.get("calendarId")
    state = request.app[STATE_KEY]
    if target in state.accounts:
        target = default_calendar_id(str(target))
    return web.json_response({"invalidated": state.invalidate_sync_states(target)})


async def tokens(request: web.Request) -> web.Response:
    """Mint tokens (with a refresh token) without the browser flow."""
    state = request.app[STATE_KEY]
    body = await json_body(request)
    account, client_id = str(body.get("account", "")), str(body.get("client_id", ""))
    if account not in state.accounts or client_id not in state.clients:
        return bad("unknown account or client")
    scopes = normalise_scopes(" ".join(body.get("scopes") or ["Calendars.ReadWrite",
                                                               "User.Read"]))
    scopes = list(dict.fromkeys([*scopes, "offline_access", "openid", "profile"]))
    state.grants[(account, client_id)] = graph_scopes(scopes)
    return web.json_response(issue_tokens(state, account, client_id, scopes))


async def revoke(request: web.Request) -> web.Response:
    """Revoke sign-in sessions, an app's consent, or one refresh token."""
    state = request.app[STATE_KEY]
    body = await json_body(request)
    account, mode = str(body.get("account", "")), str(body.get("mode", "sessions"))
    if mode == "sessions":
        if account not in state.accounts:
            return bad("unknown account")
        state.revoke_sessions(account, access_tokens=bool(body.get("access_tokens")))
    elif mode == "consent":
        state.grants.pop((account, str(body.get("client_id", ""))), None)
    elif mode == "token":
        rt = state.refresh_tokens.get(str(body.get("refresh_token", "")))
        if rt is None:
            return bad("unknown refresh token")
        rt.revoked = True
    else:
        return bad(f"unknown mode {mode!r}")
    return web.json_response({"ok": True})


async def expire_tokens(request: web.Request) -> web.Response:
    """Make access and/or refresh tokens (of one account, or all) expired now."""
    state = request.app[STATE_KEY]
    body = await json_body(request)
    account, kind = body.get("account"), str(body.get("kind", "all"))
    past = state.clock.now() - dt.timedelta(seconds=1)
    count = 0
    if kind in ("access", "all"):
        for at in state.access_tokens.values():
            if account in (None, at.account):
                at.expires_at, count = past, count + 1
    if kind in ("refresh", "all"):
        for rt in state.refresh_tokens.values():
            if account in (None, rt.account):
                rt.expires_at, count = past, count + 1
    return web.json_response({"expired": count})


async def admin_consent(request: web.Request) -> web.Response:
    """Require (or stop requiring) admin consent in a tenant; optionally grant it."""
    state = request.app[STATE_KEY]
    body = await json_body(request)
    tenant = str(body.get("tenant", "*"))
    rules = state.config.admin_consent_tenants
    if body.get("required", True) and tenant not in rules:
        rules.append(tenant)
    if not body.get("required", True) and tenant in rules:
        rules.remove(tenant)
    if body.get("granted"):
        for acc in state.accounts.values():
            if tenant in ("*", acc.tenant_id, acc.upn.rsplit("@", 1)[-1].lower()):
                state.admin_grants.add((acc.tenant_id, str(body.get("client_id", ""))))
    return web.json_response({"admin_consent_tenants": rules})


async def lifecycle(request: web.Request) -> web.Response:
    """Send a lifecycle notification for a subscription."""
    state = request.app[STATE_KEY]
    body = await json_body(request)
    sub = state.subscriptions.get(str(body.get("subscriptionId", "")))
    event = str(body.get("event", ""))
    if sub is None or event not in _LIFECYCLE:
        return bad("unknown subscription or lifecycle event")
    if not sub.lifecycle_url:
        return bad("the subscription has no lifecycleNotificationUrl")
    if event == "subscriptionRemoved":
        del state.subscriptions[sub.id]
    elif event == "reauthorizationRequired":
        sub.needs_reauth = True
    for listener in list(state.lifecycle_listeners):
        listener(sub, event)
    return web.json_response({"ok": True})


async def mail(request: web.Request) -> web.Response:
    """The invitations and cancellations that would have been e-mailed (``DELETE`` clears)."""
    state = request.app[STATE_KEY]
    if request.method == "DELETE":
        state.mail.clear()
    return web.json_response(list(state.mail))


async def state_view(request: web.Request) -> web.Response:
    """Counters, change counter, clock, subscriptions and the mail log size."""
    state = request.app[STATE_KEY]
    out = state.counters.as_json()
    out.update({"counter": state.counter, "now": format_ts(state.clock.now()),
                "mail": len(state.mail),
                "subscriptions": [{"id": s.id, "resource": s.resource,
                                   "needsReauth": s.needs_reauth}
                                  for s in state.subscriptions.values()]})
    return web.json_response(out)




async def events_dump(request: web.Request) -> web.Response:
    """Stored items of a calendar (removed ones too) with change numbers."""
    state = request.app[STATE_KEY]
    target = request.query.get("calendarId", "")
    cal_id = default_calendar_id(target) if target in state.accounts else target
    return web.json_response([{"seq": e.seq, "removed": e.removed, **_public(e.data)}
                              for e in state.events.get(cal_id, {}).values()])


async def ca_pem(request: web.Request) -> web.Response:
    """The CA certificate to trust."""
    path = request.app.get(CA_PATH_KEY)
    if not path:
        raise web.HTTPNotFound(text="served without TLS")
    with open(path, encoding="ascii") as handle:
        return web.Response(text=handle.read(), content_type="application/x-pem-file")


def add_hook_routes(app: web.Application) -> None:
    """Register every ``/_emulator/`` route on ``app``."""
    r = app.router
    add_common_hooks(app, PREFIX, lambda request: request.app[STATE_KEY], FaultRule, RateLimit,
                     Counters)
    add_seed_hooks(app, PREFIX, lambda request: request.app[STATE_KEY], apply_seed, demo_seed)
    posts = {"external_change": external_change,
             "invalidate_delta": invalidate_delta, "tokens": tokens,
             "revoke": revoke, "expire_tokens": expire_tokens, "admin_consent": admin_consent,
             "lifecycle": lifecycle}
    for name, func in posts.items():
        r.add_post(PREFIX + name, func)
    r.add_get(PREFIX + "mail", mail)
    r.add_delete(PREFIX + "mail", mail)
    r.add_get(PREFIX + "state", state_view)
    r.add_get(PREFIX + "events", events_dump)
    r.add_get(PREFIX + "ca.pem", ca_pem)
