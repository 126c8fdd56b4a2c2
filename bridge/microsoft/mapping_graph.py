"""Graph side of the Microsoft mapping: :class:`ResourceData` → Graph event bodies (pure).

Bodies are complete for every mapped field (empty strings, empty lists, ``isReminderOn:
false``, ``recurrence: null`` on a single event), so one body serves ``POST`` and ``PATCH``
(which keeps omitted properties).  They never carry ``attendees`` unless the caller allows it
(Graph e-mails every attendee of an event written with attendees), never ``organizer``, and no
``transactionId`` (the provider sets it on create).  Our UID and the body's hash travel in two
single-value extended properties under one fixed property set GUID.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.ical.model import Attendee, EventData
from bridge.microsoft.mapping_recurrence import Pattern, pattern_to_graph
from bridge.microsoft.mapping_time import moment_to_graph, write_zone

__all__ = [
    "PROPERTY_SET",
    "PROP_HASH",
    "PROP_UID",
    "SENSITIVITY",
    "SHOW_AS",
    "event_to_graph",
    "extended_props",
]

# The property set of our extended properties: uuid5(NAMESPACE_URL,
# "https://termin-bridge.invalid/microsoft/extended-properties"); never change it (events
# written before would lose their UID).
PROPERTY_SET = "2fbb2932-b142-5e99-a331-efdc8ac5bd01"
PROP_UID = f"String {{{PROPERTY_SET}}} Name terminBridgeUid"
PROP_HASH = f"String {{{PROPERTY_SET}}} Name terminBridgeHash"
# Model busy status (transparent, show_as) ⇄ Graph showAs.
SHOW_AS = {"TENTATIVE": "tentative", "OOF": "oof", "WORKINGELSEWHERE": "workingElsewhere"}
# Model CLASS ⇄ Graph sensitivity (no CLASS / PUBLIC: normal).
SENSITIVITY = {"X-PERSONAL": "personal", "PRIVATE": "private", "CONFIDENTIAL": "confidential"}


def extended_props(item: Mapping[str, Any]) -> dict[str, str]:
    """``singleValueExtendedProperties`` of a Graph event by lower-cased id (Graph may answer
    the GUID in another case)."""
    out: dict[str, str] = {}
    for prop in item.get("singleValueExtendedProperties") or []:
        if isinstance(prop, Mapping) and prop.get("id") and prop.get("value") is not None:
            out[str(prop["id"]).lower()] = str(prop["value"])
    return out


def _show_as(event: EventData) -> str:
    if event.show_as in SHOW_AS:
        return SHOW_AS[event.show_as or ""]
    return "free" if event.transparent else "busy"


def _attendee(att: Attendee) -> dict[str, Any]:
    kind = "resource" if att.resource else "optional" if att.optional else "required"
    address: dict[str, str] = {"address": att.email}
    if att.name:
        address["name"] = att.name
    return {"emailAddress": address, "type": kind}


def event_to_graph(
    event: EventData,
    *,
    uid: str,
    digest: str,
    day_tz: str,
    pattern: Pattern | None = None,
    master: EventData | None = None,
    write_attendees: bool = False,
) -> dict[str, Any]:
    """The Graph body of a master or single event (``master is None``) or of one override.

    ``day_tz`` is the zone all-day values are written in (the calendar's); ``pattern`` the
    series' Graph pattern (masters only; ``None``: a single event).  ``digest`` goes into the
    hash property.
    """
    reminder = event.reminders[0] if event.reminders else None
    body: dict[str, Any] = {
        "subject": event.summary or "",
        "body": {"contentType": "text", "content": event.description or ""},
        "location": {"displayName": event.location or ""},
        "start": moment_to_graph(event.start, day_tz=day_tz),
        "end": moment_to_graph(event.end, day_tz=day_tz),
        "isAllDay": event.start.kind == "date",
        "showAs": _show_as(event),
        "sensitivity": SENSITIVITY.get(event.klass or "", "normal"),
        "categories": list(event.categories),
        "isReminderOn": reminder is not None,
        "reminderMinutesBeforeStart": reminder.minutes if reminder else 0,
        "singleValueExtendedProperties": [
            {"id": PROP_UID, "value": uid},
            {"id": PROP_HASH, "value": digest},
        ],
    }
    if master is None:
        body["recurrence"] = (
            pattern_to_graph(pattern, event.start, tz_name=write_zone(
                event.start.tz if event.start.kind == "zoned" and event.start.tz else day_tz))
            if pattern is not None else None
        )
    if write_attendees:
        body["attendees"] = [_attendee(a) for a in event.attendees]
    return body
