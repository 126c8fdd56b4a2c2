"""Who gets which notification: the policy, pure (no database, no clock).

A person's change (the booking API, a phone over CalDAV, someone editing in Google outside an
initial import or a full resync) that creates an appointment or changes its time or status
earns a confirmation or a cancellation; reminders fall at the configured offsets before each
start (each occurrence of a series, expanded by :mod:`bridge.ical.recurrence`).  Bulk imports,
sync imports and echoes never notify.  :mod:`bridge.notify.hooks` applies this to every item
write of the store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from icalendar import Calendar

from bridge.config import Settings, parse_offsets
from bridge.ical.recurrence import occurrences
from bridge.ical.timezones import zone_for_name
from bridge.ical.validate import BOOKED_ONLINE_PROP, CUSTOMER_LANGUAGE_PROP
from bridge.model import ItemRecord, connection_of_origin
from bridge.notify.render import LANGUAGES

__all__ = [
    "CHANNELS",
    "Kind",
    "NotifyPolicy",
    "ReminderDue",
    "by_person",
    "connection_importing",
    "kind_of",
    "moved",
    "payload_of",
    "policy_from_settings",
    "recipients",
    "series_reminders",
]

CHANNELS = ("email", "webhook")
Kind = Literal["confirmation", "cancellation", "reminder"]
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Import phases written by the sync engine while it must stay silent.
_QUIET_PHASES = frozenset({"importing", "resyncing", "running", "new"})


@dataclass(frozen=True)
class NotifyPolicy:
    """What the hook needs from the configuration (set by whoever has the settings)."""

    reminder_offsets: tuple[int, ...] = (24 * 3600,)
    reminder_horizon: int = 14 * 86400
    language: str = "de"
    description_emails: bool = False
    enabled: bool = True
    # False when no webhook_url is configured: no webhook rows are queued then.
    webhook: bool = True


def policy_from_settings(settings: Settings) -> NotifyPolicy:
    """The notification policy from ``[notifications]``."""
    return NotifyPolicy(
        reminder_offsets=parse_offsets(settings.notifications.reminder_offsets),
        reminder_horizon=settings.notifications.reminder_horizon_days * 86400,
        language=settings.notifications.language,
        description_emails=settings.notifications.description_emails,
        enabled=settings.notifications.enabled,
        webhook=bool(settings.notifications.webhook_url),
    )


def connection_importing(status: str, import_state: str) -> bool:
    """True while a connection runs its initial import or a full resync (stay silent then).

    The sync engine (:mod:`bridge.sync.pull`, :mod:`bridge.sync.service`) keeps
    ``{"phase": "importing"|"resyncing"|"idle", "import": {"phase": "new"|"running"|"done"}}``
    in ``connections.import_state``; changes pulled before the first import finished, or during
    a relist after an expired sync token, are not edits by a person.
    """
    if status in ("importing", "resyncing"):
        return True
    try:
        state = json.loads(import_state or "{}")
    except ValueError:
        return False
    if not isinstance(state, dict):
        return False
    if str(state.get("phase", "")).lower() in _QUIET_PHASES:
        return True
    progress = state.get("import")
    if isinstance(progress, dict):
        return str(progress.get("phase", "done")).lower() != "done"
    return False


def by_person(
    origin: str, *, importing: bool, connection_state: Callable[[int], tuple[str, str] | None]
) -> bool:
    """True for writes a person made (API, phone, the admin's calendar view, the booking page,
    a provider's calendar outside import/resync).

    ``importing`` is the write transaction's flag (a first-connection import page);
    ``connection_state(id)`` gives ``(status, import_state)`` of a connection.
    """
    if origin in ("api", "caldav", "admin", "booking"):
        return True
    source = connection_of_origin(origin)
    if source is None:
        return False  # "import" (bulk CLI) and anything unknown stay silent
    if importing:
        return False
    state = connection_state(source[1])
    if state is None:
        return False
    return not connection_importing(*state)


def moved(old: ItemRecord | None, new: ItemRecord | None) -> bool:
    """True when a write invalidates the reminders planned for ``old``."""
    return old is not None and (
        new is None
        or old.start_ts != new.start_ts or old.end_ts != new.end_ts
        or old.status != new.status or old.uid != new.uid
        or old.customer_email != new.customer_email
        # A series edit (RRULE, EXDATE, an override) need not move its first start or end.
        or ((old.recurring or new.recurring) and old.content_hash != new.content_hash)
    )


def kind_of(old: ItemRecord | None, new: ItemRecord | None) -> Kind | None:
    """The message a write earns (``None``: no confirmation or cancellation)."""
    if new is None:
        return "cancellation" if old is not None and old.status != "CANCELLED" else None
    if old is None:
        return None if new.status == "CANCELLED" else "confirmation"
    if new.status == "CANCELLED":
        return "cancellation" if old.status != "CANCELLED" else None
    if old.start_ts != new.start_ts or old.end_ts != new.end_ts or old.status != new.status:
        return "confirmation"
    return None


def recipients(recipient: str, *, webhook: bool = True) -> list[tuple[str, str]]:
    """``(channel, recipient)`` rows: the webhook when one is configured, e-mail when there is
    an address."""
    return [(channel, recipient if channel == "email" else "") for channel in CHANNELS
            if (channel != "email" or recipient) and (channel != "webhook" or webhook)]


def _dt_value(prop: Any) -> date | datetime | None:
    value = getattr(prop, "dt", None)
    return value if isinstance(value, date) else None


def payload_of(
    item: ItemRecord, *, path: str, timezone: str, props: dict[str, str], policy: NotifyPolicy,
    owners: Callable[[], set[str]],
) -> tuple[dict[str, Any], str]:
    """The appointment snapshot sent to templates and webhooks, and the e-mail recipient.

    ``owners()`` gives the calendar's own addresses (asked only when an attendee is looked at).
    """
    cal: Any = None
    try:
        cal = Calendar.from_ical(item.text)
    except ValueError:
        cal = None
    master: Any = None
    if cal is not None:
        for comp in cal.walk("VEVENT"):
            if "RECURRENCE-ID" not in comp:
                master = comp
                break
    all_day = False
    location = ""
    if master is not None:
        start = _dt_value(master.get("DTSTART"))
        all_day = start is not None and not isinstance(start, datetime)
        location = str(master.get("LOCATION", "") or "")
    language = str(master.get(CUSTOMER_LANGUAGE_PROP, "")).strip().lower() \
        if master is not None else ""
    email = item.customer_email or _attendee_email(master, owners)
    if not email and policy.description_emails and master is not None:
        match = _EMAIL.search(str(master.get("DESCRIPTION", "") or ""))
        email = match.group(0) if match else None
    payload = {
        "uid": item.uid,
        "summary": item.summary,
        "start": datetime.fromtimestamp(int(item.start_ts), UTC).isoformat(),
        "end": datetime.fromtimestamp(int(item.end_ts), UTC).isoformat(),
        "all_day": all_day,
        "timezone": timezone,
        "status": item.status,
        "location": location,
        "service": item.service,
        "calendar": {"path": path,
                     "name": props.get("D:displayname") or path.rsplit("/", 1)[-1]},
        "customer": {"name": item.customer_name, "email": email or None,
                     "phone": item.customer_phone,
                     "language": language if language in LANGUAGES else None},
        "booked_online": master is not None
        and str(master.get(BOOKED_ONLINE_PROP, "")).strip().upper() == "TRUE",
    }
    return payload, email or ""


def _attendee_email(master: Any, owners: Callable[[], set[str]]) -> str | None:
    """An attendee's address that is not the organizer's nor the calendar owner's."""
    if master is None:
        return None
    attendees = master.get("ATTENDEE")
    if attendees is None:
        return None
    if not isinstance(attendees, list):
        attendees = [attendees]
    organizer = str(master.get("ORGANIZER", "")).lower().removeprefix("mailto:")
    known = {organizer} | owners()
    for attendee in attendees:
        address = str(attendee).strip()
        if address.lower().startswith("mailto:"):
            address = address[7:]
        if str(attendee.params.get("PARTSTAT", "")).upper() == "DECLINED":
            continue
        if _EMAIL.fullmatch(address) and address.lower() not in known:
            return address
    return None


@dataclass(frozen=True)
class ReminderDue:
    """One reminder of one occurrence: when it is due and the occurrence's snapshot."""

    due: float
    offset: int
    occurrence: int
    payload: dict[str, Any]


def series_reminders(
    ical: str, timezone: str, payload: dict[str, Any], offsets: tuple[int, ...], *,
    since: float, until: float,
) -> Iterator[list[ReminderDue]]:
    """Per occurrence whose reminder falls in ``(since, until]``, its reminders.

    Each occurrence's snapshot is ``payload`` with the occurrence's start, end, all-day flag,
    recurrence id and location.
    """
    if not offsets or until <= since:
        return
    try:
        cal = Calendar.from_ical(ical)
    except ValueError:
        return
    zone = zone_for_name(timezone or "UTC") or ZoneInfo("UTC")
    lo = datetime.fromtimestamp(since, UTC)
    hi = datetime.fromtimestamp(until, UTC) + timedelta(seconds=max(offsets) + 1)
    for occ in occurrences(cal, lo, hi, zone=zone):
        if occ.cancelled:
            continue
        start = int(occ.start.timestamp())
        dues = [(start - off, off) for off in offsets if since < start - off <= until]
        if not dues:
            continue
        instance = dict(payload)
        if occ.all_day:  # dates travel as midnight UTC, like single all-day appointments
            day = occ.start.date()
            last = occ.end.date() if occ.end.date() > day else day + timedelta(days=1)
            instance["start"] = datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()
            instance["end"] = datetime(last.year, last.month, last.day, tzinfo=UTC).isoformat()
        else:
            instance["start"] = occ.start.astimezone(UTC).isoformat()
            instance["end"] = occ.end.astimezone(UTC).isoformat()
        instance["all_day"] = occ.all_day
        instance["recurrence_id"] = occ.recurrence_id.astimezone(UTC).isoformat()
        if occ.component.get("LOCATION") is not None:
            instance["location"] = str(occ.component.get("LOCATION"))
        yield [ReminderDue(due, offset, start, instance) for due, offset in dues]
