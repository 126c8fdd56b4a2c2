"""Connect flow of a login provider (iCloud, any CalDAV server, Exchange): the sign-in form, its
*test connection* step, then the calendar choice, confirm, preview and import of
:mod:`bridge.admin.views_connect` (the same pages as for the OAuth providers).

Generic for every factory that implements :class:`~bridge.providers.base.LoginConnect`: the form
shows the factory's ``default_url`` and the provider's field labels and help
(:data:`~bridge.admin.providers_ui.LOGIN_FORMS`).  The same form reconnects an existing
connection of that provider with a new password.  A refused login re-renders the form with the
explanation of its ``FlowError`` reason; the password is never echoed back nor logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from bridge.admin.pages import (
    calendar_or_404,
    form_data,
    redirect,
    render,
    see_other,
    store_of,
    translator_of,
)
from bridge.admin.providers_ui import (
    APPLE_ACCOUNT_URL,
    FACT_LABELS,
    FACT_VALUES,
    LOGIN_REASONS,
    login_form,
)
from bridge.admin.syncapi import calendar_url, service_of
from bridge.admin.views_connect import after_grant, pending_connection
from bridge.errors import BridgeError, FlowError, RemoteError
from bridge.model import Collection
from bridge.providers.base import LoginConnect, ServerLogin
from bridge.store.sync import ConnectionRecord

__all__ = ["add_routes"]

_LOGGER = logging.getLogger(__name__)
# Longest URL and user name kept from the form.
_MAX_FIELD = 2048


def _factory(request: web.Request, coll: Collection) -> tuple[str, LoginConnect]:
    provider = request.match_info["provider"]
    factory = service_of(request).engine.providers.get(provider)
    if factory is None or not isinstance(factory, LoginConnect):
        raise see_other(calendar_url(coll.path))
    return provider, factory


async def _existing(request: web.Request, coll: Collection, provider: str
                    ) -> ConnectionRecord | None:
    """The calendar's connection to ``provider`` (a reconnect), or ``None`` for a new one;
    a connection to another provider sends the admin back to the calendar's page."""
    record = await asyncio.to_thread(store_of(request).connection_for_collection, coll.path)
    if record is not None and record.provider != provider:
        gettext = translator_of(request)
        raise await redirect(request, calendar_url(coll.path), gettext(
            "This calendar is connected to another provider. Disconnect it first."), "error")
    return record


async def _form_page(request: web.Request, coll: Collection, provider: str,
                     factory: LoginConnect, record: ConnectionRecord | None, *,
                     values: dict[str, str], reason: str = "", detail: str = "",
                     http_status: int = 200) -> web.Response:
    microsoft = "microsoft" in service_of(request).engine.providers
    return await render(
        request, "sync_login.html", http_status=http_status, calendar=coll, provider=provider,
        form=login_form(provider), values=values, reason=reason, detail=detail,
        reconnect=record is not None and bool(record.remote_calendar_id),
        default_url=factory.default_url,
        microsoft_offered=microsoft, apple_account_url=APPLE_ACCOUNT_URL,
        step="login", login_flow=True)


def _prefill(factory: LoginConnect, record: ConnectionRecord | None) -> dict[str, str]:
    found: dict[str, Any] = (record.state.get("discovered") or {}) if record else {}
    options = found.get("options") or {}
    return {"url": str(found.get("url") or factory.default_url),
            "username": str(found.get("username") or (record.account_email if record else "")),
            "auth": str(options.get("auth") or "")}


async def login_page(request: web.Request) -> web.StreamResponse:
    """``GET .../login/{provider}``: the sign-in form (pre-filled when reconnecting)."""
    coll = await calendar_or_404(request)
    provider, factory = _factory(request, coll)
    record = await _existing(request, coll, provider)
    return await _form_page(request, coll, provider, factory, record,
                            values=_prefill(factory, record))


async def login_submit(request: web.Request) -> web.StreamResponse:
    """``POST .../login/{provider}``: test the login, keep it and what was discovered, then the
    *test connection* page (a reconnect goes back to the status page)."""
    coll = await calendar_or_404(request)
    provider, factory = _factory(request, coll)
    record = await _existing(request, coll, provider)
    form = await form_data(request)
    auth_choices = {key for key, _label in login_form(provider).auth_choices}
    values = {"url": form.get("url", "").strip()[:_MAX_FIELD],
              "username": form.get("username", "").strip()[:_MAX_FIELD],
              "auth": form.get("auth", "") if form.get("auth", "") in auth_choices else ""}
    password = form.get("password", "")
    if not values["url"] or not values["username"] or not password:
        return await _form_page(request, coll, provider, factory, record, values=values,
                                reason="missing", http_status=400)
    options = {"auth": values["auth"]} if values["auth"] else {}
    login = ServerLogin(values["url"], values["username"], password, options)
    try:
        result, _found = await service_of(request).connect_login(coll.path, provider, login)
    except FlowError as exc:
        reason = exc.reason if exc.reason in LOGIN_REASONS else "other"
        _LOGGER.info("%s login for /%s/ refused: %s", provider, coll.path, exc.reason)
        return await _form_page(request, coll, provider, factory, record, values=values,
                                reason=reason, detail=str(exc))
    except (RemoteError, BridgeError) as exc:
        _LOGGER.warning("%s login for /%s/ failed: %s", provider, coll.path,
                        type(exc).__name__)
        return await _form_page(request, coll, provider, factory, record, values=values,
                                reason="other", detail=str(exc))
    _LOGGER.info("admin signed in to %s for /%s/ (connection %d)", provider, coll.path,
                 result.connection_id)
    raise await after_grant(request, result, "discovered")


async def discovered_page(request: web.Request) -> web.StreamResponse:
    """``GET .../discovered``: the *test connection* step: where the calendars were found, what
    the server offers, every calendar found and which of them may be written."""
    coll, record = await pending_connection(request)
    found = record.state.get("discovered")
    if record.active or not found:
        raise see_other(calendar_url(coll.path))
    gettext = translator_of(request)
    facts = [(gettext(FACT_LABELS[code]) if code in FACT_LABELS else code,
              gettext(FACT_VALUES[value]) if value in FACT_VALUES else value)
             for code, value in found.get("facts") or ()]
    calendars = sorted(found.get("calendars") or (),
                       key=lambda c: (not c.get("writable"), str(c.get("name", "")).lower()))
    return await render(request, "sync_discovered.html", calendar=coll, record=record,
                        server=str(found.get("server") or ""), facts=facts,
                        calendars=calendars, step="test", login_flow=True)


def add_routes(admin: web.Application) -> None:
    """Register the handlers of this module."""
    base = "/sync/{owner}/{slug}"
    admin.router.add_get(base + "/login/{provider}", login_page)
    admin.router.add_post(base + "/login/{provider}", login_submit)
    admin.router.add_get(base + "/discovered", discovered_page)
