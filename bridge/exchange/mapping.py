"""Pure mapping between iCalendar resources and EWS calendar items (no I/O, no clock).

:func:`ical_to_ews` turns a stored resource into the item dicts to write (the series master or
single item, one dict per overridden occurrence keyed by its original start, the occurrences to
delete for the EXDATEs, and what EWS cannot hold: ``EwsEventSet.unsupported``);
:func:`ews_to_resource` turns a master (or single item) with its modified and deleted
occurrences into one validated resource with its hash.  Both go through the neutral model
(:mod:`bridge.ical.model`); the iCalendar side is the Outlook projection the Graph mapping uses
too (:mod:`bridge.microsoft.mapping_ical`: EWS and Graph hold the same fields), with
``write_attendees`` off — attendees never reach EWS.  :func:`ical_hash` and
:func:`ews_hash` are the normalised comparison.  Choices: ``docs/mapping.md`` (*Exchange*).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from dateutil.rrule import rrulestr
from icalendar import Calendar

from bridge.exchange.mapping_ews import event_to_ews, instant
from bridge.exchange.mapping_ews_parse import (
    event_from_ews,
    item_uid,
    occurrence_moment,
    resource_from_ews,
    series_zone,
)
from bridge.exchange.mapping_recurrence import ews_unsupported
from bridge.ical.model import EventData, MappingError, Moment, event_digest, resource_digest
from bridge.ical.patterns import Unsupported, local_start
from bridge.ical.render import Style, render_resource
from bridge.ical.validate import ParsedResource, as_calendar, parse_calendar
from bridge.microsoft.mapping_ical import resource_from_ical, rule_pattern
from bridge.microsoft.mapping_time import graph_zone

__all__ = [
    "STYLE",
    "EwsEventSet",
    "Occurrence",
    "Unsupported",
    "ews_hash",
    "ews_to_ical",
    "ews_to_resource",
    "ical_hash",
    "ical_to_ews",
    "instance_index",
    "item_uid",
    "occurrence_key",
]

EwsItem: TypeAlias = Mapping[str, Any]
IcalSource: TypeAlias = str | ParsedResource | Calendar
STYLE = Style(prodid="-//termin-bridge//Exchange mapping//EN")


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a series: ``key`` is its original start as the model keys it
    (``Moment.key()``), ``original_start`` the same as an ISO instant (all-day: midnight in
    the calendar's zone), ``item`` the override's dict (``None``: an occurrence to delete),
    ``index`` its 1-based position among the pattern's instances (EWS's ``InstanceIndex``;
    ``None`` when the pattern does not give it)."""

    key: str
    original_start: str
    item: dict[str, Any] | None = None
    index: int | None = None


@dataclass(frozen=True)
class EwsEventSet:
    """What one iCalendar resource becomes on EWS (see the module doc); ``content_hash`` is
    :func:`ical_hash` of the resource and goes into the master's hash property."""

    uid: str
    master: dict[str, Any]
    overrides: tuple[Occurrence, ...]
    exdates: tuple[Occurrence, ...]
    cancelled: bool
    content_hash: str
    unsupported: tuple[Unsupported, ...]


def zone_of(calendar_tz: str) -> str:
    """The model zone of a calendar's zone name (IANA or Windows); ``MappingError`` if
    unknown."""
    tz = graph_zone(calendar_tz)
    if tz is None:
        raise MappingError(f"unknown calendar time zone {calendar_tz!r}")
    return tz


