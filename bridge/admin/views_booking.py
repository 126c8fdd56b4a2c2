"""Booking-page settings on the admin page: per calendar on/off, the offered service
durations, horizon and lead time, and a new public address (the old one stops working).

The page itself is :mod:`bridge.bookpage.web`; its address is ``<public_url>/book/<public id>``.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bridge.admin.pages import (
    act,
    calendar_or_404,
    form_data,
    redirect,
    render,
    settings_of,
    store_of,
    translator_of,
)
from bridge.store.booking import (
    DEFAULT_DURATIONS,
    DEFAULT_HORIZON_DAYS,
    DEFAULT_LEAD_MINUTES,
    InvalidBookingSettings,
)

__all__ = ["add_routes"]

_LOGGER = logging.getLogger(__name__)
_TO = "/admin/booking"


async def booking_settings(request: web.Request) -> web.StreamResponse:
    """``GET /admin/booking``: every calendar with its booking page."""
    store = store_of(request)
    calendars = await asyncio.to_thread(store.list_collections, tag="VCALENDAR")
    pages = await asyncio.to_thread(store.booking_pages)
    return await render(request, "booking.html", calendars=calendars, pages=pages,
                        base=settings_of(request).base_url,
                        defaults={"durations": ", ".join(str(d) for d in DEFAULT_DURATIONS),
                                  "horizon_days": DEFAULT_HORIZON_DAYS,
                                  "lead_minutes": DEFAULT_LEAD_MINUTES})


def _ints(raw: str) -> tuple[int, ...] | None:
    parts = [p.strip() for p in raw.replace(";", ",").split(",") if p.strip()]
    if not parts or not all(p.isdigit() and len(p) <= 6 for p in parts):
        return None
    return tuple(int(p) for p in parts)


async def save_booking(request: web.Request) -> web.StreamResponse:
    """``POST /admin/booking/{owner}/{slug}``: save a calendar's booking page settings."""
    coll = await calendar_or_404(request)
    form = await form_data(request)
    gettext = translator_of(request)
    durations = _ints(form.get("durations", ""))
    numbers = _ints(form.get("horizon_days", "")), _ints(form.get("lead_minutes", ""))
    if durations is None or any(n is None or len(n) != 1 for n in numbers):
        raise await redirect(request, _TO, gettext(
            "Enter the durations as minutes separated by commas, horizon and lead time as "
            "whole numbers."), "error")
    horizon, lead = (n[0] for n in numbers if n is not None)
    enabled = form.get("enabled") == "on"
    new_id = form.get("action") == "new-id"
    saving = asyncio.to_thread(store_of(request).save_booking_page, coll.path, enabled=enabled,
                               durations=durations, horizon_days=horizon, lead_minutes=lead,
                               new_id=new_id)
    page = await act(request, saving, to=_TO, errors=(InvalidBookingSettings,),
                     fail=gettext("Not saved: {reason}"))
    _LOGGER.info("admin saved the booking page of %s (%s%s)", coll.path,
                 "on" if page.enabled else "off", ", new address" if new_id else "")
    if new_id:
        message = gettext("New address made: the old booking page address no longer works.")
    elif page.enabled:
        message = gettext("The booking page is on.")
    else:
        message = gettext("The booking page is off.")
    raise await redirect(request, _TO, message)


def add_routes(admin: web.Application) -> None:
    """Register the booking-page settings routes."""
    admin.router.add_get("/booking", booking_settings)
    admin.router.add_post("/booking/{owner}/{slug}", save_booking)
