"""The neutral event model every calendar provider mapping goes through (Google, Microsoft).

iCalendar → :class:`ResourceData` → provider bodies, and provider bodies → :class:`ResourceData`
→ iCalendar.  Everything a provider cannot represent is dropped (or projected, e.g. reminders
capped) while *building* the model, so the model holds exactly what survives a round trip and two
models compare equal exactly when the provider would show the same thing.
:func:`resource_digest` and :func:`event_digest` hash this canonical form; they are the
normalised comparison of a mapping.  (Moved here from ``bridge.google.mapping_model`` so the
Microsoft mapping shares it; the canonical form, and so every Google hash, is unchanged.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from bridge.errors import MappingError

__all__ = [
    "Attendee",
    "EventData",
    "EventDeleted",
    "MappingError",
    "Moment",
    "Person",
    "Reminder",
    "ResourceData",
    "UnsupportedResource",
    "event_canon",
    "event_digest",
    "resource_canon",
    "resource_digest",
]


class UnsupportedResource(MappingError):
    """The resource has a shape the provider cannot hold (no VEVENT, overrides without a master)."""

    def __init__(self, reason: str, *, uid: str | None = None, provider: str = "Google") -> None:
        self.reason = reason
        self.uid = uid
        super().__init__(f"cannot map to {provider}: {reason}")


class EventDeleted(MappingError):
    """The master is cancelled: the whole event (or series) is deleted on the provider."""

    def __init__(self, event_id: str | None, *, provider: str = "Google") -> None:
        self.event_id = event_id
        super().__init__(f"{provider} event {event_id!r} is cancelled (deleted)")


@dataclass(frozen=True)
class Moment:
    """A start, end, RECURRENCE-ID, EXDATE or RDATE value.

    ``value`` is a ``date`` (all-day), a naive ``datetime`` (floating) or an aware ``datetime``
    in the zone ``tz`` (an IANA name, ``"UTC"`` for UTC).
    """

    value: date | datetime
    tz: str | None = None

    @property
    def kind(self) -> str:
        """``"date"``, ``"floating"`` or ``"zoned"``."""
        if not isinstance(self.value, datetime):
            return "date"
        return "floating" if self.value.tzinfo is None else "zoned"

    def key(self) -> str:
        """Identity of the moment: the date, the floating wall time or the UTC instant."""
        value = self.value
        if not isinstance(value, datetime):
            return "D" + value.strftime("%Y%m%d")
        if value.tzinfo is None:
            return "F" + value.strftime("%Y%m%dT%H%M%S")
        return "Z" + value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    def canon(self, *, with_zone: bool) -> str:
        """``key()`` plus the zone when the zone matters (the expansion zone of a series)."""
        if with_zone and self.kind == "zoned":
            return f"{self.key()}@{self.tz}"
        return self.key()


@dataclass(frozen=True)
class Person:
    """An organizer: lower-cased e-mail address and optional common name."""

    email: str
    name: str | None = None


@dataclass(frozen=True)
class Attendee:
    """An attendee as both sides can hold it."""

    email: str
    name: str | None = None
    partstat: str = "NEEDS-ACTION"
    optional: bool = False
    resource: bool = False


@dataclass(frozen=True)
class Reminder:
    """One Google reminder override: ``popup`` or ``email``, minutes before the start."""

    method: str
    minutes: int


@dataclass(frozen=True)
class EventData:
    """One VEVENT / one Google event (master or exception), after projection."""

    start: Moment
    end: Moment
    summary: str | None = None
    description: str | None = None
    location: str | None = None
    status: str = "CONFIRMED"
    transparent: bool = False
    klass: str | None = None
    url: str | None = None
    categories: tuple[str, ...] = ()
    organizer: Person | None = None
    attendees: tuple[Attendee, ...] = ()
    # None: the calendar's default reminders; (): explicitly none.
    reminders: tuple[Reminder, ...] | None = None
    customer: tuple[tuple[str, str], ...] = ()
    rrule: str | None = None
    rdates: tuple[Moment, ...] = ()
    exdates: tuple[Moment, ...] = ()
    recurrence_id: Moment | None = None
    # Outlook's busy status beyond TRANSP (``TENTATIVE``, ``OOF``, ``WORKINGELSEWHERE``; iCalendar
    # ``X-MICROSOFT-CDO-BUSYSTATUS``); only the Microsoft mapping sets it.
    show_as: str | None = None
    # Metadata, not content: never compared or hashed.
    sequence: int = field(default=0, compare=False)
    created: datetime | None = field(default=None, compare=False)
    updated: datetime | None = field(default=None, compare=False)

    @property
    def recurring(self) -> bool:
        """True for a series master (RRULE or RDATE)."""
        return self.rrule is not None or bool(self.rdates)


@dataclass(frozen=True)
class ResourceData:
    """One iCalendar resource / one Google series: UID, master and overrides."""

    uid: str
    master: EventData
    overrides: tuple[EventData, ...] = ()


def _opt(value: object) -> object:
    return value if value not in (None, "", (), []) else None


def event_canon(event: EventData, *, uid: str) -> dict[str, object]:
    """A JSON-able canonical form of one event (what the hashes are computed over)."""
    zoned = event.recurring
    return {
        "uid": uid,
        "rid": event.recurrence_id.key() if event.recurrence_id else None,
        "start": event.start.canon(with_zone=zoned),
        "end": event.end.canon(with_zone=zoned),
        "summary": _opt(event.summary),
        "description": _opt(event.description),
        "location": _opt(event.location),
        "status": event.status,
        "transparent": event.transparent,
        "class": event.klass,
        "url": _opt(event.url),
        "categories": list(event.categories),
        "organizer": [event.organizer.email, event.organizer.name] if event.organizer else None,
        "attendees": sorted(
            [a.email, a.name, a.partstat, a.optional, a.resource] for a in event.attendees
        ),
        "reminders": (
            None
            if event.reminders is None
            else sorted([r.method, r.minutes] for r in event.reminders)
        ),
        "customer": sorted(list(pair) for pair in event.customer),
        "rrule": event.rrule,
        "rdates": sorted({m.key() for m in event.rdates}),
        "exdates": sorted({m.key() for m in event.exdates}),
        # Only when set, so hashes of events without it (every Google hash) stay as they were.
        **({"show_as": event.show_as} if event.show_as else {}),
    }


def resource_canon(resource: ResourceData) -> dict[str, object]:
    """A JSON-able canonical form of a whole resource."""
    overrides = sorted(
        (event_canon(o, uid=resource.uid) for o in resource.overrides),
        key=lambda c: str(c["rid"]),
    )
    return {
        "uid": resource.uid,
        "master": event_canon(resource.master, uid=resource.uid),
        "overrides": overrides,
    }


def _digest(canon: dict[str, object]) -> str:
    data = json.dumps(canon, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def event_digest(event: EventData, *, uid: str) -> str:
    """sha256 hex of :func:`event_canon`."""
    return _digest(event_canon(event, uid=uid))


def resource_digest(resource: ResourceData) -> str:
    """sha256 hex of :func:`resource_canon`."""
    return _digest(resource_canon(resource))
