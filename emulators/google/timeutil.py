"""Time helpers: the controllable clock, RFC 3339 in Google's style, event start/end parsing.

Google renders ``created``/``updated`` as UTC with milliseconds (``2030-01-07T08:00:00.000Z``) and
event ``dateTime`` values in the event's (or the requested) time zone with an offset.  All-day
events use ``date`` with an exclusive end.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

UTC = dt.UTC


class Clock:
    """One controllable clock: real time plus an offset, or frozen at a set instant."""

    def __init__(self, offset_seconds: float = 0.0, frozen_at: dt.datetime | None = None) -> None:
        self.offset_seconds = offset_seconds
        self.frozen_at = frozen_at

    def now(self) -> dt.datetime:
        """The emulator's current time (aware, UTC)."""
        if self.frozen_at is not None:
            return self.frozen_at
        return dt.datetime.fromtimestamp(time.time() + self.offset_seconds, UTC)

    def advance(self, seconds: float) -> dt.datetime:
        """Move the clock forward (or back, if negative) and return the new time."""
        if self.frozen_at is not None:
            self.frozen_at += dt.timedelta(seconds=seconds)
        else:
            self.offset_seconds += seconds
        return self.now()

    def set(self, when: dt.datetime, *, freeze: bool = False) -> None:
        """Jump to ``when``; with ``freeze`` the clock stops there until advanced."""
        if freeze:
            self.frozen_at = when.astimezone(UTC)
        else:
            self.frozen_at = None
            self.offset_seconds = when.timestamp() - time.time()


@cache
def get_zone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name``; raises ``ValueError`` if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def format_ts(when: dt.datetime) -> str:
    """RFC 3339 UTC with milliseconds, as in ``created``/``updated``."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def format_rfc1123(when: dt.datetime) -> str:
    """RFC 1123 date as in the ``X-Goog-Channel-Expiration`` header."""
    return email.utils.format_datetime(when.astimezone(UTC), usegmt=True)


def parse_rfc3339(value: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp that must carry an offset; raises ``ValueError``."""
    parsed = dt.datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without offset: {value!r}")
    return parsed


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
