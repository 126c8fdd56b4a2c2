"""exchangelib ``CalendarItem`` ⇄ the mapping's item dicts (no I/O).

The client reads items with exchangelib and hands the mapping JSON-able dicts
(:mod:`bridge.exchange.mapping_ews` describes them); for a write it builds a ``CalendarItem``
from a dict and names every field it sets (``update_fields``).  Our two extended properties are
registered on ``CalendarItem`` once, at import (exchangelib then asks for them in every
``SyncFolderItems`` and ``GetItem``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from exchangelib import CalendarItem, ExtendedProperty
from exchangelib.ewsdatetime import EWSDate, EWSDateTime, EWSTimeZone
from exchangelib.fields import MONTHS, WEEK_NUMBERS, WEEKDAY_NAMES, WEEKDAYS
from exchangelib.properties import Body, HTMLBody
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDatePattern,
    NoEndPattern,
    NumberedPattern,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)

from bridge.exchange.mapping_ews import PROP_HASH, PROP_UID, PROPERTY_SET, WRITE_FIELDS

__all__ = ["READ_FIELDS", "item_fields", "item_to_dict", "new_item", "write_fields"]

# What the client asks for in SyncFolderItems and GetItem (everything item_to_dict reads;
# asking for all of exchangelib's ~80 fields would triple what the server renders and
# exchangelib parses).
READ_FIELDS = ("type", "uid", "subject", "body", "location", "start", "end", "_start_timezone",
               "_end_timezone", "is_all_day", "legacy_free_busy_status", "sensitivity",
               "categories", "reminder_is_set", "reminder_minutes_before_start", "recurrence",
               "is_cancelled", "bridge_uid", "bridge_hash", "last_modified_time",
               "original_start", "modified_occurrences", "deleted_occurrences",
               "required_attendees", "optional_attendees", "resources", "organizer")


class BridgeUid(ExtendedProperty):  # type: ignore[misc]
    """Our UID of the resource an item was written from."""

    property_set_id = PROPERTY_SET
    property_name = PROP_UID
    property_type = "String"


class BridgeHash(ExtendedProperty):  # type: ignore[misc]
    """The normalised hash of what we wrote."""

    property_set_id = PROPERTY_SET
    property_name = PROP_HASH
    property_type = "String"


def _register() -> None:
    names = {f.name for f in CalendarItem.FIELDS}
    if "bridge_uid" not in names:
        CalendarItem.register("bridge_uid", BridgeUid)
    if "bridge_hash" not in names:
        CalendarItem.register("bridge_hash", BridgeHash)


_register()

_PATTERNS: dict[str, Any] = {
    "daily": DailyPattern, "weekly": WeeklyPattern, "absoluteMonthly": AbsoluteMonthlyPattern,
    "relativeMonthly": RelativeMonthlyPattern, "absoluteYearly": AbsoluteYearlyPattern,
    "relativeYearly": RelativeYearlyPattern,
}
_PATTERN_NAMES = {cls: name for name, cls in _PATTERNS.items()}
_WEEK_NUMBERS = dict(zip(WEEK_NUMBERS, ("First", "Second", "Third", "Fourth", "Last"),
                         strict=True))


def _enum(value: Any, names: tuple[str, ...]) -> str | None:
    if isinstance(value, int) and 1 <= value <= len(names):
        return names[value - 1]
    return str(value) if value is not None else None


def _instant(value: datetime) -> str:
    return value.astimezone(EWSTimeZone("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def _zone_key(tz: Any) -> str | None:
    key = getattr(tz, "key", None)
    return str(key) if key else None


def recurrence_to_dict(rec: Recurrence | None) -> dict[str, Any] | None:
    """exchangelib's ``Recurrence`` as the mapping's dict (``None`` for none or an unknown
    pattern class such as a task regeneration)."""
    if rec is None or type(rec.pattern) not in _PATTERN_NAMES:
        return None
    pat = rec.pattern
    body: dict[str, Any] = {"type": _PATTERN_NAMES[type(pat)],
                            "interval": getattr(pat, "interval", 1) or 1}
    if isinstance(pat, WeeklyPattern):
        body["weekdays"] = [_enum(d, WEEKDAY_NAMES) for d in (pat.weekdays or [])]
        body["first_day_of_week"] = _enum(pat.first_day_of_week, WEEKDAY_NAMES)
    if isinstance(pat, AbsoluteMonthlyPattern | AbsoluteYearlyPattern):
        body["day_of_month"] = pat.day_of_month
    if isinstance(pat, RelativeMonthlyPattern | RelativeYearlyPattern):
        body["weekday"] = _enum(pat.weekday, WEEKDAYS)
        body["week_number"] = _WEEK_NUMBERS.get(_enum(pat.week_number, WEEK_NUMBERS) or "")
    if isinstance(pat, AbsoluteYearlyPattern | RelativeYearlyPattern):
        body["month"] = _enum(pat.month, MONTHS)
    bound = rec.boundary
    start = bound.start.isoformat()[:10] if bound is not None and bound.start else None
    boundary: dict[str, Any] = {"type": "no_end", "start": start}
    if isinstance(bound, NumberedPattern):
        boundary.update(type="numbered", number=bound.number)
    elif isinstance(bound, EndDatePattern):
        boundary.update(type="end_date", end=bound.end.isoformat()[:10])
    return {"pattern": body, "boundary": boundary}


def recurrence_from_dict(rec: dict[str, Any] | None) -> Recurrence | None:
    """The mapping's recurrence dict as exchangelib's ``Recurrence``."""
    if not rec:
        return None
    pat = dict(rec["pattern"])
    cls = _PATTERNS[str(pat.pop("type"))]
    kwargs: dict[str, Any] = {}
    for name in ("interval", "weekdays", "first_day_of_week", "day_of_month", "month",
                 "weekday", "week_number"):
        if name in pat and name in {f.name for f in cls.FIELDS}:
            kwargs[name] = pat[name]
    bound = rec["boundary"]
    start = EWSDate.fromisoformat(str(bound["start"]))
    boundary: Any
    if bound["type"] == "numbered":
        boundary = NumberedPattern(start=start, number=int(bound["number"]))
    elif bound["type"] == "end_date":
        boundary = EndDatePattern(start=start, end=EWSDate.fromisoformat(str(bound["end"])))
    else:
        boundary = NoEndPattern(start=start)
    return Recurrence(pattern=cls(**kwargs), boundary=boundary)


def _when(value: Any, *, end: bool) -> str | None:
    if isinstance(value, datetime):
        return _instant(value)
    if isinstance(value, date):
        return (value + timedelta(days=1) if end else value).isoformat()
    return None


def item_to_dict(item: CalendarItem) -> dict[str, Any]:
    """A read item as the mapping's dict (with ``id``, ``changekey``, ``type``, the modified
    occurrences' ids and original starts, the deleted occurrences' starts)."""
    body = item.body
    return {
        "id": item.id, "changekey": item.changekey, "type": item.type,
        "uid": item.uid, "subject": item.subject,
        "body": str(body) if body is not None else None,
        "body_type": "HTML" if isinstance(body, HTMLBody) else "Text",
        "location": item.location,
        "start": _when(item.start, end=False),
        "end": _when(item.end, end=True),
        "start_tz": _zone_key(item._start_timezone),
        "end_tz": _zone_key(item._end_timezone),
        "is_all_day": bool(item.is_all_day),
        "legacy_free_busy_status": item.legacy_free_busy_status,
        "sensitivity": item.sensitivity,
        "categories": list(item.categories or []),
        "reminder_is_set": bool(item.reminder_is_set),
        "reminder_minutes_before_start": item.reminder_minutes_before_start,
        "recurrence": recurrence_to_dict(item.recurrence),
        "is_cancelled": bool(item.is_cancelled),
        "bridge_uid": getattr(item, "bridge_uid", None),
        "bridge_hash": getattr(item, "bridge_hash", None),
        "last_modified_time": _instant(item.last_modified_time)
        if isinstance(item.last_modified_time, datetime) else None,
        "original_start": _instant(item.original_start)
        if isinstance(item.original_start, datetime) else None,
        "modified": [{"id": o.id, "changekey": o.changekey,
                      "original_start": _instant(o.original_start)}
                     for o in item.modified_occurrences or [] if o.original_start],
        "deleted": [_instant(o.start) for o in item.deleted_occurrences or [] if o.start],
        "attendees": [
            {"email": a.mailbox.email_address, "name": a.mailbox.name, "type": kind,
             "response": a.response_type}
            for kind, people in (("required", item.required_attendees),
                                 ("optional", item.optional_attendees),
                                 ("resource", item.resources))
            for a in people or [] if a.mailbox is not None and a.mailbox.email_address],
        "organizer": {"email": item.organizer.email_address, "name": item.organizer.name}
        if item.organizer is not None and item.organizer.email_address else None,
    }


def _time_value(value: str, tz_name: str, *, all_day: bool, end: bool) -> Any:
    if all_day:
        day = date.fromisoformat(value[:10])
        return EWSDate.from_date(day - timedelta(days=1) if end else day)
    stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return EWSDateTime.from_datetime(stamp).astimezone(EWSTimeZone(tz_name))


def item_fields(item: dict[str, Any]) -> dict[str, Any]:
    """The exchangelib field values of a mapping dict (``None`` for empty values, which an
    update sends as ``DeleteItemField``)."""
    all_day = bool(item.get("is_all_day"))
    fields: dict[str, Any] = {
        "subject": item.get("subject") or None,
        "body": Body(item["body"]) if item.get("body") else None,
        "location": item.get("location") or None,
        "start": _time_value(str(item["start"]), str(item["start_tz"]), all_day=all_day,
                             end=False),
        "end": _time_value(str(item["end"]), str(item["end_tz"]), all_day=all_day, end=True),
        "_start_timezone": EWSTimeZone(str(item["start_tz"])),
        "_end_timezone": EWSTimeZone(str(item["end_tz"])),
        "is_all_day": all_day,
        "legacy_free_busy_status": item.get("legacy_free_busy_status") or "Busy",
        "sensitivity": item.get("sensitivity") or "Normal",
        "categories": list(item.get("categories") or []) or None,
        "reminder_is_set": bool(item.get("reminder_is_set")),
        "reminder_minutes_before_start": int(item.get("reminder_minutes_before_start") or 0),
        "bridge_uid": item.get("bridge_uid"),
        "bridge_hash": item.get("bridge_hash"),
    }
    if "recurrence" in item:
        fields["recurrence"] = recurrence_from_dict(item.get("recurrence"))
    if item.get("uid"):
        fields["uid"] = item["uid"]
    return fields


def write_fields(item: dict[str, Any]) -> list[str]:
    """The ``update_fields`` of a write of ``item`` (an occurrence has no recurrence nor
    UID)."""
    return [n for n in WRITE_FIELDS if n not in ("recurrence", "uid") or n in item]


def new_item(item: dict[str, Any], **kwargs: Any) -> CalendarItem:
    """A ``CalendarItem`` holding a mapping dict (``kwargs``: account, folder, ids)."""
    return CalendarItem(**kwargs, **item_fields(item))
