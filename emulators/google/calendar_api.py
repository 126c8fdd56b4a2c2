"""Calendar v3 handlers besides events: ``calendarList.list``, ``calendars.get``, ``freebusy``.

``channels.stop`` and ``events.watch`` live in ``push.py`` next to the delivery code.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from emulators.google import listing
from emulators.google.api import HANDLERS, ApiResponse, Ctx, json_response
from emulators.google.errors import ApiError, bad_request
from emulators.google.eventlogic import require_role
from emulators.google.paging import Params, flag, max_results, one, page, resume, sync_since
from emulators.google.state import ROLE_RANK, Calendar, EmulatorState, ListPrefs, PageSnapshot
from emulators.google.timeutil import format_event_datetime, format_ts, get_zone, parse_rfc3339

__all__ = [
    "calendar_list_get",
    "calendar_list_list",
    "calendars_get",
    "freebusy_query",
    "list_calendar_list",
]


def _list_entry(state: EmulatorState, cal: Calendar, viewer: str) -> dict[str, Any]:
    prefs = state.list_prefs.get((viewer, cal.id), ListPrefs())
    role = state.role(viewer, cal.id)
    entry: dict[str, Any] = {
        "kind": "calendar#calendarListEntry",
        "etag": cal.etag,
        "id": cal.id,
        "summary": cal.summary,
    }
    if cal.description:
        entry["description"] = cal.description
    if cal.location:
        entry["location"] = cal.location
    entry["timeZone"] = cal.time_zone
    if prefs.summary_override:
        entry["summaryOverride"] = prefs.summary_override
    entry.update({
        "colorId": cal.color_id,
        "backgroundColor": cal.background_color,
        "foregroundColor": cal.foreground_color,
    })
    if prefs.hidden:
        entry["hidden"] = True
    if prefs.selected:
        entry["selected"] = True
    entry["accessRole"] = role
    entry["defaultReminders"] = list(prefs.default_reminders)
    if cal.id == viewer:
        entry["primary"] = True
    entry["conferenceProperties"] = {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}
    return entry


def list_calendar_list(state: EmulatorState, params: Params, viewer: str) -> dict[str, Any]:
    """``calendarList.list`` for ``viewer``."""
    limit = max_results(params, 100, 250)
    resumed = resume(state, params, "calendarList", viewer)
    if resumed is not None:
        return page(state, resumed, limit, sync_kind="calendarList")
    min_role = one(params, "minAccessRole") or "freeBusyReader"
    if min_role not in ROLE_RANK:
        raise bad_request("Invalid Value", reason="invalid", location="minAccessRole")
    sync_token = one(params, "syncToken")
    since = -1
    if sync_token is not None:
        since = sync_since(state, sync_token, "calendarList", viewer,
                           restricted="minAccessRole" in params)
    show_hidden = flag(params, "showHidden") or sync_token is not None
    cals = [
        c for c in state.calendars.values()
        if ROLE_RANK[state.role(viewer, c.id)] >= max(ROLE_RANK[min_role], 1) and c.seq > since
        and (show_hidden or not state.list_prefs.get((viewer, c.id), ListPrefs()).hidden)
    ]
    cals.sort(key=lambda c: (c.id != viewer, c.summary.lower(), c.id))
    items = [_list_entry(state, c, viewer) for c in cals]
    header = {"kind": "calendar#calendarList", "etag": state.etag(state.counter)}
    snapshot = PageSnapshot("calendarList", viewer, items, header, state.counter, viewer)
    return page(state, snapshot, limit, sync_kind="calendarList")


async def calendar_list_get(ctx: Ctx) -> ApiResponse:
    """``calendarList.get``: the caller's entry for one calendar (404 without access)."""
    cal = require_role(ctx.state, ctx.account, ctx.calendar_id(), "freeBusyReader")
    entry = _list_entry(ctx.state, cal, ctx.account)
    return json_response(entry, etag=str(entry["etag"]))


async def calendar_list_list(ctx: Ctx) -> ApiResponse:
    """``calendarList.list``."""
    return json_response(list_calendar_list(ctx.state, ctx.params, ctx.account))


async def calendars_get(ctx: Ctx) -> ApiResponse:
    """``calendars.get`` (``primary`` is an alias of the caller's own calendar)."""
    cal = require_role(ctx.state, ctx.account, ctx.calendar_id(), "freeBusyReader")
    body: dict[str, Any] = {
        "kind": "calendar#calendar",
        "etag": cal.etag,
        "id": cal.id,
        "summary": cal.summary,
    }
    if cal.description:
        body["description"] = cal.description
    if cal.location:
        body["location"] = cal.location
    body["timeZone"] = cal.time_zone
    body["conferenceProperties"] = {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}
    return json_response(body, etag=cal.etag)


def _busy(ctx: Ctx, cal_id: str, tmin: dt.datetime, tmax: dt.datetime,
          zone: str) -> dict[str, Any]:
    state = ctx.state
    cid = ctx.account if cal_id == "primary" else cal_id
    cal = state.calendars.get(cid)
    if cal is None or ROLE_RANK[state.role(ctx.account, cid)] < ROLE_RANK["freeBusyReader"]:
        return {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
    spans: list[tuple[dt.datetime, dt.datetime]] = []
    table = state.calendar_events(cid)
    for stored in table.values():
        data = stored.data
        if data.get("recurringEventId") in table:
            continue  # produced with its master
        if data.get("recurrence"):
            candidates = listing.instances_in_window(state, cal, data, tmin, tmax,
                                                     include_cancelled=False)
        else:
            candidates = [data]
        for item in candidates:
            if item.get("status") == "cancelled" or item.get("transparency") == "transparent":
                continue
            start, end = listing.event_bounds(item, cal)
            start, end = max(start, tmin), min(end, tmax)
            if start < end:
                spans.append((start, end))
    spans.sort()
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return {"busy": [
        {"start": format_event_datetime(s, zone), "end": format_event_datetime(e, zone)}
        for s, e in merged
    ]}


async def freebusy_query(ctx: Ctx) -> ApiResponse:
    """``freebusy.query``."""
    body = ctx.json_body()
    if not body.get("timeMin"):
        raise bad_request("Missing timeMin parameter.", reason="required", location="timeMin")
    if not body.get("timeMax"):
        raise bad_request("Missing timeMax parameter.", reason="required", location="timeMax")
    try:
        tmin, tmax = parse_rfc3339(str(body["timeMin"])), parse_rfc3339(str(body["timeMax"]))
    except ValueError as exc:
        raise bad_request("Bad Request") from exc
    if tmin >= tmax:
        raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
    items = body.get("items") or []
    if len(items) > 50:
        raise bad_request("Too many calendars requested.", reason="tooManyCalendarsRequested")
    zone = str(body.get("timeZone") or "UTC")
    try:
        get_zone(zone)
    except ValueError as exc:
        raise bad_request("Invalid time zone definition.", reason="invalid") from exc
    calendars = {str(item.get("id")): _busy(ctx, str(item.get("id")), tmin, tmax, zone)
                 for item in items if isinstance(item, dict)}
    return json_response({
        "kind": "calendar#freeBusy",
        "timeMin": format_ts(tmin),
        "timeMax": format_ts(tmax),
        "calendars": calendars,
    })


HANDLERS.update({
    "calendar.calendarList.list": calendar_list_list,
    "calendar.calendarList.get": calendar_list_get,
    "calendar.calendars.get": calendars_get,
    "calendar.freebusy.query": freebusy_query,
})
