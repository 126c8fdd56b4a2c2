"""Event writes with Google's rules: insert, import, patch, update, delete, and instance exceptions.

Everything here works on :class:`~.state.EmulatorState` and raises :class:`~.errors.ApiError` with
Google's reasons; HTTP handlers (``events.py``) and the ``external_change`` hook both call it.  Each
write bumps the change counter, sets a new etag and ``updated`` (not for reminder-only changes),
bumps ``sequence`` on time/recurrence/location changes, logs the write and notifies listeners.
"""

from __future__ import annotations

import base64
import copy
import logging
import re
import uuid
from typing import Any

from emulators.google import recurrence
from emulators.google.errors import (
    ApiError,
    bad_request,
    forbidden_access_level,
    int_value,
    not_found,
)
from emulators.google.state import ROLE_RANK, Calendar, EmulatorState, StoredEvent
from emulators.google.timeutil import format_ts
from emulators.google.validation import (
    READ_ONLY_FIELDS,
    check_times,
    clean_body,
    event_properties,
    normalise_details,
    normalise_times,
)

__all__ = [
    "READ_ONLY_FIELDS",
    "delete_event",
    "find_target",
    "import_event",
    "insert_event",
    "merge_patch",
    "new_event_id",
    "patch_event",
    "require_role",
    "update_event",
]

_LOGGER = logging.getLogger(__name__)

_SEQUENCE_FIELDS = ("start", "end", "recurrence", "location")
_ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")


def new_event_id() -> str:
    """A fresh server-chosen id (base32hex, 26 characters)."""
    return base64.b32hexencode(uuid.uuid4().bytes).decode().lower().rstrip("=")


def require_role(state: EmulatorState, account: str, cal_id: str, minimum: str) -> Calendar:
    """Return the calendar if ``account`` has at least ``minimum``; 404 if it sees nothing."""
    role = state.role(account, cal_id)
    cal = state.calendars.get(cal_id)
    if cal is None or role == "none":
        raise not_found()
    if ROLE_RANK[role] < ROLE_RANK[minimum]:
        if minimum in ("writer", "owner"):
            raise forbidden_access_level()
        raise not_found()
    return cal


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Google patch semantics: objects merge recursively, arrays replace, null removes."""
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _html_link(event_id: str, cal_id: str) -> str:
    eid = base64.urlsafe_b64encode(f"{event_id} {cal_id}".encode()).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={eid}"


def _organizer(state: EmulatorState, cal: Calendar) -> dict[str, Any]:
    if cal.id in state.accounts:
        account = state.accounts[cal.id]
        org: dict[str, Any] = {"email": cal.id}
        if account.name:
            org["displayName"] = account.name
        return org
    return {"email": cal.id, "displayName": cal.summary}


def _finish_write(
    state: EmulatorState, data: dict[str, Any], *, touch_updated: bool = True
) -> int:
    seq = state.bump()
    data["etag"] = state.etag(seq)
    if touch_updated:
        data["updated"] = format_ts(state.clock.now())
    return seq


def _store(
    state: EmulatorState, cal: Calendar, data: dict[str, Any], seq: int, op: str, actor: str,
    source: str,
) -> StoredEvent:
    stored = StoredEvent(cal.id, data, seq)
    state.calendar_events(cal.id)[data["id"]] = stored
    state.record_write(op, cal.id, data, actor, source)
    _LOGGER.debug("Event %s %s in %s (change %d)", data["id"], op, cal.id, seq)
    state.changed(cal.id)
    return stored


def _count_invitations(state: EmulatorState, data: dict[str, Any]) -> None:
    quota = state.config.invitation_quota
    if quota is None or not data.get("attendees"):
        return
    if state.counters.invitations >= quota:
        raise ApiError(403, "quotaExceeded", "Calendar usage limits exceeded.")
    state.counters.invitations += 1


def _compose_new(
    state: EmulatorState, cal: Calendar, body: dict[str, Any], actor: str, event_id: str,
    *, keep: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    now = format_ts(state.clock.now())
    data: dict[str, Any] = {
        "kind": "calendar#event",
        "etag": "",
        "id": event_id,
        "status": body.get("status") or "confirmed",
        "htmlLink": _html_link(event_id, cal.id),
        "created": now,
        "updated": now,
    }
    cleaned = clean_body(body, keep=keep)
    data.update({k: v for k, v in cleaned.items() if k not in ("start", "end")})
    data.setdefault("creator", {"email": actor})
    data.setdefault("organizer", _organizer(state, cal))
    data["start"] = cleaned["start"]
    data["end"] = cleaned["end"]
    data.setdefault("iCalUID", f"{event_id}@google.com")
    data.setdefault("sequence", 0)
    data.setdefault("reminders", {"useDefault": True})
    data.setdefault("eventType", "default")
    normalise_times(data, cal)
    normalise_details(data)
    return data


def insert_event(
    state: EmulatorState, cal_id: str, body: dict[str, Any], actor: str, *, source: str = "api"
) -> StoredEvent:
    """``events.insert``: validate in Google's order, then create."""
    cal = require_role(state, actor, cal_id, "writer")
    check_times(body, cal)
    table = state.calendar_events(cal.id)
    event_id = body.get("id")
    if event_id is not None:
        if not isinstance(event_id, str) or not _ID_RE.match(event_id):
            raise ApiError(400, "invalid", "Invalid resource id value.")
        if event_id in table:
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
    else:
        event_id = new_event_id()
    uid = body.get("iCalUID")
    if uid and any(e.data.get("iCalUID") == uid and "recurringEventId" not in e.data
                   for e in table.values()):
        raise ApiError(409, "duplicate", "The requested identifier already exists.")
    data = _compose_new(state, cal, body, actor, event_id, keep=frozenset({"iCalUID"}))
    _count_invitations(state, data)
    seq = _finish_write(state, data)
    return _store(state, cal, data, seq, "insert", actor, source)


