"""Helpers for the Microsoft mapping tests: a model of what Graph answers for the bodies we
write, and an independent expansion of Graph recurrence patterns (Exchange's rules)."""

from __future__ import annotations

import calendar
import copy
import hashlib
import html
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bridge.ical.timezones import zone_for_name

OWNER = {"name": "Praxis Sonnenschein", "address": "praxis@contoso.onmicrosoft.com"}
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INDEX = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}


def _zone(name: str) -> Any:
    if name in ("UTC", "tzone://Microsoft/Utc"):
        return UTC
    found = zone_for_name(name)
    assert found is not None, name
    return found


def convert(value: dict[str, str], to: str) -> dict[str, str]:
    """A ``dateTimeTimeZone`` in zone ``to``, with Graph's seven fractional digits."""
    local = datetime.fromisoformat(value["dateTime"][:19]).replace(tzinfo=_zone(value["timeZone"]))
    out = local.astimezone(_zone(to)).replace(tzinfo=None)
    return {"dateTime": out.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": to}


def as_html(text: str) -> str:
    """Plain text as Exchange turns it into an HTML body (escaped, ``<br>`` per line break,
    runs of spaces and tabs as entities)."""
    lines = []
    for line in text.split("\n"):
        escaped = html.escape(line, quote=False).replace("\t", "&#9;")
        lines.append(re.sub(r"(?<= ) |^ ", "&nbsp;", escaped))
    return ('<html><head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            '\r\n<style type="text/css">p {margin:0}</style></head>\r\n<body>\r\n<div>'
            + "<br>\r\n".join(lines) + "</div>\r\n</body>\r\n</html>\r\n")


def graph_echo(body: dict[str, Any], *, event_id: str, prefer_tz: str = "UTC",
               body_html: bool = False, master_id: str | None = None,
               original_start: str | None = None, revision: int = 1) -> dict[str, Any]:
    """What Graph answers (GET with ``$expand=singleValueExtendedProperties``) for an event
    written with ``body``: times in ``prefer_tz`` (``Prefer: outlook.timezone``), its own
    fields added, the extended property ids with an upper-case GUID."""
    out = copy.deepcopy(body)
    etag = hashlib.sha256(f"{event_id}{revision}".encode()).hexdigest()[:20]
    out["originalStartTimeZone"] = body["start"]["timeZone"]
    out["originalEndTimeZone"] = body["end"]["timeZone"]
    out["start"] = convert(body["start"], prefer_tz)
    out["end"] = convert(body["end"], prefer_tz)
    if not out.get("isReminderOn"):
        out["reminderMinutesBeforeStart"] = 15  # Graph keeps its default minutes
    if body_html:
        out["body"] = {"contentType": "html", "content": as_html(body["body"]["content"])}
    out["location"] = {**body["location"], "locationType": "default",
                       "uniqueIdType": "unknown", "address": {}, "coordinates": {}}
    out["attendees"] = [{**a, "status": {"response": "none", "time": "0001-01-01T00:00:00Z"}}
                        for a in body.get("attendees", [])]
    out["singleValueExtendedProperties"] = [
        {"id": re.sub(r"\{[^}]*\}", lambda m: m.group(0).upper(), p["id"]), "value": p["value"]}
        for p in body["singleValueExtendedProperties"]]
    out.update({
        "@odata.etag": f'W/"{etag}"', "id": event_id, "changeKey": etag,
        "createdDateTime": "2025-01-01T10:00:00.1234567Z",
        "lastModifiedDateTime": f"2025-01-0{min(revision, 9)}T10:00:00.7654321Z",
        "iCalUId": "040000008200E00074C5B7101A82E00800000000" + etag,
        "webLink": f"https://outlook.office365.com/owa/?itemid={event_id}",
        "importance": "normal", "isCancelled": False, "isOrganizer": True,
        "responseRequested": True, "hasAttachments": False,
        "organizer": {"emailAddress": OWNER},
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "type": ("exception" if master_id else
                 "seriesMaster" if body.get("recurrence") else "singleInstance"),
    })
    if master_id:
        out.update(seriesMasterId=master_id, originalStart=original_start)
        out.setdefault("recurrence", None)
    return out


def _month_len(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _months(start: date, step: int) -> Any:
    year, month = start.year, start.month
    while True:
        yield year, month
        month += step
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1


def _relative(year: int, month: int, days: list[int], index: int) -> date:
    found = [date(year, month, d) for d in range(1, _month_len(year, month) + 1)
             if date(year, month, d).weekday() in days]
    return found[index]


def _candidates(pattern: dict[str, Any], start: date) -> Any:
    kind, step = pattern["type"], pattern["interval"]
    days = [_DAYS.index(d) for d in pattern.get("daysOfWeek") or []]
    if kind == "daily":
        day = start
        while True:
            yield day
            day += timedelta(days=step)
    elif kind == "weekly":
        first = _DAYS.index(pattern["firstDayOfWeek"])
        week = start - timedelta(days=(start.weekday() - first) % 7)
        while True:
            yield from (week + timedelta(days=i) for i in range(7)
                        if (week + timedelta(days=i)).weekday() in days)
            week += timedelta(days=7 * step)
    elif kind.endswith("Monthly"):
        for year, month in _months(start, step):
            if kind == "absoluteMonthly":
                yield date(year, month, min(pattern["dayOfMonth"], _month_len(year, month)))
            else:
                yield _relative(year, month, days, _INDEX[pattern["index"]])
    else:
        for year in range(start.year, 10000, step):
            month = pattern["month"]
            if kind == "absoluteYearly":
                yield date(year, month, min(pattern["dayOfMonth"], _month_len(year, month)))
            else:
                yield _relative(year, month, days, _INDEX[pattern["index"]])


def graph_dates(recurrence: dict[str, Any], limit: int) -> list[date]:
    """The first ``limit`` occurrence dates of a ``patternedRecurrence`` as Exchange computes
    them (a day of month past the month's end is its last day; the end date is inclusive)."""
    rng = recurrence["range"]
    start = date.fromisoformat(rng["startDate"])
    end = date.fromisoformat(rng["endDate"]) if rng["type"] == "endDate" else None
    count = rng["numberOfOccurrences"] if rng["type"] == "numbered" else None
    out: list[date] = []
    for day in _candidates(recurrence["pattern"], start):
        if day < start:
            continue
        if (end is not None and day > end) or (count is not None and len(out) >= count):
            break
        out.append(day)
        if len(out) >= limit:
            break
    return out


def local_dates(values: list[datetime], tz: str) -> list[date]:
    """The local dates of aware instants in ``tz``."""
    zone = UTC if tz == "UTC" else ZoneInfo(tz)
    return [v.astimezone(zone).date() for v in values]
