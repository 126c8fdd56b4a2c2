"""Time values of the Google mapping: Google ``EventDateTime`` ⇄ Moment.

The iCalendar side (``moment_from_ical``, ``as_style``, ``add_duration``, ``canonical_tz``...)
is neutral and lives in :mod:`bridge.ical.moments`; it is re-exported here for the Google
modules.  Floating times stay floating in the model; on Google they are written as wall times in
the calendar's zone and flagged with the private property ``terminFloating`` (``docs/mapping.md``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bridge.ical.model import Moment
from bridge.ical.moments import (
    add_duration,
    as_style,
    canonical_tz,
    moment_from_ical,
    to_aware,
    zone,
    zoned,
)

__all__ = [
    "add_duration",
    "as_style",
    "canonical_tz",
    "format_rfc3339",
    "moment_from_google",
    "moment_from_ical",
    "moment_to_google",
    "parse_rfc3339",
    "to_aware",
    "zone",
]


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 date-time as Google writes it (``Z``, offsets, fractions)."""
    return datetime.fromisoformat(text.strip())


def format_rfc3339(value: datetime) -> str:
    """An RFC 3339 string with offset (``Z`` for UTC) and no fraction."""
    text = value.replace(microsecond=0).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def moment_from_google(
    obj: dict[str, Any], *, floating: bool, calendar_tz: str
) -> Moment:
    """A Moment for a Google ``EventDateTime`` (``start``, ``end``, ``originalStartTime``)."""
    if obj.get("date"):
        return Moment(date.fromisoformat(str(obj["date"])))
    raw = obj.get("dateTime")
    if not raw:
        raise ValueError("EventDateTime without date or dateTime")
    value = parse_rfc3339(str(raw))
    tz = canonical_tz(obj.get("timeZone")) or None
    if floating:
        local_tz = tz or canonical_tz(calendar_tz) or "UTC"
        if value.tzinfo is not None:
            value = value.astimezone(zone(local_tz))
        return Moment(value.replace(tzinfo=None, microsecond=0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz or canonical_tz(calendar_tz) or "UTC"))
    return zoned(value, tz or canonical_tz(calendar_tz) or "UTC")


def moment_to_google(moment: Moment, *, calendar_tz: str, series_tz: str | None) -> dict[str, str]:
    """A Google ``EventDateTime`` for a Moment.

    ``series_tz`` is the zone of a recurring event: it is added to all-day values too, because
    Google requires ``timeZone`` on recurring events.
    """
    value = moment.value
    if not isinstance(value, datetime):
        out = {"date": value.isoformat()}
        if series_tz:
            out["timeZone"] = series_tz
        return out
    if value.tzinfo is None:
        aware = value.replace(tzinfo=zone(calendar_tz))
        return {"dateTime": format_rfc3339(aware), "timeZone": calendar_tz}
    tz = moment.tz or "UTC"
    return {"dateTime": format_rfc3339(value), "timeZone": tz}




