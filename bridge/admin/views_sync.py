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

from bridge.admin.i18n import translator
from bridge.admin.pages import (
    DASH,
    calendar_or_404,
    flash,
    form_data,
    lang_of,
    render,
    see_other,
    store_of,
)
from bridge.admin.syncapi import (
    CalendarStatus,
    calendar_status,
    calendar_url,
    default_interval,
    push_channels_enabled,
    service_of,
)
from bridge.errors import BridgeError, RemoteError
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


def _progress(service: Any, connection_id: int, lang: str) -> dict[str, Any]:
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
        "phase": phase, "phase_label": translator(lang)(_PHASES.get(phase, phase)),
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
        return await render(request, "sync_provider.html", calendar=coll, step="provider")
    if status.stage == "choose":
        raise see_other(calendar_url(coll.path, "choose"))
    if status.stage == "preview":
        raise see_other(calendar_url(coll.path, "preview"))
    progress = None
    if status.record is not None and status.record.state.get("import"):
        progress = await asyncio.to_thread(_progress, service_of(request), status.record.id,
                                       lang_of(request))
    template = "sync_import.html" if status.stage == "importing" else "sync_status.html"
    return await render(request, template, calendar=coll, status=status, record=status.record,
                        progress=progress, channels=push_channels_enabled(request),
                        default_interval=default_interval(request), step="import")


async def progress_json(request: web.Request) -> web.StreamResponse:
    """``GET .../progress.json``: the import progress for the live bar."""
    coll = await calendar_or_404(request)
    record = await asyncio.to_thread(store_of(request).connection_for_collection, coll.path)
    if record is None:
        raise web.HTTPNotFound()
    data = await asyncio.to_thread(_progress, service_of(request), record.id, lang_of(request))
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
    gettext = translator(lang_of(request))
    try:
        results = await service_of(request).sync_now(cid)
    except (RemoteError, BridgeError) as exc:
        await flash(request, gettext("Sync failed: {reason}", reason=str(exc)), "error")
        raise see_other(calendar_url(coll.path)) from exc
    counts = results.get(cid) or {}
    if counts.get("skipped"):
        await flash(request, gettext("Nothing was pulled: the connection is paused, needs a "
                                     "reconnect or is busy. See below."), "warn")
    else:
        await flash(request, gettext(
            "Synchronised: {created} new, {updated} changed, {deleted} deleted from Google.",
            created=counts.get("created", 0), updated=counts.get("updated", 0),
            deleted=counts.get("deleted", 0)))
    raise see_other(calendar_url(coll.path))


async def set_interval(request: web.Request) -> web.StreamResponse:
    """``POST .../interval``: the poll interval of this connection (minutes; empty = default)."""
    coll, cid = await _active(request)
    form = await form_data(request)
    gettext = translator(lang_of(request))
    raw = form.get("minutes", "").strip()
    seconds: int | None = None
    if raw:
        try:
            minutes = float(raw.replace(",", "."))
            seconds = round(minutes * 60) if math.isfinite(minutes) else -1
        except ValueError:
            seconds = -1
    try:
        await asyncio.to_thread(service_of(request).set_poll_interval, cid, seconds)
    except BridgeError as exc:
        await flash(request, gettext("The interval must be between 1 minute and 24 hours."),
                    "error")
        raise see_other(calendar_url(coll.path)) from exc
    await flash(request, gettext("Sync interval saved."))
    raise see_other(calendar_url(coll.path))


async def confirm_pause(request: web.Request) -> web.StreamResponse:
    """``POST .../pause/confirm``: apply the pull the safety valve held back, and resume."""
    coll, cid = await _active(request)
    gettext = translator(lang_of(request))
    try:
        await service_of(request).confirm_pause(cid)
    except (RemoteError, BridgeError) as exc:
        await flash(request, gettext("Sync failed: {reason}", reason=str(exc)), "error")
        raise see_other(calendar_url(coll.path)) from exc
    _LOGGER.info("admin confirmed the paused pull of connection %d", cid)
    await flash(request, gettext("Confirmed: the changes from Google were applied and the sync "
                                 "runs again."))
    raise see_other(calendar_url(coll.path))


async def cancel_pause(request: web.Request) -> web.StreamResponse:
    """``POST .../pause/cancel``: keep the appointments; answers at once, the restore into
    Google runs as a background job whose progress the status page shows."""
    coll, cid = await _active(request)
    gettext = translator(lang_of(request))
    try:
        answer = await service_of(request).cancel_pause(cid)
    except BridgeError as exc:
        await flash(request, gettext("Sync failed: {reason}", reason=str(exc)), "error")
        raise see_other(calendar_url(coll.path)) from exc
    if answer.get("running"):
        await flash(request, gettext("The appointments are already being put back into "
                                     "Google."), "warn")
    elif answer.get("skipped"):
        await flash(request, gettext("Nothing to cancel: the synchronisation is not paused."),
                    "warn")
    else:
        _LOGGER.info("admin cancelled the paused pull of connection %d", cid)
        await flash(request, gettext(
            "Cancelled: nothing is deleted here. The appointments are being put back into "
            "Google in the background; the progress is shown below."))
    raise see_other(calendar_url(coll.path))


async def retry_parked(request: web.Request) -> web.StreamResponse:
    """``POST .../retry``: queue the pushes that failed permanently again."""
    coll, cid = await _active(request)
    count = await asyncio.to_thread(service_of(request).retry_parked, cid)
    gettext = translator(lang_of(request))
    await flash(request, gettext("{n} changes queued again.", n=count))
    raise see_other(calendar_url(coll.path))


async def disconnect(request: web.Request) -> web.StreamResponse:
    """``POST .../disconnect``: stop the channel, revoke the token, delete the connection."""
    coll, cid = await _active(request)
    gettext = translator(lang_of(request))
    try:
        await service_of(request).disconnect(cid)
    except (RemoteError, BridgeError) as exc:
        await flash(request, gettext("Disconnect failed: {reason}", reason=str(exc)), "error")
        raise see_other(calendar_url(coll.path)) from exc
    _LOGGER.info("admin disconnected connection %d", cid)
    await flash(request, gettext("Google Calendar was disconnected and access revoked. The "
                                 "appointments stay here."))
    raise see_other(calendar_url(coll.path))


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
