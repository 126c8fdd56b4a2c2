"""EWS → model: item dicts (a series master or single item, its modified occurrences, its
deleted occurrences) → :class:`ResourceData` (pure).

EWS's additions (``id``, ``changekey``, ``last_modified_time``, ``organizer``, response
states…) are not content.  Modified occurrences are matched to the series by their
``original_start``; deleted occurrences (their original starts) become EXDATEs.
``LegacyFreeBusyStatus: NoData`` reads as busy, ``Sensitivity: Normal`` as no CLASS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from bridge.exchange.mapping_ews import BUSY, SENSITIVITY
from bridge.exchange.mapping_recurrence import pattern_from_ews
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
from bridge.ical.moments import as_style, zone, zoned
from bridge.ical.patterns import pattern_rrule
from bridge.microsoft.mapping_html import html_to_text
from bridge.microsoft.mapping_ical import graph_view
from bridge.microsoft.mapping_time import date_of_instant, graph_zone, parse_graph_datetime
from bridge.text import one_line

__all__ = ["event_from_ews", "item_uid", "occurrence_moment", "resource_from_ews",
           "series_zone"]

EwsItem = Mapping[str, Any]

_CLASS = {v: k for k, v in SENSITIVITY.items()}
_SHOW_AS = {v: k for k, v in BUSY.items()}
_PARTSTAT = {"Accept": "ACCEPTED", "Decline": "DECLINED", "Tentative": "TENTATIVE"}


def item_uid(item: EwsItem) -> str | None:
    """Our UID for an item: the ``terminBridgeUid`` property, else EWS's ``UID``."""
    for key in ("bridge_uid", "uid"):
        if item.get(key):
            return str(item[key])
    return None


def series_zone(item: EwsItem, calendar_tz: str) -> str:
    """The zone an item was set in: its ``StartTimeZone``, else the calendar's."""
    for name in (item.get("start_tz"), calendar_tz):
        tz = graph_zone(name) if isinstance(name, str) else None
        if tz:
            return tz
    return "UTC"


def _parse(text: str, tz: str) -> datetime:
    value = parse_graph_datetime(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=zone(tz))


def moment_from_ews(value: Any, *, all_day: bool, tz: str) -> Moment:
    """A Moment for an EWS time value: an ISO date (all-day), or an ISO instant shown in
    ``tz`` (an all-day instant becomes its date in ``tz``)."""
    text = str(value or "").strip()
    if not text:
        raise MappingError("an EWS item without its start")
    if len(text) == 10:
        day = date.fromisoformat(text)
        return Moment(day) if all_day else zoned(datetime(day.year, day.month, day.day), tz)
    stamp = _parse(text, tz)
    if all_day:
        return Moment(date_of_instant(stamp, tz))
    return zoned(stamp, tz)


def occurrence_moment(value: Any, master: EventData, series_tz: str) -> Moment:
    """The RECURRENCE-ID (in the master's style) of an original start EWS gives."""
    raw = moment_from_ews(value, all_day=master.start.kind == "date", tz=series_tz)
    return as_style(raw, master.start, ref_tz=series_tz)


def _body(item: EwsItem) -> str | None:
    text = str(item.get("body") or "")
    if str(item.get("body_type") or "Text").upper() == "HTML":
        text = html_to_text(text)
    return block_text(text)


def _attendees(item: EwsItem) -> tuple[Attendee, ...]:
    out: dict[str, Attendee] = {}
    for att in item.get("attendees") or []:
        email = str(att.get("email") or "").strip().lower()
        if "@" not in email:
            continue
        kind = str(att.get("type") or "required")
        out[email] = Attendee(email=email, name=line_text(att.get("name")),
                              partstat=_PARTSTAT.get(str(att.get("response")), "NEEDS-ACTION"),
                              optional=kind == "optional", resource=kind == "resource")
    return tuple(out[k] for k in sorted(out))


