"""Graph → model: Graph event JSON (series master or single event, exceptions, cancelled
occurrences) → :class:`ResourceData` (pure).

Graph's additions (``id``, ``changeKey``, ``@odata.etag``, ``webLink``, ``organizer``,
``responseStatus``, ``originalStartTimeZone``, ``importance``…) are not content.  Exceptions are
matched to the series by their ``originalStart``; cancelled occurrences (given as original
starts, dates, or beta ``OID.<master>.<date>`` ids) become EXDATEs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from bridge.ical.fields import block_text, line_text
from bridge.ical.instances import assemble_resource
from bridge.ical.model import (
    Attendee,
    EventData,
    EventDeleted,
    MappingError,
    Moment,
    Person,
    Reminder,
    ResourceData,
)
from bridge.ical.moments import as_style
from bridge.microsoft.mapping_graph import PROP_UID, SENSITIVITY, SHOW_AS, extended_props
from bridge.microsoft.mapping_html import html_to_text
from bridge.microsoft.mapping_ical import graph_view
from bridge.microsoft.mapping_recurrence import pattern_from_graph, pattern_rrule
from bridge.microsoft.mapping_time import graph_zone, moment_from_graph, parse_graph_datetime
from bridge.text import one_line

__all__ = ["event_from_graph", "item_uid", "occurrence_moment", "resource_from_graph",
           "resource_views_from_graph", "series_zone"]

GraphEvent = Mapping[str, Any]

_PARTSTAT = {"accepted": "ACCEPTED", "declined": "DECLINED", "tentativelyAccepted": "TENTATIVE"}
_CLASS = {v: k for k, v in SENSITIVITY.items()}
_SHOW_AS = {v: k for k, v in SHOW_AS.items()}


def item_uid(item: GraphEvent) -> str | None:
    """Our UID for a Graph event: the ``terminBridgeUid`` property, else ``iCalUId``."""
    ours = extended_props(item).get(PROP_UID.lower())
    if ours:
        return ours
    return str(item["iCalUId"]) if item.get("iCalUId") else None


def series_zone(item: GraphEvent, calendar_tz: str) -> str:
    """The zone a series (or single event) was set in: the recurrence's zone, else
    ``originalStartTimeZone``, else the zone of ``start``, else the calendar's."""
    recurrence = item.get("recurrence") or {}
    for name in ((recurrence.get("range") or {}).get("recurrenceTimeZone"),
                 item.get("originalStartTimeZone"), (item.get("start") or {}).get("timeZone"),
                 calendar_tz):
        tz = graph_zone(name) if isinstance(name, str) else None
        if tz:
            return tz
    return "UTC"


def _body(item: GraphEvent) -> str | None:
    body = item.get("body")
    if not isinstance(body, Mapping):
        return None
    content = str(body.get("content") or "")
    if str(body.get("contentType") or "text").lower() == "html":
        content = html_to_text(content)
    return block_text(content)


def _location(item: GraphEvent) -> str | None:
    location = item.get("location")
    if isinstance(location, Mapping):
        return line_text(location.get("displayName"))
    return None


def _attendees(item: GraphEvent) -> tuple[Attendee, ...]:
    out: dict[str, Attendee] = {}
    for att in item.get("attendees") or []:
        address = (att.get("emailAddress") or {}) if isinstance(att, Mapping) else {}
        email = str(address.get("address") or "").strip().lower()
        if "@" not in email:
            continue
        kind = str(att.get("type") or "required")
        response = str((att.get("status") or {}).get("response") or "none")
        out[email] = Attendee(email=email, name=line_text(address.get("name")),
                              partstat=_PARTSTAT.get(response, "NEEDS-ACTION"),
                              optional=kind == "optional", resource=kind == "resource")
    return tuple(out[k] for k in sorted(out))


def _organizer(item: GraphEvent) -> Person | None:
    address = (item.get("organizer") or {}).get("emailAddress") or {}
    email = str(address.get("address") or "").strip().lower()
    return Person(email, line_text(address.get("name"))) if "@" in email else None


def _reminders(item: GraphEvent) -> tuple[Reminder, ...]:
    minutes = item.get("reminderMinutesBeforeStart")
    if not item.get("isReminderOn") or not isinstance(minutes, int | float) or minutes < 0:
        return ()
    return (Reminder("popup", int(minutes)),)


def _stamp(item: GraphEvent, key: str) -> datetime | None:
    try:
        return parse_graph_datetime(str(item[key])) if item.get(key) else None
    except ValueError:
        return None


def occurrence_moment(value: Any, master: EventData, series_tz: str) -> Moment:
    """The RECURRENCE-ID (in the master's style) of an original start Graph gives: an
    ``originalStart`` instant, a ``dateTimeTimeZone``, a date, or a beta occurrence id
    ``OID.<master id>.<YYYY-MM-DD>``."""
    if not value:
        raise MappingError("an occurrence without its original start (pass cancelled "
                           "occurrences by original start or occurrence id with a date)")
    if isinstance(value, str) and value.startswith("OID.") and value.count(".") >= 2:
        value = value.rsplit(".", 1)[1]
    all_day = master.start.kind == "date"
    raw = moment_from_graph(value, all_day=all_day, event_tz=series_tz, calendar_tz=series_tz)
    return as_style(raw, master.start, ref_tz=series_tz)


