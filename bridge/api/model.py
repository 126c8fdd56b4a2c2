"""Appointment JSON ⇄ iCalendar for the booking API (pure: no I/O, no clock reads).

Requests are checked field by field; every problem is collected as a :class:`FieldError` and
raised together in :class:`ValidationFailed`, so a client learns about every invalid field at
once.  Text from the booking system is cleaned by :mod:`bridge.text` before it reaches iCalendar
(line breaks in one-line fields become spaces, every line-break form in notes becomes ``LF``,
control characters are dropped), so no field can inject a content line (hostile input A15).
Resources are built with ``icalendar`` and then pass the same gate as every other write
(:func:`bridge.ical.validate.parse_resource`).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, cast

from icalendar import Calendar, Event, vText

from bridge.ical.validate import BOOKED_ONLINE_PROP, CUSTOMER_LANGUAGE_PROP
from bridge.model import ItemRecord, connection_of_origin
from bridge.text import multi_line, one_line

__all__ = [
    "STATUSES",
    "AppointmentChange",
    "FieldError",
    "ValidationFailed",
    "apply_change",
    "appointment_id",
    "appointment_json",
    "build_calendar",
    "bump_sequence",
    "is_email",
    "parse_change",
    "parse_instant",
    "uid_from_id",
]

STATUSES = ("CONFIRMED", "TENTATIVE", "CANCELLED")
MAX_SPAN = timedelta(days=7)
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,40}$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$")
_TEXT_LIMITS = {"summary": 200, "service": 200, "notes": 5000, "customer.name": 200,
                "customer.phone": 40, "customer.email": 254}
_FIELDS = {"start", "end", "duration_minutes", "summary", "status", "customer", "service",
           "notes"}
_CUSTOMER_FIELDS = {"name", "email", "phone"}


@dataclass(frozen=True)
class FieldError:
    """One invalid field: its dotted name and what is wrong."""

    field: str
    message: str


class ValidationFailed(Exception):
    """A request body or query failed validation; ``errors`` names every invalid field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


@dataclass
class AppointmentChange:
    """The validated fields of a create or update request (``None``: not given)."""

    start: datetime | None = None
    end: datetime | None = None
    duration: timedelta | None = None
    summary: str | None = None
    status: str | None = None
    service: str | None = None
    notes: str | None = None
    customer: dict[str, str | None] = field(default_factory=dict)
    cleared: set[str] = field(default_factory=set)


def is_email(value: str) -> bool:
    """True for an e-mail address the API accepts for ``customer.email``."""
    return bool(_EMAIL.match(value))


def appointment_id(uid: str) -> str:
    """The API id of an appointment: its UID when URL-safe, else ``~`` + base64url(UID)."""
    if _SAFE_ID.match(uid):
        return uid
    return "~" + base64.urlsafe_b64encode(uid.encode("utf-8")).decode("ascii").rstrip("=")


def uid_from_id(ident: str) -> str | None:
    """The UID an API id stands for, or ``None`` when the id is malformed."""
    if ident.startswith("~"):
        raw = ident[1:]
        try:
            uid = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
        except ValueError:
            return None
        # No stored UID has a NUL or more than 1024 characters (the gate's bounds), and
        # PostgreSQL refuses NUL in a query parameter.
        return uid if "\x00" not in uid and len(uid) <= 1024 else None
    return ident if _SAFE_ID.match(ident) else None


def parse_instant(value: Any, name: str, zone: tzinfo, errors: list[FieldError]) -> datetime | None:
    """An ISO 8601 date-time; one without offset is local time of the calendar's zone."""
    if not isinstance(value, str):
        errors.append(FieldError(name, "must be an ISO 8601 date-time string"))
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        errors.append(FieldError(name, "must be an ISO 8601 date-time such as "
                                       "2026-03-29T10:00:00+02:00"))
        return None
    if not 1900 < parsed.year < 2100:
        errors.append(FieldError(name, "must be between the years 1901 and 2099"))
        return None
    if parsed.tzinfo is None:
        local = parsed.replace(tzinfo=zone)
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != parsed:
            errors.append(FieldError(name, "this local time does not exist in the calendar's "
                                           "time zone (daylight saving gap)"))
            return None
        parsed = local
    # UTC from here on: same-tzinfo arithmetic would be wall-clock time across DST changes.
    return parsed.astimezone(UTC)


def _text_field(
    body: dict[str, Any], key: str, name: str, errors: list[FieldError], *, multiline: bool = False,
    required: bool = False,
) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            errors.append(FieldError(name, "is required"))
        return None
    if not isinstance(value, str):
        errors.append(FieldError(name, "must be a string"))
        return None
    clean = multi_line(value) if multiline else one_line(value)
    if len(clean) > _TEXT_LIMITS[name]:
        errors.append(FieldError(name, f"must be at most {_TEXT_LIMITS[name]} characters"))
        return None
    if required and not clean:
        errors.append(FieldError(name, "must not be empty"))
        return None
    return clean