def import_event(
    state: EmulatorState, cal_id: str, body: dict[str, Any], actor: str, *, source: str = "api"
) -> StoredEvent:
    """``events.import``: upsert by ``iCalUID``; the organizer may be set."""
    cal = require_role(state, actor, cal_id, "writer")
    uid = body.get("iCalUID")
    if not uid:
        raise bad_request("Missing iCalUID.", reason="required")
    if body.get("eventType", "default") != "default":
        raise bad_request("Event type cannot be imported.", reason="invalid")
    check_times(body, cal)
    table = state.calendar_events(cal.id)
    existing = next(
        (e for e in table.values()
         if e.data.get("iCalUID") == uid and "recurringEventId" not in e.data),
        None,
    )
    keep = frozenset({"iCalUID", "organizer"})
    if existing is not None:
        data = _compose_new(state, cal, body, actor, existing.id, keep=keep)
        data["created"] = existing.data.get("created", data["created"])
        data["creator"] = existing.data.get("creator", data["creator"])
        if body.get("status") is None:
            data["status"] = "confirmed"
        seq = _finish_write(state, data)
        return _store(state, cal, data, seq, "import", actor, source)
    event_id = body.get("id") or new_event_id()
    if not isinstance(event_id, str) or not _ID_RE.match(event_id):
        raise ApiError(400, "invalid", "Invalid resource id value.")
    if event_id in table:
        raise ApiError(409, "duplicate", "The requested identifier already exists.")
    data = _compose_new(state, cal, body, actor, event_id, keep=keep)
    seq = _finish_write(state, data)
    return _store(state, cal, data, seq, "import", actor, source)


def find_target(state: EmulatorState, cal: Calendar, event_id: str) -> StoredEvent | None:
    """The stored event, or a virtual instance of a stored recurring master (``seq`` -1)."""
    table = state.calendar_events(cal.id)
    if event_id in table:
        return table[event_id]
    split = recurrence.split_instance_id(event_id)
    if split is None:
        return None
    master = table.get(split[0])
    if master is None or not master.data.get("recurrence"):
        return None
    for when in recurrence.expand(
        master.data,
        cal.time_zone,
        window_start=None,
        window_end=None,
        horizon_days=state.config.expansion_horizon_days,
        max_instances=state.config.max_instances,
    ):
        if recurrence.instance_id(master.id, when) == event_id:
            inst = recurrence.make_instance(master.data, when, cal.time_zone)
            if master.cancelled:
                inst["status"] = "cancelled"
            return StoredEvent(cal.id, inst, -1)
    return None


