"""Pure mapping between iCalendar resources and Microsoft Graph events (no I/O, no clock).

Use :func:`ical_to_graph` to turn a stored resource into the bodies to write to Graph (the
series master or single event, one PATCH body per overridden occurrence keyed by its original
start, the occurrences to delete for the EXDATEs, and what Graph cannot hold:
``GraphEventSet.unsupported``), and :func:`graph_to_ical` to turn a Graph series master (or
single event) with its exceptions and cancelled occurrences into one validated resource
(:func:`graph_to_resource` gives it parsed, with its hash).  Both go through the neutral model
(:mod:`bridge.ical.model`); :func:`ical_hash`, :func:`graph_hash` and :func:`is_echo` are the
normalised comparison.  Attendees reach Graph only with ``write_attendees=True`` (Graph
e-mails every attendee); the choices are written down in ``docs/mapping.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

from icalendar import Calendar

from bridge.ical.model import (
    EventData,
    MappingError,
    event_digest,
    resource_digest,
)
from bridge.ical.render import render_resource
from bridge.ical.validate import ParsedResource, as_calendar, parse_calendar
from bridge.microsoft.mapping_graph import PROP_HASH, event_to_graph, extended_props
from bridge.microsoft.mapping_graph_parse import (
    event_from_graph,
    item_uid,
    occurrence_moment,
    resource_from_graph,
    resource_views_from_graph,
    series_zone,
)
from bridge.microsoft.mapping_ical import graph_view, resource_from_ical, rule_pattern
from bridge.microsoft.mapping_recurrence import Unsupported
from bridge.microsoft.mapping_render import STYLE
from bridge.microsoft.mapping_time import graph_zone, instant_text

__all__ = [
    "GraphEventSet",
    "Occurrence",
    "Unsupported",
    "graph_hash",
    "graph_items",
    "graph_to_ical",
    "graph_to_resource",
    "ical_hash",
    "ical_to_graph",
    "is_echo",
    "item_uid",
    "occurrence_key",
]

GraphEvent: TypeAlias = Mapping[str, Any]
GraphSeries: TypeAlias = tuple[GraphEvent, Sequence[GraphEvent], Sequence[Any]]
IcalSource: TypeAlias = str | ParsedResource | Calendar


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a series by its original start.

    ``key`` is the original start as the model keys it (``Moment.key()``: ``Z…`` UTC instant,
    ``D…`` date) and is what :func:`occurrence_key` gives for the Graph instance;
    ``original_start`` the same as an ISO instant (``…Z``; all-day: midnight in the series'
    zone); ``body`` the PATCH body of an override, ``None`` for an occurrence to delete.
    """

    key: str
    original_start: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class GraphEventSet:
    """What one iCalendar resource becomes on Graph.

    ``master``: the POST/PATCH body of the series master or single event; ``overrides``: the
    occurrences to PATCH (after the series exists); ``exdates``: the occurrences to DELETE;
    ``cancelled``: the resource is a cancelled event (delete it on Graph instead);
    ``content_hash``: :func:`ical_hash` of the resource; ``unsupported``: what Graph cannot hold
    (the provider refuses or flattens such a series; the UI says why by ``code``).
    """

    uid: str
    master: dict[str, Any]
    overrides: tuple[Occurrence, ...]
    exdates: tuple[Occurrence, ...]
    cancelled: bool
    content_hash: str
    unsupported: tuple[Unsupported, ...]

    @property
    def supported(self) -> bool:
        """True when Graph holds the whole resource."""
        return not self.unsupported


def _zone(calendar_tz: str) -> str:
    tz = graph_zone(calendar_tz)
    if tz is None:
        raise MappingError(f"unknown calendar time zone {calendar_tz!r}")
    return tz


def _master_digest(master: EventData, uid: str) -> str:
    """The hash in a master's body: without EXDATEs, which Graph keeps apart from the master
    (so an item read back alone can be compared, :func:`is_echo`)."""
    return event_digest(replace(master, exdates=()), uid=uid)


def ical_to_graph(
    source: IcalSource, *, calendar_tz: str, write_attendees: bool = False
) -> GraphEventSet:
    """Map one iCalendar resource to the Graph bodies that represent it.

    ``source`` is resource text (validated with the gate), a :class:`ParsedResource` or a
    ``Calendar``; ``calendar_tz`` the Graph calendar's zone (IANA or Windows), for floating and
    all-day values.  Raises ``InvalidICalendar`` or ``UnsupportedResource``.
    """
    tz = _zone(calendar_tz)
    model, unsupported = resource_from_ical(as_calendar(source), calendar_tz=tz,
                                            write_attendees=write_attendees)
    master = model.master
    stz = master.start.tz if master.start.kind == "zoned" and master.start.tz else tz
    body = event_to_graph(master, uid=model.uid, digest=_master_digest(master, model.uid),
                          day_tz=tz, pattern=rule_pattern(master),
                          write_attendees=write_attendees)
    overrides = tuple(
        Occurrence(o.recurrence_id.key(), instant_text(o.recurrence_id, stz),
                   event_to_graph(o, uid=model.uid, digest=event_digest(o, uid=model.uid),
                                  day_tz=tz, master=master, write_attendees=write_attendees))
        for o in model.overrides if o.recurrence_id is not None
    )
    exdates = tuple(Occurrence(m.key(), instant_text(m, stz)) for m in master.exdates)
    return GraphEventSet(uid=model.uid, master=body, overrides=overrides, exdates=exdates,
                         cancelled=master.status == "CANCELLED",
                         content_hash=resource_digest(model), unsupported=unsupported)


