"""Normalised content of an iCalendar resource, for change detection and echo suppression.

Two texts that differ only in what servers and clients rewrite (property order, line folding,
``PRODID``, ``DTSTAMP``, ``LAST-MODIFIED``, ``SEQUENCE``, client-private ``X-`` properties,
``VTIMEZONE`` blocks, the spelling of an equivalent time zone) get the same :func:`content_hash`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Component

from bridge.ical.timezones import resolve_mixed_pair

__all__ = ["IGNORED_PROPERTIES", "content_hash", "normalized_lines"]

IGNORED_PROPERTIES = frozenset(
    {
        "PRODID", "VERSION", "CALSCALE", "METHOD", "DTSTAMP", "LAST-MODIFIED", "CREATED",
        "SEQUENCE", "X-RADICALE-NAME", "X-LIC-ERROR", "X-WR-CALNAME", "X-WR-TIMEZONE",
        "X-TERMIN-HASH",
    }
)
_IGNORED_PARAMS = frozenset({"TZID", "VALUE", "X-EVOLUTION-ENDDATE"})


def _value(value: object) -> str:
    dt = getattr(value, "dt", None)
    if isinstance(dt, datetime):
        if dt.tzinfo is None:
            return dt.strftime("%Y%m%dT%H%M%S")
        return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if isinstance(dt, date):
        return dt.strftime("%Y%m%d")
    if isinstance(dt, timedelta):
        return str(int(dt.total_seconds()))
    dts = getattr(value, "dts", None)
    if dts is not None:
        return ",".join(sorted(_value(d) for d in dts))
    to_ical = getattr(value, "to_ical", None)
    if to_ical is not None:
        raw = to_ical()
        return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    return str(value)


def _mixed_pair(comp: Component) -> dict[str, datetime]:
    """DTSTART and DTEND/DUE when one is floating and the other zoned, the floating one read
    in the other's zone (so the hash equals that of the same event written zoned)."""
    start, end = comp.get("DTSTART"), comp.get("DTEND", comp.get("DUE"))
    if start is None or end is None or isinstance(start, list) or isinstance(end, list):
        return {}
    a, b = getattr(start, "dt", None), getattr(end, "dt", None)
    if not isinstance(a, datetime) or not isinstance(b, datetime) or (
            (a.tzinfo is None) == (b.tzinfo is None)):
        return {}
    a, b = resolve_mixed_pair(a, b)
    return {"DTSTART": a, ("DTEND" if "DTEND" in comp else "DUE"): b}


def _component_lines(comp: Component) -> list[str]:
    lines: list[str] = []
    mixed = _mixed_pair(comp)
    # What ``comp.property_items(recursive=False)`` lists, without its BEGIN/END rows and
    # without its per-call overhead (names are stored upper-case; the lines are sorted below).
    for name, values in dict.items(comp):
        if name in IGNORED_PROPERTIES or name in ("BEGIN", "END"):
            continue
        if name.startswith("X-") and name.startswith(("X-MOZ-", "X-APPLE-", "X-EVOLUTION-")):
            continue
        for value in values if isinstance(values, list) else (values,):
            params = getattr(value, "params", {}) or {}
            param_text = ";".join(
                f"{k}={params[k]}" for k in sorted(params) if k.upper() not in _IGNORED_PARAMS
            )
            text = (mixed[name].astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") if name in mixed
                    else _value(value))
            lines.append(f"{name};{param_text}:{text}")
    lines.sort()
    for sub in comp.subcomponents:
        sub_lines = _component_lines(sub)
        lines.append(f"BEGIN:{sub.name}|" + "|".join(sub_lines))
    lines.sort()
    return lines


def normalized_lines(cal: Calendar) -> list[str]:
    """The normalised lines of every non-VTIMEZONE component, in a canonical order."""
    blocks = []
    for comp in cal.subcomponents:
        if comp.name == "VTIMEZONE":
            continue
        blocks.append(f"BEGIN:{comp.name}|" + "|".join(_component_lines(comp)))
    blocks.sort()
    return blocks


def content_hash(cal: Calendar | str) -> str:
    """A sha256 hex digest of the normalised content (see the module docstring)."""
    if isinstance(cal, str):
        cal = Calendar.from_ical(cal)
    digest = hashlib.sha256()
    for block in normalized_lines(cal):
        digest.update(block.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
