"""Event writes and lookups with Graph's rules: create (``transactionId`` dedupe), PATCH and
DELETE with ``If-Match``, occurrences becoming exceptions or cancelled, series changes.

Every write bumps the change counter, restamps ``changeKey``/``@odata.etag``/
``lastModifiedDateTime``, logs the write, records the invitations or cancellations Exchange would
e-mail, and notifies the listeners (subscriptions).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

from emulators.microsoft import eventdata
from emulators.microsoft.errors import GraphError
from emulators.microsoft.state import Calendar, MsState, StoredEvent, new_id

__all__ = [
    "Located",
    "create_event",
    "delete_event",
    "graph_ts",
    "locate",
    "patch_event",
    "require_calendar",
]

_NO_TIME = "0001-01-01T00:00:00Z"


def graph_ts(when: dt.datetime) -> str:
    """``createdDateTime`` style: UTC with seven fractional digits and ``Z``."""
    when = when.astimezone(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}0Z"


def not_found() -> GraphError:
    """404 ``ErrorItemNotFound``."""
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def require_calendar(state: MsState, account: str, calendar_id: str, *,
                     write: bool) -> Calendar:
    """The calendar if ``account`` may read (or write) it; 404 or 403 otherwise."""
    access = state.access(account, calendar_id)
    if access == "none":
        raise not_found()
    if write and access == "read":
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and "
                         "try again.")
    return state.calendars[calendar_id]


@dataclass
class Located:
    """An event id resolved: its calendar, the stored item (if any) and the current row."""

    calendar_id: str
    row: dict[str, Any]
    stored: StoredEvent | None
    master: StoredEvent | None
    original: dt.datetime | None


def exceptions_of(state: MsState, master: StoredEvent) -> dict[str, dict[str, Any]]:
    """Live exceptions of a master by occurrence id."""
    return {e.id: e.data for e in state.table(master.calendar_id).values()
            if not e.removed and e.data.get("seriesMasterId") == master.id
            and e.data.get("type") == "exception"}


def locate(state: MsState, account: str, event_id: str, *, write: bool = False) -> Located:
    """Resolve ``event_id`` (single, master, exception or computed occurrence) or 404."""
    stored = state.find_event(event_id)
    if stored is not None and not stored.removed:
        require_calendar(state, account, stored.calendar_id, write=write)
        master = None
        if stored.data.get("seriesMasterId"):
            master = state.find_event(str(stored.data["seriesMasterId"]))
        original = dt.datetime.fromisoformat(stored.data["_orig"]) if "_orig" in stored.data \
            else None
        return Located(stored.calendar_id, stored.data, stored, master, original)
    parsed = eventdata.parse_occurrence_id(event_id)
    if parsed is None:
        raise not_found()
    master = state.find_event(parsed[0])
    if master is None or master.removed or master.data.get("type") != "seriesMaster":
        raise not_found()
    require_calendar(state, account, master.calendar_id, write=write)
    rows = eventdata.series_rows(master.data, {}, until=parsed[1] + dt.timedelta(days=1),
                                 limit=state.config.max_instances)
    row = next((r for r in rows if r["id"] == event_id), None)
    if row is None:
        raise not_found()
    return Located(master.calendar_id, row, None, master, parsed[1])


def check_if_match(row: dict[str, Any], if_match: str | None) -> None:
    """412 ``ErrorIrresolvableConflict`` when ``If-Match`` names another version."""
    if if_match is None or if_match.strip() == "*":
        return
    if if_match.strip() != row.get("@odata.etag"):
        raise GraphError(412, "ErrorIrresolvableConflict",
                         "The send or update operation could not be performed because the change "
                         "key passed in the request does not match the current change key for "
                         "the item.")


def _stamp(state: MsState, stored: StoredEvent, *, content: bool = True) -> None:
    stored.seq = state.bump()
    stored.data["changeKey"] = eventdata.change_key(stored.seq)
    stored.data["@odata.etag"] = eventdata.etag(stored.seq)
    stored.data["lastModifiedDateTime"] = graph_ts(state.clock.now())
    if content and stored.data.get("type") == "seriesMaster":
        stored.data["_content_seq"] = stored.seq


def _emails(data: dict[str, Any]) -> list[str]:
    out = []
    for attendee in data.get("attendees") or []:
        address = ((attendee or {}).get("emailAddress") or {}).get("address")
        if address:
            out.append(str(address))
    return out


def _mail(state: MsState, kind: str, data: dict[str, Any], to: list[str], account: str) -> None:
    if to:
        state.mail.append({"type": kind, "to": to, "from": account, "eventId": data["id"],
                           "subject": data.get("subject"), "time": graph_ts(state.clock.now())})


def _apply_svep(data: dict[str, Any], changes: dict[str, Any]) -> None:
    props = changes.pop("singleValueExtendedProperties", None)
    if props is None:
        return
    current = {p["id"].lower(): p for p in data.get("_svep") or []}
    for prop in props:
        if not isinstance(prop, dict) or "id" not in prop:
            raise GraphError(400, "ErrorInvalidProperty", "Extended property id is missing.")
        current[str(prop["id"]).lower()] = {"id": str(prop["id"]), "value": prop.get("value")}
    data["_svep"] = list(current.values())


def _prepare(attendees: Any) -> Any:
    for attendee in attendees or []:
        if isinstance(attendee, dict):
            attendee.setdefault("type", "required")
            attendee.setdefault("status", {"response": "none", "time": _NO_TIME})
    return attendees


def _changes(body: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
    try:
        return eventdata.normalise(body, existing)
    except KeyError as exc:
        raise GraphError(400, "RequestBodyRead", str(exc.args[0])) from exc
    except LookupError as exc:
        raise GraphError(400, "TimeZoneNotSupportedException",
                         "A valid TimeZone value must be specified. The following TimeZone "
                         f"value is not supported: '{exc.args[0]}'.") from exc
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidRequest", str(exc)) from exc


def create_event(state: MsState, calendar_id: str, body: dict[str, Any], account: str,
                 source: str = "api") -> tuple[StoredEvent, bool]:
    """Create an event (or return the one with the same ``transactionId``)."""
    cal = require_calendar(state, account, calendar_id, write=True)
    tx = body.get("transactionId")
    if tx:
        since = state.clock.now() - dt.timedelta(seconds=state.config.transaction_id_window)
        for other in state.visible_calendars(cal.owner):
            for item in state.table(other.id).values():
                if (not item.removed and item.data.get("transactionId") == tx
                        and dt.datetime.fromisoformat(item.data["_created"]) >= since):
                    return item, False
    changes = _changes(body, None)
    owner = state.accounts[cal.owner]
    now = state.clock.now()
    data: dict[str, Any] = {
        "id": new_id(), "createdDateTime": graph_ts(now), "categories": [],
        "transactionId": None, "originalStartTimeZone": changes["start"]["timeZone"],
        "originalEndTimeZone": changes["end"]["timeZone"], "iCalUId": eventdata.new_ical_uid(),
        "reminderMinutesBeforeStart": 15, "isReminderOn": True, "hasAttachments": False,
        "subject": "", "bodyPreview": "", "importance": "normal", "sensitivity": "normal",
        "isAllDay": False, "isCancelled": False, "isOrganizer": True, "responseRequested": True,
        "seriesMasterId": None, "showAs": "busy", "type": "singleInstance", "webLink": "",
        "onlineMeetingUrl": None, "isOnlineMeeting": False, "allowNewTimeProposals": True,
        "isDraft": False, "hideAttendees": False, "recurrence": None,
        "responseStatus": {"response": "organizer", "time": _NO_TIME},
        "body": {"contentType": "html", "content": ""},
        "location": {"displayName": "", "locationType": "default", "uniqueIdType": "unknown",
                     "address": {}, "coordinates": {}},
        "locations": [], "attendees": [],
        "organizer": {"emailAddress": {"name": owner.name, "address": owner.upn}},
        "_created": now.isoformat(),
    }
    _apply_svep(data, changes)
    data.update(changes)
    data["attendees"] = _prepare(data.get("attendees"))
    if data.get("recurrence"):
        data["type"] = "seriesMaster"
    stored = StoredEvent(calendar_id, data, 0)
    data["webLink"] = f"https://outlook.office365.com/owa/?itemid={data['id']}&exvsurl=1&path=/calendar/item"
    _stamp(state, stored)
    state.table(calendar_id)[stored.id] = stored
    state.record_write("create", stored, account, source)
    _mail(state, "invitation", data, _emails(data), account)
    state.changed(calendar_id, stored.id, "created")
    return stored, True


def _drop_exceptions(state: MsState, master: StoredEvent) -> None:
    for item in state.table(master.calendar_id).values():
        if not item.removed and item.data.get("seriesMasterId") == master.id:
            item.removed = True
            _stamp(state, item)
    master.data["_cancelled"] = []


def patch_event(state: MsState, account: str, event_id: str, body: dict[str, Any],
                if_match: str | None = None, source: str = "api") -> dict[str, Any]:
    """PATCH: update a stored item or turn an occurrence into an exception; returns the row."""
    found = locate(state, account, event_id, write=True)
    check_if_match(found.row, if_match)
    stored = found.stored
    if stored is None:  # an occurrence becomes an exception
        assert found.master is not None and found.original is not None
        data = {k: v for k, v in copy.deepcopy(found.row).items() if k != "recurrence"}
        data.update({"type": "exception", "_orig": found.original.isoformat()})
        stored = StoredEvent(found.calendar_id, data, 0)
        state.table(found.calendar_id)[stored.id] = stored
    before = copy.deepcopy(stored.data)
    changes = _changes(body, stored.data)
    if stored.data.get("type") in ("exception",) and "recurrence" in changes:
        raise GraphError(400, "ErrorInvalidRequest", "An occurrence can't have a recurrence.")
    _apply_svep(stored.data, changes)
    stored.data.update(changes)
    if "attendees" in changes:
        stored.data["attendees"] = _prepare(stored.data["attendees"])
    series_change = stored.data.get("type") in ("seriesMaster", "singleInstance") and any(
        k in changes for k in ("recurrence", "start", "end"))
    if "recurrence" in changes:
        stored.data["type"] = "seriesMaster" if changes["recurrence"] else "singleInstance"
    if series_change and before.get("type") == "seriesMaster":
        _drop_exceptions(state, stored)
    _stamp(state, stored)
    if found.master is not None:
        _stamp(state, found.master, content=False)
    state.record_write("patch", stored, account, source)
    added = [a for a in _emails(stored.data) if a not in _emails(before)]
    _mail(state, "invitation", stored.data, added, account)
    if not added and any(k in changes for k in ("start", "end", "location", "recurrence")):
        _mail(state, "update", stored.data, _emails(stored.data), account)
    state.changed(found.calendar_id, stored.id, "updated")
    return stored.data


def delete_event(state: MsState, account: str, event_id: str, if_match: str | None = None,
                 source: str = "api") -> None:
    """DELETE: remove an item, a whole series, or cancel one occurrence."""
    found = locate(state, account, event_id, write=True)
    check_if_match(found.row, if_match)
    if found.original is not None and found.master is not None:
        master = found.master
        master.data.setdefault("_cancelled", []).append(found.original.isoformat())
        if found.stored is not None:
            found.stored.removed = True
            _stamp(state, found.stored)
        _stamp(state, master, content=False)
        _mail(state, "cancellation", found.row, _emails(found.row), account)
        state.record_write("delete", master, account, source)
        state.changed(found.calendar_id, event_id, "deleted")
        return
    stored = found.stored
    assert stored is not None
    if stored.data.get("type") == "seriesMaster":
        _drop_exceptions(state, stored)
    stored.removed = True
    _stamp(state, stored)
    state.record_write("delete", stored, account, source)
    _mail(state, "cancellation", stored.data, _emails(stored.data), account)
    state.changed(found.calendar_id, stored.id, "deleted")
