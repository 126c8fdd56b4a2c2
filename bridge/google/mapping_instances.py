"""Plain occurrences of a series: an override that changes nothing is no override.

Google keeps an exception object once an instance was written, even after it was set back to
the series' values (that is how a removed override is reverted on Google).  Such an exception,
and an iCalendar override identical to its occurrence, hold no content of their own: both model
builders drop them (:func:`drop_plain`), so they never come back as a change and both sides stay
in one hash space.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bridge.google.mapping_model import EventData, Moment, event_canon
from bridge.google.mapping_time import add_duration, zone

__all__ = ["beyond_until", "drop_plain", "is_plain", "plain_instance", "rule_until", "within_rule"]


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


def rule_until(rrule: str | None) -> str | None:
    """The ``UNTIL`` value of a canonical RRULE text (``20300325T085959Z``, a date, ...)."""
    for part in (rrule or "").split(";"):
        name, _, value = part.partition("=")
        if name.upper() == "UNTIL" and value:
            return value.upper()
    return None


def beyond_until(until: str | None, key: str) -> bool:
    """True when the instance ``key`` (``Moment.key()`` without its kind letter, or an instance
    id suffix) starts after the rule's ``until`` (same form: compared exactly; else by day)."""
    if not until:
        return False
    if len(until) == len(key) and until.endswith("Z") == key.endswith("Z"):
        return key > until
    return key[:8] > until[:8]


def within_rule(master: EventData) -> EventData:
    """``master`` without EXDATEs after its rule's ``UNTIL`` (they exclude nothing).

    Google keeps the cancelled exceptions of a series whose rule was ended early (a split):
    they map to such EXDATEs, which must not count as content on either side.
    """
    until = rule_until(master.rrule)
    if until is None:
        return master
    rdates = {m.key() for m in master.rdates}
    kept = tuple(m for m in master.exdates
                 if m.key() in rdates or not beyond_until(until, m.key()[1:]))
    return master if len(kept) == len(master.exdates) else replace(master, exdates=kept)
