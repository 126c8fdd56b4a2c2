"""Reading the fields of a parsed VEVENT, shared by the provider mappings (pure).

Text is cleaned the one way the bridge cleans text (:mod:`bridge.text`); RRULE values get one
canonical spelling; RDATE/EXDATE values are expressed like the series' start.  Each provider's
reader (``bridge.google.mapping_ical``, ``bridge.microsoft.mapping_ical``) builds its projection
of the model from these.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from icalendar import Calendar, Component, vRecur

from bridge.ical.model import Attendee, Moment, UnsupportedResource
from bridge.ical.moments import add_duration, as_style, moment_from_ical
from bridge.ical.recurrence import normalize_until, until_text
from bridge.ical.timezones import resolve_mixed_pair
from bridge.text import multi_line, one_line

__all__ = [
    "PARTSTATS",
    "alarm_before",
    "all_values",
    "attendees",
    "block_text",
    "canonical_rrule",
    "date_list",
    "day_of",
    "dt_value",
    "email_address",
    "line_text",
    "param",
    "span",
    "start_end",
    "text_value",
    "vevents",
]

PARTSTATS = ("NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE")


def all_values(comp: Component, name: str) -> list[Any]:
    """Every value of property ``name`` of ``comp`` (a list, also for one value)."""
    value = comp.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def text_value(comp: Component, name: str) -> str | None:
    """The text of the first ``name`` property, ``None`` when absent or empty."""
    values = all_values(comp, name)
    if not values:
        return None
    text = str(values[0])
    return text or None


def line_text(value: object) -> str | None:
    """A one-line text field (summary, location, names) as both sides of the mapping see it:
    cleaned by :func:`bridge.text.one_line`, ``None`` when nothing is left."""
    return (one_line(value) or None) if value else None


def block_text(value: object) -> str | None:
    """A multi-line text field (description), cleaned by :func:`bridge.text.multi_line`."""
    return (multi_line(value) or None) if value else None


def email_address(address: object) -> str | None:
    """The lower-cased e-mail address of a ``mailto:`` (or bare) address, else ``None``."""
    text = str(address).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    text = text.strip()
    if "@" not in text or ":" in text or not text:
        return None  # the providers need an e-mail address; tel:, urn: and the like are dropped
    return text.lower()


def param(prop: object, name: str) -> str | None:
    """Parameter ``name`` of a property value, ``None`` when absent or empty."""
    params = getattr(prop, "params", None) or {}
    value = params.get(name)
    if value is None:
        return None
    text = str(value)
    return text or None


def canonical_rrule(value: vRecur | str) -> str:
    """One canonical text for an RRULE value (FREQ first, UNTIL in UTC when zoned)."""
    rule = vRecur.from_ical(value) if isinstance(value, str) else value
    parts: list[str] = []
    items = {str(k).upper(): v for k, v in rule.items()}
    order = ["FREQ", *sorted(k for k in items if k != "FREQ")]
    for key in order:
        if key not in items:
            continue
        values = items[key] if isinstance(items[key], list) else [items[key]]
        rendered: list[str] = []
        for item in values:
            if key == "UNTIL" and isinstance(item, date):
                rendered.append(until_text(normalize_until(item)))
            else:
                single = str(vRecur({key: [item]}).to_ical().decode("utf-8"))  # type: ignore[no-untyped-call]
                rendered.append(single.split("=", 1)[1])
        parts.append(f"{key}={','.join(rendered)}")
    return ";".join(parts)


def date_list(comp: Component, name: str, ref: Moment, ref_tz: str) -> tuple[Moment, ...]:
    """The RDATE/EXDATE values of ``comp`` in the style of ``ref`` (deduplicated, sorted)."""
    out: dict[str, Moment] = {}
    for prop in all_values(comp, name):
        for item in getattr(prop, "dts", []):
            value = item.dt
            if isinstance(value, tuple):  # PERIOD: Google has no periods, keep the start
                value = value[0]
            if not isinstance(value, date):
                continue
            moment = as_style(moment_from_ical(value), ref, ref_tz=ref_tz)
            out[moment.key()] = moment
    return tuple(out[k] for k in sorted(out))


def span(start: Moment, end: Moment) -> timedelta:
    """The length of ``start``..``end`` (whole days for dates)."""
    a, b = start.value, end.value
    if isinstance(a, datetime) and isinstance(b, datetime):
        return b - a
    return timedelta(days=(day_of(b) - day_of(a)).days)


def day_of(value: date) -> date:
    """The date of a date or datetime."""
    return value.date() if isinstance(value, datetime) else value


def attendees(comp: Component) -> tuple[Attendee, ...]:
    """The ATTENDEEs with an e-mail address, sorted, one per address."""
    out: dict[str, Attendee] = {}
    for prop in all_values(comp, "ATTENDEE"):
        email = email_address(prop)
        if email is None:
            continue
        partstat = (param(prop, "PARTSTAT") or "NEEDS-ACTION").upper()
        role = (param(prop, "ROLE") or "REQ-PARTICIPANT").upper()
        cutype = (param(prop, "CUTYPE") or "INDIVIDUAL").upper()
        out[email] = Attendee(
            email=email,
            name=line_text(param(prop, "CN")),
            partstat=partstat if partstat in PARTSTATS else "NEEDS-ACTION",
            optional=role in ("OPT-PARTICIPANT", "NON-PARTICIPANT"),
            resource=cutype in ("RESOURCE", "ROOM"),
        )
    return tuple(out[k] for k in sorted(out))


def dt_value(comp: Component, name: str) -> Any:
    """The ``.dt`` value of property ``name``."""
    prop: Any = comp[name]
    return prop.dt


def start_end(comp: Component) -> tuple[Moment, Moment]:
    """DTSTART and the end (DTEND, DTSTART + DURATION, or the RFC 5545 default) of a VEVENT.

    A floating time next to a zoned one is read in the other's zone (as validated); an all-day
    end not after the start becomes the next day (every provider needs end > start).
    """
    start = moment_from_ical(dt_value(comp, "DTSTART"))
    if "DTEND" in comp:
        raw_start, raw_end = resolve_mixed_pair(dt_value(comp, "DTSTART"), dt_value(comp, "DTEND"))
        start, end = moment_from_ical(raw_start), moment_from_ical(raw_end)
    elif "DURATION" in comp:
        end = add_duration(start, dt_value(comp, "DURATION"))
    else:
        end = add_duration(start, timedelta(days=1) if start.kind == "date" else timedelta(0))
    if start.kind == "date" and day_of(end.value) <= day_of(start.value):
        end = Moment(day_of(start.value) + timedelta(days=1))
    return start, end


def alarm_before(alarm: Component, start: Moment, end: Moment) -> timedelta | None:
    """How long before ``start`` a VALARM triggers (negative: after it), ``None`` when it has
    no usable TRIGGER (none, or an absolute time next to an all-day start)."""
    trigger = alarm.get("TRIGGER")
    if trigger is None:
        return None
    value = trigger.dt
    if isinstance(value, timedelta):
        if (param(trigger, "RELATED") or "START").upper() == "END":
            return -(span(start, end) + value)
        return -value
    if isinstance(value, datetime) and isinstance(start.value, datetime):
        first = start.value if start.value.tzinfo else start.value.replace(tzinfo=UTC)
        when = value if value.tzinfo else value.replace(tzinfo=first.tzinfo)
        return first - when
    return None


def vevents(cal: Calendar, *, provider: str) -> tuple[str, Component, list[Component]]:
    """UID, master VEVENT and overrides of a validated resource; raises
    :class:`~bridge.ical.model.UnsupportedResource` for what no provider can create."""
    comps = [c for c in cal.subcomponents if c.name != "VTIMEZONE"]
    if not comps or comps[0].name != "VEVENT":
        raise UnsupportedResource(
            f"only VEVENT resources can be synchronised with {provider}", provider=provider
        )
    uid = str(comps[0]["UID"])
    masters = [c for c in comps if "RECURRENCE-ID" not in c]
    if not masters:
        raise UnsupportedResource(
            f"overrides without their recurring master cannot be created on {provider}",
            uid=uid, provider=provider,
        )
    return uid, masters[0], [c for c in comps if c is not masters[0]]
