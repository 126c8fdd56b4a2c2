"""Reading a booking-API request (lookups, JSON body, query parameters) and the JSON answer."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, tzinfo
from typing import Any

from aiohttp import web

from bridge.api.model import FieldError, ValidationFailed, parse_instant, uid_from_id
from bridge.api.problems import ApiProblem
from bridge.booking.guard import zone_of
from bridge.config import Settings
from bridge.model import Collection, ItemRecord
from bridge.store import SqlStore
from bridge.store.api import ApiKey
from bridge.web.keys import SETTINGS, STORE

__all__ = [
    "API_KEY",
    "MAX_DB_INT",
    "calendar_for",
    "item_for",
    "json_response",
    "query_bool",
    "query_instant",
    "query_int",
    "read_json",
    "require_every_calendar",
    "settings_of",
    "store_of",
    "zone_of",
]

MAX_DB_INT = 2**31 - 1
API_KEY = web.RequestKey("api_key", ApiKey)


def store_of(request: web.Request) -> SqlStore:
    """The store of the running sidecar."""
    return request.config_dict[STORE]


def settings_of(request: web.Request) -> Settings:
    """The sidecar's settings."""
    return request.config_dict[SETTINGS]


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer that no cache keeps."""
    out = {"Cache-Control": "no-store", **(headers or {})}
    return web.Response(status=status, text=json.dumps(data, ensure_ascii=False),
                        content_type="application/json", headers=out)


async def calendar_for(request: web.Request) -> Collection:
    """The calendar named by ``{calendar_id}``, or a 404 problem.

    A calendar the API key may not use is answered exactly like one that does not exist, so a
    confined key learns nothing about the others.
    """
    raw = request.match_info["calendar_id"]
    calendar_id = int(raw) if raw.isdigit() and len(raw) <= 10 else -1
    calendar: Collection | None = None
    if 0 < calendar_id <= MAX_DB_INT:
        store = store_of(request)
        calendar = await asyncio.to_thread(store.get_collection_by_id, calendar_id)
    if calendar is None or not calendar.is_calendar or not request[API_KEY].sees(calendar.id):
        raise ApiProblem(404, "calendar-not-found", f"no calendar with id {raw!r}")
    return calendar


def require_every_calendar(request: web.Request) -> None:
    """403 for a key confined to calendars (notification endpoints, calendar settings)."""
    if request[API_KEY].confined:
        raise ApiProblem(403, "insufficient-scope", "this API key is limited to some calendars; "
                         "this endpoint needs an admin key")


async def item_for(request: web.Request, calendar: Collection) -> ItemRecord:
    """The appointment named by ``{appointment_id}`` in ``calendar``, or a 404 problem."""
    ident = request.match_info["appointment_id"]
    uid = uid_from_id(ident)
    item: ItemRecord | None = None
    if uid is not None:
        item = await asyncio.to_thread(store_of(request).get_item_by_uid, calendar.path, uid)
    if item is None or item.component != "VEVENT":
        raise ApiProblem(404, "appointment-not-found", "no such appointment in this calendar")
    return item


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; 415 for another media type, 400 for malformed JSON."""
    media = request.content_type
    if media != "application/json" and not media.endswith("+json"):
        raise ApiProblem(415, "unsupported-media-type",
                         "send the body as application/json")
    raw = await request.read()
    try:
        value = json.loads(raw.decode("utf-8"))
        # A lone surrogate (``"\ud800"``) parses but cannot be stored as UTF-8; deep nesting
        # raises RecursionError.  Both are malformed bodies, not server errors.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except (UnicodeError, ValueError, RecursionError) as exc:
        raise ApiProblem(400, "invalid-json", "the body is not valid UTF-8 JSON",
                         errors=[FieldError("(body)", "is not valid JSON")]) from exc


def query_int(
    request: web.Request, name: str, default: int | None, low: int, high: int,
    errors: list[FieldError],
) -> int | None:
    """An integer query parameter within ``[low, high]``."""
    raw = request.query.get(name)
    if raw is None:
        if default is None:
            errors.append(FieldError(name, "is required"))
        return default
    if not raw.isdigit() or len(raw) > 9 or not low <= int(raw) <= high:
        errors.append(FieldError(name, f"must be an integer from {low} to {high}"))
        return default
    return int(raw)


def query_bool(request: web.Request, name: str, errors: list[FieldError]) -> bool:
    """A boolean query parameter (``true``/``false``/``1``/``0``)."""
    raw = request.query.get(name)
    if raw is None:
        return False
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    errors.append(FieldError(name, "must be true or false"))
    return False


def query_instant(
    request: web.Request, name: str, zone: tzinfo, errors: list[FieldError], *,
    required: bool,
) -> datetime | None:
    """A date-time query parameter (a bare date means local midnight of the calendar)."""
    raw = request.query.get(name)
    if raw is None:
        if required:
            errors.append(FieldError(name, "is required"))
        return None
    if len(raw) == 10 and raw[4:5] == "-":
        raw += "T00:00:00"
    return parse_instant(raw, name, zone, errors)


def check(errors: list[FieldError]) -> None:
    """Raise the collected field errors, if any."""
    if errors:
        raise ValidationFailed(errors)


def now_utc(request: web.Request) -> datetime:
    """The store clock as an aware datetime (tests may inject a clock)."""
    return datetime.fromtimestamp(store_of(request).clock(), UTC)
