"""Time-zone resolution: TZID parameters to IANA zones.

``icalendar`` already resolves IANA names, vendor-prefixed ids (``/mozilla.org/…/Europe/Berlin``),
common Windows names (CLDR ``windowsZones``) and embedded ``VTIMEZONE`` definitions.  This module
adds the one thing the rest of the bridge needs on top: an IANA name for whatever ``tzinfo`` came
out, because Google only accepts IANA ``timeZone`` values.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from icalendar.timezone.tzid import tzids_from_tzinfo
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

__all__ = ["iana_name", "is_valid_iana", "resolve_mixed_pair", "windows_name", "zone_for_name"]

_D = TypeVar("_D", date, datetime)

# Sample instants used to compare a custom VTIMEZONE with IANA zones (two years, both seasons).
_SAMPLES = tuple(
    datetime(2024, 1, 15, 12, tzinfo=UTC) + timedelta(days=30 * i) for i in range(24)
)
# Zones tried first when matching a custom VTIMEZONE by offsets.
_PREFERRED = (
    "Europe/Berlin", "Europe/London", "Europe/Paris", "Europe/Zurich", "Europe/Vienna",
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "Asia/Tokyo", "Australia/Sydney", "UTC",
)


@functools.lru_cache(maxsize=1024)
def is_valid_iana(name: str) -> bool:
    """True when ``name`` is an IANA zone known to this Python."""
    if not name or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_for_name(name: str) -> ZoneInfo | None:
    """Resolve an IANA or Windows zone name to a ``ZoneInfo``; ``None`` when unknown."""
    if is_valid_iana(name):
        return ZoneInfo(name)
    olson = WINDOWS_TO_OLSON.get(name)
    if olson and is_valid_iana(olson):
        return ZoneInfo(olson)
    return None


def _offsets(tz: tzinfo) -> tuple[timedelta | None, ...]:
    return tuple(s.astimezone(tz).utcoffset() for s in _SAMPLES)


@functools.lru_cache(maxsize=1)
def _all_zones() -> tuple[str, ...]:
    return _PREFERRED + tuple(sorted(available_timezones() - set(_PREFERRED)))


def iana_name(tz: tzinfo | None) -> str | None:
    """An IANA zone name equivalent to ``tz`` (``None`` for floating times).

    ZoneInfo keys are returned as they are; other tzinfo objects (custom ``VTIMEZONE``
    definitions, fixed offsets) are matched by their UTC offsets over two years.
    """
    if tz is None:
        return None
    key = getattr(tz, "key", None)
    if isinstance(key, str) and is_valid_iana(key):
        return key
    for candidate in tzids_from_tzinfo(tz):
        if is_valid_iana(candidate):
            return candidate
    wanted = _offsets(tz)
    for name in _all_zones():
        if name.startswith(("posix/", "right/")):
            continue
        if _offsets(ZoneInfo(name)) == wanted:
            return name
    return None


@functools.lru_cache(maxsize=1)
def _windows_by_iana() -> dict[str, str]:
    return {olson: win for win, olson in sorted(WINDOWS_TO_OLSON.items())}


@functools.lru_cache(maxsize=512)
def windows_name(name: str) -> str | None:
    """The Windows zone name for an IANA or Windows zone ``name``; ``None`` when none fits.

    Windows names and the IANA zone CLDR gives for each (``Europe/Berlin`` → ``W. Europe
    Standard Time``) map directly; another IANA zone takes the Windows zone of an equivalent
    IANA id (same transitions, :func:`icalendar.timezone.tzid.tzids_from_tzinfo`), else of the
    first zone with the same UTC offsets over two years, common zones first (current rules:
    ``Europe/Rome`` → ``W. Europe Standard Time``).
    """
    if name in WINDOWS_TO_OLSON:
        return name
    zone = zone_for_name(name)
    if zone is None:
        return None
    by_iana = _windows_by_iana()
    if zone.key in ("UTC", "Etc/UTC", "GMT", "Etc/GMT", "Etc/Universal", "Universal", "Zulu"):
        return "UTC"
    for candidate in (zone.key, *tzids_from_tzinfo(zone)):
        if candidate in by_iana:
            return by_iana[candidate]
    wanted = _offsets(zone)
    for olson in _all_zones():  # the common zones first: Europe/Rome finds Europe/Berlin
        if olson in by_iana and _offsets(ZoneInfo(olson)) == wanted:
            return by_iana[olson]
    return None


def resolve_mixed_pair(start: _D, end: _D) -> tuple[_D, _D]:
    """A start/end pair with a floating time read in the zone of the other one.

    Some web clients write a floating ``DTSTART`` with ``DTEND;TZID=…`` (or the reverse); stock
    Radicale stores that, and the bridge reads the floating wall time in the other property's
    zone.  Pairs that do not mix (dates, both floating, both zoned) are returned unchanged.
    """
    if isinstance(start, datetime) and isinstance(end, datetime):
        if start.tzinfo is None and end.tzinfo is not None:
            return start.replace(tzinfo=end.tzinfo), end
        if end.tzinfo is None and start.tzinfo is not None:
            return start, end.replace(tzinfo=start.tzinfo)
    return start, end
