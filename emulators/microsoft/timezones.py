"""Time zones and Graph's ``dateTimeTimeZone``: Windows ↔ IANA names, parsing and rendering.

Graph writes accept Windows names (``W. Europe Standard Time``) and IANA names; reads return
``dateTime`` without an offset, with seven fractional digits, in UTC unless the request sent
``Prefer: outlook.timezone="…"``.  The name tables live in :mod:`emulators.shared.winzones`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from emulators.shared.winzones import IANA_TO_WINDOWS, WINDOWS_TO_IANA, resolve_zone

__all__ = [
    "IANA_TO_WINDOWS",
    "WINDOWS_TO_IANA",
    "format_graph_dt",
    "parse_graph_dt",
    "resolve_zone",
    "to_instant",
]


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
