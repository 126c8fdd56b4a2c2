"""Pure mapping between iCalendar resources and Google Calendar events (no I/O, no clock).

Use :func:`ical_to_google` to turn a stored resource into the bodies to write to Google and
:func:`google_to_ical` to turn a Google event and its exceptions into one resource
(:func:`google_to_resource` gives it validated, with its hash, without parsing it again).  Both go
through one neutral model (:mod:`bridge.ical.model`), which also gives the normalised
comparison: :func:`same_content`, :func:`ical_hash`, :func:`google_hash` and :func:`is_echo`.
The choices (floating times, cancelled instances, reminders, what is lost) are written down in
``docs/mapping.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from icalendar import Calendar

from bridge.google import ids
from bridge.google.mapping_google import (
    PRIVATE_HASH,
    event_to_google,
    override_id,
    private_props,
)
from bridge.google.mapping_google_parse import (
    MasterRequired,
    event_from_google,
    item_uid,
    resource_from_google,
)
from bridge.google.mapping_ical import resource_from_ical
from bridge.google.mapping_ical_render import render_resource, resource_to_ical
from bridge.google.mapping_time import as_style, canonical_tz, moment_from_google
from bridge.ical.instances import occurs, plain_instance
from bridge.ical.model import (
    EventDeleted,
    MappingError,
    ResourceData,
    UnsupportedResource,
    event_digest,
    resource_digest,
)
from bridge.ical.validate import (
    ParsedResource,
    as_calendar,
    parse_calendar,
    parse_resource,
)

__all__ = [
    "SKIPPED_EVENT_TYPES",
    "EventDeleted",
    "GoogleEventSet",
    "MappingError",
    "MasterRequired",
    "UnsupportedResource",
    "google_hash",
    "google_to_ical",
    "google_to_resource",
    "ical_hash",
    "ical_to_google",
    "is_echo",
    "is_syncable",
    "plain_instance_body",
    "same_content",
    "stale_exception",
    "with_min_sequence",
]

GoogleEvent: TypeAlias = Mapping[str, Any]
GoogleSeries: TypeAlias = tuple[GoogleEvent | None, Sequence[GoogleEvent]]
IcalSource: TypeAlias = str | ParsedResource | Calendar
# Google event types that are not appointments and cannot be written back with plain bodies.
SKIPPED_EVENT_TYPES = frozenset({"workingLocation", "birthday", "fromGmail"})


@dataclass(frozen=True)
class GoogleEventSet:
    """What one iCalendar resource becomes on Google.

    ``master`` is the body for ``events.insert``/``update``/``patch`` (id = ``event_id``);
    ``exceptions`` are bodies for the instance ids of the overridden occurrences (write them
    with ``events.update``/``patch`` on their ``id`` after the master exists);
    ``excluded_instance_ids`` are the instance ids the master's EXDATEs remove (a confirmed
    exception Google still holds at one of these ids is stale and should be deleted);
    ``content_hash`` is the normalised hash of the whole resource (:func:`ical_hash`).
    """

    uid: str
    event_id: str
    master: dict[str, Any]
    exceptions: tuple[dict[str, Any], ...]
    excluded_instance_ids: frozenset[str]
    content_hash: str

    @property
    def cancelled(self) -> bool:
        """True when the resource is a cancelled event: delete it on Google instead."""
        return bool(self.master.get("status") == "cancelled")

    @property
    def exception_ids(self) -> frozenset[str]:
        """The instance ids of ``exceptions``."""
        return frozenset(str(body["id"]) for body in self.exceptions)

    def bodies(self) -> list[dict[str, Any]]:
        """Master first, then the exceptions in original-start order."""
        return [self.master, *self.exceptions]

def _zone(calendar_tz: str) -> str:
    tz = canonical_tz(calendar_tz)
    if tz is None:
        raise MappingError(f"unknown calendar time zone {calendar_tz!r}")
    return tz


def _ical_model(source: IcalSource, calendar_tz: str) -> ResourceData:
    return resource_from_ical(as_calendar(source), calendar_tz=_zone(calendar_tz))


def ical_to_google(
    source: IcalSource,
    *,
    calendar_key: str,
    calendar_tz: str,
    event_id: str | None = None,
) -> GoogleEventSet:
    """Map one iCalendar resource to the Google bodies that represent it.

    ``source`` is resource text (validated with :func:`parse_resource`) or a
    :class:`ParsedResource`.  ``event_id`` is the Google id of an event that came from Google
    (from the link table); without it the id is derived from ``(calendar_key, UID)``.
    ``calendar_tz`` is the Google calendar's IANA zone, used for floating times and as the
    expansion zone of floating and all-day series.  Raises ``InvalidICalendar`` or
    :class:`UnsupportedResource`.
    """
    tz = _zone(calendar_tz)
    model = resource_from_ical(as_calendar(source), calendar_tz=tz)
    master_id = event_id or ids.event_id(calendar_key, model.uid)
    master = event_to_google(model.master, uid=model.uid, body_id=master_id, calendar_tz=tz)
    exceptions = tuple(
        event_to_google(
            override,
            uid=model.uid,
            body_id=override_id(master_id, override.recurrence_id, tz),
            calendar_tz=tz,
            master=model.master,
            master_id=master_id,
        )
        for override in model.overrides
        if override.recurrence_id is not None
    )
    excluded = frozenset(override_id(master_id, m, tz) for m in model.master.exdates)
    return GoogleEventSet(
        uid=model.uid,
        event_id=master_id,
        master=master,
        exceptions=exceptions,
        excluded_instance_ids=excluded,
        content_hash=resource_digest(model),
    )


def plain_instance_body(
    bodies: GoogleEventSet, exception: GoogleEvent, *, calendar_tz: str
) -> dict[str, Any] | None:
    """The body that sets Google exception ``exception`` of the series back to the series.

    ``bodies`` is what the resource maps to (:func:`ical_to_google`); the result is the
    ``events.update`` body for the exception's instance id: the master's fields at the
    exception's original start, with the master's length.  ``None`` when the exception already
    shows exactly that occurrence (or is cancelled: that is an EXDATE, not an override).
    """
    tz = _zone(calendar_tz)
    if exception.get("status") == "cancelled":
        return None
    model = resource_from_google(bodies.master, [exception], calendar_tz=tz)
    if not model.overrides:
        return None
    rid = model.overrides[0].recurrence_id
    assert rid is not None
    return event_to_google(
        plain_instance(model.master, rid),
        uid=model.uid,
        body_id=str(exception["id"]),
        calendar_tz=tz,
        master=model.master,
        master_id=bodies.event_id,
    )


def stale_exception(bodies: GoogleEventSet, exception: GoogleEvent, *, calendar_tz: str) -> bool:
    """True when Google exception ``exception`` is no instance of the series ``bodies`` maps
    to (its original start is after the rule's end or off the rule: the series was ended early
    by a split, or moved).  Such an exception is a leftover to delete, not to set back."""
    if not exception.get("originalStartTime"):
        return False
    tz = _zone(calendar_tz)
    try:
        master = resource_from_google(bodies.master, [], calendar_tz=tz).master
        master_tz = canonical_tz((bodies.master.get("start") or {}).get("timeZone")) or tz
        raw = moment_from_google(exception["originalStartTime"], floating=False,
                                 calendar_tz=master_tz)
        return not occurs(master, as_style(raw, master.start, ref_tz=master_tz))
    except (MappingError, ValueError, TypeError, KeyError):
        return False  # cannot tell: leave it to the ordinary handling


def google_to_ical(
    master: GoogleEvent | None,
    exceptions: Sequence[GoogleEvent] = (),
    *,
    calendar_tz: str,
) -> str:
    """Map a Google event and its exceptions to one validated iCalendar resource.

    Cancelled exceptions become EXDATEs, others RECURRENCE-ID overrides.  Raises
    :class:`MasterRequired` when ``master`` is ``None`` (fetch the master and its exceptions
    and call again), :class:`EventDeleted` for a cancelled master.
    """
    model = resource_from_google(master, exceptions, calendar_tz=_zone(calendar_tz))
    text = resource_to_ical(model)
    parse_resource(text)  # the output goes through the same gate as every ingest path
    return text


def google_to_resource(
    master: GoogleEvent | None,
    exceptions: Sequence[GoogleEvent] = (),
    *,
    calendar_tz: str,
) -> tuple[ParsedResource, str]:
    """:func:`google_to_ical` validated, and the series' :func:`google_hash`, in one pass.

    Equals ``(parse_resource(google_to_ical(...)), google_hash((master, exceptions)))`` but
    the text is neither parsed again nor the Google side mapped twice: the gate checks the
    rendered ``Calendar`` (:func:`~bridge.ical.validate.parse_calendar`).  Raises like
    :func:`google_to_ical`.
    """
    model = resource_from_google(master, exceptions, calendar_tz=_zone(calendar_tz))
    text, cal = render_resource(model)
    return parse_calendar(cal, text), resource_digest(model)


def ical_hash(source: IcalSource, *, calendar_tz: str = "UTC") -> str:
    """The normalised hash of a resource as Google can hold it (equals :func:`google_hash`)."""
    return resource_digest(_ical_model(source, calendar_tz))


def _google_model(series: GoogleSeries | GoogleEventSet, calendar_tz: str) -> ResourceData:
    if isinstance(series, GoogleEventSet):
        master: GoogleEvent | None = series.master
        exceptions: Sequence[GoogleEvent] = series.exceptions
    else:
        master, exceptions = series
    return resource_from_google(master, exceptions, calendar_tz=_zone(calendar_tz))


def _item_digest(item: GoogleEvent, calendar_tz: str) -> str:
    uid = item_uid(item) or ""
    return event_digest(event_from_google(item, calendar_tz=_zone(calendar_tz)), uid=uid)


def google_hash(
    event: GoogleEvent | GoogleSeries | GoogleEventSet, *, calendar_tz: str = "UTC"
) -> str:
    """The normalised hash of one Google event (a dict) or of a series ``(master, exceptions)``.

    Google's additions (etag, updated, created, htmlLink, creator, organizer ``self``, default
    reminders, kind, iCalUID default, sequence, eventType...) do not count.
    """
    if isinstance(event, Mapping):
        return _item_digest(event, calendar_tz)
    return resource_digest(_google_model(event, calendar_tz))


def _resource_digest_any(value: object, calendar_tz: str) -> str:
    if isinstance(value, GoogleEventSet):
        return resource_digest(_google_model(value, calendar_tz))
    if isinstance(value, Mapping):
        return resource_digest(_google_model((value, ()), calendar_tz))
    if isinstance(value, tuple) and len(value) == 2 and not isinstance(value[0], str):
        return resource_digest(_google_model((value[0], value[1]), calendar_tz))
    if isinstance(value, str | ParsedResource | Calendar):
        return ical_hash(value, calendar_tz=calendar_tz)
    raise TypeError(f"cannot compare a {type(value).__name__}")


def same_content(a: object, b: object, *, calendar_tz: str = "UTC") -> bool:
    """True when ``a`` and ``b`` hold the same content as far as Google can represent it.

    Each side is an iCalendar resource (text, :class:`ParsedResource`, ``Calendar``), a Google
    event dict, a series ``(master, exceptions)`` or a :class:`GoogleEventSet`; sides can mix.
    Two dicts are compared as single events, otherwise whole resources are compared.
    """
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return _item_digest(a, calendar_tz) == _item_digest(b, calendar_tz)
    return _resource_digest_any(a, calendar_tz) == _resource_digest_any(b, calendar_tz)


def is_echo(item: GoogleEvent, *, calendar_tz: str = "UTC") -> bool:
    """True when a Google event still holds exactly what we wrote (its ``terminHash`` matches).

    Cancelled items and events we never wrote are never echoes.
    """
    if item.get("status") == "cancelled":
        return False
    stored = private_props(item).get(PRIVATE_HASH)
    if not stored:
        return False
    try:
        return stored == _item_digest(item, calendar_tz)
    except (ValueError, MappingError):
        return False


def is_syncable(item: GoogleEvent) -> bool:
    """False for Google event types that are not appointments (working location, birthdays)."""
    return str(item.get("eventType") or "default") not in SKIPPED_EVENT_TYPES


def with_min_sequence(body: Mapping[str, Any], minimum: int) -> dict[str, Any]:
    """A copy of ``body`` whose ``sequence`` is at least ``minimum`` (Google refuses lower)."""
    out = dict(body)
    out["sequence"] = max(int(out.get("sequence") or 0), int(minimum))
    return out
