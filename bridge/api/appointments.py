"""Appointment handlers: list, create, read, update, cancel, delete.

Writes build an iCalendar resource with :mod:`bridge.api.model`, pass it through the validation
gate and store it with ``origin="api"``, so change log, Google outbox and customer
notifications follow in the same transaction.  ``ETag`` is the item's strong etag; ``If-Match``
makes a write conditional (412 when stale).  Without ``If-Match`` a read-modify-write still
never loses a concurrent edit: it is re-applied on the newer version.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from icalendar import Calendar

from bridge.api.model import (
    AppointmentChange,
    FieldError,
    ValidationFailed,
    apply_change,
    appointment_id,
    appointment_json,
    build_calendar,
    parse_change,
)
from bridge.api.problems import ApiProblem
from bridge.api.request import (
    API_KEY,
    calendar_for,
    check,
    item_for,
    json_response,
    now_utc,
    query_instant,
    query_int,
    read_json,
    settings_of,
    store_of,
    zone_of,
)
from bridge.booking.guard import BookingRefused, Override, Policy, guarded_put, proposal_of
from bridge.booking.rules import Verdict
from bridge.errors import DuplicateUid, EtagMismatch, InvalidICalendar, NotFound
from bridge.ical.recurrence import occurs
from bridge.ical.validate import TIMESTAMP_MAX, TIMESTAMP_MIN, parse_resource
from bridge.model import Collection, ItemRecord, ParsedResource
from bridge.notify.web import wake_worker
from bridge.store import href_for_uid

__all__ = ["routes"]

_LOGGER = logging.getLogger(__name__)
routes = web.RouteTableDef()
_BASE = "/calendars/{calendar_id}/appointments"


def _if_match(request: web.Request, current: ItemRecord) -> str | None:
    """The client's precondition as one etag for the store (``None`` when not given)."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    candidates = [c.strip() for c in header.split(",") if c.strip()]
    if "*" in candidates:
        return "*"
    return current.etag if current.etag in candidates else (candidates or ['""'])[0]


def _precondition_failed() -> ApiProblem:
    return ApiProblem(412, "precondition-failed",
                      "the appointment changed since you read it; fetch it again (new ETag)")


def _gate(text: str) -> Any:
    try:
        return parse_resource(text)
    except InvalidICalendar as exc:
        raise ValidationFailed([FieldError("(appointment)", exc.message)]) from exc


def _item_response(
    item: ItemRecord, calendar: Collection, *, status: int = 200,
    extra: dict[str, str] | None = None,
) -> web.Response:
    body = appointment_json(item, calendar.id, zone_of(calendar))
    headers = {"ETag": item.etag, **(extra or {})}
    return json_response(body, status=status, headers=headers)


def _decode_cursor(raw: str) -> tuple[int, str] | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error):
        return None
    if (isinstance(data, list) and len(data) == 2 and isinstance(data[0], int)
            and not isinstance(data[0], bool) and isinstance(data[1], str)
            and TIMESTAMP_MIN <= data[0] <= TIMESTAMP_MAX):
        return data[0], data[1]
    return None


def _encode_cursor(item: ItemRecord) -> str:
    raw = json.dumps([item.start_ts, item.href]).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _occurs(item: ItemRecord, start_ts: int, end_ts: int) -> bool:
    """For a series, whether an occurrence overlaps the range (the index is a superset)."""
    if not item.recurring:
        return True
    cal = Calendar.from_ical(item.text)
    lo = datetime.fromtimestamp(start_ts, UTC)
    hi = datetime.fromtimestamp(end_ts, UTC)
    # Floating and all-day times count as UTC here, as in the index.
    return occurs(cal, lo, hi, zone=UTC)


def _allow_conflict(body: Any) -> bool:
    """Take ``allow_conflict`` out of a request body (``true``: book despite the rules)."""
    if not isinstance(body, dict) or "allow_conflict" not in body:
        return False
    value = body.pop("allow_conflict")
    if not isinstance(value, bool):
        raise ValidationFailed([FieldError("allow_conflict", "must be true or false")])
    return value


