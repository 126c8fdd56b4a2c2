"""Calendar handlers: list and settings, availability, VFREEBUSY, notifications and previews."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bridge.api.model import FieldError, appointment_id, uid_from_id
from bridge.api.problems import ApiProblem
from bridge.api.request import (
    API_KEY,
    MAX_DB_INT,
    calendar_for,
    check,
    item_for,
    json_response,
    now_utc,
    query_bool,
    query_instant,
    query_int,
    read_json,
    require_every_calendar,
    settings_of,
    store_of,
    zone_of,
)
from bridge.availability import Availability, compute, freebusy_ical
from bridge.booking.guard import Policy, load_occurrences
from bridge.model import Collection
from bridge.notify.hooks import notifier
from bridge.notify.render import KINDS, LANGUAGES, Renderer
from bridge.store.notify import NOTIFY_LANGUAGE_PROP, NOTIFY_SWITCH_PROP, Notification

__all__ = ["routes"]

routes = web.RouteTableDef()


def calendar_json(calendar: Collection, default_language: str) -> dict[str, Any]:
    """The API representation of a calendar."""
    return {
        "id": calendar.id,
        "path": calendar.path,
        "name": calendar.display_name,
        "timezone": calendar.timezone,
        "color": calendar.color or None,
        "notifications": {
            "enabled": calendar.props.get(NOTIFY_SWITCH_PROP, "on") != "off",
            "language": calendar.props.get(NOTIFY_LANGUAGE_PROP) or default_language,
        },
    }


def _language(request: web.Request) -> str:
    return settings_of(request).notifications.language


@routes.get("/calendars")
async def list_calendars(request: web.Request) -> web.Response:
    """``GET``: every calendar the API key may use."""
    calendars = await asyncio.to_thread(store_of(request).list_collections, tag="VCALENDAR")
    lang = _language(request)
    key = request[API_KEY]
    return json_response({"items": [calendar_json(c, lang) for c in calendars if key.sees(c.id)]})


@routes.get("/calendars/{calendar_id}")
async def get_calendar(request: web.Request) -> web.Response:
    """``GET``: one calendar."""
    calendar = await calendar_for(request)
    return json_response(calendar_json(calendar, _language(request)))


@routes.patch("/calendars/{calendar_id}")
async def update_calendar(request: web.Request) -> web.Response:
    """``PATCH``: the per-calendar notification switch and language (admin keys)."""
    require_every_calendar(request)
    calendar = await calendar_for(request)
    body = await read_json(request)
    errors: list[FieldError] = []
    if not isinstance(body, dict):
        errors.append(FieldError("(body)", "must be a JSON object"))
        check(errors)
    notify = body.get("notifications")
    for key in sorted(set(body) - {"notifications"}):
        errors.append(FieldError(key, "unknown field"))
    props = dict(calendar.props)
    if not isinstance(notify, dict):
        errors.append(FieldError("notifications", "must be an object"))
    else:
        for key in sorted(set(notify) - {"enabled", "language"}):
            errors.append(FieldError(f"notifications.{key}", "unknown field"))
        if "enabled" in notify:
            if not isinstance(notify["enabled"], bool):
                errors.append(FieldError("notifications.enabled", "must be true or false"))
            else:
                props[NOTIFY_SWITCH_PROP] = "on" if notify["enabled"] else "off"
        if "language" in notify:
            if notify["language"] not in LANGUAGES:
                errors.append(FieldError("notifications.language", "must be de or en"))
            else:
                props[NOTIFY_LANGUAGE_PROP] = notify["language"]
    check(errors)
    updated = await asyncio.to_thread(store_of(request).set_collection_meta, calendar.path, props)
    return json_response(calendar_json(updated, _language(request)))


async def _availability(
    request: web.Request, *, slots: bool
) -> tuple[Collection, Availability, datetime, datetime, int]:
    calendar = await calendar_for(request)
    zone = zone_of(calendar)
    settings = settings_of(request)
    errors: list[FieldError] = []
    start = query_instant(request, "from", zone, errors, required=True)
    end = query_instant(request, "to", zone, errors, required=True)
    max_days = settings.availability.max_days
    minutes = 30
    step = None
    if slots:
        minutes = query_int(request, "duration", None, 5, 1440, errors) or 30
        step = query_int(request, "step", minutes, 5, 1440, errors) or minutes
    if start and end:
        if end <= start:
            errors.append(FieldError("to", "must be after from"))
        elif end - start > timedelta(days=max_days):
            errors.append(FieldError("to", f"the range may cover at most {max_days} days"))
    check(errors)
    assert start is not None and end is not None
    store = store_of(request)
    policy = Policy.of(settings.availability)

    def work() -> Availability:
        occ = load_occurrences(store, policy, calendar, start, end)
        return compute(occ, start, end, timedelta(minutes=minutes),
                       step=timedelta(minutes=step or minutes), options=policy.options,
                       zone=zone)

    return calendar, await asyncio.to_thread(work), start, end, minutes


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


@routes.get("/calendars/{calendar_id}/availability")
async def availability(request: web.Request) -> web.Response:
    """``GET``: free slots of ``duration`` minutes; ``explain=true`` adds what blocks the rest."""
    errors: list[FieldError] = []
    explain = query_bool(request, "explain", errors)
    check(errors)
    calendar, result, start, end, minutes = await _availability(request, slots=True)
    zone = zone_of(calendar)
    body: dict[str, Any] = {
        "calendar_id": calendar.id,
        "timezone": calendar.timezone,
        "from": _iso(start.astimezone(zone)),
        "to": _iso(end.astimezone(zone)),
        "duration_minutes": minutes,
        "windows": [{"start": _iso(w.start), "end": _iso(w.end)} for w in result.windows],
        "slots": [{"start": _iso(s.start), "end": _iso(s.end)} for s in result.free],
    }
    if explain:
        body["blocked"] = [
            {"start": _iso(b.start), "end": _iso(b.end), "blocked_by": [
                {"appointment_id": appointment_id(x.uid), "uid": x.uid, "summary": x.summary,
                 "kind": x.kind, "reason": x.reason, "start": _iso(x.start),
                 "end": _iso(x.end)}
                for x in b.blockers]}
            for b in result.blocked
        ]
    return json_response(body)


@routes.get("/calendars/{calendar_id}/freebusy")
async def freebusy(request: web.Request) -> web.Response:
    """``GET``: the blocking intervals of the range as a ``VFREEBUSY`` (text/calendar)."""
    calendar, result, start, end, _ = await _availability(request, slots=False)
    text = freebusy_ical(result, start, end, uid=f"freebusy-{calendar.id}@termin-bridge",
                         stamp=now_utc(request))
    return web.Response(text=text, content_type="text/calendar",
                        headers={"Cache-Control": "no-store"})


def notification_json(row: Notification) -> dict[str, Any]:
    """The API representation of an outbox row (the message body is not included)."""
    return {
        "id": row.id,
        "calendar_id": row.collection_id,
        "appointment_id": appointment_id(row.uid),
        "kind": row.kind,
        "channel": row.channel,
        "recipient": row.recipient or None,
        "language": row.language,
        "state": row.state,
        "attempts": row.attempts,
        "due_at": _iso(datetime.fromtimestamp(row.due_at, UTC)),
        "sent_at": _iso(datetime.fromtimestamp(row.sent_at, UTC))
        if row.sent_at is not None else None,
        "last_error": row.last_error,
    }


_STATES = ("pending", "sending", "sent", "failed", "skipped", "cancelled")


@routes.get("/notifications")
async def list_notifications(request: web.Request) -> web.Response:
    """``GET``: notification outbox rows, newest first (failed ones show ``last_error``)."""
    require_every_calendar(request)
    errors: list[FieldError] = []
    state = request.query.get("state")
    if state is not None and state not in _STATES:
        errors.append(FieldError("state", "must be one of " + ", ".join(_STATES)))
    calendar_id = query_int(request, "calendar_id", 0, 1, MAX_DB_INT, errors)
    limit = query_int(request, "limit", 100, 1, 500, errors) or 100
    uid = None
    if "appointment_id" in request.query:
        uid = uid_from_id(request.query["appointment_id"])
        if uid is None:
            errors.append(FieldError("appointment_id", "is not an appointment id"))
    check(errors)
    rows = await asyncio.to_thread(
        lambda: store_of(request).list_notifications(
            collection_id=calendar_id or None, uid=uid, state=state, limit=limit))
    return json_response({"items": [notification_json(r) for r in rows]})


@routes.get("/calendars/{calendar_id}/appointments/{appointment_id}/notifications/preview")
async def preview(request: web.Request) -> web.Response:
    """``GET``: the message a customer would get for this appointment (nothing is sent)."""
    require_every_calendar(request)
    calendar = await calendar_for(request)
    item = await item_for(request, calendar)
    errors: list[FieldError] = []
    kind = request.query.get("kind", "confirmation")
    if kind not in KINDS:
        errors.append(FieldError("kind", "must be one of " + ", ".join(KINDS)))
    language = request.query.get("language") or calendar.props.get(NOTIFY_LANGUAGE_PROP) \
        or _language(request)
    if language not in LANGUAGES:
        errors.append(FieldError("language", "must be de or en"))
    check(errors)
    found = await asyncio.to_thread(notifier(store_of(request)).preview, calendar.path,
                                    item.uid)
    if found is None:
        raise ApiProblem(404, "appointment-not-found", "no such appointment")
    payload, recipient = found
    template_dir = settings_of(request).notifications.template_dir or None
    message = Renderer(template_dir).render(kind, language, payload)
    return json_response({"kind": kind, "language": language, "recipient": recipient or None,
                          "subject": message.subject, "body": message.body})
