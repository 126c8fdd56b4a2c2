"""What a Graph reader receives: ``Prefer`` handling, time zone rendering, body content type,
``$select`` and ``$expand=singleValueExtendedProperties(...)``, and the rows of a window.

Times come back in UTC unless ``Prefer: outlook.timezone="…"`` names a Windows or IANA zone (the
``timeZone`` member then echoes that name); all-day events stay at midnight.  Text bodies come
back as HTML unless ``Prefer: outlook.body-content-type="text"``.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulators.microsoft import eventdata
from emulators.microsoft.errors import GraphError
from emulators.microsoft.eventlogic import exceptions_of
from emulators.microsoft.state import MsState
from emulators.microsoft.timezones import format_graph_dt, resolve_zone, to_instant

__all__ = ["Prefs", "expand_filter", "parse_prefs", "render", "window_rows"]

_PREF = re.compile(r'\s*([\w.\-]+)\s*(?:=\s*("([^"]*)"|[^,;\s]+))?')
_EXPAND = re.compile(
    r"^singleValueExtendedProperties(?:\(\$filter=id eq '([^']*)'\))?$", re.IGNORECASE)


@dataclass
class Prefs:
    """The ``Prefer`` header's preferences the emulator honours."""

    zone: str | None = None
    max_page_size: int | None = None
    body_text: bool = False
    applied: tuple[str, ...] = ()


def parse_prefs(headers: Mapping[str, str] | Any) -> Prefs:
    """Parse every ``Prefer`` header; an unknown zone is 400 ``TimeZoneNotSupportedException``."""
    values = headers.getall("Prefer", []) if hasattr(headers, "getall") else (
        [headers["Prefer"]] if "Prefer" in headers else [])
    prefs = Prefs()
    applied: list[str] = []
    for value in values:
        for part in str(value).split(","):
            match = _PREF.match(part)
            if not match or not match.group(1):
                continue
            name, raw = match.group(1).lower(), match.group(3) or match.group(2) or ""
            if name == "outlook.timezone":
                try:
                    resolve_zone(raw)
                except ValueError as exc:
                    raise GraphError(400, "TimeZoneNotSupportedException",
                                     "A valid TimeZone value must be specified. The following "
                                     f"TimeZone value is not supported: '{raw}'.") from exc
                prefs.zone = raw
                applied.append(f'outlook.timezone="{raw}"')
            elif name == "odata.maxpagesize" and raw.isdigit():
                prefs.max_page_size = int(raw)
                applied.append(f"odata.maxpagesize={raw}")
            elif name == "outlook.body-content-type":
                prefs.body_text = raw.lower() == "text"
                applied.append(f'outlook.body-content-type="{raw.lower()}"')
            elif name == "idtype":
                applied.append(f'IdType="{raw}"')
    prefs.applied = tuple(applied)
    return prefs


def expand_filter(value: str | None) -> str | None:
    """``None`` (no expand), ``""`` (all extended properties) or the id asked for; else 400."""
    if not value:
        return None
    match = _EXPAND.match(value.strip())
    if match is None:
        raise GraphError(400, "BadRequest", f"Parsing OData Select and Expand failed: Could "
                         f"not find a property named '{value.split('(')[0]}' on type "
                         "'microsoft.graph.event'.")
    return match.group(1) or ""


def _time(value: dict[str, Any], zone: str | None, all_day: bool) -> dict[str, Any]:
    instant, _ = to_instant(value, "start")
    label = zone or "UTC"
    if all_day:
        return {"dateTime": format_graph_dt(instant.replace(tzinfo=None)), "timeZone": label}
    local = instant.astimezone(resolve_zone(label)).replace(tzinfo=None)
    return {"dateTime": format_graph_dt(local), "timeZone": label}


def _body(body: Any, text: bool) -> Any:
    if not isinstance(body, dict):
        return body
    content, kind = str(body.get("content") or ""), str(body.get("contentType") or "html")
    if text and kind.lower() == "html":
        stripped = re.sub(r"<[^>]+>", "", content)
        return {"contentType": "text", "content": html.unescape(stripped).strip()}
    if not text and kind.lower() == "text":
        inner = html.escape(content).replace("\n", "<br>\r\n")
        return {"contentType": "html", "content": "<html><head><meta http-equiv=\"Content-Type\""
                " content=\"text/html; charset=utf-8\"></head><body>" + inner + "</body></html>"}
    return dict(body)


def render(row: dict[str, Any], prefs: Prefs, *, expand: str | None = None,
           select: list[str] | None = None) -> dict[str, Any]:
    """The row as the caller sees it."""
    if select:
        # Only what is kept is rendered (an id listing of a large calendar stays cheap).
        needed = {"id", "@odata.etag", "isAllDay", *select,
                  *(("body",) if "bodyPreview" in select else ())}
        row = {k: v for k, v in row.items() if k in needed or k.startswith("_")}
    out = eventdata.public(row)
    all_day = bool(row.get("isAllDay"))
    for name in ("start", "end"):
        if isinstance(row.get(name), dict):
            out[name] = _time(row[name], prefs.zone, all_day)
    if not select or "body" in select:
        out["body"] = _body(row.get("body"), prefs.body_text)
    if not select or "bodyPreview" in select:
        content = str(row.get("body", {}).get("content") or "") if isinstance(
            row.get("body"), dict) else ""
        out["bodyPreview"] = re.sub(r"<[^>]+>", "", content).strip()[:255]
    if expand is not None:
        props = [dict(p) for p in row.get("_svep") or []
                 if not expand or p["id"].lower() == expand.lower()]
        if props:
            out["singleValueExtendedProperties"] = props
    if select:
        keep = {"id", "@odata.etag", "singleValueExtendedProperties", *select}
        out = {k: v for k, v in out.items() if k in keep}
    return out


def window_rows(state: MsState, calendar_id: str, start: dt.datetime,
                end: dt.datetime) -> list[dict[str, Any]]:
    """Singles, occurrences and exceptions of a calendar overlapping [start, end), by start."""
    rows: list[dict[str, Any]] = []
    limit = state.config.max_instances
    for item in state.table(calendar_id).values():
        kind = item.data.get("type")
        if item.removed or kind == "exception":
            continue
        if kind == "seriesMaster":
            rows.extend(eventdata.series_rows(item.data, exceptions_of(state, item),
                                              until=end, limit=limit))
        else:
            rows.append(item.data)
    out = []
    for row in rows:
        row_start, row_end = eventdata.event_times(row)
        if row_start < end and (row_end > start or (row_end == row_start == start)):
            out.append((row_start, row))
    out.sort(key=lambda pair: pair[0])
    return [row for _, row in out]
