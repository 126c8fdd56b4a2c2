"""Connect flow: provider → its consent page → choose calendar → confirm → Save → preview →
import (the same steps for every provider).

The OAuth ``state`` and PKCE verifier live in the sync service (single-use, ten minutes) and are
bound to the admin session that started the flow; the callback refuses a missing, unknown, used
or foreign ``state`` with 400 before anything is written.  Google's refusals get their own pages:
access denied, a Workspace policy (``admin_policy_enforced``), calendar access not granted, no
writable calendar.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bridge.admin.pages import (
    act,
    calendar_or_404,
    form_data,
    redirect,
    render,
    see_other,
    session_of,
    settings_of,
    store_of,
    translator_of,
)
from bridge.admin.providers_ui import PROVIDER_LABELS
from bridge.admin.syncapi import calendar_url, service_of
from bridge.errors import BridgeError, FlowError, RemoteError
from bridge.model import Collection
from bridge.store.sync import ConnectionRecord
from bridge.sync.engine import DEFAULT_PROVIDER
from bridge.sync.service import callback_path, provider_of_callback

__all__ = ["add_routes", "oauth_callback"]

_LOGGER = logging.getLogger(__name__)
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Callback error reasons with a page of their own (others get the generic error page).
_ERROR_PAGES = frozenset({"access_denied", "admin_policy_enforced", "scope", "no_writable",
                          "no_refresh_token", "state", "declined", "admin_approval",
                          "consent_required", "provider"})
# Microsoft identity platform codes (error_description "AADSTSnnnnn: …") with a page of their own.
_AADSTS_REASONS = {"90094": "admin_approval", "90093": "admin_approval",
                   "65001": "consent_required", "65004": "declined"}


def _redirect_uri(request: web.Request, provider: str) -> str | None:
    """Our callback URL: ``public_url`` when set, else the loopback origin the admin uses."""
    if settings_of(request).http.public_url:
        return None  # the service derives it from public_url
    host = urlsplit(f"//{request.host}").hostname or ""
    if host in _LOOPBACK:
        # The session cookie is per host: come back to the same host the admin typed.
        return f"{request.scheme}://{request.host}{callback_path(provider)}"
    return None


def _aadsts_reason(description: str) -> str | None:
    """The page for a Microsoft ``error_description`` that starts with an AADSTS code."""
    match = re.match(r"\s*AADSTS(\d+)", description)
    return _AADSTS_REASONS.get(match.group(1)) if match else None


async def _oauth_error(
    request: web.Request, reason: str, detail: str = "", status: int = 200,
    provider: str = "google",
) -> web.Response:
    settings = settings_of(request)
    client_id = (settings.microsoft.client_id if provider == "microsoft"
                 else settings.google.client_id)
    return await render(request, "oauth_error.html", http_status=status, reason=reason,
                        detail=detail, client_id=client_id, provider=provider)


async def _connection(request: web.Request, coll: Collection) -> ConnectionRecord | None:
    return await asyncio.to_thread(store_of(request).connection_for_collection, coll.path)


async def start_connect(request: web.Request) -> web.StreamResponse:
    """``POST /admin/sync/{owner}/{slug}/connect``: off to the provider's consent page."""
    coll = await calendar_or_404(request)
    service = service_of(request)
    session = session_of(request)
    gettext = translator_of(request)
    form = await form_data(request)
    provider = form.get("provider") or DEFAULT_PROVIDER
    if provider not in service.engine.providers:
        raise await redirect(request, calendar_url(coll.path),
                             gettext("This calendar provider is not available."), "error")
    start = asyncio.to_thread(service.start_connect, coll.path, session.record.sid_hash,
                              redirect_uri=_redirect_uri(request, provider), provider=provider)
    url = await act(request, start, to=calendar_url(coll.path),
                    fail=gettext("Cannot connect: {reason}"))
    _LOGGER.info("admin started connecting /%s/ to %s", coll.path, provider)
    raise see_other(url)


async def oauth_callback(request: web.Request) -> web.StreamResponse:
    """``GET /oauth2/callback`` (Google) and ``/oauth2/<provider>/callback``: check state,
    exchange the code, go on to the calendar choice."""
    service = service_of(request)
    session = session_of(request)
    provider = provider_of_callback(request.path)
    state = request.query.get("state", "")
    error = request.query.get("error") or None
    code = request.query.get("code") or None
    if not state:
        return await _oauth_error(request, "state", status=400, provider=provider)
    try:
        result = await service.finish_connect(session.record.sid_hash, state, code=code,
                                              error=error)
    except FlowError as exc:
        reason = exc.reason if exc.reason in _ERROR_PAGES else "other"
        if error and provider != DEFAULT_PROVIDER:
            reason = (_aadsts_reason(request.query.get("error_description", ""))
                      or ("declined" if reason == "access_denied" else reason))
        _LOGGER.info("%s connect refused: %s", provider, exc.reason)
        # "no_writable" names the account (the service wrote nothing and revoked the grant).
        detail = exc.account_email if reason == "no_writable" else str(exc)
        return await _oauth_error(request, reason, detail, 400 if reason == "state" else 200,
                                  provider)
    except (RemoteError, BridgeError) as exc:
        # A provider's consent refusal (Microsoft: declined, admin_approval, …) has a page.
        reason = str(getattr(exc, "reason", ""))
        _LOGGER.warning("%s connect failed: %s", provider, type(exc).__name__)
        if reason in _ERROR_PAGES:
            return await _oauth_error(request, reason, str(exc), provider=provider)
        return await _oauth_error(request, "other", str(exc), 502, provider)
    record = await asyncio.to_thread(store_of(request).get_connection, result.connection_id)
    if result.reconnected and record.remote_calendar_id:
        gettext = translator_of(request)
        raise await redirect(request, calendar_url(record.collection_path), gettext(
            "{provider} is connected again. Queued changes are being sent now.",
            provider=gettext(PROVIDER_LABELS.get(record.provider) or record.provider)))
    raise see_other(calendar_url(record.collection_path, "choose"))


