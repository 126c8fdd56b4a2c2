"""``events.list``, ``events.instances`` and ``calendarList.list``: filters, paging, sync tokens.

A list result is computed once, on the first page; later pages replay the stored snapshot by
``pageToken`` and ``nextSyncToken`` appears only on the last page, carrying the change number seen
when page one was built.  Incremental lists return everything whose change number is newer than
the token's, with cancelled items cut to the minimal tombstone unless ``showDeleted=true``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from bridge.emulator import recurrence
from bridge.emulator.errors import ApiError, bad_request
from bridge.emulator.eventlogic import require_role
from bridge.emulator.render import minimal_cancelled, render_event
from bridge.emulator.state import ROLE_RANK, Calendar, EmulatorState, ListPrefs, PageSnapshot
from bridge.emulator.timeutil import format_ts, get_zone, parse_event_time, parse_rfc3339

__all__ = [
    "Params",
    "event_bounds",
    "instances_in_window",
    "list_calendar_list",
    "list_events",
    "list_instances",
]

Params = Mapping[str, Sequence[str]]
_FORBIDDEN_WITH_SYNC = (
    "iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty",
    "timeMin", "timeMax", "updatedMin",
)


def _one(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _flag(params: Params, name: str) -> bool:
    return (_one(params, name) or "").lower() == "true"


def _max_results(params: Params, default: int, cap: int) -> int:
    raw = _one(params, "maxResults")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request("Invalid Value", reason="invalid", location="maxResults") from exc
    if value < 1:
        raise bad_request(
            f"Invalid value '{raw}'. Values must be within the range: [1, {cap}]",
            reason="invalid", location="maxResults",
        )
    return min(value, cap)


def _time_param(params: Params, name: str) -> dt.datetime | None:
    raw = _one(params, name)
    if raw is None:
        return None
    try:
        return parse_rfc3339(raw)
    except ValueError as exc:
        raise bad_request("Bad Request", reason="badRequest", location=name) from exc


def event_bounds(data: dict[str, Any], cal: Calendar) -> tuple[dt.datetime, dt.datetime]:
    """Start and (exclusive) end of an event; cancelled exceptions use their original start."""
    if "start" in data and "end" in data:
        start = parse_event_time(data["start"], cal.time_zone, field="start").instant
        end = parse_event_time(data["end"], cal.time_zone, field="end").instant
        return start, end
    orig = parse_event_time(data["originalStartTime"], cal.time_zone, field="start").instant
    return orig, orig


def _overlaps(data: dict[str, Any], cal: Calendar, wmin: dt.datetime | None,
              wmax: dt.datetime | None) -> bool:
    start, end = event_bounds(data, cal)
    if wmin is not None and not (end > wmin or (start == end and start >= wmin)):
        return False
    return not (wmax is not None and start >= wmax)


def instances_in_window(
    state: EmulatorState, cal: Calendar, master: dict[str, Any],
    wmin: dt.datetime | None, wmax: dt.datetime | None, *, include_cancelled: bool,
) -> list[dict[str, Any]]:
    """Instances (virtual ones and stored exceptions) of ``master`` in the window."""
    table = state.calendar_events(cal.id)
    exceptions = {e.id: e for e in table.values() if e.data.get("recurringEventId") == master["id"]}
    out: list[dict[str, Any]] = []
    for when in recurrence.expand(
        master, cal.time_zone, window_start=wmin, window_end=wmax,
        horizon_days=state.config.expansion_horizon_days,
        max_instances=state.config.max_instances,
    ):
        iid = recurrence.instance_id(master["id"], when)
        if iid in exceptions:
            continue
        inst = recurrence.make_instance(master, when, cal.time_zone)
        if master.get("status") == "cancelled":
            if not include_cancelled:
                continue
            inst["status"] = "cancelled"
        out.append(inst)
    for exc in exceptions.values():
        if exc.cancelled and not include_cancelled:
            continue
        if master.get("status") == "cancelled" and not include_cancelled:
            continue
        if _overlaps(exc.data, cal, wmin, wmax):
            out.append(dict(exc.data))
    return out


def _matches_filters(data: dict[str, Any], params: Params) -> bool:
    uid = _one(params, "iCalUID")
    if uid is not None and data.get("iCalUID") != uid:
        return False
    query = _one(params, "q")
    if query:
        hay = " ".join(
            str(data.get(k, "")) for k in ("summary", "description", "location")
        ) + " ".join(str(a.get("email", "")) for a in data.get("attendees") or [])
        if query.lower() not in hay.lower():
            return False
    for param, scope in (("privateExtendedProperty", "private"),
                         ("sharedExtendedProperty", "shared")):
        props = (data.get("extendedProperties") or {}).get(scope) or {}
        for cond in params.get(param, []):
            key, _, value = cond.partition("=")
            if props.get(key) != value:
                return False
    types = params.get("eventTypes")
    return not (types and data.get("eventType", "default") not in types)


def _header(state: EmulatorState, cal: Calendar, viewer: str, zone: str) -> dict[str, Any]:
    table = state.calendar_events(cal.id)
    updated = max((e.data.get("updated", "") for e in table.values()), default="")
    prefs = state.list_prefs.get((viewer, cal.id), ListPrefs())
    header: dict[str, Any] = {
        "kind": "calendar#events",
        "etag": state.etag(max([cal.seq, *(e.seq for e in table.values())])),
        "summary": cal.summary,
    }
    if cal.description:
        header["description"] = cal.description
    header.update({
        "updated": updated or format_ts(state.clock.now()),
        "timeZone": zone,
        "accessRole": state.role(viewer, cal.id),
        "defaultReminders": list(prefs.default_reminders),
    })
    return header


def _page(
    state: EmulatorState, snapshot: PageSnapshot, max_results: int, *, sync_kind: str,
) -> dict[str, Any]:
    out = dict(snapshot.header)
    out["items"] = snapshot.items[:max_results]
    rest = snapshot.items[max_results:]
    if rest:
        out["nextPageToken"] = state.store_page(
            PageSnapshot(snapshot.kind, snapshot.key, rest, snapshot.header, snapshot.sync_seq,
                         snapshot.sync_key)
        )
    elif snapshot.sync_seq is not None:
        out["nextSyncToken"] = state.issue_sync_token(sync_kind, snapshot.sync_key,
                                                      snapshot.sync_seq)
    return out


def _resume(state: EmulatorState, params: Params, kind: str, key: str) -> PageSnapshot | None:
    token = _one(params, "pageToken")
    if token is None:
        return None
    snapshot = state.pages.get(token)
    if snapshot is None or snapshot.kind != kind or snapshot.key != key:
        raise bad_request("Invalid Value", reason="invalid", location="pageToken")
    return snapshot


def _sort_key(cal: Calendar) -> Any:
    def key(item: dict[str, Any]) -> tuple[dt.datetime, str]:
        return event_bounds(item, cal)[0], item["id"]
    return key


def list_events(state: EmulatorState, cal_id: str, params: Params, viewer: str) -> dict[str, Any]:
    """``events.list`` for ``viewer``."""
    cal = require_role(state, viewer, cal_id, "freeBusyReader")
    role = state.role(viewer, cal.id)
    max_results = _max_results(params, 250, 2500)
    zone = _one(params, "timeZone") or cal.time_zone
    try:
        get_zone(zone)
    except ValueError as exc:
        raise bad_request("Invalid time zone definition.", reason="invalid",
                          location="timeZone") from exc
    max_att = int(_one(params, "maxAttendees") or 0) or None
    resumed = _resume(state, params, "events", cal.id)
    if resumed is not None:
        return _page(state, resumed, max_results, sync_kind="events")
    single = _flag(params, "singleEvents")
    show_deleted = _flag(params, "showDeleted")
    table = state.calendar_events(cal.id)
    sync_token = _one(params, "syncToken")
    raw: list[dict[str, Any]] = []
    minimal_ids: set[str] = set()
    if sync_token is not None:
        if any(p in params for p in _FORBIDDEN_WITH_SYNC) or _one(params, "showDeleted") == "false":
            raise bad_request("Sync token cannot be used with other request restrictions.",
                              reason="invalid", location="syncToken")
        info = state.sync_tokens.get(sync_token)
        if info is None or info.kind != "events" or info.key != cal.id or not (
            state.sync_token_alive(info)
        ):
            raise ApiError(410, "fullSyncRequired",
                           "Sync token is no longer valid, a full sync is required.",
                           location="syncToken")
        for stored in table.values():
            if stored.seq <= info.seq:
                continue
            if single and stored.data.get("recurrence"):
                raw.extend(instances_in_window(state, cal, stored.data, None, None,
                                               include_cancelled=True))
                continue
            raw.append(stored.data)
        if not show_deleted:
            minimal_ids = {d["id"] for d in raw if d.get("status") == "cancelled"}
    else:
        wmin, wmax = _time_param(params, "timeMin"), _time_param(params, "timeMax")
        if wmin is not None and wmax is not None and wmin >= wmax:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.",
                           location="timeMax")
        order = _one(params, "orderBy")
        if order == "startTime" and not single:
            raise bad_request("The requested ordering is not available for the particular query.",
                              reason="badRequest")
        updated_min = _time_param(params, "updatedMin")
        if updated_min is not None:
            age = (state.clock.now() - updated_min).total_seconds()
            if age > state.config.updated_min_max_age:
                raise ApiError(410, "updatedMinTooLongAgo",
                               "The requested minimum modification time lies too far in the past.",
                               location="updatedMin")
        include_cancelled = show_deleted or updated_min is not None
        for stored in table.values():
            data = stored.data
            parent_id = data.get("recurringEventId")
            if parent_id is not None and parent_id in table:
                if single:
                    continue  # produced together with its master
                parent_cancelled = table[parent_id].cancelled
                if stored.cancelled and not (include_cancelled or not parent_cancelled):
                    continue
            elif data.get("recurrence"):
                instances = instances_in_window(state, cal, data, wmin, wmax,
                                                include_cancelled=include_cancelled)
                if single:
                    raw.extend(instances)
                    continue
                if stored.cancelled and not include_cancelled:
                    continue
                if not instances and not (stored.cancelled and include_cancelled):
                    continue
                raw.append(data)
                continue
            elif stored.cancelled and not include_cancelled:
                continue
            if not _overlaps(data, cal, wmin, wmax):
                continue
            raw.append(data)
        if updated_min is not None:
            raw = [d for d in raw if parse_rfc3339(d.get("updated", format_ts(state.clock.now())))
                   >= updated_min]
        raw = [d for d in raw if _matches_filters(d, params)]
        if order == "updated":
            raw.sort(key=lambda d: (d.get("updated", ""), d["id"]))
        elif order == "startTime" or single:
            raw.sort(key=_sort_key(cal))
    seen: set[str] = set()
    raw = [d for d in raw if not (d["id"] in seen or seen.add(d["id"]))]  # type: ignore[func-returns-value]
    items = [
        minimal_cancelled(d) if d["id"] in minimal_ids
        else render_event(d, cal, viewer, zone=zone, role=role, max_attendees=max_att)
        for d in raw
    ]
    snapshot = PageSnapshot("events", cal.id, items, _header(state, cal, viewer, zone),
                            state.counter, cal.id)
    return _page(state, snapshot, max_results, sync_kind="events")


def list_instances(
    state: EmulatorState, cal_id: str, event_id: str, params: Params, viewer: str
) -> dict[str, Any]:
    """``events.instances``: the instances of one recurring event."""
    from bridge.emulator.errors import not_found
    from bridge.emulator.eventlogic import find_target

    cal = require_role(state, viewer, cal_id, "freeBusyReader")
    role = state.role(viewer, cal.id)
    max_results = _max_results(params, 250, 2500)
    zone = _one(params, "timeZone") or cal.time_zone
    key = f"{cal.id}/{event_id}"
    resumed = _resume(state, params, "instances", key)
    if resumed is not None:
        return _page(state, resumed, max_results, sync_kind="instances")
    master = find_target(state, cal, event_id)
    if master is None:
        raise not_found()
    wmin, wmax = _time_param(params, "timeMin"), _time_param(params, "timeMax")
    if master.data.get("recurrence"):
        raw = instances_in_window(state, cal, master.data, wmin, wmax,
                                  include_cancelled=_flag(params, "showDeleted"))
    else:
        raw = [master.data]
    original = _one(params, "originalStart")
    if original is not None:
        wanted = parse_rfc3339(original)
        raw = [d for d in raw if "originalStartTime" in d and parse_event_time(
            d["originalStartTime"], cal.time_zone, field="start").instant == wanted]
    raw.sort(key=_sort_key(cal))
    items = [render_event(d, cal, viewer, zone=zone, role=role) for d in raw]
    header = _header(state, cal, viewer, zone)
    return _page(state, PageSnapshot("instances", key, items, header, None, key), max_results,
                 sync_kind="instances")


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
    max_results = _max_results(params, 100, 250)
    resumed = _resume(state, params, "calendarList", viewer)
    if resumed is not None:
        return _page(state, resumed, max_results, sync_kind="calendarList")
    min_role = _one(params, "minAccessRole") or "freeBusyReader"
    if min_role not in ROLE_RANK:
        raise bad_request("Invalid Value", reason="invalid", location="minAccessRole")
    sync_token = _one(params, "syncToken")
    since = -1
    if sync_token is not None:
        if "minAccessRole" in params:
            raise bad_request("Sync token cannot be used with other request restrictions.",
                              reason="invalid", location="syncToken")
        info = state.sync_tokens.get(sync_token)
        if info is None or info.kind != "calendarList" or info.key != viewer or not (
            state.sync_token_alive(info)
        ):
            raise ApiError(410, "fullSyncRequired",
                           "Sync token is no longer valid, a full sync is required.",
                           location="syncToken")
        since = info.seq
    show_hidden = _flag(params, "showHidden") or sync_token is not None
    cals = [
        c for c in state.calendars.values()
        if ROLE_RANK[state.role(viewer, c.id)] >= max(ROLE_RANK[min_role], 1) and c.seq > since
        and (show_hidden or not state.list_prefs.get((viewer, c.id), ListPrefs()).hidden)
    ]
    cals.sort(key=lambda c: (c.id != viewer, c.summary.lower(), c.id))
    items = [_list_entry(state, c, viewer) for c in cals]
    header = {"kind": "calendar#calendarList", "etag": state.etag(state.counter)}
    snapshot = PageSnapshot("calendarList", viewer, items, header, state.counter, viewer)
    return _page(state, snapshot, max_results, sync_kind="calendarList")
