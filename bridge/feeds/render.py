"""Render a calendar's events as one ICS feed, at a privacy level, without any I/O.

Privacy is enforced by construction: every output ``VEVENT`` is a new component filled from an
allow-list of properties for its level (:data:`LEVEL_FIELDS`); nothing is copied and then
deleted, so a property added to stored events later cannot leak by default.

- ``busy``: times, recurrence, status and transparency only; the summary is "Busy"; cancelled
  and transparent events are left out.
- ``limited``: as ``busy`` plus the booked service as the summary; no customer data.
- ``full``: everything useful to a subscriber (summary, description, location, attendees,
  customer fields).  Events marked ``CLASS:PRIVATE``/``CONFIDENTIAL`` show at ``busy`` detail
  in every feed.

Series keep their ``RRULE``, ``RDATE``/``EXDATE`` and ``RECURRENCE-ID`` overrides; every
``TZID`` used gets a ``VTIMEZONE``; UIDs are stable (hashed below ``full``); ``DTSTAMP`` is the
item's modification time so a feed renders to the same bytes until something changes.

Use :func:`render_feed` with the items of :func:`feed_window`; pass one :class:`ItemCache` across
renders so only changed items are rebuilt.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Final

from icalendar import Calendar, Component, vDuration, vRecur

from bridge.feeds.values import (
    MAX_LINE_TEXT,
    MAX_MULTILINE_TEXT,
    clean_param,
    clean_uri,
    css_color_name,
    hex_color,
)
from bridge.feeds.zones import feed_zone, vtimezone_bytes
from bridge.ical.recurrence import normalize_until
from bridge.model import Collection, ItemRecord
from bridge.store.feeds import Privacy
from bridge.text import multi_line, one_line

__all__ = [
    "LEVEL_FIELDS",
    "RENDER_VERSION",
    "FeedWindow",
    "ItemCache",
    "feed_uid",
    "feed_window",
    "render_feed",
    "render_item",
]

_LOGGER = logging.getLogger(__name__)

# Part of every ETag: bump when the output format changes so caches revalidate.
RENDER_VERSION: Final = 1
PRODID: Final = "-//termin-bridge//ICS feed//EN"
_TIME_FIELDS = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "RRULE", "RDATE", "EXDATE")
_BASE_FIELDS = ("UID", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE", "STATUS", "TRANSP", *_TIME_FIELDS)
# The properties each level may emit; the code below only ever adds names from this table.
LEVEL_FIELDS: Final[dict[str, frozenset[str]]] = {
    "busy": frozenset((*_BASE_FIELDS, "SUMMARY")),
    "limited": frozenset((*_BASE_FIELDS, "SUMMARY")),
    "full": frozenset((
        *_BASE_FIELDS, "SUMMARY", "DESCRIPTION", "LOCATION", "CATEGORIES", "URL", "CLASS",
        "ORGANIZER", "ATTENDEE", "CONTACT", "X-TERMIN-CUSTOMER-NAME", "X-TERMIN-CUSTOMER-EMAIL",
        "X-TERMIN-CUSTOMER-PHONE", "X-TERMIN-SERVICE",
    )),
}
_RRULE_PARTS = (
    "FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
    "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST",
)
_STATUS = frozenset({"TENTATIVE", "CONFIRMED", "CANCELLED"})
_TRANSP = frozenset({"OPAQUE", "TRANSPARENT"})
_CLASS = frozenset({"PUBLIC", "PRIVATE", "CONFIDENTIAL"})
_PARTSTAT = frozenset({"NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE", "DELEGATED"})
_URI_PROPS = frozenset({"URL", "ORGANIZER", "ATTENDEE"})
_BUSY_SUMMARY = "Busy"
_LIMITED_FALLBACK = "Appointment"


def _escape(text: str) -> str:
    """RFC 5545 TEXT escaping (the text is already free of CR and controls)."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def _param(name: str, value: str) -> str:
    if name == "CN":
        return f'"{value}"'  # clean_param removed quotes and breaks
    return value


def _time_value(value: date | datetime) -> tuple[str, str]:
    """Parameters and text of a DATE or DATE-TIME (UTC, a ZoneInfo zone, or floating)."""
    if not isinstance(value, datetime):
        return ";VALUE=DATE", value.strftime("%Y%m%d")
    text = value.strftime("%Y%m%dT%H%M%S")
    if value.tzinfo is None:
        return "", text
    key = getattr(value.tzinfo, "key", None)
    if key is None:
        return "", value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f";TZID={key}", text