def _choices(record: ConnectionRecord) -> list[dict[str, Any]]:
    raw = record.state.get("choices") or {}
    out = [{"id": cid, "summary": str(info.get("summary") or cid),
            "time_zone": str(info.get("timeZone") or ""),
            "primary": cid == record.account_email}
           for cid, info in raw.items()]
    return sorted(out, key=lambda c: (not c["primary"], c["summary"].lower()))


async def _pending_connection(request: web.Request) -> tuple[Collection, ConnectionRecord]:
    coll = await calendar_or_404(request)
    record = await _connection(request, coll)
    if record is None:
        raise see_other(calendar_url(coll.path))
    return coll, record


async def choose_page(request: web.Request) -> web.StreamResponse:
    """``GET .../choose``: the Google calendars this account may write to."""
    coll, record = await _pending_connection(request)
    if record.active:
        raise see_other(calendar_url(coll.path))
    return await render(request, "sync_choose.html", calendar=coll, record=record,
                        choices=_choices(record), step="choose")


async def confirm_page(request: web.Request) -> web.StreamResponse:
    """``GET .../confirm?calendar=ID``: what will be connected; "Save changes" commits it."""
    coll, record = await _pending_connection(request)
    if record.active:
        raise see_other(calendar_url(coll.path))
    chosen = request.query.get("calendar", "")
    choice = next((c for c in _choices(record) if c["id"] == chosen), None)
    if choice is None:
        gettext = translator_of(request)
        raise await redirect(request, calendar_url(coll.path, "choose"),
                             gettext("Choose one of the listed calendars."), "error")
    return await render(request, "sync_confirm.html", calendar=coll, record=record,
                        choice=choice, step="confirm")


async def save_choice(request: web.Request) -> web.StreamResponse:
    """``POST .../save``: bind the connection to the chosen calendar, then the preview."""
    coll, record = await _pending_connection(request)
    form = await form_data(request)
    await act(request, asyncio.to_thread(service_of(request).choose_calendar, record.id,
                                         form.get("calendar", "")),
              to=calendar_url(coll.path, "choose"))
    _LOGGER.info("admin chose the remote calendar of connection %d", record.id)
    raise see_other(calendar_url(coll.path, "preview"))


async def preview_page(request: web.Request) -> web.StreamResponse:
    """``GET .../preview``: dry run counts and the "push existing appointments" choice."""
    coll, record = await _pending_connection(request)
    if record.active:
        raise see_other(calendar_url(coll.path))
    if not record.remote_calendar_id:
        raise see_other(calendar_url(coll.path, "choose"))
    error = None
    preview: dict[str, Any] = {}
    try:
        preview = await service_of(request).preview_import(record.id)
    except (RemoteError, BridgeError) as exc:
        error = str(exc)
    return await render(request, "sync_preview.html", calendar=coll, record=record,
                        preview=preview, error=error, step="preview")


async def start_import(request: web.Request) -> web.StreamResponse:
    """``POST .../import``: activate the connection; the engine imports in the background."""
    coll, record = await _pending_connection(request)
    form = await form_data(request)
    push_existing = form.get("push_existing") == "1"
    await act(request, asyncio.to_thread(service_of(request).start_import, record.id,
                                         push_existing=push_existing),
              to=calendar_url(coll.path, "preview"))
    _LOGGER.info("admin started the import of connection %d", record.id)
    raise see_other(calendar_url(coll.path))


async def cancel_setup(request: web.Request) -> web.StreamResponse:
    """``POST .../cancel``: drop a connection whose set-up was not finished."""
    coll, record = await _pending_connection(request)
    if not record.active:
        await service_of(request).disconnect(record.id)
        gettext = translator_of(request)
        raise await redirect(request, calendar_url(coll.path),
                             gettext("The set-up was cancelled. Nothing was synchronised."))
    raise see_other(calendar_url(coll.path))


def add_routes(admin: web.Application) -> None:
    """Register the handlers of this module."""
    base = "/sync/{owner}/{slug}"
    admin.router.add_post(base + "/connect", start_connect)
    admin.router.add_get(base + "/choose", choose_page)
    admin.router.add_get(base + "/confirm", confirm_page)
    admin.router.add_post(base + "/save", save_choice)
    admin.router.add_get(base + "/preview", preview_page)
    admin.router.add_post(base + "/import", start_import)
    admin.router.add_post(base + "/cancel", cancel_setup)
