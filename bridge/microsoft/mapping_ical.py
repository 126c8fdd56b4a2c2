"""iCalendar side of the Microsoft mapping: a parsed VCALENDAR → :class:`ResourceData` (pure).

:func:`resource_from_ical` projects a resource onto what Graph can hold (``docs/mapping.md``,
*Microsoft Graph*) and lists what it cannot (:class:`~.mapping_recurrence.Unsupported`):

- texts cleaned (:mod:`bridge.text`); URL, customer fields, PRIORITY, ``STATUS:TENTATIVE`` and
  every VALARM but the reminder are not held (they stay in the stored text: ``mapping_preserve``);
- times projected (:func:`~.mapping_time.project`: floating → the calendar's zone);
- ``TRANSP`` + ``X-MICROSOFT-CDO-BUSYSTATUS`` → the busy status, ``CLASS`` → the sensitivity
  (``X-PERSONAL`` is Outlook's *personal*, MS-OXCICAL), categories sorted;
- the reminder: the first DISPLAY VALARM triggering at or before the start;
- attendees only with ``write_attendees`` (without their answers: Graph sets those), never the
  organizer (Graph sets it);
- the RRULE as Graph's pattern in its canonical text; RDATE, rules and overrides Graph cannot
  express stay in the model as they are and are reported.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from typing import Any

from icalendar import Calendar, Component, vRecur

from bridge.ical.fields import (
    alarm_before,
    all_values,
    attendees,
    block_text,
    canonical_rrule,
    date_list,
    line_text,
    param,
    start_end,
    text_value,
    vevents,
)
from bridge.ical.instances import assemble_resource
from bridge.ical.model import EventData, Moment, Reminder, ResourceData
from bridge.ical.moments import as_style, moment_from_ical
from bridge.ical.render import BUSY_STATUS_PROP
from bridge.microsoft.mapping_recurrence import (
    Pattern,
    Unsupported,
    pattern_rrule,
    rule_to_pattern,
)
from bridge.microsoft.mapping_time import graph_zone, project
from bridge.text import one_line

__all__ = [
    "BUSY_STATES",
    "CLASSES",
    "event_from_ical",
    "graph_view",
    "mapped_props",
    "resource_from_ical",
    "rule_pattern",
]

# Outlook's busy states as MS-OXCICAL writes them; FREE and BUSY are TRANSP's two values.
BUSY_STATES = ("FREE", "TENTATIVE", "BUSY", "OOF", "WORKINGELSEWHERE")
# CLASS values Graph's sensitivity holds (PUBLIC is "normal", the same as no CLASS).
CLASSES = ("PRIVATE", "CONFIDENTIAL", "X-PERSONAL")
_BASE_PROPS = frozenset({
    "UID", "DTSTAMP", "CREATED", "LAST-MODIFIED", "SEQUENCE", "RECURRENCE-ID",
    "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE",
    "SUMMARY", "DESCRIPTION", "LOCATION", "STATUS", "TRANSP", "CLASS", "CATEGORIES",
    BUSY_STATUS_PROP,
})


def mapped_props(write_attendees: bool) -> frozenset[str]:
    """Every VEVENT property the mapping reads or renders (VALARMs are the reminder group).

    ATTENDEE and ORGANIZER only when attendees are written to Graph: otherwise the stored ones
    are kept locally on a pull (unless Graph has attendees of its own).
    """
    return _BASE_PROPS | {"ATTENDEE", "ORGANIZER"} if write_attendees else _BASE_PROPS


def graph_view(event: EventData, write_attendees: bool) -> EventData:
    """What of an event's people Graph holds from our side: attendees (without answers) when
    they are written, never the organizer."""
    people = (tuple(replace(a, partstat="NEEDS-ACTION") for a in event.attendees)
              if write_attendees else ())
    if people == event.attendees and event.organizer is None:
        return event
    return replace(event, attendees=people, organizer=None)


def _reminders(comp: Component, start: Moment, end: Moment) -> tuple[Reminder, ...]:
    for alarm in (c for c in comp.subcomponents if c.name == "VALARM"):
        if (text_value(alarm, "ACTION") or "DISPLAY").upper() != "DISPLAY":
            continue
        before = alarm_before(alarm, start, end)
        if before is not None and before >= timedelta(0):
            return (Reminder("popup", math.ceil(before.total_seconds() / 60)),)
    return ()


def _categories(comp: Component) -> tuple[str, ...]:
    cats = {one_line(c) for prop in all_values(comp, "CATEGORIES")
            for c in getattr(prop, "cats", [])}
    return tuple(sorted(c for c in cats if c))


def _busy(comp: Component) -> tuple[bool, str | None]:
    state = (text_value(comp, BUSY_STATUS_PROP) or "").upper()
    if state in BUSY_STATES:
        return state == "FREE", state if state not in ("FREE", "BUSY") else None
    return (text_value(comp, "TRANSP") or "").upper() == "TRANSPARENT", None


def _klass(comp: Component) -> str | None:
    klass = (text_value(comp, "CLASS") or "PUBLIC").upper()
    if klass == "PUBLIC":
        return None
    return klass if klass in CLASSES else "PRIVATE"


def _rule(comp: Component, start: Moment) -> tuple[str | None, list[Unsupported]]:
    """The model's RRULE text (the pattern's canonical text when Graph holds it) and what
    Graph cannot hold of the recurrence."""
    rules = all_values(comp, "RRULE")
    problems: list[Unsupported] = []
    if comp.get("EXRULE") is not None:
        problems.append(Unsupported("exrule", "EXRULE"))
    if comp.get("RDATE") is not None:
        problems.append(Unsupported("rdate", "RDATE: Graph has no extra instances"))
    if not rules:
        return None, problems
    if len(rules) > 1:
        problems.append(Unsupported("several-rules", f"{len(rules)} RRULEs"))
    pattern, found = rule_to_pattern(rules[0], start)
    problems += found
    if pattern is None:
        return canonical_rrule(rules[0]), problems
    return pattern_rrule(pattern, start), problems


def event_from_ical(
    comp: Component, *, master_start: Moment | None, calendar_tz: str, write_attendees: bool
) -> tuple[EventData, list[Unsupported]]:
    """One VEVENT of a validated resource as the model holds it for Graph, and what Graph
    cannot hold of it (``master_start``: ``None`` for the master, the master's projected start
    for an override; ``calendar_tz``: the Graph calendar's zone, for floating times)."""
    raw_start, raw_end = start_end(comp)
    start, end = project(raw_start, calendar_tz), project(raw_end, calendar_tz)
    ref = master_start or start
    rid_prop: Any = comp.get("RECURRENCE-ID")
    problems: list[Unsupported] = []
    rrule: str | None = None
    rid: Moment | None = None
    if rid_prop is None:
        rrule, problems = _rule(comp, start)
    else:
        rid = project(as_style(moment_from_ical(rid_prop.dt), ref, ref_tz=calendar_tz),
                      calendar_tz)
        if (param(rid_prop, "RANGE") or "").upper() == "THISANDFUTURE":
            problems.append(Unsupported("range-override", "RANGE=THISANDFUTURE", rid.key()))
    transparent, show_as = _busy(comp)
    status = (text_value(comp, "STATUS") or "").upper()
    event = EventData(
        start=start,
        end=end,
        summary=line_text(text_value(comp, "SUMMARY")),
        description=block_text(text_value(comp, "DESCRIPTION")),
        location=line_text(text_value(comp, "LOCATION")),
        status="CANCELLED" if status == "CANCELLED" else "CONFIRMED",
        transparent=transparent,
        show_as=show_as,
        klass=_klass(comp),
        categories=_categories(comp),
        attendees=attendees(comp),
        reminders=_reminders(comp, start, end),
        rrule=rrule,
        rdates=tuple(project(m, calendar_tz) for m in date_list(comp, "RDATE", ref, calendar_tz))
        if rid_prop is None else (),
        exdates=tuple(project(m, calendar_tz)
                      for m in date_list(comp, "EXDATE", ref, calendar_tz))
        if rid_prop is None else (),
        recurrence_id=rid,
        sequence=int(str(comp.get("SEQUENCE", 0)) or 0),
    )
    return graph_view(event, write_attendees), problems


def resource_from_ical(
    cal: Calendar, *, calendar_tz: str, write_attendees: bool = False
) -> tuple[ResourceData, tuple[Unsupported, ...]]:
    """Project a validated VCALENDAR (one UID) onto the model as Graph holds it, with what
    Graph cannot hold.  Cancelled overrides become EXDATEs; plain overrides are dropped."""
    tz = graph_zone(calendar_tz) or "UTC"
    uid, master_comp, others = vevents(cal, provider="Microsoft")
    master, problems = event_from_ical(master_comp, master_start=None, calendar_tz=tz,
                                       write_attendees=write_attendees)
    overrides: list[EventData] = []
    for comp in others:
        override, found = event_from_ical(comp, master_start=master.start, calendar_tz=tz,
                                          write_attendees=write_attendees)
        overrides.append(override)
        problems += found
    return assemble_resource(uid, master, overrides), tuple(problems)


def rule_pattern(master: EventData) -> Pattern | None:
    """Graph's pattern of a model master (``None``: single, or a rule Graph cannot hold)."""
    if master.rrule is None:
        return None
    pattern, problems = rule_to_pattern(vRecur.from_ical(master.rrule), master.start)
    return pattern if not any(p.code != "dtstart-off-rule" for p in problems) else None