def graph_items(bodies: GraphEventSet) -> GraphSeries:
    """The bodies of a set as the ``(master, exceptions, cancelled)`` Graph would list after
    writing them (exceptions with ``type`` and ``originalStart``)."""
    exceptions = [{**(o.body or {}), "type": "exception", "originalStart": o.original_start}
                  for o in bodies.overrides]
    return bodies.master, exceptions, [o.original_start for o in bodies.exdates]


def graph_to_ical(
    master: GraphEvent,
    exceptions: Sequence[GraphEvent] = (),
    cancelled: Sequence[Any] = (),
    *,
    calendar_tz: str,
) -> str:
    """Map a Graph series master (or single event), its exceptions (``type: exception`` rows
    with ``originalStart``) and cancelled occurrences (original starts, dates or occurrence
    ids with a date) to one validated iCalendar resource.  Raises ``EventDeleted`` for a
    cancelled or removed master, ``MappingError`` for exceptions of another series."""
    return graph_to_resource(master, exceptions, cancelled, calendar_tz=calendar_tz)[0].text


def graph_to_resource(
    master: GraphEvent,
    exceptions: Sequence[GraphEvent] = (),
    cancelled: Sequence[Any] = (),
    *,
    calendar_tz: str,
    write_attendees: bool = False,
) -> tuple[ParsedResource, str]:
    """:func:`graph_to_ical` parsed by the validation gate, and the series' :func:`graph_hash`.

    The text holds every attendee Graph has; the hash only what ``write_attendees`` compares.
    """
    tz = _zone(calendar_tz)
    full, compared = resource_views_from_graph(master, exceptions, cancelled, calendar_tz=tz,
                                               write_attendees=write_attendees)
    text, cal = render_resource(full, STYLE)
    return parse_calendar(cal, text), resource_digest(compared)


def ical_hash(
    source: IcalSource, *, calendar_tz: str = "UTC", write_attendees: bool = False
) -> str:
    """The normalised hash of a resource as Graph holds it (equals :func:`graph_hash` of what
    Graph answers for the written bodies)."""
    model, _ = resource_from_ical(as_calendar(source), calendar_tz=_zone(calendar_tz),
                                  write_attendees=write_attendees)
    return resource_digest(model)


def _item_digest(item: GraphEvent, calendar_tz: str, write_attendees: bool) -> str:
    tz = _zone(calendar_tz)
    own = event_from_graph(item, calendar_tz=tz)
    if item.get("type") == "exception":
        own = event_from_graph(item, calendar_tz=tz, master=own, master_tz=series_zone(item, tz))
        return event_digest(graph_view(own, write_attendees), uid=item_uid(item) or "")
    return _master_digest(graph_view(own, write_attendees), item_uid(item) or "")


def graph_hash(
    event: GraphEvent | GraphSeries | GraphEventSet,
    *,
    calendar_tz: str = "UTC",
    write_attendees: bool = False,
) -> str:
    """The normalised hash of one Graph event (a dict: what its hash property holds when it
    is unchanged) or of a series ``(master, exceptions, cancelled)`` or a set of bodies (what
    :func:`ical_hash` gives for the resource).  Graph's additions do not count."""
    if isinstance(event, Mapping):
        return _item_digest(event, calendar_tz, write_attendees)
    master, exceptions, cancelled = graph_items(event) if isinstance(
        event, GraphEventSet) else event
    return resource_digest(resource_from_graph(master, exceptions, cancelled,
                                               calendar_tz=_zone(calendar_tz),
                                               write_attendees=write_attendees))


def is_echo(item: GraphEvent, *, calendar_tz: str = "UTC", write_attendees: bool = False) -> bool:
    """True when a Graph event still holds exactly what we wrote (its hash property matches
    its content).  Never for events we did not write, nor for delta rows without the
    extended properties (fetch the event with them first)."""
    stored = extended_props(item).get(PROP_HASH.lower())
    if not stored or item.get("@removed") or item.get("isCancelled"):
        return False
    try:
        return stored == _item_digest(item, calendar_tz, write_attendees)
    except (ValueError, KeyError, MappingError):
        return False


def occurrence_key(item: GraphEvent, *, master: GraphEvent, calendar_tz: str) -> str:
    """The key (:attr:`Occurrence.key`) of a Graph occurrence or exception of ``master``, from
    its ``originalStart`` (else its ``start``): how the provider finds the instance to PATCH
    or DELETE among ``/events/{id}/instances``."""
    tz = _zone(calendar_tz)
    base = event_from_graph(master, calendar_tz=tz)
    value = item.get("originalStart") or item.get("start")
    return occurrence_moment(value, base, series_zone(master, tz)).key()

