"""The emulators' clock and the time helpers every emulator needs: one controllable clock, IANA
zone lookup, RFC 3339 parsing and Google-style ``created``/``updated`` stamps (also used by the
hooks' ``now``)."""

from __future__ import annotations

import datetime as dt
import time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["UTC", "Clock", "format_ts", "get_zone", "parse_rfc3339"]

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


def parse_rfc3339(value: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp that must carry an offset; raises ``ValueError``."""
    parsed = dt.datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without offset: {value!r}")
    return parsed
