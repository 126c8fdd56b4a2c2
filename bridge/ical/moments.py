"""Time values of the provider mappings: iCalendar values ⇄ :class:`~bridge.ical.model.Moment`.

Rules (documented in ``docs/mapping.md``):
- zoned times keep their IANA zone (custom ``VTIMEZONE`` and Windows names are resolved by
  :func:`bridge.ical.timezones.iana_name`; a zone that matches nothing becomes UTC);
- floating times stay floating in the model (each provider decides how to write them);
- ``DURATION`` is added nominally for its days (wall clock) and exactly for the rest.

Moved here from ``bridge.google.mapping_time``, which keeps the Google ``EventDateTime`` side.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from bridge.ical.model import Moment
from bridge.ical.timezones import iana_name, zone_for_name

__all__ = [
    "add_duration",
    "as_style",
    "canonical_tz",
    "is_utc_name",
    "moment_from_ical",
    "to_aware",
    "zone",
    "zoned",
]

_UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu",
     "UCT", "Etc/UCT", "Etc/GMT+0", "Etc/GMT-0", "Etc/GMT0", "GMT0", "GMT+0", "GMT-0",
     "Etc/Greenwich", "Greenwich"}
)


def canonical_tz(name: str | None) -> str | None:
    """The IANA name for ``name`` (IANA or Windows), ``"UTC"`` for UTC aliases, else ``None``."""
    if not name:
        return None
    if name in _UTC_NAMES:
        return "UTC"
    found = zone_for_name(name)
    if found is None:
        return None
    return "UTC" if found.key in _UTC_NAMES else found.key


def zone(name: str) -> ZoneInfo | Any:
    """The tzinfo for a canonical zone name (``datetime.UTC`` for ``"UTC"``)."""
    if name == "UTC":
        return UTC
    return ZoneInfo(name)


def zoned(value: datetime, tz: str) -> Moment:
    """``value`` as a Moment in ``tz`` (whole seconds; a DST-gap wall time moves forward)."""
    # Through UTC, so a wall time in a DST gap becomes the real local time (RFC 5545).
    return Moment(value.astimezone(UTC).astimezone(zone(tz)).replace(microsecond=0), tz)


def moment_from_ical(value: date | datetime) -> Moment:
    """A Moment for an iCalendar DATE / DATE-TIME (``.dt`` of a parsed property)."""
    if not isinstance(value, datetime):
        return Moment(value)
    if value.tzinfo is None:
        return Moment(value.replace(microsecond=0))
    if _is_utc(value.tzinfo):
        return zoned(value, "UTC")
    name = canonical_tz(iana_name(value.tzinfo))
    if name is None:
        # An unknown custom VTIMEZONE: keep the instant, lose the rules.
        return zoned(value, "UTC")
    return zoned(value, name)


def _is_utc(tz: tzinfo | None) -> bool:
    """True for UTC tzinfo objects (``Z`` values), not for zones that happen to be at +00:00."""
    key = getattr(tz, "key", None)
    if isinstance(key, str):
        return key in _UTC_NAMES
    return isinstance(tz, timezone) and tz.utcoffset(None) == timedelta(0)


def to_aware(moment: Moment, fallback_tz: str) -> date | datetime:
    """The moment as a date or aware datetime; floating times are placed in ``fallback_tz``."""
    value = moment.value
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=zone(fallback_tz))
    return value


def add_duration(start: Moment, duration: timedelta) -> Moment:
    """``start + duration``: whole days on the wall clock (RFC 5545 nominal), the rest exactly."""
    value = start.value
    if not isinstance(value, datetime):
        whole = duration.days + (1 if duration.seconds or duration.microseconds else 0)
        return Moment(value + timedelta(days=whole))
    days = timedelta(days=duration.days)
    rest = duration - days
    if value.tzinfo is None:
        return Moment(value + duration)
    tz = start.tz or "UTC"
    wall = (value.replace(tzinfo=None) + days).replace(tzinfo=zone(tz))
    return zoned(wall.astimezone(UTC) + rest, tz)


def as_style(moment: Moment, ref: Moment, *, ref_tz: str) -> Moment:
    """``moment`` expressed like ``ref`` (same kind and zone): RECURRENCE-ID, EXDATE, RDATE.

    ``ref_tz`` is the zone floating values of ``ref`` are meant in (the series' Google zone or
    the calendar zone).
    """
    value = moment.value
    kind = ref.kind
    if kind == "date":
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(zone(ref_tz))
            return Moment(value.date())
        return moment
    ref_value = ref.value
    assert isinstance(ref_value, datetime)
    if kind == "floating":
        if not isinstance(value, datetime):
            return Moment(datetime.combine(value, ref_value.time()))
        if value.tzinfo is None:
            return moment
        return Moment(value.astimezone(zone(ref_tz)).replace(tzinfo=None))
    tz = ref.tz or "UTC"
    if not isinstance(value, datetime):
        wall = datetime.combine(value, time(ref_value.hour, ref_value.minute, ref_value.second))
        return zoned(wall.replace(tzinfo=zone(tz)), tz)
    if value.tzinfo is None:
        return zoned(value.replace(tzinfo=zone(tz)), tz)
    return zoned(value, tz)


def is_utc_name(name: str) -> bool:
    """True for the names of UTC (``UTC``, ``Etc/UTC``, ``GMT``, ``Z``...)."""
    return name in _UTC_NAMES
