"""Calendar item properties as EWS names them: FieldURIs in schema order, which ones the server
sets, keys for extended properties, ids of occurrences, and the wire format of date-times.

A property is kept under its FieldURI (``item:Subject``, ``calendar:Start``) or, for an extended
property, under ``ext:`` plus its ``ExtendedFieldURI`` attributes.  Date-times are stored and
returned in UTC with ``Z``, as Exchange returns them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import xml.etree.ElementTree as ET

from emulators.ews.soap import EwsError, local, t
from emulators.shared.winzones import resolve_zone

__all__ = [
    "COMPUTED",
    "ORDER",
    "canonical",
    "decode_occurrence_id",
    "element_key",
    "encode_occurrence_id",
    "format_dt",
    "parse_dt",
    "path_key",
    "zone_of",
]

_ITEM_NAMES = (
    "MimeContent", "ItemId", "ParentFolderId", "ItemClass", "Subject", "Sensitivity", "Body",
    "Attachments", "DateTimeReceived", "Size", "Categories", "Importance", "InReplyTo",
    "IsSubmitted", "IsDraft", "IsFromMe", "IsResend", "IsUnmodified",
    "InternetMessageHeaders", "DateTimeSent", "DateTimeCreated", "ResponseObjects",
    "ReminderDueBy", "ReminderIsSet", "ReminderMinutesBeforeStart", "DisplayCc", "DisplayTo",
    "HasAttachments", "ExtendedProperty", "Culture", "EffectiveRights", "LastModifiedName",
    "LastModifiedTime", "IsAssociated", "WebClientReadFormQueryString",
    "WebClientEditFormQueryString", "ConversationId", "UniqueBody",
)
_CALENDAR_NAMES = (
    "UID", "RecurrenceId", "DateTimeStamp", "Start", "End", "OriginalStart", "IsAllDayEvent",
    "LegacyFreeBusyStatus", "Location", "When", "IsMeeting", "IsCancelled", "IsRecurring",
    "MeetingRequestWasSent", "IsResponseRequested", "CalendarItemType", "MyResponseType",
    "Organizer", "RequiredAttendees", "OptionalAttendees", "Resources",
    "ConflictingMeetingCount", "AdjacentMeetingCount", "ConflictingMeetings",
    "AdjacentMeetings", "Duration", "TimeZone", "AppointmentReplyTime",
    "AppointmentSequenceNumber", "AppointmentState", "Recurrence", "FirstOccurrence",
    "LastOccurrence", "ModifiedOccurrences", "DeletedOccurrences", "MeetingTimeZone",
    "StartTimeZone", "EndTimeZone", "ConferenceType", "AllowNewTimeProposal",
    "IsOnlineMeeting", "MeetingWorkspaceUrl", "NetShowUrl", "EnhancedLocation",
    "StartWallClock", "EndWallClock", "StartTimeZoneId", "EndTimeZoneId",
    "IntendedFreeBusyStatus", "JoinOnlineMeetingUrl", "OnlineMeetingSettings", "IsOrganizer",
)
# CalendarItemType's children in schema order (the subset Exchange 2013+ returns).
ORDER: tuple[str, ...] = (*(f"item:{n}" for n in _ITEM_NAMES),
                          *(f"calendar:{n}" for n in _CALENDAR_NAMES))
_BY_NAME = {uri.split(":", 1)[1]: uri for uri in ORDER}

_COMPUTED_ITEM = (
    "ItemId", "ParentFolderId", "DateTimeReceived", "Size", "IsSubmitted", "IsDraft",
    "IsFromMe", "IsResend", "IsUnmodified", "DateTimeSent", "DateTimeCreated",
    "ResponseObjects", "DisplayCc", "DisplayTo", "HasAttachments", "EffectiveRights",
    "LastModifiedName", "LastModifiedTime", "IsAssociated", "WebClientReadFormQueryString",
    "WebClientEditFormQueryString", "ConversationId", "UniqueBody", "MimeContent",
)
_COMPUTED_CALENDAR = (
    "RecurrenceId", "DateTimeStamp", "OriginalStart", "IsMeeting", "IsCancelled",
    "IsRecurring", "MeetingRequestWasSent", "CalendarItemType", "MyResponseType", "Organizer",
    "ConflictingMeetingCount", "AdjacentMeetingCount", "ConflictingMeetings",
    "AdjacentMeetings", "Duration", "AppointmentReplyTime", "AppointmentSequenceNumber",
    "AppointmentState", "FirstOccurrence", "LastOccurrence", "ModifiedOccurrences",
    "DeletedOccurrences", "StartWallClock", "EndWallClock", "IsOrganizer",
)
# Set by the server: a client sending them in CreateItem/UpdateItem gets ErrorInvalidPropertySet.
COMPUTED: frozenset[str] = frozenset((*(f"item:{n}" for n in _COMPUTED_ITEM),
                                      *(f"calendar:{n}" for n in _COMPUTED_CALENDAR)))

# xs:boolean properties: "1"/"0" in a request come back as "true"/"false", as Exchange does.
_BOOLEANS = frozenset({"ReminderIsSet", "IsAllDayEvent", "IsResponseRequested",
                       "AllowNewTimeProposal", "IsOnlineMeeting", "IsRead", "IsDraft"})

_EXT_ATTRS = ("DistinguishedPropertySetId", "PropertySetId", "PropertyTag", "PropertyName",
              "PropertyId", "PropertyType")
_OCC_MARK = b"\x00\x00\x1bOCC:"


def _ext_key(uri: ET.Element) -> str:
    parts = [f"{a}={uri.get(a, '')}" for a in _EXT_ATTRS[:-1]]
    return "ext:" + "|".join(parts)


def path_key(path: ET.Element) -> str:
    """The key of a property path (``t:FieldURI``, ``t:ExtendedFieldURI``,
    ``t:IndexedFieldURI``)."""
    kind = local(path.tag)
    if kind == "FieldURI":
        return path.get("FieldURI", "")
    if kind == "ExtendedFieldURI":
        return _ext_key(path)
    if kind == "IndexedFieldURI":
        return f"{path.get('FieldURI', '')}#{path.get('FieldIndex', '')}"
    raise EwsError("ErrorInvalidPropertyRequest", f"Unknown property path {kind}.")


def element_key(elem: ET.Element) -> str:
    """The key of a property element inside ``t:CalendarItem``."""
    name = local(elem.tag)
    if name == "ExtendedProperty":
        uri = elem.find(t("ExtendedFieldURI"))
        if uri is None:
            raise EwsError("ErrorSchemaValidation", "ExtendedProperty without ExtendedFieldURI.")
        return _ext_key(uri)
    return _BY_NAME.get(name, f"item:{name}")


def canonical(elem: ET.Element) -> ET.Element:
    """A property element as Exchange stores it (xs:boolean as ``true``/``false``)."""
    if local(elem.tag) in _BOOLEANS and elem.text is not None:
        text = elem.text.strip().lower()
        if text not in ("true", "false", "1", "0"):
            raise EwsError("ErrorInvalidValueForProperty",
                           f"The value of {local(elem.tag)} is not a boolean.")
        elem.text = "true" if text in ("true", "1") else "false"
    return elem


def encode_occurrence_id(master_id: str, original: str) -> str:
    """The ItemId of the occurrence of ``master_id`` originally starting at ``original``."""
    return base64.b64encode(_OCC_MARK + f"{master_id}|{original}".encode()).decode()


def decode_occurrence_id(item_id: str) -> tuple[str, str] | None:
    """``(master id, original start)`` for an occurrence id, ``None`` for another id;
    ``ErrorInvalidIdMalformed`` when it is not base64 at all."""
    try:
        raw = base64.b64decode(item_id, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.") from exc
    if not raw.startswith(_OCC_MARK):
        return None
    master, _, original = raw[len(_OCC_MARK):].decode().partition("|")
    return master, original


def format_dt(when: dt.datetime) -> str:
    """``2026-01-05T08:00:00Z``."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zone_of(elem: ET.Element | None, fallback: str | None) -> dt.tzinfo:
    """The zone of a ``StartTimeZone``-like element (by ``Id``), else ``fallback``, else UTC."""
    for name in ((elem.get("Id") if elem is not None else None), fallback):
        if name:
            try:
                return resolve_zone(name)
            except ValueError:
                continue
    return dt.UTC


def parse_dt(text: str | None, zone: dt.tzinfo) -> dt.datetime:
    """An ``xs:dateTime``; without an offset it is local time in ``zone``."""
    if not text:
        raise EwsError("ErrorInvalidValueForProperty", "The date-time value is empty.")
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise EwsError("ErrorInvalidValueForProperty",
                       f"The date-time {text!r} is invalid.") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(dt.UTC)
