"""The calendar view's edits as iCalendar text (pure: no I/O, no clock reads).

Single appointments are created and changed with the booking API's own builders
(:func:`bridge.api.model.build_calendar`, :func:`~bridge.api.model.apply_change`), so both
write the same properties.  A recurring appointment is changed either as a whole series
(the master's start and end shift by what the dragged instance moved; a weekday rule follows
a move to another day) or for one instance (an override ``VEVENT`` with ``RECURRENCE-ID``);
deleting one instance adds an ``EXDATE``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal

from icalendar import Calendar, Event, vRecur

from bridge.api.model import AppointmentChange, apply_change, build_calendar, bump_sequence

__all__ = ["Edit", "Scope", "create_text", "delete_instance", "edit_text", "parse_rid"]

Scope = Literal["this", "series"]
_WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_NOT_COPIED = {"RRULE", "RDATE", "EXDATE", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID",
               "SEQUENCE", "DTSTAMP", "LAST-MODIFIED"}


@dataclass
class Edit:
    """What the view changes: new times (aware), title, notes, customer fields (``None``:
    unchanged)."""

    start: datetime | None = None
    end: datetime | None = None
    title: str | None = None
    notes: str | None = None
    customer: dict[str, str | None] = field(default_factory=dict)

    def change(self) -> AppointmentChange:
        """The same edit as a booking-API change."""
        return AppointmentChange(start=self.start, end=self.end, summary=self.title,
                                 notes=self.notes, customer=dict(self.customer))


def parse_rid(value: str) -> datetime | None:
    """A recurrence id as the view sends it (``YYYYMMDDTHHMMSSZ``), or ``None``."""
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def create_text(uid: str, edit: Edit, zone: tzinfo, now: datetime) -> str:
    """A new single appointment."""
    return build_calendar(uid, edit.change(), zone, now)


def _master(cal: Calendar) -> Any:
    for comp in cal.walk("VEVENT"):
        if "RECURRENCE-ID" not in comp:
            return comp
    raise ValueError("no master VEVENT")


def _as_utc(value: date | datetime, zone: tzinfo) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=zone).astimezone(UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=zone).astimezone(UTC)
    return value.astimezone(UTC)


def _like(template: date | datetime, value: datetime, zone: tzinfo) -> date | datetime:
    """``value`` in the form of ``template`` (its zone, floating, or a date)."""
    if not isinstance(template, datetime):
        return value.astimezone(zone).date()
    if template.tzinfo is None:
        return value.astimezone(zone).replace(tzinfo=None)
    return value.astimezone(template.tzinfo)


def _set_times(comp: Any, start: datetime, end: datetime, zone: tzinfo) -> None:
    for name in ("DTSTART", "DTEND", "DURATION"):
        if name in comp:
            del comp[name]
    comp.add("DTSTART", start.astimezone(zone))
    comp.add("DTEND", end.astimezone(zone))


def _set_text(comp: Any, edit: Edit) -> None:
    for value, name in ((edit.title, "SUMMARY"), (edit.notes, "DESCRIPTION")):
        if value is None:
            continue
        if name in comp:
            del comp[name]
        if value:
            comp.add(name, value)


def _is_instance(comp: Any, rid: datetime, zone: tzinfo) -> bool:
    """True for the override of instance ``rid``."""
    return "RECURRENCE-ID" in comp and _as_utc(comp["RECURRENCE-ID"].dt, zone) == rid


def _instance(cal: Calendar, master: Any, rid: datetime, zone: tzinfo) -> Any:
    """The override of instance ``rid`` (created from the master when there is none)."""
    for comp in cal.walk("VEVENT"):
        if _is_instance(comp, rid, zone):
            return comp
    start = master["DTSTART"].dt
    if "DTEND" in master:
        length = _as_utc(master["DTEND"].dt, zone) - _as_utc(start, zone)
    elif "DURATION" in master:
        length = master["DURATION"].dt
    else:
        length = timedelta(0)
    override = Event()
    for name, value in master.property_items(recursive=False)[1:]:
        if name.upper() not in _NOT_COPIED and name.upper() != "END":
            override.add(name, copy.deepcopy(value), encode=False)
    override.add("RECURRENCE-ID", _like(start, rid, zone))
    override.add("DTSTART", _like(start, rid, zone))
    override.add("DTEND", _like(start, rid + length, zone))
    override.add("SEQUENCE", int(master.get("SEQUENCE", 0) or 0))
    cal.add_component(override)
    return override


def _shift_weekdays(rule: vRecur, days: int) -> None:
    byday = rule.get("BYDAY")
    if not byday or days % 7 == 0:
        return
    shifted = []
    for value in byday:
        text = str(value)
        if text not in _WEEKDAYS:
            return  # an ordinal (2MO, -1FR): leave the rule alone
        shifted.append(_WEEKDAYS[(_WEEKDAYS.index(text) + days) % 7])
    rule["BYDAY"] = shifted


def edit_text(
    text: str, edit: Edit, zone: tzinfo, now: datetime, *,
    scope: Scope = "series", rid: datetime | None = None,
) -> str:
    """The stored text with ``edit`` applied (``rid``: the instance a recurring edit came
    from; ``scope="this"`` changes only that instance)."""
    cal = Calendar.from_ical(text)
    master = _master(cal)
    recurring = "RRULE" in master or "RDATE" in master or len(cal.walk("VEVENT")) > 1
    if not recurring:
        return apply_change(text, edit.change(), zone, now)
    if rid is None:
        raise ValueError("a recurring appointment needs the instance (recurrence id)")
    if scope == "this":
        target = _instance(cal, master, rid, zone)
        if edit.start is not None and edit.end is not None:
            _set_times(target, edit.start, edit.end, zone)
        _set_text(target, edit)
        bump_sequence(target, now)
    else:
        if edit.start is not None and edit.end is not None:
            delta = edit.start.astimezone(UTC) - rid
            old_start = master["DTSTART"].dt
            start_utc = _as_utc(old_start, zone) + delta
            local_days = (edit.start.astimezone(zone).date() - rid.astimezone(zone).date()).days
            if isinstance(old_start, datetime) and old_start.tzinfo is not None:
                new_start = start_utc.astimezone(old_start.tzinfo)
            else:
                new_start = start_utc.astimezone(zone)
            _set_times(master, new_start, new_start + (edit.end - edit.start), zone)
            if "RRULE" in master:
                _shift_weekdays(master["RRULE"], local_days)
        _set_text(master, edit)
        bump_sequence(master, now)
    cal.add_missing_timezones()
    out: str = cal.to_ical().decode("utf-8")
    return out


def delete_instance(text: str, rid: datetime, zone: tzinfo, now: datetime) -> str:
    """The series without instance ``rid`` (an ``EXDATE``; its override, if any, removed)."""
    cal = Calendar.from_ical(text)
    master = _master(cal)
    cal.subcomponents = [c for c in cal.subcomponents
                         if not (getattr(c, "name", "") == "VEVENT"
                                 and _is_instance(c, rid, zone))]
    master.add("EXDATE", _like(master["DTSTART"].dt, rid, zone))
    bump_sequence(master, now)
    out: str = cal.to_ical().decode("utf-8")
    return out
