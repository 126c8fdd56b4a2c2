"""Recurring events: RRULE/RDATE/EXDATE expansion and instance ids.

A master's ``start`` is the first instance; occurrences are computed on the wall clock of
``start.timeZone`` (so 09:00 stays 09:00 across DST), as Google does.  Instance ids are
``<masterId>_<YYYYMMDDTHHMMSSZ>`` (UTC) for timed events and ``<masterId>_<YYYYMMDD>`` for all-day
ones.  Expansion is bounded by the window asked for, a horizon after the first instance and a
maximum instance count (both :class:`~.state.Config` knobs).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Any

from dateutil import rrule

from emulators.google.timeutil import (
    EventTime,
    format_event_datetime,
    get_zone,
    parse_event_time,
)

__all__ = [
    "expand",
    "instance_id",
    "make_instance",
    "original_start_value",
    "split_instance_id",
    "validate_recurrence",
]

UTC = dt.UTC
_INSTANCE_RE = re.compile(r"^(?P<master>[a-v0-9]{5,1024})_(?P<when>\d{8}(T\d{6}Z)?)$")


def split_instance_id(event_id: str) -> tuple[str, str] | None:
    """Split ``<master>_<suffix>`` into (master id, suffix), or None for a plain id."""
    match = _INSTANCE_RE.match(event_id)
    if match is None:
        return None
    return match["master"], match["when"]


def instance_id(master_id: str, start: EventTime) -> str:
    """The id of the instance that originally starts at ``start``."""
    if start.all_day and start.date is not None:
        return f"{master_id}_{start.date.strftime('%Y%m%d')}"
    return f"{master_id}_{start.utc().strftime('%Y%m%dT%H%M%SZ')}"


def _parse_date_values(line: str, zone: dt.tzinfo, all_day: bool) -> list[dt.datetime]:
    name_params, _, values = line.partition(":")
    params = dict(p.split("=", 1) for p in name_params.split(";")[1:] if "=" in p)
    tzid = params.get("TZID")
    out: list[dt.datetime] = []
    for raw in values.split(","):
        raw = raw.strip()
        if not raw:
            continue
        if len(raw) == 8:
            day = dt.datetime.strptime(raw, "%Y%m%d")
            out.append(day)
            continue
        utc = raw.endswith("Z")
        parsed = dt.datetime.strptime(raw.rstrip("Z"), "%Y%m%dT%H%M%S")
        if utc:
            parsed = parsed.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
        elif tzid:
            parsed = parsed.replace(tzinfo=get_zone(tzid)).astimezone(zone).replace(tzinfo=None)
        if all_day:
            parsed = parsed.replace(hour=0, minute=0, second=0)
        out.append(parsed)
    return out


def _rule_line(line: str, zone: dt.tzinfo) -> str:
    # dateutil wants UNTIL in the same (naive, local) form as DTSTART.
    def fix(match: re.Match[str]) -> str:
        """Rewrite one UNTIL value."""
        value = match.group(1)
        if value.endswith("Z"):
            parsed = dt.datetime.strptime(value[:-1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
            return "UNTIL=" + parsed.astimezone(zone).strftime("%Y%m%dT%H%M%S")
        return "UNTIL=" + value

    return re.sub(r"UNTIL=([0-9TZ]+)", fix, line)


def _build_set(master: dict[str, Any], start: EventTime, default_zone: str) -> rrule.rruleset:
    zone = get_zone(start.zone or default_zone)
    first = start.instant.astimezone(zone).replace(tzinfo=None)
    rset = rrule.rruleset()
    rset.rdate(first)
    for line in master.get("recurrence") or []:
        upper = str(line).strip()
        head = upper.split(":", 1)[0].split(";", 1)[0].upper()
        if head in ("RRULE", "EXRULE"):
            rule = rrule.rrulestr(_rule_line(upper, zone), dtstart=first)
            if head == "RRULE":
                rset.rrule(rule)  # type: ignore[arg-type]
            else:
                rset.exrule(rule)  # type: ignore[arg-type]
        elif head == "RDATE":
            for value in _parse_date_values(upper, zone, start.all_day):
                rset.rdate(value)
        elif head == "EXDATE":
            for value in _parse_date_values(upper, zone, start.all_day):
                rset.exdate(value)
        else:
            raise ValueError(f"Invalid recurrence rule: {head}")
    return rset


def validate_recurrence(master: dict[str, Any], default_zone: str) -> None:
    """Raise ``ValueError`` if the recurrence lines cannot be parsed."""
    start = parse_event_time(master.get("start"), default_zone, field="start")
    _build_set(master, start, default_zone)


def expand(
    master: dict[str, Any],
    default_zone: str,
    *,
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    horizon_days: int,
    max_instances: int,
) -> list[EventTime]:
    """Original start times of the instances overlapping [window_start, window_end)."""
    start = parse_event_time(master.get("start"), default_zone, field="start")
    end = parse_event_time(master.get("end"), default_zone, field="end")
    duration = end.instant - start.instant
    zone_name = start.zone or default_zone
    zone = get_zone(zone_name)
    rset = _build_set(master, start, default_zone)
    limit = start.instant + dt.timedelta(days=horizon_days)
    if window_end is not None:
        limit = min(limit, window_end)
    out: list[EventTime] = []
    for naive in rset:
        instant = naive.replace(tzinfo=zone)
        if instant >= limit:
            break
        if window_start is not None and instant + duration <= window_start:
            continue
        if start.all_day:
            out.append(EventTime(True, instant, naive.date(), start.zone))
        else:
            out.append(EventTime(False, instant, None, start.zone))
        if len(out) >= max_instances:
            break
    return out


def original_start_value(master: dict[str, Any], when: EventTime) -> dict[str, str]:
    """The ``originalStartTime`` (and instance ``start``) value for one occurrence."""
    if when.all_day and when.date is not None:
        return {"date": when.date.isoformat()}
    zone = (master.get("start") or {}).get("timeZone") or "UTC"
    value = {"dateTime": format_event_datetime(when.instant, zone)}
    if (master.get("start") or {}).get("timeZone"):
        value["timeZone"] = zone
    return value


def make_instance(master: dict[str, Any], when: EventTime, default_zone: str) -> dict[str, Any]:
    """A virtual (unmodified) instance of ``master`` starting at ``when``."""
    start = parse_event_time(master.get("start"), default_zone, field="start")
    end = parse_event_time(master.get("end"), default_zone, field="end")
    inst = copy.deepcopy(master)
    inst.pop("recurrence", None)
    inst["id"] = instance_id(master["id"], when)
    inst["recurringEventId"] = master["id"]
    orig = original_start_value(master, when)
    inst["originalStartTime"] = dict(orig)
    inst["start"] = dict(orig)
    if when.all_day and when.date is not None and start.date is not None and end.date is not None:
        inst["end"] = {"date": (when.date + (end.date - start.date)).isoformat()}
    else:
        end_zone = (master.get("end") or {}).get("timeZone")
        value = {
            "dateTime": format_event_datetime(
                when.instant + (end.instant - start.instant), end_zone or start.zone or "UTC"
            )
        }
        if end_zone:
            value["timeZone"] = end_zone
        inst["end"] = value
    return inst
