"""Time zones and Graph's ``dateTimeTimeZone``: Windows ↔ IANA names, parsing and rendering.

Graph writes accept Windows names (``W. Europe Standard Time``) and IANA names; reads return
``dateTime`` without an offset, with seven fractional digits, in UTC unless the request sent
``Prefer: outlook.timezone="…"``.  ``WINDOWS_TO_IANA`` covers the common zones (CLDR's
windowsZones "001" territory mapping).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from emulators.shared.clock import get_zone

__all__ = [
    "IANA_TO_WINDOWS",
    "WINDOWS_TO_IANA",
    "format_graph_dt",
    "parse_graph_dt",
    "resolve_zone",
    "to_instant",
]

WINDOWS_TO_IANA: dict[str, str] = {
    "UTC": "UTC",
    "Coordinated Universal Time": "UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "Romance Standard Time": "Europe/Paris",
    "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kiev",
    "GTB Standard Time": "Europe/Bucharest",
    "Russian Standard Time": "Europe/Moscow",
    "Turkey Standard Time": "Europe/Istanbul",
    "Israel Standard Time": "Asia/Jerusalem",
    "South Africa Standard Time": "Africa/Johannesburg",
    "Arabian Standard Time": "Asia/Dubai",
    "India Standard Time": "Asia/Kolkata",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Korea Standard Time": "Asia/Seoul",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "New Zealand Standard Time": "Pacific/Auckland",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "US Mountain Standard Time": "America/Phoenix",
    "Pacific Standard Time": "America/Los_Angeles",
    "Alaskan Standard Time": "America/Anchorage",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Atlantic Standard Time": "America/Halifax",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Buenos_Aires",
}

IANA_TO_WINDOWS: dict[str, str] = {}
for _win, _iana in WINDOWS_TO_IANA.items():
    IANA_TO_WINDOWS.setdefault(_iana, _win)
IANA_TO_WINDOWS.update({"Europe/Vienna": "W. Europe Standard Time",
                        "Europe/Zurich": "W. Europe Standard Time",
                        "Europe/Rome": "W. Europe Standard Time",
                        "Europe/Amsterdam": "W. Europe Standard Time",
                        "Europe/Brussels": "Romance Standard Time",
                        "Europe/Madrid": "Romance Standard Time",
                        "Etc/UTC": "UTC"})


def resolve_zone(name: str) -> dt.tzinfo:
    """The zone for a Windows or IANA name; raises ``ValueError`` for an unknown one."""
    iana = WINDOWS_TO_IANA.get(name.strip(), name.strip())
    return get_zone(iana)


def parse_graph_dt(value: str) -> dt.datetime:
    """``2026-01-05T09:00:00.0000000`` (naive; more than six fractional digits allowed)."""
    text = value.strip().removesuffix("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = head + "." + (frac[:6].ljust(6, "0"))
    parsed = dt.datetime.fromisoformat(text)
    return parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed


def format_graph_dt(when: dt.datetime) -> str:
    """A naive local time with seven fractional digits, as Graph renders it."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}0"


def to_instant(value: Any, field_name: str) -> tuple[dt.datetime, str]:
    """Parse a ``dateTimeTimeZone`` object into (aware instant, zone name as sent).

    Raises ``ValueError`` with a message naming the problem.
    """
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise ValueError(f"The property '{field_name}' is required.")
    zone_name = str(value.get("timeZone") or "UTC")
    try:
        zone = resolve_zone(zone_name)
    except ValueError as exc:
        raise LookupError(zone_name) from exc
    local = parse_graph_dt(str(value["dateTime"]))
    if local.tzinfo is not None:
        return local, zone_name
    return local.replace(tzinfo=zone), zone_name
