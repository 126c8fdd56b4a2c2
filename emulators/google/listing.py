"""``events.list``, ``events.instances`` and ``calendarList.list``: filters, paging, sync tokens.

A list result is computed once, on the first page; later pages replay the stored snapshot by
``pageToken`` and ``nextSyncToken`` appears only on the last page, carrying the change number seen
when page one was built.  Incremental lists return everything whose change number is newer than
the token's, with cancelled items cut to the minimal tombstone unless ``showDeleted=true``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from emulators.google import recurrence
from emulators.google.errors import ApiError, bad_request, int_value
from emulators.google.eventlogic import require_role
from emulators.google.paging import (
    Params,
    flag,
    max_results,
    one,
    page,
    resume,
    sync_since,
    time_param,
)
from emulators.google.render import minimal_cancelled, render_event
from emulators.google.state import Calendar, EmulatorState, ListPrefs, PageSnapshot
from emulators.google.timeutil import format_ts, get_zone, parse_event_time, parse_rfc3339

__all__ = [
    "Params",
    "event_bounds",
    "instances_in_window",
    "list_events",
    "list_instances",
]

_FORBIDDEN_WITH_SYNC = (
    "iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty",
    "timeMin", "timeMax", "updatedMin",
)


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
    uid = one(params, "iCalUID")
    if uid is not None and data.get("iCalUID") != uid:
        return False
    query = one(params, "q")
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


def _sort_key(cal: Calendar) -> Any:
    def key(item: dict[str, Any]) -> tuple[dt.datetime, str]:
        """Start instant, then id."""
        return event_bounds(item, cal)[0], item["id"]
    return key


def list_events(state: EmulatorState, cal_id: str, params: Params, viewer: str) -> dict[str, Any]:
    """``events.list`` for ``viewer``."""
    cal = require_role(state, viewer, cal_id, "freeBusyReader")
    role = state.role(viewer, cal.id)
    limit = max_results(params, 250, 2500)
    requested = one(params, "timeZone")
    zone = requested or cal.time_zone
    try:
        get_zone(zone)
    except ValueError as exc:
        raise bad_request("Invalid time zone definition.", reason="invalid",
                          location="timeZone") from exc
    max_att = int_value(one(params, "maxAttendees") or 0, "maxAttendees") or None
    resumed = resume(state, params, "events", cal.id)
    if resumed is not None:
        return page(state, resumed, limit, sync_kind="events")
    single = flag(params, "singleEvents")
    show_deleted = flag(params, "showDeleted")
    table = state.calendar_events(cal.id)
    sync_token = one(params, "syncToken")
    raw: list[dict[str, Any]] = []
    minimal_ids: set[str] = set()
    if sync_token is not None:
        restricted = any(p in params for p in _FORBIDDEN_WITH_SYNC) or (
            one(params, "showDeleted") == "false")
        since = sync_since(state, sync_token, "events", cal.id, restricted=restricted)
        for stored in table.values():
            if stored.seq <= since:
                continue
            if single and stored.data.get("recurrence"):
                raw.extend(instances_in_window(state, cal, stored.data, None, None,
                                               include_cancelled=True))
                continue
            raw.append(stored.data)
        if not show_deleted:
            minimal_ids = {d["id"] for d in raw if d.get("status") == "cancelled"}
    else:
        wmin, wmax = time_param(params, "timeMin"), time_param(params, "timeMax")
        if wmin is not None and wmax is not None and wmin >= wmax:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.",
                           location="timeMax")
        order = one(params, "orderBy")
        if order == "startTime" and not single:
            raise bad_request("The requested ordering is not available for the particular query.",
                              reason="badRequest")
        updated_min = time_param(params, "updatedMin")
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
        else render_event(d, cal, viewer, zone=requested, role=role, max_attendees=max_att)
        for d in raw
    ]
    snapshot = PageSnapshot("events", cal.id, items, _header(state, cal, viewer, zone),
                            state.counter, cal.id)
    return page(state, snapshot, limit, sync_kind="events")


def list_instances(
    state: EmulatorState, cal_id: str, event_id: str, params: Params, viewer: str
) -> dict[str, Any]:
    """``events.instances``: the instances of one recurring event."""
    from emulators.google.errors import not_found
    from emulators.google.eventlogic import find_target

    cal = require_role(state, viewer, cal_id, "freeBusyReader")
    role = state.role(viewer, cal.id)
    limit = max_results(params, 250, 2500)
    requested = one(params, "timeZone")
    zone = requested or cal.time_zone
    key = f"{cal.id}/{event_id}"
    resumed = resume(state, params, "instances", key)
    if resumed is not None:
        return page(state, resumed, limit, sync_kind="instances")
    master = find_target(state, cal, event_id)
    if master is None:
        raise not_found()
    wmin, wmax = time_param(params, "timeMin"), time_param(params, "timeMax")
    if master.data.get("recurrence"):
        raw = instances_in_window(state, cal, master.data, wmin, wmax,
                                  include_cancelled=flag(params, "showDeleted"))
    else:
        raw = [master.data]
    original = one(params, "originalStart")
    if original is not None:
        wanted = parse_rfc3339(original)
        raw = [d for d in raw if "originalStartTime" in d and parse_event_time(
            d["originalStartTime"], cal.time_zone, field="start").instant == wanted]
    raw.sort(key=_sort_key(cal))
    items = [render_event(d, cal, viewer, zone=requested, role=role) for d in raw]
    header = _header(state, cal, viewer, zone)
    return page(state, PageSnapshot("instances", key, items, header, None, key), limit,
                 sync_kind="instances")
