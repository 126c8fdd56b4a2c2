"""EWS side of the Exchange mapping: :class:`EventData` → EWS item dicts (pure).

An item dict is what the client turns into an exchangelib ``CalendarItem`` (and reads one
into): JSON-able, keyed by exchangelib's field names.  Dicts are complete for every mapped
field (empty strings, empty lists, ``reminder_is_set: false``, ``recurrence: None`` on a single
event), so one dict serves create and update (the client always names the fields it writes,
:data:`WRITE_FIELDS`).  Times are ISO instants (``…Z``) with the zone the event was set in
(``start_tz``/``end_tz``, IANA); all-day values are ISO dates, the end exclusive as in
iCalendar (the client converts to exchangelib's inclusive end date).  Attendees are never
written (the provider sends nothing: ``SendToNone``).  Our UID and the series' hash travel in
two extended properties under one fixed property set GUID (:data:`PROPERTY_SET`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bridge.exchange.mapping_recurrence import pattern_to_ews
from bridge.ical.model import EventData, Moment
from bridge.ical.moments import zone
from bridge.ical.patterns import Pattern

__all__ = [
    "BUSY",
    "PROPERTY_SET",
    "PROP_HASH",
    "PROP_UID",
    "SENSITIVITY",
    "WRITE_FIELDS",
    "event_to_ews",
    "instant",
]

# The property set of our extended properties: uuid5(NAMESPACE_URL,
# "https://termin-bridge.invalid/exchange/extended-properties"); never change it (items
# written before would lose their UID).
PROPERTY_SET = "8d6e1b2a-61c4-5b0e-9f53-3c7a2e10b9d4"
PROP_UID = "terminBridgeUid"
PROP_HASH = "terminBridgeHash"
# Model busy status (transparent, show_as) ⇄ LegacyFreeBusyStatus.
BUSY = {"TENTATIVE": "Tentative", "OOF": "OOF", "WORKINGELSEWHERE": "WorkingElsewhere"}
# Model CLASS ⇄ Sensitivity (no CLASS / PUBLIC: Normal).
SENSITIVITY = {"X-PERSONAL": "Personal", "PRIVATE": "Private", "CONFIDENTIAL": "Confidential"}
# The fields every write names (``update_fields``): masters and single events; occurrences
# take all but ``recurrence`` and ``uid``.
WRITE_FIELDS = ("subject", "body", "location", "start", "end", "is_all_day",
                "legacy_free_busy_status", "sensitivity", "categories", "reminder_is_set",
                "reminder_minutes_before_start", "recurrence", "uid", "bridge_uid",
                "bridge_hash")


def instant(moment: Moment, day_tz: str) -> str:
    """An ISO instant (``…Z``) for a timed moment; dates at midnight in ``day_tz``."""
    value = moment.value
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=zone(day_tz))
    elif value.tzinfo is None:
        value = value.replace(tzinfo=zone(day_tz))
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(moment: Moment, day_tz: str) -> tuple[str, str]:
    """The value and zone of a projected moment (dates: the date and the calendar's zone)."""
    if not isinstance(moment.value, datetime):
        return moment.value.isoformat(), day_tz
    return instant(moment, day_tz), moment.tz or "UTC"


def _busy(event: EventData) -> str:
    if event.show_as in BUSY:
        return BUSY[event.show_as or ""]
    return "Free" if event.transparent else "Busy"


def event_to_ews(
    event: EventData,
    *,
    uid: str,
    digest: str,
    day_tz: str,
    pattern: Pattern | None = None,
    master: EventData | None = None,
) -> dict[str, Any]:
    """The item dict of a master or single event (``master is None``) or of one override
    (``original_start`` set, no recurrence and no UID: EWS keeps the series' own).

    ``day_tz`` is the zone all-day values are written in (the calendar's); ``pattern`` the
    series' pattern (masters only); ``digest`` goes into the hash property.
    """
    reminder = event.reminders[0] if event.reminders else None
    start, start_tz = _time(event.start, day_tz)
    end, end_tz = _time(event.end, day_tz)
    item: dict[str, Any] = {
        "subject": event.summary or "",
        "body": event.description or "",
        "location": event.location or "",
        "start": start,
        "start_tz": start_tz,
        "end": end,
        "end_tz": end_tz,
        "is_all_day": event.start.kind == "date",
        "legacy_free_busy_status": _busy(event),
        "sensitivity": SENSITIVITY.get(event.klass or "", "Normal"),
        "categories": list(event.categories),
        "reminder_is_set": reminder is not None,
        "reminder_minutes_before_start": reminder.minutes if reminder else 0,
        "bridge_uid": uid,
        "bridge_hash": digest,
    }
    if master is None:
        item["uid"] = uid
        item["recurrence"] = pattern_to_ews(pattern, event.start) if pattern else None
    elif event.recurrence_id is not None:
        item["original_start"] = instant(event.recurrence_id, day_tz if master.start.kind ==
                                         "date" else (master.start.tz or day_tz))
    return item
