"""iCalendar side of the Google mapping: a parsed VCALENDAR → :class:`ResourceData`.

:func:`resource_from_ical` projects a resource onto what Google can hold (see
``docs/mapping.md``); rendering the other way lives in :mod:`mapping_ical_render`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from icalendar import Calendar, Component, vRecur

from bridge.google.mapping_instances import drop_plain, within_rule
from bridge.google.mapping_model import (
    Attendee,
    EventData,
    Moment,
    Person,
    Reminder,
    ResourceData,
    UnsupportedResource,
)
from bridge.google.mapping_time import add_duration, as_style, moment_from_ical
from bridge.ical.recurrence import normalize_until, until_text
from bridge.ical.timezones import resolve_mixed_pair
from bridge.text import multi_line, one_line

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
_PARTSTATS = ("NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE")


def _all(comp: Component, name: str) -> list[Any]:
    value = comp.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _text(comp: Component, name: str) -> str | None:
    values = _all(comp, name)
    if not values:
        return None
    text = str(values[0])
    return text or None


def line_text(value: object) -> str | None:
    """A one-line text field (summary, location, names) as both sides of the mapping see it:
    cleaned by :func:`bridge.text.one_line`, ``None`` when nothing is left."""
    return (one_line(value) or None) if value else None


def block_text(value: object) -> str | None:
    """A multi-line text field (description), cleaned by :func:`bridge.text.multi_line`."""
    return (multi_line(value) or None) if value else None


def _cap(text: str | None) -> str | None:
    return text[:MAX_PRIVATE_VALUE] if text else None


def _email(address: object) -> str | None:
    text = str(address).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    text = text.strip()
    if "@" not in text or ":" in text or not text:
        return None  # Google needs an e-mail address; tel:, urn: and the like are dropped
    return text.lower()


def _param(prop: object, name: str) -> str | None:
    params = getattr(prop, "params", None) or {}
    value = params.get(name)
    if value is None:
        return None
    text = str(value)
    return text or None


def canonical_rrule(value: vRecur | str) -> str:
    """One canonical text for an RRULE value (FREQ first, UNTIL in UTC when zoned)."""
    rule = vRecur.from_ical(value) if isinstance(value, str) else value
    parts: list[str] = []
    items = {str(k).upper(): v for k, v in rule.items()}
    order = ["FREQ", *sorted(k for k in items if k != "FREQ")]
    for key in order:
        if key not in items:
            continue
        values = items[key] if isinstance(items[key], list) else [items[key]]
        rendered: list[str] = []
        for item in values:
            if key == "UNTIL" and isinstance(item, date):
                rendered.append(until_text(normalize_until(item)))
            else:
                single = str(vRecur({key: [item]}).to_ical().decode("utf-8"))  # type: ignore[no-untyped-call]
                rendered.append(single.split("=", 1)[1])
        parts.append(f"{key}={','.join(rendered)}")
    return ";".join(parts)


def _dates(comp: Component, name: str, ref: Moment, ref_tz: str) -> tuple[Moment, ...]:
    out: dict[str, Moment] = {}
    for prop in _all(comp, name):
        for item in getattr(prop, "dts", []):
            value = item.dt
            if isinstance(value, tuple):  # PERIOD: Google has no periods, keep the start
                value = value[0]
            if not isinstance(value, date):
                continue
            moment = as_style(moment_from_ical(value), ref, ref_tz=ref_tz)
            out[moment.key()] = moment
    return tuple(out[k] for k in sorted(out))


def _reminders(comp: Component, start: Moment, end: Moment) -> tuple[Reminder, ...] | None:
    alarms = [c for c in comp.subcomponents if c.name == "VALARM"]
    if not alarms:
        marker = _text(comp, NO_REMINDERS_PROP)
        return () if marker and marker.upper() == "NONE" else None
    start_at = start.value
    found: set[Reminder] = set()
    for alarm in alarms:
        action = (_text(alarm, "ACTION") or "DISPLAY").upper()
        method = "email" if action == "EMAIL" else "popup"
        trigger = alarm.get("TRIGGER")
        if trigger is None:
            continue
        value = trigger.dt
        if isinstance(value, timedelta):
            before = -value
            if (_param(trigger, "RELATED") or "START").upper() == "END":
                before = -(_span(start, end) + value)
        elif isinstance(value, datetime):
            if not isinstance(start_at, datetime):
                continue
            first = start_at if start_at.tzinfo else start_at.replace(tzinfo=UTC)
            when = value if value.tzinfo else value.replace(tzinfo=first.tzinfo)
            before = first - when
        else:
            continue
        if before < timedelta(0):
            continue  # after the start: Google has no such reminder
        minutes = min(math.ceil(before.total_seconds() / 60), MAX_REMINDER_MINUTES)
        found.add(Reminder(method, minutes))
    return tuple(sorted(found, key=lambda r: (r.minutes, r.method))[:MAX_REMINDERS])


def _span(start: Moment, end: Moment) -> timedelta:
    a, b = start.value, end.value
    if isinstance(a, datetime) and isinstance(b, datetime):
        return b - a
    return timedelta(days=(_day(b) - _day(a)).days)


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


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
    for prop in _all(comp, "CATEGORIES"):
        cats.extend(str(c) for c in getattr(prop, "cats", []))
    return fit_categories(cats)


def _attendees(comp: Component) -> tuple[Attendee, ...]:
    out: dict[str, Attendee] = {}
    for prop in _all(comp, "ATTENDEE"):
        email = _email(prop)
        if email is None:
            continue
        partstat = (_param(prop, "PARTSTAT") or "NEEDS-ACTION").upper()
        role = (_param(prop, "ROLE") or "REQ-PARTICIPANT").upper()
        cutype = (_param(prop, "CUTYPE") or "INDIVIDUAL").upper()
        out[email] = Attendee(
            email=email,
            name=line_text(_param(prop, "CN")),
            partstat=partstat if partstat in _PARTSTATS else "NEEDS-ACTION",
            optional=role in ("OPT-PARTICIPANT", "NON-PARTICIPANT"),
            resource=cutype in ("RESOURCE", "ROOM"),
        )
    return tuple(out[k] for k in sorted(out))


def _organizer(comp: Component) -> Person | None:
    prop = comp.get("ORGANIZER")
    if prop is None:
        return None
    if isinstance(prop, list):
        prop = prop[0]
    email = _email(prop)
    if email is None:
        return None
    return Person(email=email[:MAX_PRIVATE_VALUE], name=_cap(line_text(_param(prop, "CN"))))


def _dt(comp: Component, name: str) -> Any:
    prop: Any = comp[name]
    return prop.dt


def _event(comp: Component, *, master_start: Moment | None, ref_tz: str) -> EventData:
    start = moment_from_ical(_dt(comp, "DTSTART"))
    if "DTEND" in comp:
        # A floating time next to a zoned one is meant in the other's zone (as validated).
        raw_start, raw_end = resolve_mixed_pair(_dt(comp, "DTSTART"), _dt(comp, "DTEND"))
        start, end = moment_from_ical(raw_start), moment_from_ical(raw_end)
    elif "DURATION" in comp:
        end = add_duration(start, _dt(comp, "DURATION"))
    else:
        end = add_duration(start, timedelta(days=1) if start.kind == "date" else timedelta(0))
    if start.kind == "date" and _day(end.value) <= _day(start.value):
        end = Moment(_day(start.value) + timedelta(days=1))  # Google needs end > start
    status = (_text(comp, "STATUS") or "CONFIRMED").upper()
    klass = _text(comp, "CLASS")
    klass = klass.upper() if klass else None
    url = _text(comp, "URL")
    rrule_prop = comp.get("RRULE")
    ref = master_start or start
    rid = comp.get("RECURRENCE-ID")
    customer = tuple(
        (name, value) for name in CUSTOMER_PROPS if (value := _cap(line_text(_text(comp, name))))
    )
    return EventData(
        start=start,
        end=end,
        summary=line_text(_text(comp, "SUMMARY")),
        description=block_text(_text(comp, "DESCRIPTION")),
        location=line_text(_text(comp, "LOCATION")),
        status=status if status in _STATUSES else "CONFIRMED",
        transparent=(_text(comp, "TRANSP") or "").upper() == "TRANSPARENT",
        klass=(klass if klass in _CLASSES else "PRIVATE") if klass else None,
        url=_cap(url),
        categories=_categories(comp),
        organizer=_organizer(comp),
        attendees=_attendees(comp),
        reminders=_reminders(comp, start, end),
        customer=customer,
        rrule=canonical_rrule(rrule_prop) if rrule_prop is not None and rid is None else None,
        rdates=_dates(comp, "RDATE", ref, ref_tz) if rid is None else (),
        exdates=_dates(comp, "EXDATE", ref, ref_tz) if rid is None else (),
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
    their occurrence are no overrides (:func:`~bridge.google.mapping_instances.drop_plain`).
    """
    comps = [c for c in cal.subcomponents if c.name != "VTIMEZONE"]
    if not comps or comps[0].name != "VEVENT":
        raise UnsupportedResource("only VEVENT resources can be synchronised with Google")
    uid = str(comps[0]["UID"])
    masters = [c for c in comps if "RECURRENCE-ID" not in c]
    if not masters:
        raise UnsupportedResource(
            "overrides without their recurring master cannot be created on Google", uid=uid
        )
    master_comp = masters[0]
    master = _event(master_comp, master_start=None, ref_tz=calendar_tz)
    overrides: dict[str, EventData] = {}
    exdates = {m.key(): m for m in master.exdates}
    for comp in comps:
        if comp is master_comp:
            continue
        override = _event(comp, master_start=master.start, ref_tz=calendar_tz)
        assert override.recurrence_id is not None
        key = override.recurrence_id.key()
        if override.status == "CANCELLED":
            exdates[key] = override.recurrence_id
        else:
            overrides[key] = override
    for key in exdates:
        overrides.pop(key, None)
    overrides = drop_plain(master, overrides)  # identical to its occurrence: no override
    master = within_rule(replace(master, exdates=tuple(exdates[k] for k in sorted(exdates))))
    return ResourceData(
        uid=uid, master=master, overrides=tuple(overrides[k] for k in sorted(overrides))
    )
