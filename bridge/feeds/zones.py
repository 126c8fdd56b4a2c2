"""Time zones in feeds: which TZID an output time uses, and its VTIMEZONE block.

Every zoned time in a feed is expressed in an IANA zone (so subscribers that ignore VTIMEZONE
blocks still get it right) or in UTC when the source zone has no IANA equivalent.  Each IANA
zone used gets a VTIMEZONE generated from the zoneinfo database covering the years needed.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

from icalendar import Timezone

from bridge.ical.timezones import iana_name, is_valid_iana

__all__ = ["feed_zone", "vtimezone_bytes"]

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Zulu", "Zulu", "GMT",
                        "Etc/GMT", "Universal", "Etc/Universal"})
_ZONE_CACHE: dict[tuple[str, ...], tzinfo] = {}


def _cache_key(tz: tzinfo) -> tuple[str, ...]:
    key = getattr(tz, "key", None)
    if isinstance(key, str):
        return ("key", key)
    # Custom VTIMEZONE objects: identify them by name and offsets over a few sample instants.
    samples = (datetime(2024, m, 15, 12, tzinfo=UTC) for m in (1, 4, 7, 10))
    offsets = tuple(str(s.astimezone(tz).utcoffset()) for s in samples)
    return ("custom", str(tz.tzname(None)), *offsets)


def feed_zone(tz: tzinfo) -> tzinfo:
    """The zone a feed expresses times of ``tz`` in: a ``ZoneInfo`` or ``datetime.UTC``."""
    key = _cache_key(tz)
    cached = _ZONE_CACHE.get(key)
    if cached is not None:
        return cached
    name = iana_name(tz)
    zone: tzinfo = UTC if name is None or name in _UTC_NAMES or not is_valid_iana(name) \
        else ZoneInfo(name)
    if len(_ZONE_CACHE) < 4096:
        _ZONE_CACHE[key] = zone
    return zone


@functools.lru_cache(maxsize=512)
def _vtimezone(key: str, first_year: int, last_year: int) -> bytes:
    block = Timezone.from_tzinfo(
        ZoneInfo(key), tzid=key, first_date=date(first_year, 1, 1),
        last_date=date(last_year, 1, 1),
    )
    text: bytes = block.to_ical()
    return text


def vtimezone_bytes(key: str, first: date, last: date) -> bytes:
    """The VTIMEZONE block of IANA zone ``key`` covering ``first`` to ``last`` (whole years)."""
    first_year = max(1970, min(first.year, 2100))
    last_year = max(first_year + 1, min(last.year + 1, 2101))
    return _vtimezone(key, first_year, last_year)