def _fold(line: str) -> bytes:
    """One content line folded at 75 octets, never inside a UTF-8 sequence."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return raw + b"\r\n"
    parts = []
    start, limit = 0, 75
    while start < len(raw):
        end = min(start + limit, len(raw))
        while end < len(raw) and raw[end] & 0xC0 == 0x80:
            end -= 1
        parts.append(raw[start:end])
        start, limit = end, 74
    return b"\r\n ".join(parts) + b"\r\n"



@dataclass(frozen=True)
class FeedWindow:
    """The time range a feed covers, as POSIX seconds (start inclusive, end exclusive)."""

    start: int
    end: int
    anchor: date


def feed_window(now: float, past_days: int, future_days: int) -> FeedWindow:
    """The window around ``now``, anchored at UTC midnight so it moves once a day."""
    anchor = datetime.fromtimestamp(now, UTC).date()
    midnight = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC)
    start = midnight - timedelta(days=past_days)
    end = midnight + timedelta(days=future_days + 1)
    return FeedWindow(int(start.timestamp()), int(end.timestamp()), anchor)


def feed_uid(uid: str, privacy: Privacy) -> str:
    """The UID an event has in a feed: its own at ``full``, a stable hash below."""
    if privacy == "full":
        return one_line(uid, limit=MAX_LINE_TEXT)
    digest = hashlib.sha256(b"termin-bridge-feed\0" + uid.encode("utf-8")).hexdigest()
    return f"{digest[:32]}@termin-bridge"


@dataclass(frozen=True)
class RenderedItem:
    """One item's VEVENT blocks and the first date each time zone it uses is needed from."""

    body: bytes
    zones: dict[str, date] = field(default_factory=dict)


class ItemCache:
    """A bounded LRU of rendered items keyed by (etag, modification time, privacy)."""

    def __init__(self, max_items: int = 100_000) -> None:
        self.max_items = max_items
        self._data: OrderedDict[tuple[str, float, str], RenderedItem] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, item: ItemRecord, privacy: Privacy) -> RenderedItem:
        """The rendered item, from the cache or freshly built."""
        key = (item.etag, item.modified_at, privacy)
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
                return hit
        rendered = render_item(item, privacy)
        with self._lock:
            self._data[key] = rendered
            while len(self._data) > self.max_items:
                self._data.popitem(last=False)
        return rendered

    def __len__(self) -> int:
        return len(self._data)


def _first(comp: Component, name: str) -> Any:
    value = comp.get(name)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _upper(comp: Component, name: str) -> str:
    value = _first(comp, name)
    return one_line(value, limit=MAX_LINE_TEXT).upper() if value is not None else ""


class _Builder:
    """Builds one output event; refuses any property its level does not allow.

    Lines are serialised here rather than by ``icalendar.Event.to_ical``: the value types are
    few and known, and this is several times faster on large feeds.
    """

    def __init__(self, level: str, zones: dict[str, date]) -> None:
        self.allowed = LEVEL_FIELDS[level]
        self.lines: list[bytes] = [b"BEGIN:VEVENT\r\n"]
        self.zones = zones

    def add(self, name: str, value: Any, parameters: dict[str, str] | None = None) -> None:
        """Add one property (value: text, list of texts, int, date/time, duration, rule)."""
        if name not in self.allowed:
            raise AssertionError(f"{name} is not allowed at this privacy level")
        params = "".join(f";{k}={_param(k, v)}" for k, v in (parameters or {}).items())
        if isinstance(value, datetime | date):
            extra, text = _time_value(value)
            params += extra
        elif isinstance(value, timedelta):
            text = vDuration(value).to_ical().decode("ascii")  # type: ignore[no-untyped-call]
        elif isinstance(value, vRecur):
            text = value.to_ical().decode("ascii")  # type: ignore[no-untyped-call]
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, list):
            text = ",".join(_escape(str(v)) for v in value)
        elif name in _URI_PROPS:
            text = str(value)  # already checked by clean_uri: no breaks, quotes or controls
        else:
            text = _escape(str(value))
        self.lines.append(_fold(f"{name}{params}:{text}"))

    def to_ical(self) -> bytes:
        """The VEVENT block."""
        return b"".join([*self.lines, b"END:VEVENT\r\n"])

    def when(self, value: date | datetime) -> date | datetime:
        """A time converted to the zone the feed uses for it (noting the VTIMEZONE needed)."""
        if not isinstance(value, datetime) or value.tzinfo is None:
            return value
        zone = feed_zone(value.tzinfo)
        local = value.astimezone(zone)
        key = getattr(zone, "key", None)
        if key is not None:
            first = self.zones.get(key)
            self.zones[key] = local.date() if first is None else min(first, local.date())
        return local