def event_from_graph(
    item: GraphEvent,
    *,
    calendar_tz: str,
    master: EventData | None = None,
    master_tz: str | None = None,
) -> EventData:
    """The model of one Graph event (a series master, a single event, or an exception), with
    attendees and organizer as Graph has them (:func:`graph_view` takes what counts)."""
    all_day = bool(item.get("isAllDay"))
    tz = series_zone(item, calendar_tz)
    start = moment_from_graph(item.get("start"), all_day=all_day, event_tz=tz,
                              calendar_tz=calendar_tz)
    end_tz = graph_zone(item.get("originalEndTimeZone")) or tz
    end = moment_from_graph(item.get("end") or item.get("start"), all_day=all_day,
                            event_tz=end_tz, calendar_tz=calendar_tz)
    if isinstance(start.value, date) and not isinstance(start.value, datetime):
        if end.kind != "date" or end.value <= start.value:
            end = Moment(start.value + timedelta(days=1))
    elif end.kind != start.kind or end.key() < start.key():
        end = start
    rrule: str | None = None
    rid: Moment | None = None
    if master is None and isinstance(item.get("recurrence"), Mapping):
        pattern = pattern_from_graph(dict(item["recurrence"]), start)
        rrule = pattern_rrule(pattern, start)
    if master is not None:
        rid = occurrence_moment(item.get("originalStart") or item.get("start"), master,
                                master_tz or tz)
    show_as = str(item.get("showAs") or "busy")
    attendees = _attendees(item)
    return EventData(
        start=start,
        end=end,
        summary=line_text(item.get("subject")),
        description=_body(item),
        location=_location(item),
        transparent=show_as == "free",
        show_as=_SHOW_AS.get(show_as),
        klass=_CLASS.get(str(item.get("sensitivity") or "normal")),
        categories=tuple(sorted({c for c in (one_line(v) for v in item.get("categories") or [])
                                 if c})),
        organizer=_organizer(item) if attendees else None,
        attendees=attendees,
        reminders=_reminders(item),
        rrule=rrule,
        recurrence_id=rid,
        created=_stamp(item, "createdDateTime"),
        updated=_stamp(item, "lastModifiedDateTime"),
    )


def _series_events(master: GraphEvent, exceptions: Sequence[GraphEvent],
                   cancelled: Sequence[Any], calendar_tz: str
                   ) -> tuple[str, EventData, list[EventData], list[Moment]]:
    """A Graph series parsed once: UID, master, overrides (every person kept) and the
    original starts of its cancelled occurrences."""
    if master.get("isCancelled") or master.get("@removed"):
        raise EventDeleted(master.get("id"), provider="Microsoft")
    if master.get("type") in ("occurrence", "exception"):
        raise MappingError("the master passed is itself an occurrence of a series")
    uid = item_uid(master)
    if uid is None:
        raise MappingError("a Graph event without iCalUId or our UID property")
    tz = graph_zone(calendar_tz) or "UTC"
    base = event_from_graph(master, calendar_tz=tz)
    stz = series_zone(master, tz)
    overrides: list[EventData] = []
    gone: list[Moment] = []
    for item in exceptions:
        if item.get("seriesMasterId") not in (None, master.get("id")):
            raise MappingError(f"exception {item.get('id')!r} belongs to "
                               f"{item.get('seriesMasterId')!r}, not to {master.get('id')!r}")
        if item.get("isCancelled") or item.get("@removed"):
            gone.append(occurrence_moment(item.get("originalStart"), base, stz))
            continue
        overrides.append(event_from_graph(item, calendar_tz=tz, master=base, master_tz=stz))
    gone += [occurrence_moment(c, base, stz) for c in cancelled]
    return uid, base, overrides, gone


def _assemble(series: tuple[str, EventData, list[EventData], list[Moment]],
              write_attendees: bool | None) -> ResourceData:
    uid, base, overrides, gone = series
    if write_attendees is None:
        return assemble_resource(uid, base, overrides, cancelled=gone)
    return assemble_resource(uid, graph_view(base, write_attendees),
                             [graph_view(o, write_attendees) for o in overrides],
                             cancelled=gone)


def resource_from_graph(
    master: GraphEvent,
    exceptions: Sequence[GraphEvent] = (),
    cancelled: Sequence[Any] = (),
    *,
    calendar_tz: str,
    write_attendees: bool | None = None,
) -> ResourceData:
    """The model of a Graph series (or single event) with its exceptions and cancelled
    occurrences.  ``write_attendees`` ``None`` keeps every person (for rendering); a bool
    gives the view the hashes compare (:func:`graph_view`)."""
    return _assemble(_series_events(master, exceptions, cancelled, calendar_tz),
                     write_attendees)


def resource_views_from_graph(
    master: GraphEvent,
    exceptions: Sequence[GraphEvent] = (),
    cancelled: Sequence[Any] = (),
    *,
    calendar_tz: str,
    write_attendees: bool,
) -> tuple[ResourceData, ResourceData]:
    """``resource_from_graph`` with every person and in the compared view, from one parse."""
    series = _series_events(master, exceptions, cancelled, calendar_tz)
    return _assemble(series, None), _assemble(series, write_attendees)