def ical_to_ews(source: IcalSource, *, calendar_tz: str) -> EwsEventSet:
    """Map one iCalendar resource to the EWS item dicts that represent it.  Raises
    ``InvalidICalendar`` or ``UnsupportedResource``."""
    tz = zone_of(calendar_tz)
    model, found = resource_from_ical(as_calendar(source), calendar_tz=tz)
    master = model.master
    pattern = rule_pattern(master)
    problems = [*found, *(ews_unsupported(pattern) if pattern is not None else [])]
    digest = resource_digest(model)
    item = event_to_ews(master, uid=model.uid, digest=digest, day_tz=tz, pattern=pattern)
    stz = master.start.tz if master.start.kind == "zoned" and master.start.tz else tz
    overrides = tuple(
        Occurrence(o.recurrence_id.key(), instant(o.recurrence_id, stz),
                   event_to_ews(o, uid=model.uid, digest=event_digest(o, uid=model.uid),
                                day_tz=tz, master=master),
                   instance_index(master, o.recurrence_id))
        for o in model.overrides if o.recurrence_id is not None)
    exdates = tuple(Occurrence(m.key(), instant(m, stz), None, instance_index(master, m))
                    for m in master.exdates)
    return EwsEventSet(uid=model.uid, master=item, overrides=overrides, exdates=exdates,
                       cancelled=master.status == "CANCELLED", content_hash=digest,
                       unsupported=tuple(problems))


def instance_index(master: EventData, rid: Moment, *, limit: int = 5000) -> int | None:
    """The 1-based position of the instance ``rid`` among the instances the master's pattern
    gives from its start (deleted ones count too: EWS's ``InstanceIndex``), ``None`` when the
    pattern does not give it within ``limit`` instances."""
    if master.rrule is None:
        return None
    parts = [p for p in master.rrule.split(";")
             if not p.upper().startswith(("UNTIL=", "COUNT="))]
    target = local_start(rid)
    try:
        rule = rrulestr("RRULE:" + ";".join(parts), dtstart=local_start(master.start))
    except (ValueError, TypeError):
        return None
    for number, when in enumerate(rule, 1):
        if when == target:
            return number
        if when > target or number >= limit:
            return None
    return None


def occurrence_key(value: Any, master: EwsItem, *, calendar_tz: str) -> str:
    """The key (:attr:`Occurrence.key`) of an original start EWS gives for an occurrence of
    ``master`` (a modified occurrence's ``original_start``)."""
    tz = zone_of(calendar_tz)
    base = event_from_ews(master, calendar_tz=tz)
    return occurrence_moment(value, base, series_zone(master, tz)).key()


def ews_to_resource(
    master: EwsItem,
    modified: Sequence[EwsItem] = (),
    deleted: Sequence[Any] = (),
    *,
    calendar_tz: str,
) -> tuple[ParsedResource, str]:
    """An EWS series as a resource parsed by the validation gate, and its :func:`ews_hash`.
    Raises ``EventDeleted`` for a cancelled master, ``MappingError`` when it cannot be read."""
    tz = zone_of(calendar_tz)
    full = resource_from_ews(master, modified, deleted, calendar_tz=tz)
    text, cal = render_resource(full, STYLE)
    digest = resource_digest(resource_from_ews(master, modified, deleted, calendar_tz=tz,
                                               write_attendees=False))
    return parse_calendar(cal, text), digest


def ews_to_ical(master: EwsItem, modified: Sequence[EwsItem] = (),
                deleted: Sequence[Any] = (), *, calendar_tz: str) -> str:
    """:func:`ews_to_resource`'s text."""
    return ews_to_resource(master, modified, deleted, calendar_tz=calendar_tz)[0].text


def ews_hash(master: EwsItem, modified: Sequence[EwsItem] = (), deleted: Sequence[Any] = (),
             *, calendar_tz: str) -> str:
    """The normalised hash of an EWS series (what :func:`ical_hash` gives for the resource
    that was written as it)."""
    return resource_digest(resource_from_ews(master, modified, deleted,
                                             calendar_tz=zone_of(calendar_tz),
                                             write_attendees=False))


def ical_hash(source: IcalSource, *, calendar_tz: str = "UTC") -> str:
    """The normalised hash of a resource as EWS holds it."""
    model, _ = resource_from_ical(as_calendar(source), calendar_tz=zone_of(calendar_tz))
    return resource_digest(model)
