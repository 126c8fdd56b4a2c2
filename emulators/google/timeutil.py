"""Time helpers: the controllable clock (from :mod:`emulators.shared.clock`), RFC 3339 in Google's
style, event start/end parsing.

Google renders ``created``/``updated`` as UTC with milliseconds (``2030-01-07T08:00:00.000Z``) and
event ``dateTime`` values in the event's (or the requested) time zone with an offset.  All-day
events use ``date`` with an exclusive end.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from typing import Any

from emulators.shared.clock import UTC, Clock, format_ts, get_zone, parse_rfc3339

__all__ = [
    "Clock",
    "EventTime",
    "format_event_datetime",
    "format_rfc1123",
    "format_ts",
    "get_zone",
    "parse_event_time",
    "parse_rfc3339",
]


def format_rfc1123(when: dt.datetime) -> str:
    """RFC 1123 date as in the ``X-Goog-Channel-Expiration`` header."""
    return email.utils.format_datetime(when.astimezone(UTC), usegmt=True)


def format_event_datetime(when: dt.datetime, zone: str) -> str:
    """Render an instant in ``zone`` the way Google renders event ``dateTime`` values."""
    local = when.astimezone(get_zone(zone))
    text = local.replace(microsecond=0).isoformat()
    if text.endswith("+00:00"):
        return text[:-6] + "Z"
    return text


@dataclass(frozen=True)
class EventTime:
    """A parsed EventDateTime: all-day ``date`` or timed ``dateTime`` (aware)."""

    all_day: bool
    instant: dt.datetime
    date: dt.date | None
    zone: str | None

    def utc(self) -> dt.datetime:
        """The instant in UTC."""
        return self.instant.astimezone(UTC)


def parse_event_time(value: Any, default_zone: str, *, field: str) -> EventTime:
    """Parse ``start``/``end``; all-day dates become midnight in ``default_zone``.

    Raises ``ValueError`` with Google's message for the common mistakes.
    """
    if not isinstance(value, dict):
        raise ValueError(f"Missing {field} time.")
    zone = value.get("timeZone")
    if zone is not None:
        get_zone(str(zone))
    if value.get("date") and value.get("dateTime"):
        raise ValueError(f"Invalid {field} time.")
    if value.get("date"):
        day = dt.date.fromisoformat(str(value["date"]))
        tzname = str(zone) if zone else default_zone
        midnight = dt.datetime.combine(day, dt.time(), get_zone(tzname))
        return EventTime(True, midnight, day, str(zone) if zone else None)
    if value.get("dateTime"):
        parsed = dt.datetime.fromisoformat(str(value["dateTime"]))
        if parsed.tzinfo is None:
            if not zone:
                raise ValueError(f"Missing time zone definition for {field} time.")
            parsed = parsed.replace(tzinfo=get_zone(str(zone)))
        return EventTime(False, parsed, None, str(zone) if zone else None)
    raise ValueError(f"Missing {field} time.")
