"""Graph handlers: ``/me``, calendars, events CRUD, ``instances`` and ``calendarView``.

Lists page with ``$top``/``$skip`` (default ``page_size``, or ``Prefer: odata.maxpagesize``) and
an ``@odata.nextLink``; ``/events`` lists singles and series masters only, ``calendarView`` and
``instances`` list singles, occurrences and exceptions in a window.  ``$filter`` supports the
extended-property form ``singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq
'…')`` and ``type eq 'seriesMaster'`` (or ``'singleInstance'``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from emulators.microsoft import eventdata
from emulators.microsoft.errors import GraphError
from emulators.microsoft.eventlogic import (
    create_event,
    delete_event,
    exceptions_of,
    locate,
    not_found,
    patch_event,
    require_calendar,
)
from emulators.microsoft.graph import Ctx, GraphResponse, route
from emulators.microsoft.render import expand_filter, render, window_rows
from emulators.microsoft.state import Calendar

__all__ = ["calendar_json", "ok", "parse_window", "resolve_calendar"]

_TYPE_FILTER = re.compile(r"^type eq '(singleInstance|seriesMaster)'$")
_SVEP_FILTER = re.compile(
    r"^singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id eq '([^']*)'"
    r"(?:\s+and\s+\1/value eq '([^']*)')?\s*\)$", re.IGNORECASE)


def ok(ctx: Ctx, body: dict[str, Any], status: int = 200) -> GraphResponse:
    """A JSON answer with ``Preference-Applied`` when preferences were honoured."""
    headers = {"Preference-Applied": ", ".join(ctx.prefs.applied)} if ctx.prefs.applied else {}
    return GraphResponse(status, body, headers)


def context_url(ctx: Ctx, what: str) -> str:
    """The ``@odata.context`` value."""
    return f"{ctx.request.base_url}/$metadata#users('{ctx.account}')/{what}"


def calendar_json(ctx: Ctx, cal: Calendar) -> dict[str, Any]:
    """A calendar resource as the caller sees it."""
    access = ctx.state.access(ctx.account, cal.id)
    owner = ctx.state.accounts[cal.owner]
    return {
        "id": cal.id, "name": cal.name, "color": cal.color, "hexColor": cal.hex_color,
        "isDefaultCalendar": cal.is_default and access == "owner",
        "changeKey": eventdata.change_key(cal.seq), "canShare": access == "owner",
        "canViewPrivateItems": access == "owner", "canEdit": access in ("owner", "write"),
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness", "isTallyingResponses": True,
        "isRemovable": not cal.is_default, "owner": {"name": owner.name, "address": owner.upn},
    }


def resolve_calendar(ctx: Ctx, *, write: bool = False) -> Calendar:
    """The calendar of the path (``{cid}``, or the default calendar)."""
    cid = ctx.match.get("cid")
    if cid is None:
        cal = ctx.state.default_calendar(ctx.account)
        if cal is None:
            raise not_found()
        return cal
    return require_calendar(ctx.state, ctx.account, cid, write=write)


def parse_window(ctx: Ctx) -> tuple[dt.datetime, dt.datetime]:
    """``startDateTime``/``endDateTime`` (naive = UTC) or 400 ``ErrorInvalidParameter``."""
    params = ctx.params
    try:
        start = dt.datetime.fromisoformat(params["startDateTime"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(params["endDateTime"].replace("Z", "+00:00"))
    except (KeyError, ValueError) as exc:
        raise GraphError(400, "ErrorInvalidParameter", "This request requires a time window "
                         "specified by the query string parameters StartDateTime and "
                         "EndDateTime.") from exc
    start = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
    end = end if end.tzinfo else end.replace(tzinfo=dt.UTC)
    return start, end


def _page(ctx: Ctx, rows: list[dict[str, Any]], what: str) -> GraphResponse:
    params = ctx.params
    try:
        top = int(params.get("$top") or ctx.prefs.max_page_size or ctx.state.config.page_size)
        skip = int(params.get("$skip") or 0)
    except ValueError as exc:
        raise GraphError(400, "BadRequest", "Invalid $top or $skip value.") from exc
    expand = expand_filter(params.get("$expand"))
    select = [s.strip() for s in params["$select"].split(",")] if params.get("$select") else None
    chunk = rows[skip: skip + max(1, top)]
    body: dict[str, Any] = {"@odata.context": context_url(ctx, what), "value": [
        render(r, ctx.prefs, expand=expand, select=select) for r in chunk]}
    if skip + len(chunk) < len(rows):
        query = dict(parse_qsl(ctx.request.query, keep_blank_values=True))
        query["$skip"] = str(skip + len(chunk))
        body["@odata.nextLink"] = f"{ctx.request.base_url}{ctx.request.path}?{urlencode(query)}"
    return ok(ctx, body)


def _one(ctx: Ctx, row: dict[str, Any], status: int = 200) -> GraphResponse:
    params = ctx.params
    select = [s.strip() for s in params["$select"].split(",")] if params.get("$select") else None
    out = render(row, ctx.prefs, expand=expand_filter(params.get("$expand")), select=select)
    out = {"@odata.context": context_url(ctx, "events/$entity"), **out}
    return ok(ctx, out, status)


@route("GET", "/me", "me.get")
async def me(ctx: Ctx) -> GraphResponse:
    """``GET /me``."""
    acc = ctx.state.accounts[ctx.account]
    given, _, surname = acc.name.partition(" ")
    return ok(ctx, {
        "@odata.context": f"{ctx.request.base_url}/$metadata#users/$entity",
        "businessPhones": [], "displayName": acc.name, "givenName": given or None,
        "jobTitle": None, "mail": acc.upn, "mobilePhone": None, "officeLocation": None,
        "preferredLanguage": "en-US", "surname": surname or None,
        "userPrincipalName": acc.upn, "id": acc.oid,
    })


@route("GET", "/me/calendars", "calendars.list")
async def calendars_list(ctx: Ctx) -> GraphResponse:
    """``GET /me/calendars``."""
    cals = ctx.state.visible_calendars(ctx.account)
    return ok(ctx, {"@odata.context": context_url(ctx, "calendars"),
                    "value": [calendar_json(ctx, c) for c in cals]})


@route("GET", "/me/calendars/{cid}", "calendars.get")
@route("GET", "/me/calendar", "calendars.get")
async def calendars_get(ctx: Ctx) -> GraphResponse:
    """``GET /me/calendars/{id}`` and ``/me/calendar``."""
    cal = resolve_calendar(ctx)
    return ok(ctx, {"@odata.context": context_url(ctx, "calendars/$entity"),
                    **calendar_json(ctx, cal)})


def _filter(rows: list[dict[str, Any]], clause: str | None) -> list[dict[str, Any]]:
    if not clause:
        return rows
    by_type = _TYPE_FILTER.match(clause.strip())
    if by_type is not None:
        return [r for r in rows if r.get("type") == by_type.group(1)]
    found = _SVEP_FILTER.match(clause.strip())
    if found is None:
        raise GraphError(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or "
                         "more invalid nodes.")
    prop_id, value = found.group(2).lower(), found.group(3)
    return [r for r in rows if any(
        p["id"].lower() == prop_id and (value is None or p.get("value") == value)
        for p in r.get("_svep") or [])]


@route("GET", "/me/calendars/{cid}/events", "events.list")
@route("GET", "/me/calendar/events", "events.list")
@route("GET", "/me/events", "events.list")
async def events_list(ctx: Ctx) -> GraphResponse:
    """Singles and series masters of a calendar (``/me/events``: the default calendar)."""
    cal = resolve_calendar(ctx)
    rows = [e.data for e in ctx.state.table(cal.id).values()
            if not e.removed and e.data.get("type") in ("singleInstance", "seriesMaster")]
    return _page(ctx, _filter(rows, ctx.params.get("$filter")), "events")


@route("POST", "/me/calendars/{cid}/events", "events.create")
@route("POST", "/me/calendar/events", "events.create")
@route("POST", "/me/events", "events.create")
async def events_create(ctx: Ctx) -> GraphResponse:
    """Create an event; a repeated ``transactionId`` returns the first one."""
    cal = resolve_calendar(ctx, write=True)
    stored, _ = create_event(ctx.state, cal.id, ctx.json_body(), ctx.account)
    resp = _one(ctx, stored.data, 201)
    resp.headers["Location"] = f"{ctx.request.base_url}/me/events('{stored.id}')"
    return resp


def _in_path_calendar(ctx: Ctx, calendar_id: str) -> None:
    cid = ctx.match.get("cid")
    if cid is not None and cid != calendar_id:
        raise not_found()


@route("GET", "/me/events/{eid}", "events.get")
@route("GET", "/me/calendars/{cid}/events/{eid}", "events.get")
async def events_get(ctx: Ctx) -> GraphResponse:
    """Read one event (single, master, exception or occurrence)."""
    found = locate(ctx.state, ctx.account, ctx.match["eid"])
    _in_path_calendar(ctx, found.calendar_id)
    return _one(ctx, found.row)


@route("PATCH", "/me/events/{eid}", "events.update")
@route("PATCH", "/me/calendars/{cid}/events/{eid}", "events.update")
async def events_update(ctx: Ctx) -> GraphResponse:
    """PATCH with ``If-Match`` (412 ``ErrorIrresolvableConflict`` when stale)."""
    if ctx.match.get("cid"):
        _in_path_calendar(ctx, locate(ctx.state, ctx.account, ctx.match["eid"]).calendar_id)
    row = patch_event(ctx.state, ctx.account, ctx.match["eid"], ctx.json_body(),
                      ctx.request.headers.get("If-Match"))
    return _one(ctx, row)


@route("DELETE", "/me/events/{eid}", "events.delete")
@route("DELETE", "/me/calendars/{cid}/events/{eid}", "events.delete")
async def events_delete(ctx: Ctx) -> GraphResponse:
    """DELETE with ``If-Match``; an occurrence id cancels that occurrence."""
    if ctx.match.get("cid"):
        _in_path_calendar(ctx, locate(ctx.state, ctx.account, ctx.match["eid"]).calendar_id)
    delete_event(ctx.state, ctx.account, ctx.match["eid"], ctx.request.headers.get("If-Match"))
    return GraphResponse(204)


@route("GET", "/me/events/{eid}/instances", "events.instances")
@route("GET", "/me/calendars/{cid}/events/{eid}/instances", "events.instances")
async def events_instances(ctx: Ctx) -> GraphResponse:
    """Occurrences and exceptions of a series in a window."""
    start, end = parse_window(ctx)
    found = locate(ctx.state, ctx.account, ctx.match["eid"])
    stored = found.stored
    if stored is None or stored.data.get("type") != "seriesMaster":
        return _page(ctx, [], "events")
    rows = eventdata.series_rows(stored.data, exceptions_of(ctx.state, stored), until=end,
                                 limit=ctx.state.config.max_instances)
    inside = []
    for row in rows:
        row_start, row_end = eventdata.event_times(row)
        if row_start < end and row_end > start:
            inside.append(row)
    return _page(ctx, inside, "events")


@route("GET", "/me/calendarView", "calendarView.list")
@route("GET", "/me/calendar/calendarView", "calendarView.list")
@route("GET", "/me/calendars/{cid}/calendarView", "calendarView.list")
async def calendar_view(ctx: Ctx) -> GraphResponse:
    """Singles, occurrences and exceptions overlapping the window, by start."""
    start, end = parse_window(ctx)
    cal = resolve_calendar(ctx)
    return _page(ctx, window_rows(ctx.state, cal.id, start, end), "calendarView")
