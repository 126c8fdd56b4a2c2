"""Google → model: Google event bodies (masters, exceptions, tombstones) → :class:`ResourceData`.

Cancelled exceptions become EXDATEs of the master; Google's additions (etag, creator, the
organizer-self attendee, default reminders...) are not content and are dropped here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from icalendar import Component

from bridge.google.mapping_google import (
    PARTSTAT_TO_GOOGLE,
    PRIVATE_CATEGORIES,
    PRIVATE_CUSTOMER,
    PRIVATE_FLOATING,
    PRIVATE_ORGANIZER_EMAIL,
    PRIVATE_ORGANIZER_NAME,
    PRIVATE_UID,
    PRIVATE_URL,
    VISIBILITY,
    private_props,
)
from bridge.google.mapping_ical import (
    MAX_REMINDER_MINUTES,
    MAX_REMINDERS,
    canonical_rrule,
    fit_categories,
)
from bridge.google.mapping_time import (
    as_style,
    canonical_tz,
    moment_from_google,
    moment_from_ical,
    parse_rfc3339,
)
from bridge.ical.fields import block_text, line_text
from bridge.ical.instances import drop_plain, within_rule
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

__all__ = ["MasterRequired", "event_from_google", "item_uid", "resource_from_google"]


class MasterRequired(MappingError):
    """Only exceptions of a series were given: fetch the master (and all its exceptions)."""

    def __init__(self, recurring_event_id: str | None, ical_uid: str | None) -> None:
        self.recurring_event_id = recurring_event_id
        self.ical_uid = ical_uid
        super().__init__(
            f"the master event {recurring_event_id!r} of the series is needed; fetch it with "
            "events.get and its exceptions with events.list(iCalUID=…, showDeleted=true)"
        )

_PARTSTAT_FROM_GOOGLE = {v: k for k, v in PARTSTAT_TO_GOOGLE.items()}
_CLASS_FROM_GOOGLE = {v: k for k, v in VISIBILITY.items()}


def _reminders(item: Mapping[str, Any]) -> tuple[Reminder, ...] | None:
    reminders = item.get("reminders")
    if not isinstance(reminders, Mapping) or reminders.get("useDefault", True):
        return None
    found: set[Reminder] = set()
    for override in reminders.get("overrides") or []:
        method = "email" if override.get("method") == "email" else "popup"
        minutes = override.get("minutes")
        if not isinstance(minutes, int | float) or minutes < 0:
            continue
        found.add(Reminder(method, min(math.ceil(minutes), MAX_REMINDER_MINUTES)))
    return tuple(sorted(found, key=lambda r: (r.minutes, r.method))[:MAX_REMINDERS])


def _attendees(item: Mapping[str, Any]) -> tuple[Attendee, ...]:
    out: dict[str, Attendee] = {}
    for att in item.get("attendees") or []:
        email = str(att.get("email") or "").strip().lower()
        if not email:
            continue
        if att.get("organizer") and att.get("self"):
            continue  # the calendar owner Google lists as organizer-attendee
        out[email] = Attendee(
            email=email,
            name=line_text(att.get("displayName")),
            partstat=_PARTSTAT_FROM_GOOGLE.get(str(att.get("responseStatus")), "NEEDS-ACTION"),
            optional=bool(att.get("optional")),
            resource=bool(att.get("resource")),
        )
    return tuple(out[k] for k in sorted(out))


def _organizer(
    item: Mapping[str, Any], private: Mapping[str, str], attendees: tuple[Attendee, ...]
) -> Person | None:
    if PRIVATE_UID in private:  # written by us: our keys are authoritative, missing = empty
        email = private.get(PRIVATE_ORGANIZER_EMAIL, "")
        name = private.get(PRIVATE_ORGANIZER_NAME) or None
        return Person(email, name) if email else None
    org = item.get("organizer")
    if not isinstance(org, Mapping) or not org.get("email"):
        return None
    if org.get("self") and not attendees:
        return None  # Google's default organizer (the calendar itself) is no content
    return Person(str(org["email"]).lower(), line_text(org.get("displayName")))


def _categories(private: Mapping[str, str]) -> tuple[str, ...]:
    raw = private.get(PRIVATE_CATEGORIES)
    if not raw:
        return ()
    try:
        values = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(values, list):
        return ()
    return fit_categories(str(v) for v in values)


def _url(item: Mapping[str, Any], private: Mapping[str, str]) -> str | None:
    if PRIVATE_UID in private:
        return private.get(PRIVATE_URL) or None
    source = item.get("source")
    if isinstance(source, Mapping) and source.get("url"):
        return str(source["url"])
    return None


def _time(item: Mapping[str, Any], key: str) -> datetime | None:
    raw = item.get(key)
    if not raw:
        return None
    try:
        return parse_rfc3339(str(raw))
    except ValueError:
        return None


def _recurrenceblock_text(
    lines: Sequence[str], ref: Moment, ref_tz: str
) -> tuple[str | None, tuple[Moment, ...], tuple[Moment, ...]]:
    rrule: str | None = None
    dates: dict[str, dict[str, Moment]] = {"RDATE": {}, "EXDATE": {}}
    for line in lines:
        name = line.split(":", 1)[0].split(";", 1)[0].strip().upper()
        if name == "RRULE":
            rrule = canonical_rrule(line.split(":", 1)[1].strip())
        elif name in dates:
            comp = Component.from_ical(f"BEGIN:VEVENT\r\n{line.strip()}\r\nEND:VEVENT\r\n")
            props = comp.get(name)
            for prop in props if isinstance(props, list) else [props]:
                for item in prop.dts:
                    value = item.dt[0] if isinstance(item.dt, tuple) else item.dt
                    moment = as_style(moment_from_ical(value), ref, ref_tz=ref_tz)
                    dates[name][moment.key()] = moment
        # EXRULE and anything else: not representable in iCalendar resources we accept.
    rdates, exdates = (tuple(d[k] for k in sorted(d)) for d in dates.values())
    return rrule, rdates, exdates


def event_from_google(
    item: Mapping[str, Any],
    *,
    calendar_tz: str,
    master: EventData | None = None,
    master_tz: str | None = None,
) -> EventData:
    """The model of one Google event (a master, a single event, or an exception)."""
    private = private_props(item)
    floating = private.get(PRIVATE_FLOATING) == "1"
    start_obj = item.get("start") or {}
    start = moment_from_google(start_obj, floating=floating, calendar_tz=calendar_tz)
    end_obj = item.get("end") or start_obj
    end = moment_from_google(end_obj, floating=floating, calendar_tz=calendar_tz)
    if start.kind == "date" and (end.kind != "date" or end.value <= start.value):
        end = _next_day(start)
    elif start.kind != "date" and end.kind == start.kind and end.key() < start.key():
        end = start
    attendees = _attendees(item)
    rrule: str | None = None
    rdates: tuple[Moment, ...] = ()
    exdates: tuple[Moment, ...] = ()
    rid: Moment | None = None
    ref_tz = canonical_tz(start_obj.get("timeZone")) or canonical_tz(calendar_tz) or "UTC"
    if item.get("recurrence") and master is None:
        rrule, rdates, exdates = _recurrenceblock_text(item["recurrence"], start, ref_tz)
    if item.get("originalStartTime"):
        original = item["originalStartTime"]
        raw = moment_from_google(original, floating=False, calendar_tz=master_tz or ref_tz)
        if master is not None:
            rid = as_style(raw, master.start, ref_tz=master_tz or ref_tz)
        elif floating and raw.kind == "zoned":
            rid = as_style(raw, start, ref_tz=canonical_tz(original.get("timeZone")) or ref_tz)
        else:
            rid = raw
    customer = tuple(
        (prop, text) for prop, key in PRIVATE_CUSTOMER.items()
        if (text := line_text(private.get(key)))
    )
    visibility = str(item.get("visibility") or "default")
    klass = _CLASS_FROM_GOOGLE.get(visibility)
    status = str(item.get("status") or "confirmed").upper()
    return EventData(
        start=start,
        end=end,
        summary=line_text(item.get("summary")),
        description=block_text(item.get("description")),
        location=line_text(item.get("location")),
        status=status if status in ("CONFIRMED", "TENTATIVE", "CANCELLED") else "CONFIRMED",
        transparent=item.get("transparency") == "transparent",
        klass=klass,
        url=_url(item, private),
        categories=_categories(private),
        organizer=_organizer(item, private, attendees),
        attendees=attendees,
        reminders=_reminders(item),
        customer=customer,
        rrule=rrule,
        rdates=rdates,
        exdates=exdates,
        recurrence_id=rid,
        sequence=int(item.get("sequence") or 0),
        created=_time(item, "created"),
        updated=_time(item, "updated"),
    )


def _next_day(start: Moment) -> Moment:
    assert not isinstance(start.value, datetime)
    return Moment(start.value + timedelta(days=1))


def item_uid(item: Mapping[str, Any]) -> str | None:
    """Our UID for a Google event: ``terminUid``, else ``iCalUID``, else ``<id>@google.com``."""
    private = private_props(item)
    if private.get(PRIVATE_UID):
        return private[PRIVATE_UID]
    if item.get("iCalUID"):
        return str(item["iCalUID"])
    if item.get("id"):
        return f"{item['id']}@google.com"
    return None


def resource_from_google(
    master: Mapping[str, Any] | None,
    exceptions: Sequence[Mapping[str, Any]],
    *,
    calendar_tz: str,
) -> ResourceData:
    """The model of a Google event with its exceptions (cancelled ones become EXDATEs).

    Exceptions that show exactly the series' occurrence (an override reverted on Google) are
    no overrides.
    """
    if master is None:
        first = exceptions[0] if exceptions else {}
        raise MasterRequired(
            first.get("recurringEventId") or first.get("id"), first.get("iCalUID")
        )
    if master.get("status") == "cancelled":
        raise EventDeleted(master.get("id"))
    if master.get("recurringEventId"):
        raise MappingError("the master passed is itself an instance of a recurring event")
    uid = item_uid(master)
    if uid is None:
        raise MappingError("a Google event without id or iCalUID")
    base = event_from_google(master, calendar_tz=calendar_tz)
    master_tz = canonical_tz((master.get("start") or {}).get("timeZone")) or canonical_tz(
        calendar_tz
    ) or "UTC"
    exdates = {m.key(): m for m in base.exdates}
    overrides: dict[str, EventData] = {}
    for item in exceptions:
        if item.get("recurringEventId") not in (None, master.get("id")):
            raise MappingError(
                f"exception {item.get('id')!r} belongs to {item.get('recurringEventId')!r}, "
                f"not to {master.get('id')!r}"
            )
        if not item.get("originalStartTime"):
            raise MappingError(f"exception {item.get('id')!r} without originalStartTime")
        if item.get("status") == "cancelled":
            raw = moment_from_google(
                item["originalStartTime"], floating=False, calendar_tz=master_tz
            )
            moment = as_style(raw, base.start, ref_tz=master_tz)
            exdates[moment.key()] = moment
            continue
        override = event_from_google(
            item, calendar_tz=calendar_tz, master=base, master_tz=master_tz
        )
        assert override.recurrence_id is not None
        overrides[override.recurrence_id.key()] = override
    for key in exdates:
        overrides.pop(key, None)
    overrides = drop_plain(base, overrides)  # set back to the series: no override
    base = within_rule(replace(base, exdates=tuple(exdates[k] for k in sorted(exdates))))
    return ResourceData(
        uid=uid, master=base, overrides=tuple(overrides[k] for k in sorted(overrides))
    )