def _refusal(verdict: Verdict, calendar: Collection, *, staff: bool) -> ApiProblem:
    """The 409 of a refused booking: the broken rules, what conflicts, the nearest free slots.

    Conflicts name the appointment (id, times, why it blocks); its title only for a key over
    every calendar (``admin``), never customer fields.
    """
    zone = zone_of(calendar)
    conflicts = []
    for c in verdict.conflicts:
        entry: dict[str, Any] = {"appointment_id": appointment_id(c.uid),
                                 "start": _iso(c.start, zone), "end": _iso(c.end, zone),
                                 "reason": c.reason}
        if staff:
            entry["summary"] = c.summary
        conflicts.append(entry)
    texts = {"outside-hours": "is outside the working hours",
             "overlap": "overlaps another appointment"}
    detail = "the requested time " + " and ".join(texts[r] for r in verdict.rules) \
        + "; choose one of the suggested slots, or send \"allow_conflict\": true to book anyway"
    return ApiProblem(409, "booking-conflict", detail, extra={
        "rules": list(verdict.rules), "conflicts": conflicts,
        "suggestions": [{"start": _iso(s.start, zone), "end": _iso(s.end, zone)}
                        for s in verdict.suggestions]})


def _iso(value: datetime, zone: Any) -> str:
    return value.astimezone(zone).isoformat(timespec="seconds")


def _checked(change: AppointmentChange, old: ItemRecord | None, parsed: ParsedResource) -> bool:
    """Whether a write must pass the booking rules: a new appointment, a new time, or a
    cancelled one brought back; never a cancellation or a series."""
    if parsed.recurring or parsed.status == "CANCELLED":
        return False
    if old is None:
        return True
    timed = change.start is not None or change.end is not None or change.duration is not None
    return timed or (old.status == "CANCELLED" and change.status is not None)


async def _guarded_write(
    request: web.Request, calendar: Collection, href: str, parsed: ParsedResource,
    change: AppointmentChange, old: ItemRecord | None, *, allow_conflict: bool,
    if_match: str | None = None,
) -> ItemRecord:
    key = request[API_KEY]
    store = store_of(request)
    policy = Policy.of(settings_of(request).availability)
    proposal = proposal_of(parsed) if _checked(change, old, parsed) else None
    override = Override(f"api-key {key.id} ({key.name})", "api") if allow_conflict else None
    try:
        new, _old, _verdict = await asyncio.to_thread(functools.partial(
            guarded_put, store, policy, calendar, href, parsed, proposal, origin="api",
            override=override, if_match=if_match, if_none_match=old is None,
            now=now_utc(request)))
    except BookingRefused as exc:
        raise _refusal(exc.verdict, calendar, staff=key.scope == "admin") from None
    return new


@routes.get(_BASE)
async def list_appointments(request: web.Request) -> web.Response:
    """``GET``: appointments overlapping ``from``..``to``, ordered by start, paged."""
    calendar = await calendar_for(request)
    zone = zone_of(calendar)
    errors: list[FieldError] = []
    start = query_instant(request, "from", zone, errors, required=False)
    end = query_instant(request, "to", zone, errors, required=False)
    limit = query_int(request, "limit", 100, 1, 500, errors) or 100
    cursor_raw = request.query.get("cursor")
    after = _decode_cursor(cursor_raw) if cursor_raw is not None else None
    if cursor_raw is not None and after is None:
        errors.append(FieldError("cursor", "is not a cursor this API returned"))
    if start and end and end <= start:
        errors.append(FieldError("to", "must be after from"))
    check(errors)
    start_ts = int(start.timestamp()) if start else TIMESTAMP_MIN
    end_ts = int(end.timestamp()) if end else TIMESTAMP_MAX
    store = store_of(request)
    rows = await asyncio.to_thread(store.page_events, calendar.path, start_ts, end_ts, after,
                                   limit)

    def render() -> list[dict[str, Any]]:
        return [appointment_json(r, calendar.id, zone) for r in rows
                if _occurs(r, start_ts, end_ts)]

    items = await asyncio.to_thread(render)
    next_cursor = _encode_cursor(rows[-1]) if len(rows) == limit else None
    headers = {}
    if next_cursor is not None:
        query = dict(request.query) | {"cursor": next_cursor}
        headers["Link"] = f'<{request.rel_url.with_query(query)}>; rel="next"'
    return json_response({"items": items, "next_cursor": next_cursor}, headers=headers)


