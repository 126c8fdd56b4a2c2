"""Event data rules: ids, change keys, iCalUIds, body validation, times and instance rows.

Pure logic on the stored Graph JSON.  Stored items are single events, series masters and
exceptions; occurrences are computed (:func:`series_rows`) with ids that encode the master id and
the original start, so an occurrence keeps its id when it becomes an exception.  Internal keys
start with ``_`` and never leave the emulator: ``_svep`` (extended properties), ``_cancelled``
(cancelled original starts of a master), ``_content_seq`` (the master's last content change,
which the occurrences' change keys follow) and ``_orig`` (an exception's original start).
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import secrets
from typing import Any

from emulators.microsoft import recurrence
from emulators.microsoft.timezones import format_graph_dt, resolve_zone, to_instant

__all__ = [
    "WRITABLE",
    "change_key",
    "etag",
    "event_times",
    "new_ical_uid",
    "normalise",
    "occurrence_id",
    "parse_occurrence_id",
    "public",
    "series_rows",
]

_CLASS_ID = "040000008200E00074C5B7101A82E008"
_OCC_PREFIX = "AAMkOc"
WRITABLE = frozenset({
    "subject", "body", "start", "end", "isAllDay", "recurrence", "location", "locations",
    "attendees", "categories", "showAs", "sensitivity", "importance", "isReminderOn",
    "reminderMinutesBeforeStart", "transactionId", "singleValueExtendedProperties",
    "multiValueExtendedProperties", "responseRequested", "allowNewTimeProposals",
    "isOnlineMeeting", "onlineMeetingProvider", "hideAttendees", "organizer",
})
_READ_ONLY = frozenset({
    "id", "changeKey", "iCalUId", "type", "seriesMasterId", "createdDateTime",
    "lastModifiedDateTime", "originalStart", "originalStartTimeZone", "originalEndTimeZone",
    "isOrganizer", "isCancelled", "responseStatus", "webLink", "bodyPreview", "hasAttachments",
    "isDraft", "onlineMeeting", "onlineMeetingUrl", "occurrenceId",
})
_ENUMS = {
    "showAs": {"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"},
    "sensitivity": {"normal", "personal", "private", "confidential"},
    "importance": {"low", "normal", "high"},
}


def change_key(seq: int) -> str:
    """The ``changeKey`` for change number ``seq``."""
    return base64.b64encode(f"DwAAABYAAA{seq:012d}".encode()).decode()


def etag(seq: int) -> str:
    """The weak ``@odata.etag`` for change number ``seq``."""
    return f'W/"{change_key(seq)}"'


def new_ical_uid() -> str:
    """A master/single ``iCalUId`` in Outlook's GlobalObjectId hex form."""
    return _CLASS_ID + "00000000" + secrets.token_hex(28).upper()


def _occurrence_uid(master_uid: str, day: dt.date) -> str:
    """Outlook puts the instance date into bytes 16-19 of the GlobalObjectId."""
    stamp = f"{day.year:04X}{day.month:02X}{day.day:02X}"
    return master_uid[:32] + stamp + master_uid[40:]


