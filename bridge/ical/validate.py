"""The validation gate for iCalendar resources.

:func:`parse_resource` takes the text of one calendar object resource (one ``VCALENDAR`` holding
one UID: a master component and its ``RECURRENCE-ID`` overrides, plus ``VTIMEZONE`` blocks) and
either returns a :class:`ParsedResource` with everything the store indexes, or raises
:class:`~bridge.errors.InvalidICalendar` with a clear message.  Checks happen cheapest first, so
hostile input (huge lines, deep nesting, binary garbage) is refused before the parser sees it.
:func:`parse_calendar` runs the same checks when the ``Calendar`` object is already at hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Component

from bridge.errors import InvalidICalendar
from bridge.ical.fastpaths import parse_calendar_text
from bridge.ical.normalize import content_hash
from bridge.ical.precheck import Limits, decode_text, precheck
from bridge.ical.recurrence import TooManyOccurrences, last_start
from bridge.ical.timezones import resolve_mixed_pair
from bridge.model import ParsedResource

__all__ = [
    "BOOKED_ONLINE_PROP",
    "CUSTOMER_LANGUAGE_PROP",
    "TIMESTAMP_MAX",
    "TIMESTAMP_MIN",
    "Limits",
    "ParsedResource",
    "as_calendar",
    "decode_text",
    "parse_calendar",
    "parse_resource",
    "parse_resource_calendar",
    "to_utc_timestamp",
]

# Same bounds as Radicale's ``radicale.item.filter`` so time ranges compare directly.
TIMESTAMP_MIN = int(datetime(1900, 1, 1, tzinfo=UTC).timestamp())
TIMESTAMP_MAX = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp())

CALENDAR_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")
# The language a customer chose (booking page): their e-mails are written in it (de, en).
CUSTOMER_LANGUAGE_PROP = "X-TERMIN-CUSTOMER-LANGUAGE"
# ``TRUE`` on an appointment the customer booked on the booking page: their e-mails carry the
# cancel/reschedule link, also after the staff moved it.
BOOKED_ONLINE_PROP = "X-TERMIN-BOOKED-ONLINE"
CUSTOMER_PROPS = {
    "X-TERMIN-CUSTOMER-NAME": "customer_name",
    "X-TERMIN-CUSTOMER-EMAIL": "customer_email",
    "X-TERMIN-CUSTOMER-PHONE": "customer_phone",
    "X-TERMIN-SERVICE": "service",
}


def to_utc_timestamp(value: date | datetime) -> int:
    """POSIX seconds of a DATE or DATE-TIME; dates and floating times count as UTC (as Radicale)."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def _parse(text: str) -> Calendar:
    try:
        cal = parse_calendar_text(text)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError,
            RecursionError) as exc:
        # AttributeError: icalendar on a VTIMEZONE with two TZIDs (found by fuzzing).
        raise InvalidICalendar(f"cannot parse iCalendar data: {exc}") from exc
    _check_parse_errors(cal)
    return cal


def _check_parse_errors(cal: Calendar) -> None:
    for comp in cal.walk():
        if comp.errors:
            prop, message = comp.errors[0]
            raise InvalidICalendar(f"invalid {comp.name} property {prop}: {message}")


def _components(cal: Calendar) -> list[Component]:
    comps = [c for c in cal.subcomponents if c.name != "VTIMEZONE"]
    if not comps:
        raise InvalidICalendar("the calendar holds no VEVENT, VTODO or VJOURNAL")
    names = {str(c.name) for c in comps}
    if len(names) > 1:
        raise InvalidICalendar(
            "one resource must hold one component type, found " + ", ".join(sorted(names))
        )
    name = next(iter(names))
    if name not in CALENDAR_COMPONENTS:
        raise InvalidICalendar(f"unsupported component {name} in a calendar")
    return comps


def _uid(comps: list[Component]) -> str:
    uids = set()
    for comp in comps:
        values = comp.get("UID")
        if values is None:
            raise InvalidICalendar(f"{comp.name} without UID")
        if isinstance(values, list):
            raise InvalidICalendar(f"{comp.name} has more than one UID")
        uids.add(str(values))
    if len(uids) > 1:
        raise InvalidICalendar("one resource must hold one UID, found " + ", ".join(sorted(uids)))
    uid = uids.pop()
    if not uid.strip() or len(uid) > 1024:
        raise InvalidICalendar("UID must be 1 to 1024 characters")
    return uid


