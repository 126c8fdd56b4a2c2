"""Which fields an override inherits from its series when the series changes (pure).

An iCalendar override, like a Google exception we wrote, carries every field, so nothing in the
data says whether a moved instance's title was its own or the series' title.  The rule, as
Google's own editor applies it: a field of an override that equalled the series' value before
the change follows the series' new value; a field with a value of its own stays.  The inherited
fields are the texts a person renames a series by: :data:`INHERITED` (times never: a moved
instance keeps its time).  :func:`inherit_master_changes` applies the rule to a resource given
the series as it was (``base``: the last version both sides agreed on).
"""

from __future__ import annotations

from typing import Any

from icalendar import Calendar, Component

from bridge.google.mapping_time import moment_from_ical
from bridge.ical.model import EventData

__all__ = ["INHERITED", "differs_from_master", "ical_master", "inherit_master_changes"]

# iCalendar property → the model field holding it.
INHERITED = {"SUMMARY": "summary", "DESCRIPTION": "description", "LOCATION": "location"}


def _text(comp: Component, name: str) -> str | None:
    value: Any = comp.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    text = str(value) if value is not None else ""
    return text or None  # as the mapping model reads it: empty is absent


def _split(text: str) -> tuple[Calendar, Component | None, list[Component]]:
    cal = Calendar.from_ical(text)
    assert isinstance(cal, Calendar)
    events = [c for c in cal.subcomponents if c.name == "VEVENT"]
    masters = [c for c in events if "RECURRENCE-ID" not in c]
    master = masters[0] if masters else None
    return cal, master, [c for c in events if c is not master and "RECURRENCE-ID" in c]


def differs_from_master(text: str) -> bool:
    """True when an override has an inherited field of its own value (a candidate for
    :func:`inherit_master_changes`: only then is the base worth fetching)."""
    if "RECURRENCE-ID" not in text.upper():
        return False
    _, master, overrides = _split(text)
    return master is not None and any(
        _text(o, name) != _text(master, name) for o in overrides for name in INHERITED)


def inherit_master_changes(text: str, base: EventData) -> str:
    """``text`` with the overrides' inherited fields following the master's changes.

    ``base`` is the series' master as it was before the change.  For each field of
    :data:`INHERITED` the master changed (its value differs from ``base``), an override still
    holding the base value takes the master's new value (or loses the property with it).
    Returns ``text`` itself when nothing follows.
    """
    cal, master, overrides = _split(text)
    if master is None or not overrides:
        return text
    changed = False
    for name, field in INHERITED.items():
        old, new = getattr(base, field), _text(master, name)
        if new == old:
            continue
        for override in overrides:
            if _text(override, name) != old:
                continue  # its own value: it stays
            override.pop(name, None)
            if new is not None:
                override[name] = master[name]
            changed = True
    return cal.to_ical().decode("utf-8") if changed else text


def ical_master(text: str) -> EventData | None:
    """The master of resource ``text`` as a base for :func:`inherit_master_changes` (only the
    inherited fields are meaningful)."""
    _, master, _ = _split(text)
    if master is None or "DTSTART" not in master:
        return None
    start: Any = master["DTSTART"]
    moment = moment_from_ical(start.dt)
    return EventData(start=moment, end=moment, summary=_text(master, "SUMMARY"),
                     description=_text(master, "DESCRIPTION"),
                     location=_text(master, "LOCATION"))
