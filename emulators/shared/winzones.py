"""Windows time zone names (as Exchange, Outlook and Graph send them) and IANA names.

``WINDOWS_TO_IANA`` covers the common zones (CLDR's windowsZones "001" territory mapping);
``IANA_TO_WINDOWS`` is its inverse with a few extra IANA zones sharing a Windows zone.
:func:`resolve_zone` accepts either kind of name.
"""

from __future__ import annotations

import datetime as dt

from emulators.shared.clock import get_zone

__all__ = ["IANA_TO_WINDOWS", "WINDOWS_TO_IANA", "resolve_zone"]

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
