"""Plain occurrences of a series: an override that changes nothing is no override.

Google and Exchange keep an exception object once an instance was written, even after it was
set back to the series' values (that is how a removed override is reverted there).  Such an
exception, and an iCalendar override identical to its occurrence, hold no content of their own:
every model builder drops them (:func:`drop_plain`, applied by :func:`assemble_resource`), so
they never come back as a change and both sides of a mapping stay in one hash space.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dateutil.rrule import rrulestr

from bridge.ical.model import EventData, Moment, ResourceData, event_canon
from bridge.ical.moments import add_duration, zone

__all__ = [
    "assemble_resource",
    "drop_plain",
    "is_plain",
    "occurs",
    "plain_instance",
    "within_rule",
]


def _wall_span(master: EventData) -> timedelta:
    a, b = master.start.value, master.end.value
    if isinstance(a, datetime) and isinstance(b, datetime):
        return b.replace(tzinfo=None) - a.replace(tzinfo=None)
    if isinstance(a, datetime) or isinstance(b, datetime):
        return timedelta(0)
    return b - a


def _exact_end(master: EventData, rid: Moment) -> Moment:
    a, b, start = master.start.value, master.end.value, rid.value
    if not (isinstance(a, datetime) and isinstance(b, datetime) and isinstance(start, datetime)):
        return add_duration(rid, _wall_span(master))
    if start.tzinfo is None or a.tzinfo is None or b.tzinfo is None:
        return Moment(start + _wall_span(master), rid.tz)
    tz = master.end.tz or rid.tz or "UTC"
    instant = start.astimezone(UTC) + (b.astimezone(UTC) - a.astimezone(UTC))
    return Moment(instant.astimezone(zone(tz)).replace(microsecond=0), tz)


def plain_instance(master: EventData, rid: Moment) -> EventData:
    """The occurrence ``rid`` of ``master`` as the series shows it (its fields, its length).

    The end is the original start plus the master's exact length, as Google computes an
    instance's end.
    """
    return replace(master, start=rid, end=_exact_end(master, rid), rrule=None, rdates=(),
                   exdates=(), recurrence_id=rid)


def is_plain(master: EventData, override: EventData) -> bool:
    """True when ``override`` shows exactly the occurrence the series shows at its RECURRENCE-ID."""
    rid = override.recurrence_id
    if rid is None or override.start.kind != rid.kind or override.start.key() != rid.key():
        return False
    ends = {_exact_end(master, rid).key(), add_duration(rid, _wall_span(master)).key()}
    if override.end.kind != rid.kind or override.end.key() not in ends:
        return False
    same_times = replace(override, start=master.start, end=master.end, recurrence_id=None,
                         rrule=master.rrule, rdates=master.rdates, exdates=master.exdates)
    return event_canon(same_times, uid="") == event_canon(master, uid="")


def drop_plain(master: EventData, overrides: Mapping[str, EventData]) -> dict[str, EventData]:
    """``overrides`` (keyed by RECURRENCE-ID) without the plain ones."""
    return {key: o for key, o in overrides.items() if not is_plain(master, o)}



@functools.lru_cache(maxsize=256)
def _rule(rrule: str, dtstart: datetime) -> Any:
    return rrulestr("RRULE:" + rrule, dtstart=dtstart, cache=True)


def _as_datetime(value: date | datetime, tz: str | None) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        return value
    return value.astimezone(zone(tz or "UTC"))


def occurs(master: EventData, moment: Moment) -> bool:
    """True when the series ``master`` has an instance originally starting at ``moment``.

    ``moment`` is in the master's style (as RECURRENCE-IDs and EXDATEs are read).  When the
    rule cannot be evaluated the answer is True (keep rather than drop).
    """
    key = moment.key()
    if key == master.start.key() or key in {m.key() for m in master.rdates}:
        return True
    if master.rrule is None or moment.kind != master.start.kind:
        return master.rrule is not None and moment.kind != master.start.kind
    start = _as_datetime(master.start.value, master.start.tz)
    target = _as_datetime(moment.value, master.start.tz)
    try:
        found = _rule(master.rrule, start).after(target - timedelta(seconds=1))
    except (ValueError, TypeError, OverflowError):
        return True
    return bool(found == target)


def within_rule(master: EventData) -> EventData:
    """``master`` without EXDATEs that exclude no instance (after ``UNTIL``, or off the rule).

    Google keeps the cancelled exceptions of a series whose rule was ended early (a split) or
    moved: they map to such EXDATEs, which must not count as content on either side.
    """
    if not master.exdates:
        return master
    kept = tuple(m for m in master.exdates if occurs(master, m))
    return master if len(kept) == len(master.exdates) else replace(master, exdates=kept)


def assemble_resource(
    uid: str, master: EventData, overrides: Iterable[EventData], *, cancelled: Iterable[Moment] = ()
) -> ResourceData:
    """One resource from a master and its overrides, as every mapping builds it.

    Cancelled overrides (``STATUS:CANCELLED``) and ``cancelled`` become EXDATEs of the master
    (an EXDATE wins over an override at the same instant), overrides identical to their
    occurrence are dropped (:func:`drop_plain`), and EXDATEs that exclude no instance too
    (:func:`within_rule`).
    """
    exdates = {m.key(): m for m in (*master.exdates, *cancelled)}
    kept: dict[str, EventData] = {}
    for override in overrides:
        assert override.recurrence_id is not None
        key = override.recurrence_id.key()
        if override.status == "CANCELLED":
            exdates[key] = override.recurrence_id
        else:
            kept[key] = override
    for key in exdates:
        kept.pop(key, None)
    kept = drop_plain(master, kept)
    master = within_rule(replace(master, exdates=tuple(exdates[k] for k in sorted(exdates))))
    return ResourceData(uid=uid, master=master, overrides=tuple(kept[k] for k in sorted(kept)))
