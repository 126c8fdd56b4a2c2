"""Small builders shared by tests."""

from __future__ import annotations

from bridge.ical import parse_resource
from bridge.model import ParsedResource


def vevent(
    uid: str,
    start: str = "20260105T100000Z",
    end: str | None = "20260105T110000Z",
    *,
    summary: str = "Appointment",
    extra: str = "",
    tzid: str | None = None,
    overrides: str = "",
) -> str:
    """A VCALENDAR text with one VEVENT (plus ``overrides`` components)."""
    tz = f";TZID={tzid}" if tzid else ""
    date_value = ";VALUE=DATE" if len(start) == 8 else ""
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT", f"UID:{uid}",
        "DTSTAMP:20250101T000000Z", f"DTSTART{tz}{date_value}:{start}",
    ]
    if end is not None:
        lines.append(f"DTEND{tz}{date_value}:{end}")
    lines.append(f"SUMMARY:{summary}")
    if extra:
        lines.extend(extra.strip().split("\n"))
    lines.append("END:VEVENT")
    if overrides:
        lines.extend(overrides.strip().split("\n"))
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def parsed(uid: str, *args: str | None, **kwargs: str) -> ParsedResource:
    """``vevent`` passed through the validation gate."""
    return parse_resource(vevent(uid, *args, **kwargs))  # type: ignore[arg-type]