def _dt(comp: Component, name: str, uid: str) -> date | datetime | None:
    prop = comp.get(name)
    if prop is None:
        return None
    if isinstance(prop, list):
        raise InvalidICalendar(f"{name} appears more than once", uid=uid)
    value = prop.dt
    tzid = prop.params.get("TZID")
    if isinstance(value, datetime) and tzid and value.tzinfo is None:
        raise InvalidICalendar(
            f"unknown time zone {tzid!r} in {name}: use an IANA name such as Europe/Berlin or "
            "include a VTIMEZONE",
            uid=uid,
        )
    if not isinstance(value, date):
        raise InvalidICalendar(f"{name} must be a DATE or DATE-TIME", uid=uid)
    return value


def _span(comp: Component, uid: str) -> tuple[date | datetime | None, timedelta]:
    """DTSTART and the duration of one component (DTEND/DUE or DURATION)."""
    start = _dt(comp, "DTSTART", uid)
    end_name = "DUE" if comp.name == "VTODO" else "DTEND"
    end = _dt(comp, end_name, uid)
    duration_prop = comp.get("DURATION")
    if comp.name == "VEVENT" and start is None:
        raise InvalidICalendar("VEVENT without DTSTART", uid=uid)
    if end is not None and duration_prop is not None:
        raise InvalidICalendar(f"{end_name} and DURATION must not both be present", uid=uid)
    if start is None:
        return None, timedelta(0)
    if end is not None:
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise InvalidICalendar(f"DTSTART and {end_name} must both be dates or date-times",
                                   uid=uid)
        # A floating time next to a zoned one is read in the zone of the other (what stock
        # Radicale stores and some web clients write); the text stays as sent.
        start, end = resolve_mixed_pair(start, end)
        # Aware datetimes sharing one tzinfo subtract as wall time; compare instants instead.
        delta = _as_dt(end).astimezone(UTC) - _as_dt(start).astimezone(UTC)
        if delta < timedelta(0):
            raise InvalidICalendar(f"{end_name} is before DTSTART", uid=uid)
        return start, delta
    if duration_prop is not None:
        delta = duration_prop.dt
        if not isinstance(delta, timedelta) or delta < timedelta(0):
            raise InvalidICalendar("DURATION must be a non-negative duration", uid=uid)
        return start, delta
    if not isinstance(start, datetime):
        return start, timedelta(days=1)  # RFC 5545: an all-day event without end lasts one day
    return start, timedelta(0)


def _as_dt(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _rrule_lines(comp: Component, uid: str, limits: Limits) -> list[str]:
    if "EXRULE" in comp:
        raise InvalidICalendar("EXRULE is not supported; use EXDATE", uid=uid)
    rules = comp.get("RRULE")
    if rules is None:
        return []
    if isinstance(rules, list):
        raise InvalidICalendar("more than one RRULE in one component", uid=uid)
    freq = rules.get("FREQ", [None])[0]
    if freq in ("SECONDLY", "MINUTELY"):
        raise InvalidICalendar(f"RRULE FREQ={freq} is not allowed", uid=uid)
    if freq not in ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        raise InvalidICalendar(f"RRULE has an invalid FREQ {freq!r}", uid=uid)
    count = rules.get("COUNT", [None])[0]
    if count is not None and not 0 < int(count) <= limits.max_count:
        raise InvalidICalendar(f"RRULE COUNT must be 1 to {limits.max_count}", uid=uid)
    if count is not None and rules.get("UNTIL"):
        raise InvalidICalendar("RRULE must not have both COUNT and UNTIL", uid=uid)
    return [rules.to_ical().decode("utf-8")]


def _expand_end(
    start: date | datetime, duration: timedelta, rule: str, comp: Component, uid: str,
    limits: Limits,
) -> int:
    """End timestamp of the last occurrence, or TIMESTAMP_MAX for an unbounded series."""
    upper = rule.upper()
    if "COUNT=" not in upper and "UNTIL=" not in upper:
        return TIMESTAMP_MAX
    until = rules_until(comp)
    if until is not None and _as_dt(until) < _as_dt(start):
        raise InvalidICalendar("RRULE UNTIL is before DTSTART", uid=uid)
    try:
        last = last_start(rule, start, limit=limits.max_occurrences)
    except TooManyOccurrences as exc:
        raise InvalidICalendar(str(exc), uid=uid) from exc
    except ValueError as exc:
        raise InvalidICalendar(f"invalid RRULE: {exc}", uid=uid) from exc
    if last is None:
        return to_utc_timestamp(start) + int(duration.total_seconds())
    return to_utc_timestamp(last) + int(duration.total_seconds())


def rules_until(comp: Component) -> date | datetime | None:
    """The UNTIL value of the component's RRULE, if any."""
    rule = comp.get("RRULE")
    if rule is None or isinstance(rule, list):
        return None
    until = rule.get("UNTIL")
    return until[0] if until else None


def _extra_dates(comp: Component, name: str) -> Iterator[date | datetime]:
    values = comp.get(name)
    if values is None:
        return
    for prop in values if isinstance(values, list) else [values]:
        for item in prop.dts:
            dt = item.dt
            if isinstance(dt, date):
                yield dt


def _text(comp: Component, name: str) -> str | None:
    value = comp.get(name)
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0]
    text = str(value).strip()
    return text or None


