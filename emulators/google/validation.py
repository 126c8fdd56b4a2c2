"""Event validation shared by inserts and updates: times, recurrence, reminders, attendees.

Errors are raised as :class:`~.errors.ApiError` with Google's messages and reasons, checked in the
order Google checks them.
"""

from __future__ import annotations

import copy
import logging
from functools import cache
from typing import Any

from emulators.google import recurrence
from emulators.google.errors import ApiError, bad_request
from emulators.google.scopes import discovery_document
from emulators.google.state import Calendar
from emulators.google.timeutil import EventTime, format_event_datetime, parse_event_time

__all__ = [
    "READ_ONLY_FIELDS",
    "check_times",
    "clean_body",
    "event_properties",
    "normalise_details",
    "normalise_times",
    "parse_time",
]

_LOGGER = logging.getLogger(__name__)

# Event resource, ``reminders.overrides``: "The maximum number of override reminders is 5";
# ``minutes``: "Valid values are between 0 and 40320 (4 weeks in minutes)."
MAX_REMINDER_OVERRIDES = 5
MAX_REMINDER_MINUTES = 40320

READ_ONLY_FIELDS = frozenset(
    {
        "kind",
        "etag",
        "id",
        "iCalUID",
        "created",
        "updated",
        "creator",
        "organizer",
        "htmlLink",
        "recurringEventId",
        "originalStartTime",
    }
)


@cache
def event_properties() -> frozenset[str]:
    """Property names of the Event schema in the discovery document."""
    schema = discovery_document()["schemas"]["Event"]["properties"]
    return frozenset(schema)


def parse_time(value: dict[str, Any], cal: Calendar, name: str) -> EventTime:
    """Parse ``start``/``end`` or raise Google's 400."""
    try:
        return parse_event_time(value, cal.time_zone, field=name)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if message.startswith("Missing"):
            raise bad_request(message, reason="required") from exc
        if "time zone" in message:
            raise bad_request(f"Invalid time zone definition for {name} time.",
                              reason="invalid") from exc
        raise bad_request(f"Invalid {name} time.", reason="invalid") from exc


def check_times(data: dict[str, Any], cal: Calendar) -> tuple[EventTime, EventTime]:
    """Validate start, end and recurrence in Google's order; return both times."""
    if not data.get("end"):
        raise bad_request("Missing end time.", reason="required")
    if not data.get("start"):
        raise bad_request("Missing start time.", reason="required")
    start_raw, end_raw = data["start"], data["end"]
    if not isinstance(start_raw, dict) or not isinstance(end_raw, dict):
        raise bad_request("Invalid start time.", reason="invalid")
    if bool(start_raw.get("date")) != bool(end_raw.get("date")):
        raise bad_request("Start and end times must either both be date or both be dateTime.")
    start = parse_time(start_raw, cal, "start")
    end = parse_time(end_raw, cal, "end")
    if data.get("recurrence"):
        if not start.all_day and not start_raw.get("timeZone"):
            raise bad_request("Missing time zone definition for start time.", reason="required")
        try:
            recurrence.validate_recurrence(data, cal.time_zone)
        except (ValueError, TypeError) as exc:
            _LOGGER.debug("Bad recurrence: %s", exc)
            raise bad_request("Invalid recurrence rule.", reason="invalid") from exc
    if end.instant < start.instant:
        raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
    return start, end


def _check_reminders(reminders: Any) -> None:
    """Google's reminder rules (Event resource, ``reminders.overrides``): not together with
    ``useDefault``, at most five overrides, each 0 to 40,320 minutes (four weeks)."""
    if not isinstance(reminders, dict):
        return
    overrides = reminders.get("overrides") or []
    if reminders.get("useDefault") and overrides:
        raise ApiError(400, "cannotUseDefaultRemindersAndSpecifyOverride",
                       "Cannot specify both default reminders and overrides at the same time.")
    if not isinstance(overrides, list):
        raise bad_request("Invalid value for: reminders.overrides", reason="invalid")
    if len(overrides) > MAX_REMINDER_OVERRIDES:
        raise bad_request("Too many reminders", reason="tooManyReminders")
    for override in overrides:
        minutes = override.get("minutes") if isinstance(override, dict) else None
        if isinstance(minutes, str) and minutes.strip().lstrip("-").isdigit():
            minutes = int(minutes)  # JSON integers may come as strings (int64 style)
        if (isinstance(minutes, bool) or not isinstance(minutes, int)
                or not 0 <= minutes <= MAX_REMINDER_MINUTES):
            raise bad_request("Invalid reminder minutes value.", reason="invalid")


def normalise_details(data: dict[str, Any]) -> None:
    """Reminder and attendee rules; fills attendee ``responseStatus``."""
    _check_reminders(data.get("reminders"))
    for attendee in data.get("attendees") or []:
        if not isinstance(attendee, dict) or not attendee.get("email"):
            raise bad_request("Missing attendee email.", reason="required")
        attendee.setdefault("responseStatus", "needsAction")


def normalise_times(data: dict[str, Any], cal: Calendar) -> None:
    """Store every ``dateTime`` with an explicit offset."""
    for name in ("start", "end"):
        value = data.get(name)
        if isinstance(value, dict) and value.get("dateTime"):
            parsed = parse_event_time(value, cal.time_zone, field=name)
            zone = value.get("timeZone") or "UTC"
            value["dateTime"] = format_event_datetime(parsed.instant, zone)


def clean_body(body: dict[str, Any], *, keep: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Keep only writable Event fields (plus ``keep``), dropping nulls."""
    allowed = event_properties()
    return {
        k: copy.deepcopy(v)
        for k, v in body.items()
        if k in allowed and (k not in READ_ONLY_FIELDS or k in keep) and v is not None
    }
