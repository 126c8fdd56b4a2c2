"""Helpers for the mapping tests: iCalendar builders and a model of Google's echo."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from icalendar import Calendar

CRLF = "\r\n"


def vevent(*lines: str, uid: str = "appt-1@termin.test", stamp: bool = True) -> str:
    """One VEVENT block with UID (and DTSTAMP) plus ``lines``."""
    head = ["BEGIN:VEVENT", f"UID:{uid}"]
    if stamp:
        head.append("DTSTAMP:20250101T000000Z")
    return CRLF.join([*head, *lines, "END:VEVENT"])


def vcal(*blocks: str) -> str:
    """A VCALENDAR around ``blocks`` (VEVENTs and VTIMEZONEs)."""
    return CRLF.join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//mapping//EN", *blocks,
         "END:VCALENDAR"]
    ) + CRLF


def event_props(text: str, index: int = 0) -> Any:
    """The ``index``-th VEVENT of ``text`` (parsed)."""
    cal = Calendar.from_ical(text)
    return cal.walk("VEVENT")[index]


BERLIN_VTIMEZONE = CRLF.join([
    "BEGIN:VTIMEZONE", "TZID:Berlin custom",
    "BEGIN:STANDARD", "DTSTART:19701025T030000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD",
    "BEGIN:DAYLIGHT", "DTSTART:19700329T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "END:DAYLIGHT",
    "END:VTIMEZONE",
])

ODD_VTIMEZONE = CRLF.join([
    "BEGIN:VTIMEZONE", "TZID:Nowhere Time",
    "BEGIN:STANDARD", "DTSTART:19700101T000000", "TZOFFSETFROM:+0317", "TZOFFSETTO:+0317",
    "END:STANDARD", "END:VTIMEZONE",
])


def google_echo(body: dict[str, Any], *, owner: str = "owner@example.com",
                revision: int = 1) -> dict[str, Any]:
    """What Google answers for a body we wrote: defaults added, empty values dropped."""
    out = copy.deepcopy(body)
    event_id = str(out["id"])
    for key in ("summary", "description", "location"):
        if not out.get(key):
            out.pop(key, None)
    if out.get("visibility") == "default":
        out.pop("visibility")
    if out.get("transparency") == "opaque":
        out.pop("transparency")
    if not out.get("attendees"):
        out.pop("attendees", None)
    if not out.get("recurrence"):
        out.pop("recurrence", None)
    reminders = out.get("reminders") or {"useDefault": True}
    if reminders.get("useDefault"):
        out["reminders"] = {"useDefault": True}
    elif not reminders.get("overrides"):
        out["reminders"] = {"useDefault": False}
    private = out.get("extendedProperties", {}).get("private", {})
    # Be strict: assume Google drops empty private values.
    out["extendedProperties"] = {"private": {k: v for k, v in private.items() if v != ""}}
    base_id = str(out.get("recurringEventId") or event_id)
    etag = hashlib.sha256(f"{event_id}{revision}".encode()).hexdigest()[:16]
    out.update(
        {
            "kind": "calendar#event",
            "etag": f'"{etag}"',
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
            "created": "2025-01-01T10:00:00.000Z",
            "updated": f"2025-01-0{min(revision, 9)}T10:00:00.123Z",
            "creator": {"email": owner, "self": True},
            "organizer": {"email": owner, "self": True},
            "iCalUID": f"{base_id}@google.com",
            "sequence": out.get("sequence", 0),
            "eventType": "default",
        }
    )
    if out.get("attendees"):
        out["attendees"] = [
            {"email": owner, "organizer": True, "self": True, "responseStatus": "accepted"},
            *out["attendees"],
        ]
    return out


def cancelled_instance(master_id: str, original: dict[str, str], suffix: str) -> dict[str, Any]:
    """A minimal cancelled exception as an incremental list returns it."""
    return {
        "kind": "calendar#event",
        "etag": '"3181161784712000"',
        "id": f"{master_id}_{suffix}",
        "status": "cancelled",
        "recurringEventId": master_id,
        "originalStartTime": original,
    }
