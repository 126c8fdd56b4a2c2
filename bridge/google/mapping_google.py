"""Google side of the mapping: :class:`ResourceData` → Google Calendar event bodies.

Bodies are complete for every mapped field (empty strings, empty lists and ``useDefault``
instead of omissions), so the same body works for ``events.insert``, ``events.update`` and
``events.patch`` (whose objects merge: an omitted field would keep a stale value).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bridge.google.ids import instance_id
from bridge.google.mapping_time import moment_to_google, to_aware
from bridge.ical.model import Attendee, EventData, Moment, Reminder, event_digest

__all__ = [
    "PARTSTAT_TO_GOOGLE",
    "PRIVATE_CATEGORIES",
    "PRIVATE_CUSTOMER",
    "PRIVATE_FLOATING",
    "PRIVATE_HASH",
    "PRIVATE_ORGANIZER_EMAIL",
    "PRIVATE_ORGANIZER_NAME",
    "PRIVATE_UID",
    "PRIVATE_URL",
    "VISIBILITY",
    "event_to_google",
    "override_id",
    "private_props",
    "series_zone",
]

PRIVATE_UID = "terminUid"
PRIVATE_HASH = "terminHash"
PRIVATE_FLOATING = "terminFloating"
PRIVATE_URL = "terminUrl"
PRIVATE_CATEGORIES = "terminCategories"
PRIVATE_ORGANIZER_EMAIL = "terminOrganizerEmail"
PRIVATE_ORGANIZER_NAME = "terminOrganizerName"
PRIVATE_CUSTOMER = {
    "X-TERMIN-CUSTOMER-NAME": "terminCustomerName",
    "X-TERMIN-CUSTOMER-EMAIL": "terminCustomerEmail",
    "X-TERMIN-CUSTOMER-PHONE": "terminCustomerPhone",
    "X-TERMIN-SERVICE": "terminService",
}
PARTSTAT_TO_GOOGLE = {
    "NEEDS-ACTION": "needsAction",
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentative",
}
VISIBILITY = {"PUBLIC": "public", "PRIVATE": "private", "CONFIDENTIAL": "confidential"}


def private_props(item: Mapping[str, Any]) -> dict[str, str]:
    """``extendedProperties.private`` of a Google event (empty when absent)."""
    ext = item.get("extendedProperties") or {}
    private = ext.get("private") or {} if isinstance(ext, Mapping) else {}
    return {str(k): str(v) for k, v in private.items() if v is not None}


def series_zone(event: EventData, calendar_tz: str) -> str:
    """The zone a series is expanded in on Google (``start.timeZone``)."""
    if event.start.kind == "zoned" and event.start.tz:
        return event.start.tz
    return calendar_tz


# -- model → Google -------------------------------------------------------------------------


def _recurrence_value(moment: Moment) -> tuple[str, str]:
    value = moment.value
    if not isinstance(value, datetime):
        return ";VALUE=DATE", value.strftime("%Y%m%d")
    if value.tzinfo is None:
        return "", value.strftime("%Y%m%dT%H%M%S")
    return "", moment.key()[1:]  # the UTC form: unambiguous on DST fold days


def _recurrence(event: EventData) -> list[str]:
    lines = [f"RRULE:{event.rrule}"] if event.rrule else []
    for name, moments in (("RDATE", event.rdates), ("EXDATE", event.exdates)):
        for moment in moments:
            params, text = _recurrence_value(moment)
            lines.append(f"{name}{params}:{text}")
    return lines


def _reminders_body(reminders: tuple[Reminder, ...] | None) -> dict[str, Any]:
    if reminders is None:
        return {"useDefault": True, "overrides": []}
    return {
        "useDefault": False,
        "overrides": [{"method": r.method, "minutes": r.minutes} for r in reminders],
    }


def _attendee_body(att: Attendee) -> dict[str, Any]:
    body: dict[str, Any] = {"email": att.email, "responseStatus": PARTSTAT_TO_GOOGLE[att.partstat]}
    if att.name:
        body["displayName"] = att.name
    if att.optional:
        body["optional"] = True
    if att.resource:
        body["resource"] = True
    return body


def _private_body(event: EventData, *, uid: str, digest: str) -> dict[str, str]:
    customer = dict(event.customer)
    private = {
        PRIVATE_UID: uid,
        PRIVATE_HASH: digest,
        PRIVATE_FLOATING: "1" if event.start.kind == "floating" else "",
        PRIVATE_URL: event.url or "",
        PRIVATE_CATEGORIES: (
            json.dumps(list(event.categories), ensure_ascii=False) if event.categories else ""
        ),
        PRIVATE_ORGANIZER_EMAIL: event.organizer.email if event.organizer else "",
        PRIVATE_ORGANIZER_NAME: (event.organizer.name or "") if event.organizer else "",
    }
    for prop, key in PRIVATE_CUSTOMER.items():
        private[key] = customer.get(prop, "")
    return private


def event_to_google(
    event: EventData,
    *,
    uid: str,
    body_id: str,
    calendar_tz: str,
    master: EventData | None = None,
    master_id: str | None = None,
) -> dict[str, Any]:
    """The Google body of a master (``master is None``) or of one override of ``master``."""
    series = master if master is not None else event
    tz = series_zone(series, calendar_tz) if series.recurring else None
    body: dict[str, Any] = {
        "id": body_id,
        "summary": event.summary or "",
        "description": event.description or "",
        "location": event.location or "",
        "status": event.status.lower(),
        "transparency": "transparent" if event.transparent else "opaque",
        "visibility": VISIBILITY.get(event.klass or "", "default"),
        "start": moment_to_google(event.start, calendar_tz=calendar_tz, series_tz=tz),
        "end": moment_to_google(event.end, calendar_tz=calendar_tz, series_tz=tz),
        "attendees": [_attendee_body(a) for a in event.attendees],
        "reminders": _reminders_body(event.reminders),
        "sequence": event.sequence,
        "extendedProperties": {
            "private": _private_body(event, uid=uid, digest=event_digest(event, uid=uid))
        },
    }
    if event.url and event.url.lower().startswith(("http://", "https://")):
        body["source"] = {"title": event.url, "url": event.url}
    if master is None:
        body["recurrence"] = _recurrence(event)
    else:
        assert event.recurrence_id is not None and master_id is not None
        body["recurringEventId"] = master_id
        body["originalStartTime"] = moment_to_google(
            event.recurrence_id, calendar_tz=calendar_tz, series_tz=None
        )
    return body


def override_id(master_id: str, rid: Moment, calendar_tz: str) -> str:
    """The Google instance id of the occurrence ``rid`` of ``master_id``."""
    return instance_id(master_id, to_aware(rid, calendar_tz))
