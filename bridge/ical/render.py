"""Rendering of the mapping model as iCalendar text (the provider → iCalendar direction).

Shared by the provider mappings; a :class:`Style` says what differs (the ``PRODID``, and the
property that marks "no reminders at all" where the provider has calendar default reminders).
The calendar properties never change and the ``VTIMEZONE`` blocks depend only on the zone and
the span of years, so both are built and serialised once (per ``(zone, years)``) and joined with
the serialised events; the output is byte for byte what ``Calendar.add_missing_timezones``
followed by ``to_ical`` gives.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Alarm, Calendar, Component, Event, Timezone, vCalAddress, vRecur

from bridge.ical.model import EventData, Moment, ResourceData
from bridge.ical.moments import zone

__all__ = ["BUSY_STATUS_PROP", "Style", "render_alarms", "render_event", "render_resource",
           "years"]

# Outlook's busy status in iCalendar (MS-OXCICAL): FREE, TENTATIVE, BUSY, OOF, WORKINGELSEWHERE.
BUSY_STATUS_PROP = "X-MICROSOFT-CDO-BUSYSTATUS"


@dataclass(frozen=True)
class Style:
    """What a provider's rendering sets: its ``PRODID`` and, when it has calendar default
    reminders, the property that marks an event without any (``reminders == ()``)."""

    prodid: str
    no_reminders_prop: str | None = None


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _ical_value(moment: Moment) -> date | datetime:
    value = moment.value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(zone(moment.tz or "UTC"))
    return value


def _address(email: str, name: str | None, **params: str) -> vCalAddress:
    addr = vCalAddress(f"mailto:{email}")
    if name:
        addr.params["CN"] = name
    for key, value in params.items():
        addr.params[key] = value
    return addr


def _add_dates(event: Event, name: str, moments: tuple[Moment, ...]) -> None:
    for moment in moments:
        event.add(name, _ical_value(moment))


def render_event(data: EventData, uid: str, style: Style) -> Event:
    """One VEVENT for a model event."""
    event = Event()
    event.add("UID", uid)
    stamp = data.updated or data.created
    if stamp is not None:
        event.add("DTSTAMP", stamp.astimezone(UTC))
    if data.created is not None:
        event.add("CREATED", data.created.astimezone(UTC))
    if data.updated is not None:
        event.add("LAST-MODIFIED", data.updated.astimezone(UTC))
    if data.recurrence_id is not None:
        event.add("RECURRENCE-ID", _ical_value(data.recurrence_id))
    event.add("DTSTART", _ical_value(data.start))
    event.add("DTEND", _ical_value(data.end))
    if data.rrule:
        event.add("RRULE", vRecur.from_ical(data.rrule))
    _add_dates(event, "RDATE", data.rdates)
    _add_dates(event, "EXDATE", data.exdates)
    if data.sequence:
        event.add("SEQUENCE", data.sequence)
    for name, value in (
        ("SUMMARY", data.summary), ("DESCRIPTION", data.description),
        ("LOCATION", data.location), ("URL", data.url),
    ):
        if value:
            event.add(name, value)
    event.add("STATUS", data.status)
    if data.transparent:
        event.add("TRANSP", "TRANSPARENT")
    if data.klass:
        event.add("CLASS", data.klass)
    if data.show_as:
        event.add(BUSY_STATUS_PROP, data.show_as)
    if data.categories:
        event.add("CATEGORIES", list(data.categories))
    if data.organizer is not None:
        event.add("ORGANIZER", _address(data.organizer.email, data.organizer.name))
    for att in data.attendees:
        params = {"PARTSTAT": att.partstat}
        if att.optional:
            params["ROLE"] = "OPT-PARTICIPANT"
        if att.resource:
            params["CUTYPE"] = "RESOURCE"
        event.add("ATTENDEE", _address(att.email, att.name, **params))
    for name, value in data.customer:
        event.add(name, value)
    if data.reminders == () and style.no_reminders_prop:
        event.add(style.no_reminders_prop, "NONE")
    for alarm in render_alarms(data):
        event.add_component(alarm)
    return event


def render_alarms(data: EventData) -> list[Alarm]:
    """The VALARMs an event's reminders are rendered as (none for the default reminders)."""
    alarms: list[Alarm] = []
    for reminder in data.reminders or ():
        alarm = Alarm()
        alarm.add("ACTION", "EMAIL" if reminder.method == "email" else "DISPLAY")
        alarm.add("TRIGGER", timedelta(minutes=-reminder.minutes))
        alarm.add("DESCRIPTION", data.summary or "Reminder")
        if reminder.method == "email":
            alarm.add("SUMMARY", data.summary or "Reminder")
        alarms.append(alarm)
    return alarms


def years(resource: ResourceData) -> tuple[date, date]:
    """The span of years the VTIMEZONEs of a resource cover."""
    days: list[date] = []
    for ev in (resource.master, *resource.overrides):
        for moment in (ev.start, ev.end, *ev.rdates, *ev.exdates):
            days.append(_day(moment.value))
    first, last = min(days), max(days)
    return date(first.year - 1, 1, 1), date(max(last.year + 2, first.year + 10), 1, 1)


@functools.lru_cache(maxsize=256)
def _timezone(tzid: str, first: date, last: date) -> tuple[Timezone, bytes] | None:
    """The VTIMEZONE of ``tzid`` for ``first``..``last`` and its serialisation (shared: never
    mutate it); ``None`` for a zone icalendar does not know (it is left out, as before)."""
    try:
        tz = Timezone.from_tzid(tzid, first_date=first, last_date=last)
    except ValueError:
        return None
    return tz, tz.to_ical()


_TAIL = b"END:VCALENDAR\r\n"


@functools.lru_cache(maxsize=8)
def _header(prodid: str) -> tuple[Calendar, bytes]:
    """The calendar properties (the same for every resource of a style) and their text."""
    cal = Calendar()
    cal.add("PRODID", prodid)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    return cal, cal.to_ical().removesuffix(_TAIL)


def _tzids(components: list[Event]) -> set[str]:
    """The ``TZID`` parameters the components and their subcomponents use, without ``UTC``:
    ``Calendar.get_missing_tzids`` of a calendar of these events (its own properties never
    carry one), without walking every property through ``property_items``."""
    found: set[str] = set()
    stack: list[Component] = list(components)
    while stack:
        comp = stack.pop()
        for value in comp.values():
            for one in value if isinstance(value, list) else (value,):
                params = getattr(one, "params", None)
                if params and params.get("TZID"):
                    found.add(params["TZID"])
        stack.extend(comp.subcomponents)
    return found - {"UTC"}


def render_resource(resource: ResourceData, style: Style) -> tuple[str, Calendar]:
    """Render a model as one VCALENDAR: its text and the ``Calendar`` the text serialises.

    The calendar's property values and ``VTIMEZONE`` components in the returned ``Calendar``
    are shared between calls and must not be modified.
    """
    header, head = _header(style.prodid)
    cal = Calendar()
    cal.update(header)
    events = [render_event(resource.master, resource.uid, style)]
    events += [render_event(override, resource.uid, style) for override in resource.overrides]
    cal.subcomponents.extend(events)
    first, last = years(resource)
    zones = [z for z in (_timezone(t, first, last) for t in sorted(_tzids(events))) if z]
    cal.subcomponents[0:0] = [tz for tz, _ in zones]
    # What cal.to_ical() gives: header, VTIMEZONEs, then the events, each serialised alone.
    body = b"".join([head, *(block for _, block in zones), *(e.to_ical() for e in events),
                     _TAIL])
    return body.decode("utf-8"), cal