@routes.post(_BASE)
async def create_appointment(request: web.Request) -> web.Response:
    """``POST``: create an appointment (201 with ``Location`` and ``ETag``)."""
    calendar = await calendar_for(request)
    body = await read_json(request)
    zone = zone_of(calendar)
    allow = _allow_conflict(body)
    change = parse_change(body, zone, create=True)
    uid = f"{uuid.uuid4()}@termin-bridge"
    text = build_calendar(uid, change, zone, now_utc(request))
    parsed = _gate(text)
    try:
        item = await _guarded_write(request, calendar, href_for_uid(uid), parsed, change, None,
                                    allow_conflict=allow)
    except (EtagMismatch, DuplicateUid) as exc:  # a UUID collision: practically impossible
        raise ApiProblem(409, "conflict", "an appointment with this id already exists") from exc
    _LOGGER.info("API created appointment %s in %s", uid, calendar.path)
    wake_worker(request)
    location = f"/api/v1/calendars/{calendar.id}/appointments/{appointment_id(uid)}"
    return _item_response(item, calendar, status=201, extra={"Location": location})


@routes.get(_BASE + "/{appointment_id}")
async def get_appointment(request: web.Request) -> web.Response:
    """``GET``: one appointment with its ``ETag`` (304 on a matching ``If-None-Match``)."""
    calendar = await calendar_for(request)
    item = await item_for(request, calendar)
    inm = request.headers.get("If-None-Match")
    if inm is not None and (inm.strip() == "*" or item.etag in
                            [c.strip() for c in inm.split(",")]):
        return web.Response(status=304, headers={"ETag": item.etag})
    return _item_response(item, calendar)


async def _modify(
    request: web.Request, calendar: Collection, change: AppointmentChange, verb: str,
    *, allow_conflict: bool = False,
) -> web.Response:
    """Apply ``change`` to the addressed appointment with If-Match semantics (a new time
    passes the booking rules first)."""
    zone = zone_of(calendar)
    for _attempt in range(3):
        item = await item_for(request, calendar)
        wanted = _if_match(request, item)
        if wanted is not None and wanted not in ("*", item.etag):
            raise _precondition_failed()
        text = apply_change(item.text, change, zone, now_utc(request))
        parsed = _gate(text)
        try:
            new = await _guarded_write(request, calendar, item.href, parsed, change, item,
                                       allow_conflict=allow_conflict, if_match=item.etag)
        except EtagMismatch:
            if wanted is not None:
                raise _precondition_failed() from None
            continue  # changed between read and write: apply the change to the newer version
        except DuplicateUid as exc:
            raise ApiProblem(409, "conflict", "the appointment's UID is in use") from exc
        _LOGGER.info("API %s appointment %s in %s", verb, item.uid, calendar.path)
        wake_worker(request)
        return _item_response(new, calendar)
    raise ApiProblem(409, "conflict", "the appointment keeps changing; try again")


@routes.patch(_BASE + "/{appointment_id}")
async def update_appointment(request: web.Request) -> web.Response:
    """``PATCH``: change some fields (``null`` clears optional ones)."""
    calendar = await calendar_for(request)
    await item_for(request, calendar)
    body = await read_json(request)
    allow = _allow_conflict(body)
    change = parse_change(body, zone_of(calendar), create=False)
    return await _modify(request, calendar, change, "updated", allow_conflict=allow)


@routes.post(_BASE + "/{appointment_id}/cancel")
async def cancel_appointment(request: web.Request) -> web.Response:
    """``POST …/cancel``: set the status to CANCELLED (the event stays, marked cancelled)."""
    calendar = await calendar_for(request)
    return await _modify(request, calendar, AppointmentChange(status="CANCELLED"), "cancelled")


@routes.delete(_BASE + "/{appointment_id}")
async def delete_appointment(request: web.Request) -> web.Response:
    """``DELETE``: remove the appointment entirely (204)."""
    calendar = await calendar_for(request)
    item = await item_for(request, calendar)
    wanted = _if_match(request, item)
    store = store_of(request)
    try:
        await asyncio.to_thread(
            lambda: store.delete_item(calendar.path, item.href, origin="api",
                                      if_match=wanted if wanted is not None else None))
    except EtagMismatch as exc:
        raise _precondition_failed() from exc
    except NotFound as exc:
        raise ApiProblem(404, "appointment-not-found", "no such appointment") from exc
    _LOGGER.info("API deleted appointment %s in %s", item.uid, calendar.path)
    wake_worker(request)
    return web.Response(status=204, headers={"Cache-Control": "no-store"})