def _check_if_match(current: StoredEvent, if_match: str | None) -> None:
    if if_match and if_match.strip() != "*" and if_match.strip() != current.data.get("etag"):
        raise ApiError(412, "conditionNotMet", "Precondition Failed", location="If-Match",
                       location_type="header")


def _apply_change(
    state: EmulatorState, cal: Calendar, current: StoredEvent, new: dict[str, Any], actor: str,
    op: str, source: str, body: dict[str, Any],
) -> StoredEvent:
    old = current.data
    for key in READ_ONLY_FIELDS:
        if key in old:
            new[key] = copy.deepcopy(old[key])
        else:
            new.pop(key, None)
    if "sequence" in body and body["sequence"] is not None:
        if int_value(body["sequence"], "sequence") < int(old.get("sequence", 0)):
            raise bad_request(
                "Invalid sequence value. The specified sequence number is below the current "
                "sequence number of the resource. Re-fetch the resource and use its sequence "
                "number on the following request.",
                reason="invalid",
            )
        new["sequence"] = int(body["sequence"])
    else:
        new["sequence"] = int(old.get("sequence", 0))
    new.setdefault("status", "confirmed")
    new.setdefault("eventType", "default")
    new.setdefault("reminders", {"useDefault": True})
    check_times(new, cal)
    normalise_times(new, cal)
    normalise_details(new)
    significant = [k for k in _SEQUENCE_FIELDS if new.get(k) != old.get(k)]
    if significant and "sequence" not in body:
        new["sequence"] = int(old.get("sequence", 0)) + 1
    changed = {k for k in set(old) | set(new) if old.get(k) != new.get(k)} - {"etag", "updated"}
    reminders_only = changed == {"reminders"}
    seq = _finish_write(state, new, touch_updated=not reminders_only)
    return _store(state, cal, new, seq, op, actor, source)


def patch_event(
    state: EmulatorState, cal_id: str, event_id: str, body: dict[str, Any], actor: str,
    *, if_match: str | None = None, source: str = "api", op: str = "patch",
) -> StoredEvent:
    """``events.patch``: merge, honour ``If-Match``, undelete via ``status``."""
    cal = require_role(state, actor, cal_id, "writer")
    current = find_target(state, cal, event_id)
    if current is None:
        raise not_found()
    _check_if_match(current, if_match)
    # Like insert and update: read-only fields are ignored, and so are fields the Event
    # resource does not have (Google drops unknown fields instead of storing them).
    allowed = event_properties()
    cleaned = {k: v for k, v in body.items() if k in allowed and k not in READ_ONLY_FIELDS}
    new = merge_patch(current.data, cleaned)
    return _apply_change(state, cal, current, new, actor, op, source, body)


def update_event(
    state: EmulatorState, cal_id: str, event_id: str, body: dict[str, Any], actor: str,
    *, if_match: str | None = None, source: str = "api",
) -> StoredEvent:
    """``events.update``: full replace (``start`` and ``end`` required)."""
    cal = require_role(state, actor, cal_id, "writer")
    current = find_target(state, cal, event_id)
    if current is None:
        raise not_found()
    _check_if_match(current, if_match)
    new = clean_body(body)
    new.setdefault("status", "confirmed")
    new["kind"] = "calendar#event"
    if "recurringEventId" in current.data and "recurrence" in new:
        new.pop("recurrence")
    return _apply_change(state, cal, current, new, actor, "update", source, body)


def delete_event(
    state: EmulatorState, cal_id: str, event_id: str, actor: str,
    *, if_match: str | None = None, source: str = "api",
) -> None:
    """``events.delete``: mark cancelled (410 if it already is, 404 if it never existed)."""
    cal = require_role(state, actor, cal_id, "writer")
    current = find_target(state, cal, event_id)
    if current is None:
        raise not_found()
    if current.cancelled:
        raise ApiError(410, "deleted", "Resource has been deleted")
    _check_if_match(current, if_match)
    new = copy.deepcopy(current.data)
    new["status"] = "cancelled"
    seq = _finish_write(state, new)
    _store(state, cal, new, seq, "delete", actor, source)
    if new.get("recurrence"):
        # Exceptions of a deleted series go with it.
        for other in list(state.calendar_events(cal.id).values()):
            if other.data.get("recurringEventId") == new["id"] and not other.cancelled:
                other.data["status"] = "cancelled"
                other.seq = _finish_write(state, other.data)