def occurrence_id(master_id: str, original_utc: dt.datetime) -> str:
    """The id of the occurrence of ``master_id`` originally starting at ``original_utc``."""
    raw = f"{master_id}|{original_utc.strftime('%Y%m%dT%H%M%SZ')}".encode()
    return _OCC_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_occurrence_id(event_id: str) -> tuple[str, dt.datetime] | None:
    """(master id, original start) for an occurrence id, else ``None``."""
    if not event_id.startswith(_OCC_PREFIX):
        return None
    data = event_id[len(_OCC_PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode()
        master, _, stamp = raw.partition("|")
        when = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return master, when


def event_times(data: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """The stored start and end as aware instants."""
    start, _ = to_instant(data["start"], "start")
    end, _ = to_instant(data["end"], "end")
    return start, end


def _check_all_day(start: dt.datetime, end: dt.datetime) -> None:
    midnight = dt.time(0, 0)
    if start.time() != midnight or end.time() != midnight or end <= start:
        raise ValueError("Start and End of an all-day event must be midnight and at least a "
                         "day apart.")


def normalise(body: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a POST/PATCH body and return the changes to store.

    Raises ``KeyError`` (unknown property), ``LookupError`` (unknown time zone) or
    ``ValueError`` (anything else), each with Graph's message.
    """
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key.startswith("@odata.") or key in _READ_ONLY:
            continue
        if key not in WRITABLE:
            raise KeyError(f"The property '{key}' does not exist on type "
                           "'Microsoft.OutlookServices.Event'. Make sure to only use property "
                           "names that are defined by the type or mark the type as open type.")
        if key in _ENUMS and value not in _ENUMS[key]:
            raise ValueError(f"Requested value '{value}' was not found.")
        changes[key] = copy.deepcopy(value)
    if existing is not None and "transactionId" in changes:
        changes.pop("transactionId")  # immutable after create
    merged = {**(existing or {}), **changes}
    if existing is None:
        for name in ("start", "end"):
            if not isinstance(merged.get(name), dict):
                raise ValueError(f"Your request can't be completed. The property '{name}' is "
                                 "required.")
    for name in ("start", "end"):
        if name in changes:
            instant, zone = to_instant(changes[name], name)
            changes[name] = {"dateTime": format_graph_dt(instant.replace(tzinfo=None)),
                             "timeZone": zone}
    merged = {**(existing or {}), **changes}
    start, end = event_times(merged)
    if end < start:
        raise ValueError("The event's end time must be after its start time.")
    if merged.get("isAllDay"):
        _check_all_day(start.replace(tzinfo=None), end.replace(tzinfo=None))
    if changes.get("recurrence") is not None:
        recurrence.validate(changes["recurrence"])
    return changes


def public(data: dict[str, Any]) -> dict[str, Any]:
    """The stored JSON without internal keys."""
    return {k: copy.deepcopy(v) for k, v in data.items() if not k.startswith("_")}


def _shift(value: dict[str, Any], instant: dt.datetime) -> dict[str, Any]:
    zone = resolve_zone(str(value.get("timeZone") or "UTC"))
    local = instant.astimezone(zone).replace(tzinfo=None)
    return {"dateTime": format_graph_dt(local), "timeZone": value.get("timeZone") or "UTC"}


def series_rows(master: dict[str, Any], exceptions: dict[str, dict[str, Any]], *,
                until: dt.datetime, limit: int) -> list[dict[str, Any]]:
    """Occurrences and exceptions of a master up to ``until`` (cancelled ones left out).

    ``exceptions`` maps occurrence ids to stored exception data.
    """
    rec = master["recurrence"]
    start, end = event_times(master)
    zone_name = str(rec["range"].get("recurrenceTimeZone") or master["start"]["timeZone"])
    zone = resolve_zone(zone_name)
    first_local = start.astimezone(zone)
    duration = end - start
    cancelled = set(master.get("_cancelled") or [])
    horizon = until.astimezone(zone).replace(tzinfo=None)
    rows: list[dict[str, Any]] = []
    for local in recurrence.expand(rec, first_local.time().replace(tzinfo=None),
                                   until=horizon, limit=limit):
        original = local.replace(tzinfo=zone).astimezone(dt.UTC)
        occ_id = occurrence_id(master["id"], original)
        if original.isoformat() in cancelled:
            continue
        if occ_id in exceptions:
            rows.append(exceptions[occ_id])
            continue
        row = {k: copy.deepcopy(v) for k, v in master.items()
               if k not in ("recurrence", "transactionId", "_cancelled")}
        row.update({
            "id": occ_id, "type": "occurrence", "seriesMasterId": master["id"],
            "recurrence": None, "iCalUId": _occurrence_uid(master["iCalUId"], local.date()),
            "start": _shift(master["start"], original),
            "end": _shift(master["end"], original + duration),
            "originalStart": original.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "changeKey": change_key(int(master.get("_content_seq") or 0)),
            "@odata.etag": etag(int(master.get("_content_seq") or 0)),
        })
        rows.append(row)
    return rows
