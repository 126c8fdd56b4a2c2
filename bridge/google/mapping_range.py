"""``RANGE=THISANDFUTURE`` overrides as two series, the way Google splits "this and following".

Google has no ranged overrides.  Its own "this and following events" ends the old series with
an ``UNTIL`` just before the instance and creates a new series (its own event, its own
``iCalUID``) from that instance on.  :func:`split_this_and_future` does the same to an iCalendar
resource: the old resource keeps the UID (its rule ends with ``UNTIL`` one second, or one day
for all-day series, before the split instance; earlier ``EXDATE``/``RDATE`` values and
overrides stay), and a new resource with the UID :func:`range_uid` starts at the ranged
override (its properties, its start and end), with the rule of the old series (``COUNT``
reduced by the instances before the split, ``UNTIL`` moved with the series) and the later
``EXDATE``/``RDATE`` values and overrides moved by the same time difference (RFC 5545
§3.8.4.4: "all subsequent instances are also rescheduled by the same time difference").
Each later override keeps its own properties; a later ranged override splits the new series
again.  The instances the two resources show are the ones the ranged override meant, so phones
and Google show the same.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from dateutil.rrule import rrulestr
from icalendar import Calendar, Component, Event, vRecur

from bridge.ical.recurrence import date_values

__all__ = ["has_range", "range_uid", "split_this_and_future"]

_MAX_COUNT_STEPS = 20_000  # the validation gate caps a series at 20,000 instances


def has_range(text: str) -> bool:
    """True when the resource text may hold a ``RANGE=THISANDFUTURE`` override (cheap check)."""
    return "THISANDFUTURE" in text.upper()


def _stamp(value: date | datetime) -> str:
    if not isinstance(value, datetime):
        return value.strftime("%Y%m%d")
    if value.tzinfo is None:
        return value.strftime("%Y%m%dT%H%M%S")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def range_uid(uid: str, recurrence_id: date | datetime) -> str:
    """The UID of the series split off ``uid`` at ``recurrence_id`` (deterministic)."""
    return f"{uid}-R{_stamp(recurrence_id)}"


def _is_ranged(comp: Component) -> bool:
    rid = comp.get("RECURRENCE-ID")
    return rid is not None and str(rid.params.get("RANGE", "")).upper() == "THISANDFUTURE"


def _get(comp: Component, name: str) -> Any:
    """A property of ``comp`` (icalendar's value types are a wide union)."""
    return comp[name]


def _rid(comp: Component) -> Any:
    return _get(comp, "RECURRENCE-ID").dt


def _comparable(value: date | datetime, ref: date | datetime) -> date | datetime:
    """``value`` in the form of ``ref`` (date, floating or aware) so the two compare."""
    if not isinstance(ref, datetime):
        return value.date() if isinstance(value, datetime) else value
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if ref.tzinfo is None:
        return value.replace(tzinfo=None) if value.tzinfo is None else (
            value.astimezone(UTC).replace(tzinfo=None))
    return value if value.tzinfo is not None else value.replace(tzinfo=ref.tzinfo)


def _before(value: date | datetime, split: date | datetime) -> bool:
    return _comparable(value, split) < split


def _shift(value: date | datetime, delta: timedelta) -> date | datetime:
    """``value`` moved by ``delta`` on the wall clock of its own zone."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return (value.replace(tzinfo=None) + delta).replace(tzinfo=value.tzinfo)
    return value + delta


def _set_dates(comp: Component, name: str, values: list[date | datetime]) -> None:
    comp.pop(name, None)
    for value in values:
        comp.add(name, value)


def _copy(comp: Component) -> Component:
    out = Event.from_ical(comp.to_ical())
    assert isinstance(out, Component)
    return out


def _until_before(split: date | datetime) -> date | datetime:
    if not isinstance(split, datetime):
        return split - timedelta(days=1)
    last = split - timedelta(seconds=1)
    return last.astimezone(UTC) if last.tzinfo is not None else last


def _rule_text(rule: vRecur) -> str:
    return str(rule.to_ical().decode("utf-8"))  # type: ignore[no-untyped-call]


def _count_before(master: Component, rule: vRecur, split: date | datetime) -> int:
    start = _get(master, "DTSTART").dt
    first = start if isinstance(start, datetime) else datetime(start.year, start.month, start.day)
    bound = _comparable(split, first)
    count = 0
    for count, value in enumerate(rrulestr(_rule_text(rule), dtstart=first)):
        if value >= bound or count >= _MAX_COUNT_STEPS:
            return count
    return count + 1


def _old_rule(rule: vRecur, split: date | datetime) -> vRecur:
    out = vRecur({k: v for k, v in rule.items() if k.upper() != "COUNT"})
    until = _until_before(split)
    current = rule.get("UNTIL")
    if current:
        until = min(_comparable(current[0], until), until)
    out["UNTIL"] = [until]
    return out


def _new_rule(master: Component, rule: vRecur, split: date | datetime,
              delta: timedelta) -> vRecur:
    out = vRecur(dict(rule))
    if rule.get("COUNT"):
        out["COUNT"] = [max(1, int(rule["COUNT"][0]) - _count_before(master, rule, split))]
    if rule.get("UNTIL"):
        out["UNTIL"] = [_shift(rule["UNTIL"][0], delta)]
    return out


def _split_once(cal: Calendar) -> tuple[Calendar, Calendar | None] | None:
    """Split at the earliest ranged override: (old or only series, new series or None)."""
    zones = [c for c in cal.subcomponents if c.name == "VTIMEZONE"]
    events = [c for c in cal.subcomponents if c.name == "VEVENT"]
    masters = [c for c in events if "RECURRENCE-ID" not in c]
    ranged = sorted((c for c in events if _is_ranged(c)), key=lambda c: _stamp(_rid(c)))
    if not ranged:
        return None
    pivot = ranged[0]
    split = _rid(pivot)
    if not masters or masters[0].get("RRULE") is None:
        # No rule to continue: the range covers this instance only.
        del _get(pivot, "RECURRENCE-ID").params["RANGE"]
        return cal, None
    master = masters[0]
    rule = _get(master, "RRULE")
    start = _get(pivot, "DTSTART").dt
    delta = _comparable(start, split) - split
    uid = str(master["UID"])

    new_master = _copy(pivot)
    del new_master["RECURRENCE-ID"]
    new_master.add("RRULE", _new_rule(master, rule, split, delta))
    _set_dates(new_master, "EXDATE",
               [_shift(v, delta) for v in date_values(master, "EXDATE") if not _before(v, split)])
    _set_dates(new_master, "RDATE",
               [_shift(v, delta) for v in date_values(master, "RDATE") if not _before(v, split)])
    later: list[Component] = []
    for comp in events:
        if comp is master or comp is pivot or _before(_rid(comp), split):
            continue
        moved = _copy(comp)
        params = dict(_get(comp, "RECURRENCE-ID").params)
        del moved["RECURRENCE-ID"]
        moved.add("RECURRENCE-ID", _shift(_rid(comp), delta))
        if str(params.get("RANGE", "")).upper() == "THISANDFUTURE":
            _get(moved, "RECURRENCE-ID").params["RANGE"] = "THISANDFUTURE"
        later.append(moved)

    first = _get(master, "DTSTART").dt
    if not _before(first, split):
        # Split at the first instance: the new series replaces the whole series.
        return _calendar(cal, zones, [new_master, *later], uid), None
    old_master = _copy(master)
    old_master["RRULE"] = _old_rule(rule, split)
    for name in ("EXDATE", "RDATE"):
        _set_dates(old_master, name, [v for v in date_values(master, name) if _before(v, split)])
    earlier = [c for c in events if c is not master and c is not pivot
               and _before(_rid(c), split)]
    old = _calendar(cal, zones, [old_master, *earlier], uid)
    return old, _calendar(cal, zones, [new_master, *later], range_uid(uid, split))


def _calendar(template: Calendar, zones: list[Component], events: list[Component],
              uid: str) -> Calendar:
    out = Calendar()
    for key, value in template.items():
        out[key] = value
    for tz in zones:
        out.add_component(tz)
    for event in events:
        event["UID"] = uid
        out.add_component(event)
    return out


def split_this_and_future(text: str) -> list[str]:
    """The resources ``text`` becomes once its ``RANGE=THISANDFUTURE`` overrides are split.

    The first text keeps the UID; the others are new series (UIDs from :func:`range_uid`), in
    order.  ``[text]`` unchanged when the resource has no ranged override.  ``text`` is a
    validated resource.
    """
    if not has_range(text):
        return [text]
    cal = Calendar.from_ical(text)
    assert isinstance(cal, Calendar)
    done: list[Calendar] = []
    pending: Calendar | None = cal
    changed = False
    while pending is not None:
        result = _split_once(pending)
        if result is None:
            done.append(pending)
            break
        changed = True
        head, pending = result
        if pending is None:
            pending = head  # the same series again: it may hold a later ranged override
            continue
        done.append(head)
    if not changed:
        return [text]
    return [c.to_ical().decode("utf-8") for c in done]
