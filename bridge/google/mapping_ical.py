"""iCalendar side of the Google mapping: a parsed VCALENDAR → :class:`ResourceData`.

:func:`resource_from_ical` projects a resource onto what Google can hold (see
``docs/mapping.md``); rendering the other way lives in :mod:`mapping_ical_render`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import timedelta

from icalendar import Calendar, Component

from bridge.google.mapping_time import as_style, moment_from_ical
from bridge.ical.fields import (
    alarm_before,
    all_values,
    attendees,
    block_text,
    canonical_rrule,
    date_list,
    email_address,
    line_text,
    param,
    start_end,
    text_value,
    vevents,
)
from bridge.ical.instances import assemble_resource
from bridge.ical.model import (
    EventData,
    Moment,
    Person,
    Reminder,
    ResourceData,
)

__all__ = [
    "CUSTOMER_PROPS",
    "MAPPED_PROPS",
    "MAX_PRIVATE_VALUE",
    "MAX_REMINDERS",
    "MAX_REMINDER_MINUTES",
    "NO_REMINDERS_PROP",
    "canonical_rrule",
    "event_from_ical",
    "fit_categories",
    "resource_from_ical",
]

# Google's limits: at most 5 reminder overrides, 0..40320 minutes (four weeks); private
# extended property values up to 1024 characters.
MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 40320
MAX_PRIVATE_VALUE = 1024
# Marks "no reminders at all" (Google ``useDefault: false`` without overrides); without it and
# without VALARMs an event uses the Google calendar's default reminders.
NO_REMINDERS_PROP = "X-TERMIN-GOOGLE-REMINDERS"
CUSTOMER_PROPS = (
    "X-TERMIN-CUSTOMER-NAME",
    "X-TERMIN-CUSTOMER-EMAIL",
    "X-TERMIN-CUSTOMER-PHONE",
    "X-TERMIN-SERVICE",
)
# Every VEVENT property the mapping reads (:func:`resource_from_ical`) or writes
# (:mod:`mapping_ical_render`).  Anything else (PRIORITY, GEO, ATTACH, client X- properties, …)
# Google cannot hold: :mod:`mapping_preserve` keeps it from the stored resource when a Google
# edit is pulled.  VALARMs (with NO_REMINDERS_PROP) are the reminders, handled as one group.
# tests/unit/mapping/test_mapping_preserve.py checks that reader and renderer stay inside it.
MAPPED_PROPS = frozenset({
    "UID", "DTSTAMP", "CREATED", "LAST-MODIFIED", "SEQUENCE", "RECURRENCE-ID",
    "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE",
    "SUMMARY", "DESCRIPTION", "LOCATION", "URL", "STATUS", "TRANSP", "CLASS", "CATEGORIES",
    "ORGANIZER", "ATTENDEE", *CUSTOMER_PROPS, NO_REMINDERS_PROP,
})
_CLASSES = ("PUBLIC", "PRIVATE", "CONFIDENTIAL")
_STATUSES = ("CONFIRMED", "TENTATIVE", "CANCELLED")


def _cap(text: str | None) -> str | None:
    return text[:MAX_PRIVATE_VALUE] if text else None


def _reminders(comp: Component, start: Moment, end: Moment) -> tuple[Reminder, ...] | None:
    alarms = [c for c in comp.subcomponents if c.name == "VALARM"]
    if not alarms:
        marker = text_value(comp, NO_REMINDERS_PROP)
        return () if marker and marker.upper() == "NONE" else None
    found: set[Reminder] = set()
    for alarm in alarms:
        action = (text_value(alarm, "ACTION") or "DISPLAY").upper()
        method = "email" if action == "EMAIL" else "popup"
        before = alarm_before(alarm, start, end)
        if before is None or before < timedelta(0):
            continue  # after the start: Google has no such reminder
        minutes = min(math.ceil(before.total_seconds() / 60), MAX_REMINDER_MINUTES)
        found.add(Reminder(method, minutes))
    return tuple(sorted(found, key=lambda r: (r.minutes, r.method))[:MAX_REMINDERS])


def fit_categories(categories: Iterable[str]) -> tuple[str, ...]:
    """Categories in order, de-duplicated, as many as fit one private property value."""
    kept: list[str] = []
    for cat in categories:
        if not cat or cat in kept:
            continue
        if len(json.dumps([*kept, cat], ensure_ascii=False)) > MAX_PRIVATE_VALUE:
            break
        kept.append(cat)
    return tuple(kept)


def _categories(comp: Component) -> tuple[str, ...]:
    cats: list[str] = []
    for prop in all_values(comp, "CATEGORIES"):
        cats.extend(str(c) for c in getattr(prop, "cats", []))
    return fit_categories(cats)


def _organizer(comp: Component) -> Person | None:
    prop = comp.get("ORGANIZER")
    if prop is None:
        return None
    if isinstance(prop, list):
        prop = prop[0]
    email = email_address(prop)
    if email is None:
        return None
    return Person(email=email[:MAX_PRIVATE_VALUE], name=_cap(line_text(param(prop, "CN"))))


def _event(comp: Component, *, master_start: Moment | None, ref_tz: str) -> EventData:
    start, end = start_end(comp)
    status = (text_value(comp, "STATUS") or "CONFIRMED").upper()
    klass = text_value(comp, "CLASS")
    klass = klass.upper() if klass else None
    url = text_value(comp, "URL")
    rrule_prop = comp.get("RRULE")
    ref = master_start or start
    rid = comp.get("RECURRENCE-ID")
    customer = tuple(
        (name, value)
        for name in CUSTOMER_PROPS
        if (value := _cap(line_text(text_value(comp, name))))
    )
    return EventData(
        start=start,
        end=end,
        summary=line_text(text_value(comp, "SUMMARY")),
        description=block_text(text_value(comp, "DESCRIPTION")),
        location=line_text(text_value(comp, "LOCATION")),
        status=status if status in _STATUSES else "CONFIRMED",
        transparent=(text_value(comp, "TRANSP") or "").upper() == "TRANSPARENT",
        klass=(klass if klass in _CLASSES else "PRIVATE") if klass else None,
        url=_cap(url),
        categories=_categories(comp),
        organizer=_organizer(comp),
        attendees=attendees(comp),
        reminders=_reminders(comp, start, end),
        customer=customer,
        rrule=canonical_rrule(rrule_prop) if rrule_prop is not None and rid is None else None,
        rdates=date_list(comp, "RDATE", ref, ref_tz) if rid is None else (),
        exdates=date_list(comp, "EXDATE", ref, ref_tz) if rid is None else (),
        recurrence_id=(
            as_style(moment_from_ical(rid.dt), ref, ref_tz=ref_tz) if rid is not None else None
        ),
        sequence=int(str(comp.get("SEQUENCE", 0)) or 0),
    )


def event_from_ical(comp: Component, *, master_start: Moment | None, ref_tz: str) -> EventData:
    """One VEVENT of a validated resource as the model holds it (``master_start``: ``None``
    for the master, the master's start for an override; ``ref_tz``: the calendar zone)."""
    return _event(comp, master_start=master_start, ref_tz=ref_tz)


def resource_from_ical(cal: Calendar, *, calendar_tz: str) -> ResourceData:
    """Project a validated VCALENDAR (one UID) onto the mapping model.

    Overrides with ``STATUS:CANCELLED`` become EXDATEs of the master; overrides identical to
    their occurrence are no overrides (:func:`~bridge.ical.instances.drop_plain`).
    """
    uid, master_comp, others = vevents(cal, provider="Google")
    master = _event(master_comp, master_start=None, ref_tz=calendar_tz)
    overrides = [_event(comp, master_start=master.start, ref_tz=calendar_tz) for comp in others]
    return assemble_resource(uid, master, overrides)
