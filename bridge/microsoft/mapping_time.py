"""Time values of the Microsoft mapping: Graph ``dateTimeTimeZone`` ⇄ Moment (pure).

Rules (``docs/mapping.md``, *Microsoft Graph*):
- Graph takes and gives Windows zone names (``W. Europe Standard Time``) and, for some zones,
  IANA names; answers may also say ``UTC`` or ``tzone://Microsoft/Utc``.  We **write Windows
  names** (every create/update method accepts them; IANA names only for a listed subset) and
  read both.  The model holds, for every zone, the IANA zone CLDR gives for its Windows zone
  (:func:`graph_zone`: ``Europe/Rome`` → ``Europe/Berlin``), so a zone Graph spells differently
  on the way back is no change;
- floating times have no Graph form: they are read as wall times in the calendar's zone;
- all-day values are dates; Graph writes them as midnight to midnight in one zone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from bridge.ical.model import Moment
from bridge.ical.moments import canonical_tz, zone, zoned
from bridge.ical.timezones import windows_name

__all__ = [
    "date_of_instant",
    "graph_zone",
    "instant_text",
    "moment_from_graph",
    "moment_to_graph",
    "parse_graph_datetime",
    "project",
    "write_zone",
]

_UTC_SPELLINGS = frozenset({"tzone://microsoft/utc", "utc", "coordinated universal time"})
_FRACTION = re.compile(r"(\.\d{6})\d+")


def graph_zone(name: str | None) -> str | None:
    """The zone the model holds for a zone name Graph gives or takes; ``None`` when unknown.

    ``UTC`` for every UTC spelling; otherwise the IANA zone of the name's Windows zone (IANA
    for a zone Windows does not know).  ``tzone://Microsoft/Custom`` is unknown.
    """
    if not name:
        return None
    if name.strip().lower() in _UTC_SPELLINGS:
        return "UTC"
    iana = canonical_tz(name.strip())
    if iana is None or iana == "UTC":
        return iana
    win = windows_name(iana)
    if win is None:
        return iana
    return canonical_tz(WINDOWS_TO_OLSON[win]) or iana


def write_zone(tz: str) -> str:
    """The ``timeZone`` we write for a model zone: its Windows name (the zone itself if none)."""
    if tz == "UTC":
        return "UTC"
    return windows_name(tz) or tz


def parse_graph_datetime(text: str) -> datetime:
    """A Graph ``dateTime`` (no offset, up to 7 fractional digits; an offset is accepted)."""
    return datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip()))


def project(moment: Moment, calendar_tz: str) -> Moment:
    """``moment`` as Graph can hold it: floating → the calendar's zone, zones → :func:`graph_zone`.

    Dates stay dates; the instant of a zoned value never changes.
    """
    value = moment.value
    if not isinstance(value, datetime):
        return moment
    if value.tzinfo is None:
        tz = graph_zone(calendar_tz) or "UTC"
        return zoned(value.replace(tzinfo=zone(tz)), tz)
    tz = graph_zone(moment.tz) or "UTC"
    return moment if tz == moment.tz else zoned(value, tz)


def date_of_instant(value: datetime, tz: str) -> date:
    """The date an all-day value written as ``value`` stands for in ``tz`` (nearest midnight:
    Graph may answer an all-day start converted to another zone)."""
    aware = value if value.tzinfo else value.replace(tzinfo=zone(tz))
    local = aware.astimezone(zone(tz)).replace(tzinfo=None)
    return (local + timedelta(hours=12)).date()


def moment_from_graph(
    obj: Any, *, all_day: bool, event_tz: str | None, calendar_tz: str
) -> Moment:
    """A Moment for a Graph ``dateTimeTimeZone`` (``start``, ``end``) or an ``originalStart``
    string (an ISO instant).

    ``event_tz`` is the zone the event was set in (``originalStartTimeZone``, the series'
    ``recurrenceTimeZone``), used for the result when known: Graph answers in the zone asked
    with ``Prefer: outlook.timezone`` (UTC without it).  All-day values become dates.
    """
    if isinstance(obj, str):
        raw, given = obj, None
    elif isinstance(obj, dict) and obj.get("dateTime"):
        raw, given = str(obj["dateTime"]), obj.get("timeZone")
    else:
        raise ValueError("dateTimeTimeZone without dateTime")
    if len(raw.strip()) == 10:  # a bare date (cancelled occurrences may be given so)
        return Moment(date.fromisoformat(raw.strip()))
    value = parse_graph_datetime(raw)
    value_tz = graph_zone(given) or ("UTC" if value.tzinfo else None)
    tz = event_tz or value_tz or graph_zone(calendar_tz) or "UTC"
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(value_tz or tz))
    if all_day:
        return Moment(date_of_instant(value, tz))
    return zoned(value, tz)


def moment_to_graph(moment: Moment, *, day_tz: str) -> dict[str, str]:
    """A Graph ``dateTimeTimeZone`` for a projected Moment (dates: midnight in ``day_tz``)."""
    value = moment.value
    if not isinstance(value, datetime):
        return {"dateTime": f"{value.isoformat()}T00:00:00", "timeZone": write_zone(day_tz)}
    tz = moment.tz or "UTC"
    local = value.astimezone(zone(tz)) if value.tzinfo else value
    return {"dateTime": local.replace(tzinfo=None, microsecond=0).isoformat(),
            "timeZone": write_zone(tz)}


def instant_text(moment: Moment, day_tz: str) -> str:
    """An ISO instant (``…Z``) for an original start: dates at midnight in ``day_tz``."""
    value = moment.value
    if not isinstance(value, datetime):
        value = datetime.combine(value, time()).replace(tzinfo=zone(day_tz))
    elif value.tzinfo is None:
        value = value.replace(tzinfo=zone(day_tz))
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