def _organizer(item: EwsItem) -> Person | None:
    org = item.get("organizer") or {}
    email = str(org.get("email") or "").strip().lower()
    return Person(email, line_text(org.get("name"))) if "@" in email else None


def _reminders(item: EwsItem) -> tuple[Reminder, ...]:
    minutes = item.get("reminder_minutes_before_start")
    if not item.get("reminder_is_set") or not isinstance(minutes, int) or minutes < 0:
        return ()
    return (Reminder("popup", minutes),)


def _stamp(item: EwsItem, key: str) -> datetime | None:
    try:
        return _parse(str(item[key]), "UTC") if item.get(key) else None
    except ValueError:
        return None


def event_from_ews(
    item: EwsItem,
    *,
    calendar_tz: str,
    master: EventData | None = None,
    master_tz: str | None = None,
) -> EventData:
    """The model of one item (a series master, a single item, or a modified occurrence),
    with attendees and organizer as EWS has them (:func:`graph_view` takes what counts)."""
    all_day = bool(item.get("is_all_day"))
    tz = series_zone(item, calendar_tz)
    start = moment_from_ews(item.get("start"), all_day=all_day, tz=tz)
    end_tz = graph_zone(item.get("end_tz")) or tz
    end = moment_from_ews(item.get("end") or item.get("start"), all_day=all_day, tz=end_tz)
    if isinstance(start.value, date) and not isinstance(start.value, datetime):
        if end.kind != "date" or end.value <= start.value:
            end = Moment(start.value + timedelta(days=1))
    elif end.kind != start.kind or end.key() < start.key():
        end = start
    rrule: str | None = None
    rid: Moment | None = None
    if master is None and isinstance(item.get("recurrence"), Mapping):
        rrule = pattern_rrule(pattern_from_ews(dict(item["recurrence"]), start), start)
    if master is not None:
        rid = occurrence_moment(item.get("original_start") or item.get("start"), master,
                                master_tz or tz)
    busy = str(item.get("legacy_free_busy_status") or "Busy")
    attendees = _attendees(item)
    return EventData(
        start=start,
        end=end,
        summary=line_text(item.get("subject")),
        description=_body(item),
        location=line_text(item.get("location")),
        transparent=busy == "Free",
        show_as=_SHOW_AS.get(busy),
        klass=_CLASS.get(str(item.get("sensitivity") or "Normal")),
        categories=tuple(sorted({c for c in (one_line(v) for v in item.get("categories") or [])
                                 if c})),
        organizer=_organizer(item) if attendees else None,
        attendees=attendees,
        reminders=_reminders(item),
        rrule=rrule,
        recurrence_id=rid,
        created=_stamp(item, "datetime_created"),
        updated=_stamp(item, "last_modified_time"),
    )


def resource_from_ews(
    master: EwsItem,
    modified: Sequence[EwsItem] = (),
    deleted: Sequence[Any] = (),
    *,
    calendar_tz: str,
    write_attendees: bool | None = None,
) -> ResourceData:
    """The model of an EWS series (or single item) with its modified occurrences (full
    items with ``original_start``) and deleted occurrences (original starts).
    ``write_attendees`` ``None`` keeps every person (for rendering); ``False`` gives the view
    the hashes compare."""
    if master.get("is_cancelled"):
        raise EventDeleted(master.get("id"), provider="Exchange")
    if master.get("type") in ("Occurrence", "Exception"):
        raise MappingError("the master passed is itself an occurrence of a series")
    uid = item_uid(master)
    if uid is None:
        raise MappingError("an EWS item without UID")
    tz = graph_zone(calendar_tz) or "UTC"

    def view(event: EventData) -> EventData:
        return event if write_attendees is None else graph_view(event, write_attendees)

    base = event_from_ews(master, calendar_tz=tz)
    stz = series_zone(master, tz)
    overrides = [view(event_from_ews(item, calendar_tz=tz, master=base, master_tz=stz))
                 for item in modified]
    gone = [occurrence_moment(value, base, stz) for value in deleted]
    return assemble_resource(uid, view(base), overrides, cancelled=gone)