def _times(src: Component, out: _Builder, is_master: bool) -> tuple[tzinfo | None, bool]:
    start_prop = _first(src, "DTSTART")
    start = start_prop.dt if start_prop is not None else None
    if isinstance(start, date):
        out.add("DTSTART", out.when(start))
    end_prop = _first(src, "DTEND")
    if end_prop is not None and isinstance(end_prop.dt, date):
        out.add("DTEND", out.when(end_prop.dt))
    elif (duration := _first(src, "DURATION")) is not None and isinstance(duration.dt, timedelta):
        out.add("DURATION", duration.dt)
    rid = _first(src, "RECURRENCE-ID")
    if rid is not None and isinstance(rid.dt, date):
        params = {"RANGE": "THISANDFUTURE"} if rid.params.get("RANGE") == "THISANDFUTURE" else None
        out.add("RECURRENCE-ID", out.when(rid.dt), parameters=params)
    zone = start.tzinfo if isinstance(start, datetime) else None
    if is_master:
        rule = _first(src, "RRULE")
        if rule is not None:
            out.add("RRULE", _rrule(rule, start))
        for name in ("RDATE", "EXDATE"):
            for value in _dates(src, name):
                out.add(name, out.when(value))
    return zone, isinstance(start, date)


def _rrule(rule: Any, start: Any) -> vRecur:
    parts: dict[str, Any] = {}
    for key in _RRULE_PARTS:
        if key not in rule:
            continue
        values = list(rule[key])
        if key == "UNTIL":
            values = [normalize_until(v, start) for v in values]
        parts[key] = values
    return vRecur(parts)


def _dates(src: Component, name: str) -> Iterable[date | datetime]:
    values = src.get(name)
    if values is None:
        return
    for prop in values if isinstance(values, list) else [values]:
        for item in getattr(prop, "dts", []):
            # PERIOD values (tuples) are rare in bookings and not carried into feeds.
            if isinstance(item.dt, date):
                yield item.dt


def _full_fields(src: Component, out: _Builder) -> None:
    for name in ("SUMMARY", "LOCATION", "X-TERMIN-CUSTOMER-NAME", "X-TERMIN-CUSTOMER-EMAIL",
                 "X-TERMIN-CUSTOMER-PHONE", "X-TERMIN-SERVICE", "CONTACT"):
        value = _first(src, name)
        if value is not None and (text := one_line(value, limit=MAX_LINE_TEXT)):
            out.add(name, text)
    description = _first(src, "DESCRIPTION")
    if description is not None and (text := multi_line(description, limit=MAX_MULTILINE_TEXT)):
        out.add("DESCRIPTION", text)
    cats = [one_line(c, limit=MAX_LINE_TEXT) for c in _category_values(src)]
    if cats := [c for c in cats if c]:
        out.add("CATEGORIES", cats)
    url = _first(src, "URL")
    if url is not None and (uri := clean_uri(url)):
        out.add("URL", uri)
    if (klass := _upper(src, "CLASS")) in _CLASS:
        out.add("CLASS", klass)
    for name in ("ORGANIZER", "ATTENDEE"):
        values = src.get(name)
        for prop in values if isinstance(values, list) else [values] if values else []:
            address = clean_uri(prop)
            if address is None:
                continue
            params: dict[str, str] = {}
            if cn := clean_param(getattr(prop, "params", {}).get("CN", "")):
                params["CN"] = cn
            partstat = one_line(getattr(prop, "params", {}).get("PARTSTAT", "")).upper()
            if name == "ATTENDEE" and partstat in _PARTSTAT:
                params["PARTSTAT"] = partstat
            out.add(name, address, parameters=params or None)


def _category_values(src: Component) -> Iterable[object]:
    values = src.get("CATEGORIES")
    for prop in values if isinstance(values, list) else [values] if values else []:
        yield from getattr(prop, "cats", [])


