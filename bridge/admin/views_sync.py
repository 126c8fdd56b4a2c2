"""Synchronisation: the calendar overview, each calendar's page, import progress and actions.

A calendar's page shows what fits its stage: the provider choice when nothing is connected, the
import progress while the first import runs (a JSON endpoint feeds the live bar, and the page
itself shows the same numbers, so a reload loses nothing), else the status with its actions
(sync now, interval, reconnect, safety-valve confirm/cancel, retry parked pushes, disconnect).
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from aiohttp import web

from bridge.admin.i18n import Translator
from bridge.admin.pages import (
    DASH,
    act,
    calendar_or_404,
    form_data,
    redirect,
    render,
    see_other,
    settings_of,
    store_of,
    translator_of,
)
from bridge.admin.providers_ui import (
    APPLE_ACCOUNT_URL,
    MICROSOFT_APPS_URL,
    MICROSOFT_CONSENT_URL,
    PROVIDER_LABELS,
    provider_states,
)
from bridge.admin.syncapi import (
    CalendarStatus,
    calendar_status,
    calendar_url,
    default_interval,
    login_flow,
    push_channels_enabled,
    service_of,
)
from bridge.model import Collection

__all__ = ["add_routes"]

_LOGGER = logging.getLogger(__name__)


async def _status(request: web.Request, coll: Collection, *, detail: bool) -> CalendarStatus:
    return await asyncio.to_thread(
        calendar_status, store_of(request), coll, detail=detail,
        channels=push_channels_enabled(request), interval=default_interval(request),
        service=service_of(request),
    )


async def overview(request: web.Request) -> web.StreamResponse:
    """``GET /admin/sync``: every calendar and the state of its Google connection."""
    store = store_of(request)
    calendars = await asyncio.to_thread(store.list_collections, tag="VCALENDAR")
    rows = [await _status(request, c, detail=False) for c in calendars]
    return await render(request, "sync_overview.html", rows=rows)


_PHASES = {"running": "importing", "done": "finished", "failed": "failed"}


def _progress(service: Any, connection_id: int, gettext: Translator) -> dict[str, Any]:
    """Import progress for the page and the JSON endpoint (counts, percent, ETA)."""
    data = service.import_progress(connection_id)
    seen = int(data.get("seen") or 0)
    total = data.get("total_estimate")
    phase = str(data.get("phase") or "running")
    finished = phase == "done"
    percent: float | None = None
    if finished:
        percent = 100.0
    elif total:
        percent = min(99.0, 100.0 * seen / max(1, int(total)))
    eta = data.get("eta_seconds")
    return {
        "phase": phase, "phase_label": gettext(_PHASES.get(phase, phase)),
        "finished": finished, "seen": seen,
        "total": int(total) if total else None,
        "created": int(data.get("created") or 0), "updated": int(data.get("updated") or 0),
        "unchanged": int(data.get("unchanged") or 0), "errors": int(data.get("errors") or 0),
        "pages": int(data.get("pages") or 0), "rate": data.get("rate") or 0.0,
        "percent": round(percent, 1) if percent is not None else None,
        "eta_seconds": math.ceil(eta) if isinstance(eta, int | float) else None,
        "eta": _fmt_eta(eta),
        "push_existing": bool(data.get("push_existing")),
    }


def _fmt_eta(eta: Any) -> str:
    if not isinstance(eta, int | float):
        return DASH
    seconds = max(0, math.ceil(eta))
    return f"{seconds // 60}:{seconds % 60:02d}"


async def calendar_page(request: web.Request) -> web.StreamResponse:
    """``GET /admin/sync/{owner}/{slug}``: provider choice, import progress or status."""
    coll = await calendar_or_404(request)
    status = await _status(request, coll, detail=True)
    if status.stage == "none":
        service = service_of(request)
        states = provider_states(settings_of(request), service.engine.providers)
        return await render(request, "sync_provider.html", calendar=coll, step="provider",
                            providers=states,
                            microsoft_redirect=service.redirect_uri("microsoft"))
    if status.stage == "choose":
        raise see_other(calendar_url(coll.path, "choose"))
    if status.stage == "preview":
        raise see_other(calendar_url(coll.path, "preview"))
    progress = None
    if status.record is not None and status.record.state.get("import"):
        progress = await asyncio.to_thread(_progress, service_of(request), status.record.id,
                                           translator_of(request))
    template = "sync_import.html" if status.stage == "importing" else "sync_status.html"
    provider = status.record.provider if status.record is not None else ""
    return await render(request, template, calendar=coll, status=status, record=status.record,
                        progress=progress, channels=push_channels_enabled(request),
                        default_interval=default_interval(request), step="import",
                        login_flow=login_flow(request, provider),
                        apple_account_url=APPLE_ACCOUNT_URL)


async def progress_json(request: web.Request) -> web.StreamResponse:
    """``GET .../progress.json``: the import progress for the live bar."""
    coll = await calendar_or_404(request)
    record = await asyncio.to_thread(store_of(request).connection_for_collection, coll.path)
    if record is None:
        raise web.HTTPNotFound()
    data = await asyncio.to_thread(_progress, service_of(request), record.id,
                                   translator_of(request))
    return web.json_response(data, headers={"Cache-Control": "no-store"})


async def _active(request: web.Request) -> tuple[Collection, int]:
    coll = await calendar_or_404(request)
    record = await asyncio.to_thread(store_of(request).connection_for_collection, coll.path)
    if record is None:
        raise see_other(calendar_url(coll.path))
    return coll, record.id


async def sync_now(request: web.Request) -> web.StreamResponse:
    """``POST .../sync-now``: pull now and send what is queued."""
    coll, cid = await _active(request)
    gettext = translator_of(request)
    to = calendar_url(coll.path)
    results = await act(request, service_of(request).sync_now(cid), to=to,
                        fail=gettext("Sync failed: {reason}"))
    counts = results.get(cid) or {}
    if counts.get("skipped"):
        raise await redirect(request, to, gettext(
            "Nothing was pulled: the connection is paused, needs a reconnect or is busy. "
            "See below."), "warn")
    raise await redirect(request, to, gettext(
        "Synchronised: {created} new, {updated} changed, {deleted} deleted from Google.",
        created=counts.get("created", 0), updated=counts.get("updated", 0),
        deleted=counts.get("deleted", 0)))


async def set_interval(request: web.Request) -> web.StreamResponse:
    """``POST .../interval``: the poll interval of this connection (minutes; empty = default)."""
    coll, cid = await _active(request)
    form = await form_data(request)
    gettext = translator_of(request)
    to = calendar_url(coll.path)
    raw = form.get("minutes", "").strip()
    seconds: int | None = None
    if raw:
        try:
            minutes = float(raw.replace(",", "."))
            seconds = round(minutes * 60) if math.isfinite(minutes) else -1
        except ValueError:
            seconds = -1
    await act(request, asyncio.to_thread(service_of(request).set_poll_interval, cid, seconds),
              to=to, fail=gettext("The interval must be between 1 minute and 24 hours."))
    raise await redirect(request, to, gettext("Sync interval saved."))


async def confirm_pause(request: web.Request) -> web.StreamResponse:
    """``POST .../pause/confirm``: apply the pull the safety valve held back, and resume."""
    coll, cid = await _active(request)
    gettext = translator_of(request)
    to = calendar_url(coll.path)
    await act(request, service_of(request).confirm_pause(cid), to=to,
              fail=gettext("Sync failed: {reason}"))
    _LOGGER.info("admin confirmed the paused pull of connection %d", cid)
    raise await redirect(request, to, gettext(
        "Confirmed: the changes from Google were applied and the sync runs again."))


async def cancel_pause(request: web.Request) -> web.StreamResponse:
    """``POST .../pause/cancel``: keep the appointments; answers at once, the restore into
    Google runs as a background job whose progress the status page shows."""
    coll, cid = await _active(request)
    gettext = translator_of(request)
    to = calendar_url(coll.path)
    answer = await act(request, service_of(request).cancel_pause(cid), to=to,
                       fail=gettext("Sync failed: {reason}"))
    if answer.get("running"):
        raise await redirect(request, to, gettext(
            "The appointments are already being put back into Google."), "warn")
    if answer.get("skipped"):
        raise await redirect(request, to, gettext(
            "Nothing to cancel: the synchronisation is not paused."), "warn")
    _LOGGER.info("admin cancelled the paused pull of connection %d", cid)
    raise await redirect(request, to, gettext(
        "Cancelled: nothing is deleted here. The appointments are being put back into "
        "Google in the background; the progress is shown below."))


async def retry_parked(request: web.Request) -> web.StreamResponse:
    """``POST .../retry``: queue the pushes that failed permanently again."""
    coll, cid = await _active(request)
    count = await asyncio.to_thread(service_of(request).retry_parked, cid)
    gettext = translator_of(request)
    raise await redirect(request, calendar_url(coll.path),
                         gettext("{n} changes queued again.", n=count))


async def disconnect(request: web.Request) -> web.StreamResponse:
    """``POST .../disconnect``: stop the channel, revoke the token, delete the connection."""
    coll, cid = await _active(request)
    gettext = translator_of(request)
    to = calendar_url(coll.path)
    record = await asyncio.to_thread(store_of(request).get_connection, cid)
    await act(request, service_of(request).disconnect(cid), to=to,
              fail=gettext("Disconnect failed: {reason}"))
    _LOGGER.info("admin disconnected connection %d", cid)
    label = gettext(PROVIDER_LABELS.get(record.provider) or record.provider)
    if record.provider == "icloud":
        raise await redirect(request, to, gettext(
            "Apple iCloud was disconnected and the stored Apple ID and app-specific password "
            "were deleted. Revoke the app-specific password yourself at {url} under Sign-In and "
            "Security → App-Specific Passwords. The appointments stay here.",
            url=APPLE_ACCOUNT_URL))
    if login_flow(request, record.provider):
        raise await redirect(request, to, gettext(
            "{provider} was disconnected and the stored user name and password were deleted. "
            "The appointments stay here.", provider=label))
    if record.provider == "microsoft":  # Microsoft has no endpoint to revoke a grant
        raise await redirect(request, to, gettext(
            "Outlook / Microsoft 365 was disconnected: the stored access and the change "
            "subscription were deleted. Microsoft offers apps no way to withdraw their own "
            "access, so remove this app yourself: work or school accounts at {work}, personal "
            "accounts at {personal}. The appointments stay here.",
            work=MICROSOFT_APPS_URL, personal=MICROSOFT_CONSENT_URL))
    raise await redirect(request, to, gettext(
        "Google Calendar was disconnected and access revoked. The appointments stay here."))


def add_routes(admin: web.Application) -> None:
    """Register the handlers of this module."""
    base = "/sync/{owner}/{slug}"
    admin.router.add_get("/sync", overview)
    admin.router.add_get(base, calendar_page)
    admin.router.add_get(base + "/progress.json", progress_json)
    admin.router.add_post(base + "/sync-now", sync_now)
    admin.router.add_post(base + "/interval", set_interval)
    admin.router.add_post(base + "/pause/confirm", confirm_pause)
    admin.router.add_post(base + "/pause/cancel", cancel_pause)
    admin.router.add_post(base + "/retry", retry_parked)
    admin.router.add_post(base + "/disconnect", disconnect)
