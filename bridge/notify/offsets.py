"""Reminder offsets such as ``24h,2h,30m,1d`` parsed to seconds (standard library only)."""

from __future__ import annotations

import re

__all__ = ["parse_offsets"]

_PART = re.compile(r"^(\d{1,4})([dhm])$")
_UNIT = {"d": 86400, "h": 3600, "m": 60}


def parse_offsets(text: str) -> tuple[int, ...]:
    """Seconds for each comma-separated offset, largest first; ``""`` means no reminders."""
    out: set[int] = set()
    for raw in text.split(","):
        part = raw.strip().lower()
        if not part:
            continue
        match = _PART.match(part)
        if match is None:
            raise ValueError(f"invalid reminder offset {raw.strip()!r}: use e.g. 24h, 2h, 30m, 1d")
        seconds = int(match.group(1)) * _UNIT[match.group(2)]
        if not 0 < seconds <= 30 * 86400:
            raise ValueError(f"reminder offset {raw.strip()!r} must be between 1m and 30d")
        out.add(seconds)
    return tuple(sorted(out, reverse=True))
