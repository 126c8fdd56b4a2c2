"""``calendarView/delta``: windowed change tracking with opaque ``$skiptoken``/``$deltatoken``.

A round compares the rows of the window now with the rows the previous round delivered (kept as
the sync state the ``$deltatoken`` names, together with the window and the change-counter
cursor): new or changed rows come in full, vanished ones as ``@removed`` rows, and stored items
changed since the cursor that are not in the window also come as ``@removed`` rows (as Graph
does for out-of-window changes).  Pages hold ``delta_page_size`` rows (or ``Prefer:
odata.maxpagesize``); the last one carries the ``@odata.deltaLink``.  ``$select``, ``$expand``,
``$filter``, ``$orderby`` and ``$search`` are refused; an invalidated token is 410
``SyncStateNotFound``; ``delta_replay`` re-sends unchanged rows.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
from typing import Any
from urllib.parse import quote

from emulators.microsoft.calendar_api import context_url, ok, parse_window, resolve_calendar
from emulators.microsoft.errors import GraphError
from emulators.microsoft.graph import Ctx, GraphResponse, route
from emulators.microsoft.render import render, window_rows
from emulators.microsoft.state import DeltaPage, MsState, SyncState

__all__ = ["calendar_view_delta", "decode_token", "encode_token"]

_UNSUPPORTED = ("$select", "$expand", "$filter", "$orderby", "$search")


def encode_token(data: dict[str, Any]) -> str:
    """An opaque token carrying ``data``."""
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()) \
        .decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    """The data of a token; 400 ``BadRequest`` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise GraphError(400, "BadRequest", "The delta token is malformed.") from exc
    if not isinstance(data, dict):
        raise GraphError(400, "BadRequest", "The delta token is malformed.")
    return data


def _gone() -> GraphError:
    return GraphError(410, "SyncStateNotFound", "The sync state generation is not found.")


def _removed(event_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.event", "id": event_id,
            "@removed": {"reason": "deleted"}}


def _round(state: MsState, cal_id: str, start: dt.datetime, end: dt.datetime,
           previous: SyncState | None) -> tuple[list[dict[str, Any]], SyncState]:
    rows = window_rows(state, cal_id, start, end)
    current = {str(r["id"]): str(r["changeKey"]) for r in rows}
    if previous is None:
        items: list[dict[str, Any]] = list(rows)
    else:
        items = [r for r in rows if previous.rows.get(str(r["id"])) != r["changeKey"]]
        if state.config.delta_replay > 0:
            state.config.delta_replay -= 1
            items += [r for r in rows if previous.rows.get(str(r["id"])) == r["changeKey"]]
        items += [_removed(i) for i in previous.rows if i not in current]
        masters = {r.get("seriesMasterId") for r in rows}
        for stored in state.table(cal_id).values():
            if (stored.seq > previous.cursor and stored.id not in current
                    and stored.id not in previous.rows and stored.id not in masters):
                items.append(_removed(stored.id))
    sync = SyncState(secrets.token_urlsafe(12), cal_id, start.isoformat(), end.isoformat(),
                     state.counter, current)
    state.sync_states[sync.id] = sync
    return items, sync


def _render(ctx: Ctx, item: dict[str, Any]) -> dict[str, Any]:
    if "@removed" in item:
        return item
    return {"@odata.type": "#microsoft.graph.event", **render(item, ctx.prefs)}


def _answer(ctx: Ctx, items: list[dict[str, Any]], sync: SyncState) -> GraphResponse:
    size = max(1, ctx.prefs.max_page_size or ctx.state.config.delta_page_size)
    base = f"{ctx.request.base_url}{ctx.request.path}"
    body: dict[str, Any] = {"@odata.context": context_url(ctx, "events(*)"),
                            "value": [_render(ctx, i) for i in items[:size]]}
    if len(items) > size:
        key = ctx.state.store_page(DeltaPage(items[size:], sync.id))
        body["@odata.nextLink"] = f"{base}?$skiptoken={quote(encode_token({'p': key}))}"
    else:
        token = encode_token({"c": sync.calendar_id, "s": sync.start, "e": sync.end,
                              "k": sync.cursor, "i": sync.id})
        body["@odata.deltaLink"] = f"{base}?$deltatoken={quote(token)}"
    return ok(ctx, body)


@route("GET", "/me/calendarView/delta", "calendarView.delta")
@route("GET", "/me/calendar/calendarView/delta", "calendarView.delta")
@route("GET", "/me/calendars/{cid}/calendarView/delta", "calendarView.delta")
async def calendar_view_delta(ctx: Ctx) -> GraphResponse:
    """One page of a delta round (initial, ``$skiptoken`` or ``$deltatoken``)."""
    params = ctx.params
    bad = [p for p in _UNSUPPORTED if p in params]
    if bad:
        raise GraphError(400, "ErrorInvalidUrlQuery", f"The following parameters are not "
                         f"supported with change tracking over the 'CalendarView' resource: "
                         f"'{', '.join(bad)}'.")
    cal = resolve_calendar(ctx)
    state = ctx.state
    if params.get("$skiptoken"):
        page = state.pages.pop(str(decode_token(params["$skiptoken"]).get("p")), None)
        sync = state.sync_states.get(page.next_state) if page is not None else None
        if page is None or sync is None or not sync.valid:
            raise _gone()
        return _answer(ctx, page.items, sync)
    if params.get("$deltatoken"):
        data = decode_token(params["$deltatoken"])
        previous = state.sync_states.get(str(data.get("i")))
        if previous is None or not previous.valid or previous.calendar_id != cal.id:
            raise _gone()
        start = dt.datetime.fromisoformat(previous.start)
        end = dt.datetime.fromisoformat(previous.end)
        items, sync = _round(state, cal.id, start, end, previous)
        return _answer(ctx, items, sync)
    start, end = parse_window(ctx)
    items, sync = _round(state, cal.id, start, end, None)
    return _answer(ctx, items, sync)
