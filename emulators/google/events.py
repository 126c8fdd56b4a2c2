"""Calendar v3 ``events.*`` handlers (except ``watch``, in ``push.py``).

Thin adapters from :class:`~.api.Ctx` to :mod:`.eventlogic` and :mod:`.listing`: they read
parameters and headers (``If-Match``, ``If-None-Match``) and shape the response.
"""

from __future__ import annotations

from emulators.google import eventlogic, listing
from emulators.google.api import HANDLERS, ApiResponse, Ctx, json_response
from emulators.google.errors import not_found
from emulators.google.render import render_event

__all__ = [
    "events_delete",
    "events_get",
    "events_import",
    "events_insert",
    "events_instances",
    "events_list",
    "events_patch",
    "events_update",
]


def _respond(ctx: Ctx, data: dict[str, object]) -> ApiResponse:
    cal = ctx.state.calendars[ctx.calendar_id()]
    zone_values = ctx.params.get("timeZone")
    zone = zone_values[-1] if zone_values else None
    body = render_event(dict(data), cal, ctx.account, zone=zone,
                        role=ctx.state.role(ctx.account, cal.id))
    return json_response(body, etag=str(body.get("etag")))


async def events_list(ctx: Ctx) -> ApiResponse:
    """``events.list``."""
    return json_response(listing.list_events(ctx.state, ctx.calendar_id(), ctx.params,
                                             ctx.account))


async def events_get(ctx: Ctx) -> ApiResponse:
    """``events.get``: cancelled events too; 304 on a matching ``If-None-Match``."""
    cal = eventlogic.require_role(ctx.state, ctx.account, ctx.calendar_id(), "freeBusyReader")
    stored = eventlogic.find_target(ctx.state, cal, ctx.path_params["eventId"])
    if stored is None:
        raise not_found()
    etag = str(stored.data.get("etag"))
    if ctx.request.headers.get("If-None-Match", "").strip() == etag:
        return ApiResponse(304, None, {"ETag": etag})
    return _respond(ctx, stored.data)


async def events_insert(ctx: Ctx) -> ApiResponse:
    """``events.insert``."""
    stored = eventlogic.insert_event(ctx.state, ctx.calendar_id(), ctx.json_body(), ctx.account)
    return _respond(ctx, stored.data)


async def events_import(ctx: Ctx) -> ApiResponse:
    """``events.import``."""
    stored = eventlogic.import_event(ctx.state, ctx.calendar_id(), ctx.json_body(), ctx.account)
    return _respond(ctx, stored.data)


async def events_patch(ctx: Ctx) -> ApiResponse:
    """``events.patch``."""
    stored = eventlogic.patch_event(
        ctx.state, ctx.calendar_id(), ctx.path_params["eventId"], ctx.json_body(), ctx.account,
        if_match=ctx.request.headers.get("If-Match"),
    )
    return _respond(ctx, stored.data)


async def events_update(ctx: Ctx) -> ApiResponse:
    """``events.update``."""
    stored = eventlogic.update_event(
        ctx.state, ctx.calendar_id(), ctx.path_params["eventId"], ctx.json_body(), ctx.account,
        if_match=ctx.request.headers.get("If-Match"),
    )
    return _respond(ctx, stored.data)


async def events_delete(ctx: Ctx) -> ApiResponse:
    """``events.delete``: 204 with an empty body."""
    eventlogic.delete_event(
        ctx.state, ctx.calendar_id(), ctx.path_params["eventId"], ctx.account,
        if_match=ctx.request.headers.get("If-Match"),
    )
    return ApiResponse(204)


async def events_instances(ctx: Ctx) -> ApiResponse:
    """``events.instances``."""
    body = listing.list_instances(ctx.state, ctx.calendar_id(), ctx.path_params["eventId"],
                                  ctx.params, ctx.account)
    return json_response(body)


HANDLERS.update({
    "calendar.events.list": events_list,
    "calendar.events.get": events_get,
    "calendar.events.insert": events_insert,
    "calendar.events.import": events_import,
    "calendar.events.patch": events_patch,
    "calendar.events.update": events_update,
    "calendar.events.delete": events_delete,
    "calendar.events.instances": events_instances,
})