def parse_change(body: Any, zone: tzinfo, *, create: bool) -> AppointmentChange:
    """Validate a create (``create=True``) or partial update body; raises ``ValidationFailed``."""
    errors: list[FieldError] = []
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("(body)", "must be a JSON object")])
    change = AppointmentChange()
    for key in sorted(set(body) - _FIELDS):
        errors.append(FieldError(key, "unknown field"))
    for key in ("start", "end"):
        if key in body and body[key] is not None:
            setattr(change, key, parse_instant(body[key], key, zone, errors))
        elif create and key == "start":
            errors.append(FieldError("start", "is required"))
        elif key in body:
            errors.append(FieldError(key, "must not be null"))
    if "duration_minutes" in body:
        minutes = body["duration_minutes"]
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 10080:
            errors.append(FieldError("duration_minutes", "must be an integer from 1 to 10080"))
        elif "end" in body:
            errors.append(FieldError("duration_minutes", "give either end or duration_minutes"))
        else:
            change.duration = timedelta(minutes=minutes)
    if create and "end" not in body and "duration_minutes" not in body:
        errors.append(FieldError("end", "is required (or give duration_minutes)"))
    for key in ("summary", "service", "notes"):
        if key in body and body[key] is None and not create:
            change.cleared.add(key)
            continue
        setattr(change, key, _text_field(body, key, key, errors, multiline=key == "notes"))
    if "status" in body:
        status = body["status"]
        allowed = ("CONFIRMED", "TENTATIVE") if create else STATUSES
        if not isinstance(status, str) or status.upper() not in allowed:
            errors.append(FieldError("status", "must be one of " + ", ".join(allowed)))
        else:
            change.status = status.upper()
    _parse_customer(body, change, errors, create=create)
    if change.start and change.end and change.end <= change.start:
        errors.append(FieldError("end", "must be after start"))
    elif change.start and change.end and change.end - change.start > MAX_SPAN:
        errors.append(FieldError("end", "an appointment may last at most 7 days"))
    if errors:
        raise ValidationFailed(errors)
    return change


def _parse_customer(
    body: dict[str, Any], change: AppointmentChange, errors: list[FieldError], *, create: bool
) -> None:
    customer = body.get("customer")
    if customer is None:
        if create:
            errors.append(FieldError("customer.name", "is required"))
        elif "customer" in body:
            errors.append(FieldError("customer", "must be an object"))
        return
    if not isinstance(customer, dict):
        errors.append(FieldError("customer", "must be an object"))
        return
    for key in sorted(set(customer) - _CUSTOMER_FIELDS):
        errors.append(FieldError(f"customer.{key}", "unknown field"))
    for key in ("name", "phone", "email"):
        name = f"customer.{key}"
        if key in customer and customer[key] is None:
            if create or key == "name":
                errors.append(FieldError(name, "must not be null"))
            else:
                change.customer[key] = None
            continue
        value = _text_field(customer, key, name, errors, required=create and key == "name")
        if value is None:
            continue
        if key == "email" and value and not _EMAIL.match(value):
            errors.append(FieldError(name, "must be an e-mail address"))
            continue
        if key == "phone" and value and not _PHONE.match(value):
            errors.append(FieldError(name, "must be a phone number (digits, spaces, + ( ) / . -)"))
            continue
        if key == "name" and not value:
            errors.append(FieldError(name, "must not be empty"))
            continue
        change.customer[key] = value or None


_PROPS = {"summary": "SUMMARY", "notes": "DESCRIPTION", "service": "X-TERMIN-SERVICE"}
# "language" is set by the booking page (the language the customer booked in, for their
# e-mails); the API does not take it (not in _CUSTOMER_FIELDS).
_CUSTOMER_PROPS = {"name": "X-TERMIN-CUSTOMER-NAME", "email": "X-TERMIN-CUSTOMER-EMAIL",
                   "phone": "X-TERMIN-CUSTOMER-PHONE", "language": CUSTOMER_LANGUAGE_PROP}


def _set(event: Event, name: str, value: str | None) -> None:
    if name in event:
        del event[name]
    if value:
        event.add(name, vText(value))


def _master(cal: Calendar) -> Event:
    """The VEVENT without RECURRENCE-ID (or, for a lone override, the first VEVENT)."""
    events: list[Any] = cal.walk("VEVENT")
    for comp in events:
        if "RECURRENCE-ID" not in comp:
            return cast(Event, comp)
    return cast(Event, events[0])


def build_calendar(uid: str, change: AppointmentChange, zone: tzinfo, now: datetime, *,
                   booked_online: bool = False) -> str:
    """A new VCALENDAR text for a validated create request (``booked_online``: booked by the
    customer on the booking page)."""
    cal = Calendar()
    cal.add("PRODID", "-//termin-bridge//booking API//EN")
    cal.add("VERSION", "2.0")
    event = Event()
    event.add("UID", uid)
    event.add("DTSTAMP", now.astimezone(UTC))
    event.add("CREATED", now.astimezone(UTC))
    event.add("SEQUENCE", 0)
    if booked_online:
        event.add(BOOKED_ONLINE_PROP, "TRUE")
    cal.add_component(event)
    summary = change.summary or " \u2013 ".join(
        x for x in (change.service, change.customer.get("name")) if x) or "Termin"
    change.summary = summary
    change.status = change.status or "CONFIRMED"
    return apply_change(cal.to_ical().decode("utf-8"), change, zone, now, creating=True)