def _event(src: Component, item: ItemRecord, privacy: Privacy, zones: dict[str, date],
           is_master: bool) -> _Builder:
    level = privacy
    if _upper(src, "CLASS") in ("PRIVATE", "CONFIDENTIAL"):
        level = "busy"  # the author marked it private: no details in any feed
    out = _Builder(level, zones)
    out.add("UID", feed_uid(item.uid, privacy))
    stamp = datetime.fromtimestamp(int(item.modified_at), UTC)
    out.add("DTSTAMP", stamp)
    out.add("LAST-MODIFIED", stamp)
    seq = _first(src, "SEQUENCE")
    try:
        sequence = max(0, min(int(seq), 2**31 - 1)) if seq is not None else 0
    except (TypeError, ValueError):
        sequence = 0
    out.add("SEQUENCE", sequence)
    _times(src, out, is_master)
    if (status := _upper(src, "STATUS")) in _STATUS:
        out.add("STATUS", status)
    if (transp := _upper(src, "TRANSP")) in _TRANSP:
        out.add("TRANSP", transp)
    if level == "busy":
        out.add("SUMMARY", _BUSY_SUMMARY)
    elif level == "limited":
        service = _first(src, "X-TERMIN-SERVICE") or item.service
        summary = one_line(service, limit=MAX_LINE_TEXT) if service else _LIMITED_FALLBACK
        out.add("SUMMARY", summary)
    else:
        _full_fields(src, out)
    return out


def _hidden_when_busy(comp: Component) -> bool:
    return _upper(comp, "STATUS") == "CANCELLED" or _upper(comp, "TRANSP") == "TRANSPARENT"


def render_item(item: ItemRecord, privacy: Privacy) -> RenderedItem:
    """The VEVENT blocks of one stored item at ``privacy`` (empty when the level hides it)."""
    try:
        cal = Calendar.from_ical(item.text)
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
        # One unreadable row (written around the validation gate) must not break the feed.
        _LOGGER.warning("feed: skipping unreadable item %s/%s (%s)", item.collection_path,
                        item.href, type(exc).__name__)
        return RenderedItem(b"")
    events = [c for c in cal.subcomponents if c.name == "VEVENT"]
    masters = [c for c in events if "RECURRENCE-ID" not in c]
    if privacy == "busy" and masters and _hidden_when_busy(masters[0]):
        return RenderedItem(b"")
    zones: dict[str, date] = {}
    blocks = []
    for comp in masters + [c for c in events if "RECURRENCE-ID" in c]:
        if privacy == "busy" and not masters and _hidden_when_busy(comp):
            continue
        event = _event(comp, item, privacy, zones, is_master="RECURRENCE-ID" not in comp)
        blocks.append(event.to_ical())
    return RenderedItem(b"".join(blocks), zones)


def _header(collection: Collection, refresh_seconds: int) -> bytes:
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "PUBLISH")
    name = one_line(collection.display_name, limit=255)
    if name:
        cal.add("NAME", name)
        cal.add("X-WR-CALNAME", name)
    # No X-WR-TIMEZONE: readers that honour it (Google, recurring-ical-events) re-interpret
    # UTC series in that zone, which moves UTC-anchored occurrences across DST changes.
    refresh = timedelta(seconds=refresh_seconds)
    cal.add("REFRESH-INTERVAL", refresh, parameters={"VALUE": "DURATION"})
    cal.add("X-PUBLISHED-TTL", vDuration(refresh))
    if color := hex_color(collection.color):
        cal.add("COLOR", css_color_name(color))
        cal.add("X-APPLE-CALENDAR-COLOR", color)
    text: bytes = cal.to_ical()
    return text[: text.rindex(b"END:VCALENDAR")]


def render_feed(
    collection: Collection,
    items: Iterable[ItemRecord],
    privacy: Privacy,
    window: FeedWindow,
    *,
    refresh_seconds: int = 900,
    cache: ItemCache | None = None,
) -> bytes:
    """The whole feed: header, one VTIMEZONE per zone used, then every item's events."""
    bodies: list[bytes] = []
    zones: dict[str, date] = {}
    for item in items:
        if item.component != "VEVENT":
            continue
        rendered = cache.get(item, privacy) if cache is not None else render_item(item, privacy)
        if not rendered.body:
            continue
        bodies.append(rendered.body)
        for key, first in rendered.zones.items():
            zones[key] = min(first, zones.get(key, first))
    last = datetime.fromtimestamp(window.end, UTC).date() + timedelta(days=366)
    timezones = [vtimezone_bytes(key, first, last) for key, first in sorted(zones.items())]
    return b"".join([_header(collection, refresh_seconds), *timezones, *bodies,
                     b"END:VCALENDAR\r\n"])

