"""Conflict inbox (both versions side by side, keep one) and the ledger ("why did this move?").

Every text shown here comes from appointments or the provider's events and is rendered through
Jinja's autoescape; nothing is marked safe.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bridge.admin.pages import act, form_data, or_404, redirect, render, store_of, translator_of
from bridge.admin.syncapi import service_of
from bridge.errors import BridgeError, NotFound
from bridge.ical.timezones import zone_for_name
from bridge.model import ItemRecord
from bridge.store import SqlStore
from bridge.store.sync import LedgerRecord

__all__ = ["Shown", "Version", "add_routes", "version_from_ical"]

_LOGGER = logging.getLogger(__name__)
_LEDGER_LIMIT = 500
_MAX_QUERY = 200


@dataclass(frozen=True)
class Version:
    """The fields of one side of a conflict, as shown to the admin."""

    side: str
    summary: str = ""
    start: str = ""
    end: str = ""
    location: str = ""
    description: str = ""
    deleted: bool = False


@dataclass(frozen=True)
class Shown:
    """How times are shown: the calendar's zone (and its name) and the page language."""

    zone_name: str = "UTC"
    lang: str = "en"

    def time(self, value: Any) -> str:
        """A date-time in the calendar's zone with the zone named; a date as a date."""
        zone = zone_for_name(self.zone_name) or dt.UTC
        if isinstance(value, dt.datetime):
            local = (value if value.tzinfo is not None else value.replace(tzinfo=zone)) \
                .astimezone(zone)
            pattern = "%d.%m.%Y %H:%M" if self.lang == "de" else "%Y-%m-%d %H:%M"
            return f"{local.strftime(pattern)} {self.zone_name}"
        if isinstance(value, dt.date):
            return value.strftime("%d.%m.%Y" if self.lang == "de" else "%Y-%m-%d")
        return ""


def version_from_ical(side: str, text: str | None, shown: Shown | None = None) -> Version:
    """The first VEVENT of an iCalendar text (a missing text means: deleted)."""
    shown = shown or Shown()
    if not text:
        return Version(side, deleted=True)
    from icalendar import Calendar

    try:
        cal = Calendar.from_ical(text)
    except ValueError:
        return Version(side, description=text[:2000])
    for comp in cal.walk("VEVENT"):
        start = comp.get("DTSTART")
        end = comp.get("DTEND")
        return Version(
            side, summary=str(comp.get("SUMMARY", "")),
            start=shown.time(start.dt) if start is not None else "",
            end=shown.time(end.dt) if end is not None else "",
            location=str(comp.get("LOCATION", "")),
            description=str(comp.get("DESCRIPTION", ""))[:2000],
        )
    return Version(side, deleted=True)


@dataclass(frozen=True)
class ConflictView:
    """One open conflict: which side won, both versions, and where."""

    record: LedgerRecord
    calendar: str
    reason: str
    winner: Version
    loser: Version


def _conflicts(store: SqlStore, service: Any, lang: str = "en") -> list[ConflictView]:
    out: list[ConflictView] = []
    zones = {c.path: c.timezone for c in store.list_collections(tag="VCALENDAR")}
    for conn in store.list_connections():
        shown = Shown(zones.get(conn.collection_path) or "UTC", lang)
        rows = service.conflicts(conn.id)
        items = store.items_by_uid(conn.collection_id, [r.uid for r in rows]) if rows else {}
        for row in rows:
            detail = row.detail or {}
            # The sides as shown: "local", or the connection's provider.
            winner_side = "local" if detail.get("winner") == "local" else conn.provider
            loser_side = conn.provider if winner_side == "local" else "local"
            current = items.get(row.uid)
            winner = version_from_ical(winner_side, current.text if current else None, shown)
            try:
                lost = version_from_ical(loser_side, service.losing_text(row, conn), shown)
            except (BridgeError, ValueError) as exc:  # a snapshot this build cannot read
                _LOGGER.warning("Conflict %d: the losing version is unreadable (%s)", row.id,
                                type(exc).__name__)
                lost = Version(loser_side)
            out.append(ConflictView(row, conn.collection_path, str(detail.get("reason") or ""),
                                    winner, lost))
    return out


async def conflicts_page(request: web.Request) -> web.StreamResponse:
    """``GET /admin/conflicts``: open conflicts with both versions."""
    views = await asyncio.to_thread(_conflicts, store_of(request), service_of(request),
                                    translator_of(request).lang)
    return await render(request, "conflicts.html", conflicts=views)


async def resolve(request: web.Request) -> web.StreamResponse:
    """``POST /admin/conflicts/{id}``: keep the winner (accept) or bring back the loser."""
    form = await form_data(request)
    keep = form.get("keep", "")
    gettext = translator_of(request)
    if keep not in ("winner", "loser"):
        raise web.HTTPBadRequest(text="keep must be winner or loser")
    to = "/admin/conflicts"
    resolving = asyncio.to_thread(service_of(request).resolve_conflict,
                                  int(request.match_info["ledger_id"]),
                                  "winner" if keep == "winner" else "loser")
    # A conflict that does not exist is a 404, not a message (or_404 before act's BridgeError).
    await act(request, or_404(resolving), to=to)
    _LOGGER.info("admin resolved conflict %s keeping the %s", request.match_info["ledger_id"],
                 keep)
    raise await redirect(request, to, gettext("Conflict resolved."))


def _ledger_rows(
    store: SqlStore, calendar: str | None, uid: str | None, query: str
) -> tuple[list[tuple[LedgerRecord, str, str]], bool]:
    try:
        rows = store.query_ledger(collection_path=calendar or None, uid=uid or None,
                                  limit=_LEDGER_LIMIT)
    except NotFound:
        return [], False
    paths = {c.id: c.path for c in store.list_collections(tag="VCALENDAR")}
    by_coll: dict[int, set[str]] = {}
    for row in rows:
        if row.collection_id is not None and row.uid:
            by_coll.setdefault(row.collection_id, set()).add(row.uid)
    items: dict[tuple[int, str], ItemRecord] = {}
    for coll_id, uids in by_coll.items():
        if coll_id in paths:
            for found_uid, found in store.items_by_uid(coll_id, uids).items():
                items[(coll_id, found_uid)] = found
    out = []
    needle = query.casefold()
    for row in rows:
        item = items.get((row.collection_id or 0, row.uid))
        title = item.summary if item else ""
        path = paths.get(row.collection_id or 0, "")
        haystack = " ".join((row.uid, row.remote_id or "", title, row.action,
                             row.error or "", ",".join(row.fields), path)).casefold()
        if needle and needle not in haystack:
            continue
        out.append((row, title, path))
    return out, len(rows) >= _LEDGER_LIMIT


async def ledger_page(request: web.Request) -> web.StreamResponse:
    """``GET /admin/ledger``: sync actions, newest first; search by title, UID or Google id."""
    query = request.query.get("q", "").strip()[:_MAX_QUERY]
    uid = request.query.get("uid", "").strip()[:1024]
    calendar = request.query.get("calendar", "").strip().strip("/")[:1024]
    rows, truncated = await asyncio.to_thread(_ledger_rows, store_of(request), calendar, uid,
                                              query)
    return await render(request, "ledger.html", rows=rows, q=query, uid=uid,
                        calendar_filter=calendar, truncated=truncated)


def add_routes(admin: web.Application) -> None:
    """Register the handlers of this module."""
    admin.router.add_get("/conflicts", conflicts_page)
    admin.router.add_post("/conflicts/{ledger_id:[0-9]+}", resolve)
    admin.router.add_get("/ledger", ledger_page)