def apply_change(
    text: str, change: AppointmentChange, zone: tzinfo, now: datetime, *, creating: bool = False
) -> str:
    """The stored text with ``change`` applied to its master VEVENT (other properties kept)."""
    cal = Calendar.from_ical(text)
    event: Any = _master(cal)
    recurring = "RRULE" in event or "RDATE" in event or len(cal.walk("VEVENT")) > 1
    timed = change.start is not None or change.end is not None or change.duration is not None
    if timed and recurring and not creating:
        raise ValidationFailed([FieldError("start", "the time of a recurring appointment "
                                                    "cannot be changed through the API")])
    if timed:
        if "DTSTART" in event:
            old_start, old_end = _span(event, zone)
        else:  # creating: start (and end or duration) were required by parse_change
            assert change.start is not None
            old_start = old_end = change.start
        start = change.start or old_start
        if change.end is not None:
            end = change.end
        elif change.duration is not None:
            end = start + change.duration
        else:
            end = start + (old_end - old_start)
        errors = []
        if end <= start:
            errors.append(FieldError("end", "must be after start"))
        elif end - start > MAX_SPAN:
            errors.append(FieldError("end", "an appointment may last at most 7 days"))
        if errors:
            raise ValidationFailed(errors)
        for name in ("DTSTART", "DTEND", "DURATION"):
            if name in event:
                del event[name]
        event.add("DTSTART", start.astimezone(zone))
        event.add("DTEND", end.astimezone(zone))
    for key, prop in _PROPS.items():
        value = getattr(change, key)
        if key in change.cleared:
            _set(event, prop, None)
        elif value is not None:
            _set(event, prop, value)
    for key, value in change.customer.items():
        _set(event, _CUSTOMER_PROPS[key], value)
    if change.status is not None:
        _set(event, "STATUS", change.status)
    if not creating:
        bump_sequence(event, now)
    cal.add_missing_timezones()
    out: str = cal.to_ical().decode("utf-8")
    return out


def bump_sequence(component: Any, now: datetime) -> None:
    """Mark a changed component: ``SEQUENCE`` + 1, ``DTSTAMP`` and ``LAST-MODIFIED`` now."""
    sequence = int(component.get("SEQUENCE", 0) or 0)
    for name in ("SEQUENCE", "DTSTAMP", "LAST-MODIFIED"):
        if name in component:
            del component[name]
    component.add("SEQUENCE", sequence + 1)
    component.add("DTSTAMP", now.astimezone(UTC))
    component.add("LAST-MODIFIED", now.astimezone(UTC))


def _as_datetime(value: date | datetime, zone: tzinfo) -> datetime:
    """The UTC instant (dates: local midnight; floating: the calendar's zone)."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), tzinfo=zone)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _span(event: Any, zone: tzinfo) -> tuple[datetime, datetime]:
    """Start and end of a VEVENT as aware datetimes (dates: local midnight)."""
    start_value = event["DTSTART"].dt
    start = _as_datetime(start_value, zone)
    if "DTEND" in event:
        end = _as_datetime(event["DTEND"].dt, zone)
    elif "DURATION" in event:
        end = start + event["DURATION"].dt
    elif not isinstance(start_value, datetime):
        end = _as_datetime(start_value + timedelta(days=1), zone)
    else:
        end = start
    return start, end


def _iso(value: datetime, zone: tzinfo) -> str:
    return value.astimezone(zone).isoformat(timespec="seconds")


def source_of(origin: str) -> str:
    """Where an item's last write came from, as shown to integrators."""
    source = connection_of_origin(origin)
    if source is not None:
        return source[0]
    return origin if origin in ("api", "caldav", "import", "admin", "booking") else "other"


def appointment_json(item: ItemRecord, calendar_id: int, zone: tzinfo) -> dict[str, Any]:
    """The API representation of a stored VEVENT item."""
    cal = Calendar.from_ical(item.text)
    event: Any = _master(cal)
    start, end = _span(event, zone)
    notes = event.get("DESCRIPTION")
    return {
        "id": appointment_id(item.uid),
        "uid": item.uid,
        "calendar_id": calendar_id,
        "start": _iso(start, zone),
        "end": _iso(end, zone),
        "all_day": not isinstance(event["DTSTART"].dt, datetime),
        "recurring": item.recurring,
        "summary": item.summary,
        "status": item.status if item.status in STATUSES else "CONFIRMED",
        "customer": {"name": item.customer_name, "email": item.customer_email,
                     "phone": item.customer_phone},
        "service": item.service,
        "notes": str(notes) if notes is not None else None,
        "source": source_of(item.origin),
        "etag": item.etag,
        "created_at": _iso(datetime.fromtimestamp(item.created_at, UTC), UTC),
        "updated_at": _iso(datetime.fromtimestamp(item.modified_at, UTC), UTC),
    }
