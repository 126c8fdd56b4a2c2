"""Turn stored events into what a given viewer receives.

Adds the per-viewer ``self`` flags, renders ``dateTime`` values in the zone the request asked for
(``timeZone``), else in the event's own zone, else in the calendar's, shortens cancelled items
to Google's minimal tombstone in incremental results, and hides details from ``freeBusyReader``
viewers.
"""

from __future__ import annotations

import copy
from typing import Any

from emulators.google.state import Calendar
from emulators.google.timeutil import format_event_datetime, parse_event_time

__all__ = ["minimal_cancelled", "render_event"]

_FREEBUSY_FIELDS = ("kind", "etag", "id", "status", "start", "end", "transparency",
                    "recurringEventId", "originalStartTime")


def minimal_cancelled(data: dict[str, Any]) -> dict[str, Any]:
    """The tombstone Google sends for a cancelled item in incremental results."""
    out: dict[str, Any] = {
        "kind": "calendar#event",
        "etag": data.get("etag"),
        "id": data["id"],
        "status": "cancelled",
    }
    if "recurringEventId" in data:
        out["recurringEventId"] = data["recurringEventId"]
        out["originalStartTime"] = copy.deepcopy(data.get("originalStartTime"))
    return out


def _render_time(value: Any, zone: str, cal: Calendar, *, requested: bool) -> Any:
    """A ``dateTime`` in the requested zone (every one, zoned, UTC or offset-only, as Google
    does), else in the event's own ``timeZone``, else in the calendar's zone.  The
    ``timeZone`` field itself is kept."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        return value
    parsed = parse_event_time(value, cal.time_zone, field="start")
    out = dict(value)
    shown = zone if requested else (value.get("timeZone") or zone)
    out["dateTime"] = format_event_datetime(parsed.instant, shown)
    return out


def render_event(
    data: dict[str, Any],
    cal: Calendar,
    viewer: str,
    *,
    zone: str | None = None,
    role: str = "owner",
    max_attendees: int | None = None,
) -> dict[str, Any]:
    """The event as ``viewer`` sees it; ``zone`` is the request's ``timeZone`` parameter
    (``None``: each time in its event's zone, or the calendar's)."""
    out = copy.deepcopy(data)
    out_zone = zone or cal.time_zone
    for name in ("start", "end", "originalStartTime"):
        if name in out:
            out[name] = _render_time(out[name], out_zone, cal, requested=zone is not None)
    for name in ("creator", "organizer"):
        person = out.get(name)
        if isinstance(person, dict):
            person.pop("self", None)
            if person.get("email") in (viewer, cal.id):
                if name == "creator" and person.get("email") != viewer:
                    continue
                person["self"] = True
    attendees = out.get("attendees")
    if isinstance(attendees, list):
        for attendee in attendees:
            if isinstance(attendee, dict):
                attendee.pop("self", None)
                if attendee.get("email") == viewer:
                    attendee["self"] = True
        if max_attendees is not None and len(attendees) > max_attendees:
            out["attendees"] = attendees[:max_attendees]
            out["attendeesOmitted"] = True
    if role == "freeBusyReader":
        out = {k: out[k] for k in _FREEBUSY_FIELDS if k in out}
    return out