def parse_resource(data: str | bytes, limits: Limits | None = None) -> ParsedResource:
    """Validate one calendar object resource and compute its index columns."""
    return parse_resource_calendar(data, limits)[0]


def parse_resource_calendar(data: str | bytes, limits: Limits | None = None
                            ) -> tuple[ParsedResource, Calendar]:
    """:func:`parse_resource`, also returning the parsed ``Calendar`` (no second parse)."""
    limits = limits or Limits()
    text = decode_text(data)
    precheck(text, limits)
    cal = _parse(text)
    return _validate(cal, text, limits), cal


def as_calendar(source: str | ParsedResource | Calendar) -> Calendar:
    """The ``Calendar`` of a resource for a mapping: text goes through the gate (parsed once),
    a :class:`ParsedResource` (validated already) is parsed, a ``Calendar`` is taken as it is."""
    if isinstance(source, Calendar):
        return source
    if not isinstance(source, ParsedResource):
        return parse_resource_calendar(source)[1]
    return parse_calendar_text(source.text)


def parse_calendar(cal: Calendar, data: str | bytes, limits: Limits | None = None
                   ) -> ParsedResource:
    """:func:`parse_resource` for a resource whose ``Calendar`` is at hand: no second parse.

    ``cal`` must be what ``Calendar.from_ical(data)`` gives (or the object ``data`` was
    serialised from).  Every check of :func:`parse_resource` runs: the raw-text checks on
    ``data``, the parser's recorded errors and all structural checks on ``cal``; the result is
    equal to ``parse_resource(data, limits)``.
    """
    limits = limits or Limits()
    text = decode_text(data)
    precheck(text, limits)
    if not isinstance(cal, Calendar):
        raise TypeError(f"parse_calendar needs a Calendar, not a {type(cal).__name__}")
    _check_parse_errors(cal)
    return _validate(cal, text, limits)


def _validate(cal: Calendar, text: str, limits: Limits) -> ParsedResource:
    comps = _components(cal)
    uid = _uid(comps)
    masters = [c for c in comps if "RECURRENCE-ID" not in c]
    if len(masters) > 1:
        raise InvalidICalendar("more than one component without RECURRENCE-ID", uid=uid)
    seen_rids: set[int] = set()
    starts: list[int] = []
    ends: list[int] = []
    recurring = False
    for comp in comps:
        start, duration = _span(comp, uid)
        if "RECURRENCE-ID" in comp:
            rid = _dt(comp, "RECURRENCE-ID", uid)
            assert rid is not None
            key = to_utc_timestamp(rid)
            if key in seen_rids:
                raise InvalidICalendar("two overrides share one RECURRENCE-ID", uid=uid)
            seen_rids.add(key)
            recurring = True
        rules = _rrule_lines(comp, uid, limits) if "RECURRENCE-ID" not in comp else []
        if start is None:
            continue
        starts.append(to_utc_timestamp(start))
        end_ts = to_utc_timestamp(start) + int(duration.total_seconds())
        if rules:
            recurring = True
            end_ts = _expand_end(start, duration, rules[0], comp, uid, limits)
        for extra in _extra_dates(comp, "RDATE"):
            recurring = True
            starts.append(to_utc_timestamp(extra))
            end_ts = max(end_ts, to_utc_timestamp(extra) + int(duration.total_seconds()))
        ends.append(end_ts)
    master = masters[0] if masters else comps[0]
    fields = {col: _text(master, prop) for prop, col in CUSTOMER_PROPS.items()}
    return ParsedResource(
        text=text,
        uid=uid,
        component=str(master.name),
        start_ts=max(TIMESTAMP_MIN, min(starts)) if starts else TIMESTAMP_MIN,
        end_ts=min(TIMESTAMP_MAX, max(ends)) if ends else TIMESTAMP_MAX,
        recurring=recurring,
        content_hash=content_hash(cal),
        summary=_text(master, "SUMMARY") or "",
        status=(_text(master, "STATUS") or "CONFIRMED").upper(),
        customer_name=fields["customer_name"],
        customer_email=fields["customer_email"],
        customer_phone=fields["customer_phone"],
        service=fields["service"],
    )
