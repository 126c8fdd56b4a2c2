"""The calendar view: day, week, month and agenda of every calendar the user may see.

Admins see every calendar, staff their own and those granted to them (writing where the grant
is ``write``).  Pages are rendered on the server (every appointment is a link to its form, so
the view works without JavaScript); ``calendar.js`` adds click-to-create, drag & drop and
keyboard moves, posting to the same ``save`` endpoint as the form.  Every change goes through
:func:`bridge.booking.guard.guarded_put` (booking rules, then the store's one write path with
``origin="admin"``: change log, provider outbox, customer notifications); a refusal answers
409 with the broken rules, the conflicting appointments and the nearest free slots, and the
user may confirm to book anyway (recorded in the ledger).  Only the visible range is queried.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bridge.admin.calendar_edit import (
    Edit,
    Scope,
    create_text,
    delete_instance,
    edit_text,
    parse_rid,
)
from bridge.admin.calendar_model import (
    VIEWS,
    Entry,
    ViewRange,
    entries,
    lay_out,
    view_range,
)
from bridge.admin.i18n import Translator
from bridge.admin.pages import (
    form_data,
    redirect,
    render,
    session_of,
    settings_of,
    store_of,
    translator_of,
)
from bridge.api.model import FieldError, is_email, parse_instant
from bridge.booking.guard import (
    BookingRefused,
    Override,
    Policy,
    guarded_put,
    proposal_of,
    zone_of,
)
from bridge.booking.rules import Proposal, Verdict
from bridge.errors import EtagMismatch, InvalidICalendar, NotFound
from bridge.ical.validate import parse_resource
from bridge.model import Collection, ItemRecord
from bridge.notify.web import wake_worker
from bridge.store import SqlStore, href_for_uid
from bridge.text import multi_line, one_line

__all__ = ["add_routes", "week_data"]

_LOGGER = logging.getLogger(__name__)
_ORIGINS = {"caldav": "Phone (CalDAV)", "api": "Booking API", "import": "Import",
            "admin": "Calendar view", "booking": "Booking page", "other": "Other"}
_SYNC = {"synced": "In sync", "waiting": "Waiting", "conflict": "Conflict", "failed": "Failed",
         "none": "Not synchronised"}
_RULES = {"outside-hours": "outside the working hours", "overlap": "overlaps another appointment"}


@dataclass(frozen=True)
class Access:
    """A calendar the user may see, and whether they may change it."""

    calendar: Collection
    writable: bool


def _visible(store: SqlStore, user: str, admin: bool) -> list[Access]:
    if admin:
        return [Access(c, True) for c in store.list_collections(tag="VCALENDAR")]
    own = [Access(c, True) for c in store.list_collections(user, tag="VCALENDAR")]
    shared = [Access(c, level == "write") for c, level in store.list_shared(user)
              if c.tag == "VCALENDAR"]
    return own + shared


async def _calendars(request: web.Request) -> list[Access]:
    record = session_of(request).record
    return await asyncio.to_thread(_visible, store_of(request), record.user_name or "",
                                   record.is_admin)


async def _access(request: web.Request, *, write: bool = False) -> Access:
    """The calendar of the route if the user may see it (and write it), else 404/403."""
    path = f"{request.match_info['owner']}/{request.match_info['slug']}"
    record = session_of(request).record
    store = store_of(request)
    coll = await asyncio.to_thread(store.get_collection, path)
    found: Access | None = None
    if coll is not None and coll.tag == "VCALENDAR":
        if record.is_admin or coll.owner == record.user_name:
            found = Access(coll, True)
        else:
            shared = await asyncio.to_thread(store.get_shared, record.user_name or "", path)
            found = Access(coll, shared[1] == "write") if shared else None
    if found is None:
        raise web.HTTPNotFound(text="no such calendar")
    if write and not found.writable:
        raise web.HTTPForbidden(text="read-only calendar")
    return found


def _today(request: web.Request, calendar: Collection) -> dt.date:
    now = dt.datetime.fromtimestamp(store_of(request).clock(), dt.UTC)
    return now.astimezone(zone_of(calendar)).date()


def _date(raw: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


def week_data(store: SqlStore, calendar: Collection, start: dt.datetime,
              end: dt.datetime) -> tuple[list[Entry], dict[str, str]]:
    """The entries of ``[start, end)`` and the sync state of each UID (the view's data)."""
    lo, hi = int(start.timestamp()) - 86400, int(end.timestamp()) + 86400
    items = store.items_in_range(calendar.path, lo, hi, "VEVENT")
    connection = store.connection_for_collection(calendar.path)
    providers = {connection.id: connection.provider} if connection is not None else {}
    shown = entries(items, start, end, zone_of(calendar), providers)
    states: dict[str, str] = {}
    if connection is not None:
        states = store.sync_states(connection.id, {e.uid for e in shown})
        states = {e.uid: states.get(e.uid, "none") for e in shown}
    return shown, states


def _labels(gettext: Translator, provider_label: Any) -> dict[str, Any]:
    return {
        "origin": lambda code: gettext(_ORIGINS[code]) if code in _ORIGINS
        else provider_label(code),
        "sync": lambda code: gettext(_SYNC.get(code) or str(code)),
    }


async def calendar_home(request: web.Request) -> web.StreamResponse:
    """``GET /admin/calendar``: the first calendar the user may see (``go``: the picker's
    choice when the page runs without script)."""
    go = request.query.get("go", "")
    if go.startswith("/admin/calendar/") and "//" not in go and "\\" not in go:
        raise web.HTTPSeeOther(go)
    calendars = await _calendars(request)
    if calendars:
        raise web.HTTPSeeOther(f"/admin/calendar/{calendars[0].calendar.path}")
    return await render(request, "calendar_none.html")


async def calendar_page(request: web.Request) -> web.StreamResponse:
    """``GET /admin/calendar/{owner}/{slug}?view=&date=``: one view of one calendar."""
    access = await _access(request)
    calendar = access.calendar
    zone = zone_of(calendar)
    view = request.query.get("view", "week")
    view = view if view in VIEWS else "week"
    today = _today(request, calendar)
    rng = view_range(view, _date(request.query.get("date"), today))
    start, end = rng.bounds(zone)
    store = store_of(request)
    shown, states = await asyncio.to_thread(week_data, store, calendar, start, end)
    calendars = await _calendars(request)
    connection = await asyncio.to_thread(store.connection_for_collection, calendar.path)
    gettext = translator_of(request)
    return await render(
        request, "calendar.html", calendar=calendar, calendars=calendars, view=view, rng=rng,
        today=today, zone_name=calendar.timezone or "UTC", writable=access.writable,
        columns=lay_out(rng.days, shown, zone) if view in ("day", "week") else [],
        by_day=_by_day(rng, shown, zone), states=states, connection=connection,
        title=_title(rng, gettext), views=VIEWS, hours=range(24),
        fmt_day=lambda d: _fmt_day(d, gettext.lang),
        fmt_span=lambda e: _fmt_span(e, gettext), labels=_labels(gettext, _provider(request)),
    )


def _provider(request: web.Request) -> Any:
    from bridge.admin.providers_ui import PROVIDER_LABELS

    gettext = translator_of(request)
    return lambda name: gettext(PROVIDER_LABELS.get(name) or name)


def _by_day(rng: ViewRange, shown: list[Entry], zone: dt.tzinfo) -> dict[dt.date, list[Entry]]:
    out: dict[dt.date, list[Entry]] = {d: [] for d in rng.days}
    for e in shown:
        day = max(e.start.astimezone(zone).date(), rng.start)
        last = (e.end - dt.timedelta(microseconds=1)).astimezone(zone).date() \
            if e.end > e.start else day
        while day <= last and day in out:
            out[day].append(e)
            day += dt.timedelta(days=1)
    return out


_MONTHS_DE = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
              "September", "Oktober", "November", "Dezember"]
_MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]
_DAYS_DE = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"]
_DAYS_EN = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _fmt_day(day: dt.date, lang: str) -> str:
    names = _DAYS_DE if lang == "de" else _DAYS_EN
    if lang == "de":
        return f"{names[day.weekday()]} {day.day:d}.{day.month:d}."
    return f"{names[day.weekday()]} {day.month:d}/{day.day:d}"


def _fmt_time(value: dt.datetime) -> str:
    return value.strftime("%H:%M")


def _fmt_span(entry: Entry, gettext: Translator) -> str:
    if entry.all_day:
        return gettext("all day")
    return f"{_fmt_time(entry.start)}\u2013{_fmt_time(entry.end)}"


def _title(rng: ViewRange, gettext: Translator) -> str:
    months = _MONTHS_DE if gettext.lang == "de" else _MONTHS_EN
    if rng.view == "month":
        return f"{months[rng.anchor.month - 1]} {rng.anchor.year}"
    if rng.view == "day":
        return _fmt_day(rng.start, gettext.lang) + f" {rng.start.year}"
    last = rng.end - dt.timedelta(days=1)
    if rng.view == "week":
        week = gettext("Week {n}", n=rng.start.isocalendar()[1])
        return f"{week} \u00b7 {_fmt_day(rng.start, gettext.lang)}\u2013" \
               f"{_fmt_day(last, gettext.lang)} {last.year}"
    return f"{_fmt_day(rng.start, gettext.lang)}\u2013{_fmt_day(last, gettext.lang)} {last.year}"


async def calendar_data(request: web.Request) -> web.StreamResponse:
    """``GET …/data?from=&to=``: the entries of a range as JSON (at most 62 days)."""
    access = await _access(request)
    zone = zone_of(access.calendar)
    today = _today(request, access.calendar)
    first = _date(request.query.get("from"), today)
    last = _date(request.query.get("to"), first + dt.timedelta(days=7))
    if not first < last <= first + dt.timedelta(days=62):
        raise web.HTTPBadRequest(text="from..to must cover 1 to 62 days")
    start = dt.datetime.combine(first, dt.time(0), zone)
    end = dt.datetime.combine(last, dt.time(0), zone)
    shown, states = await asyncio.to_thread(week_data, store_of(request), access.calendar,
                                            start, end)
    return web.json_response({
        "timezone": access.calendar.timezone,
        "items": [e.json() | {"sync": states.get(e.uid)} for e in shown]})


# -- the form and the writes ---------------------------------------------------------------
async def _item(store: SqlStore, calendar: Collection, uid: str) -> ItemRecord:
    item = await asyncio.to_thread(store.get_item_by_uid, calendar.path, uid)
    if item is None or item.component != "VEVENT":
        raise web.HTTPNotFound(text="no such appointment")
    return item


def _instant(raw: str, zone: dt.tzinfo) -> dt.datetime | None:
    errors: list[FieldError] = []
    return parse_instant(raw, "time", zone, errors) if raw else None


def _times(form: dict[str, str], zone: dt.tzinfo) -> tuple[dt.datetime | None, dt.datetime | None]:
    """New start and end: ``start``/``end`` (local ``YYYY-MM-DDTHH:MM``) or ``date`` with
    ``start_time`` and ``end_time`` (an end before the start means the next day)."""
    if form.get("slot"):  # a suggested slot chosen on the form: "start|end"
        first, _, second = form["slot"].partition("|")
        form = form | {"start": first, "end": second}
    if form.get("start"):
        return _instant(form["start"], zone), _instant(form.get("end", ""), zone)
    day = form.get("date", "")
    if not day or not form.get("start_time") or not form.get("end_time"):
        return None, None
    start = _instant(f"{day}T{form['start_time']}", zone)
    end = _instant(f"{day}T{form['end_time']}", zone)
    if start is not None and end is not None and end <= start:
        end += dt.timedelta(days=1)
    return start, end


def _edit(form: dict[str, str], start: dt.datetime | None, end: dt.datetime | None) -> Edit:
    """The form's fields, cleaned like the booking API's (one line, no control characters)."""
    customer: dict[str, str | None] = {}
    for key, limit in (("name", 200), ("email", 254), ("phone", 40)):
        if f"customer_{key}" in form:
            customer[key] = one_line(form[f"customer_{key}"])[:limit] or None
    if customer.get("name") is None:
        customer.pop("name", None)
    return Edit(start=start, end=end,
                title=one_line(form["title"])[:200] if "title" in form else None,
                notes=multi_line(form["notes"])[:5000] if "notes" in form else None,
                customer=customer)


def _verdict_json(verdict: Verdict, gettext: Translator, zone: dt.tzinfo) -> dict[str, Any]:
    return {
        "error": _refusal_text(verdict, gettext),
        "rules": list(verdict.rules),
        "conflicts": [{"uid": c.uid, "title": c.summary,
                       "time": _fmt_range(c.start, c.end, zone, gettext.lang)}
                      for c in verdict.conflicts],
        "suggestions": [{"start": s.start.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
                         "end": s.end.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
                         "label": _fmt_range(s.start, s.end, zone, gettext.lang)}
                        for s in verdict.suggestions],
        "confirm": gettext("Book anyway"),
    }


def _refusal_text(verdict: Verdict, gettext: Translator) -> str:
    reasons = ", ".join(gettext(_RULES[r]) for r in verdict.rules)
    return gettext("This time is not free: {reasons}.", reasons=reasons)


def _fmt_range(start: dt.datetime, end: dt.datetime, zone: dt.tzinfo, lang: str) -> str:
    lo, hi = start.astimezone(zone), end.astimezone(zone)
    day = _fmt_day(lo.date(), lang)
    if lo.date() == hi.date() or hi == dt.datetime.combine(lo.date() + dt.timedelta(days=1),
                                                           dt.time(0), zone):
        return f"{day} {_fmt_time(lo)}\u2013{_fmt_time(hi)}"
    return f"{day} {_fmt_time(lo)}\u2013{_fmt_day(hi.date(), lang)} {_fmt_time(hi)}"


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


async def event_page(request: web.Request) -> web.StreamResponse:
    """``GET …/event?uid=&rid=`` (edit) or ``?start=&end=`` (new): the appointment form."""
    access = await _access(request)
    calendar = access.calendar
    zone = zone_of(calendar)
    uid = request.query.get("uid", "")
    rid = request.query.get("rid", "")
    item = await _item(store_of(request), calendar, uid) if uid else None
    values = {"title": "", "notes": "", "customer_name": "", "customer_email": "",
              "customer_phone": ""}
    if item is not None:
        shown = await asyncio.to_thread(_instance_of, item, rid, zone)
        if shown is None:
            raise web.HTTPNotFound(text="no such occurrence")
        start, end = shown.start, shown.end
        values |= {"title": shown.title, "notes": _notes(item.text),
                   "customer_name": item.customer_name or "",
                   "customer_email": item.customer_email or "",
                   "customer_phone": item.customer_phone or ""}
    else:
        default = dt.datetime.combine(_today(request, calendar), dt.time(9), zone)
        start = _instant(request.query.get("start", ""), zone) or default
        end = _instant(request.query.get("end", ""), zone) or start + dt.timedelta(minutes=30)
        start, end = start.astimezone(zone), end.astimezone(zone)
    return await _form(request, access, item, rid, start, end, values)


async def _form(
    request: web.Request, access: Access, item: ItemRecord | None, rid: str,
    start: dt.datetime, end: dt.datetime, values: dict[str, str], *,
    verdict: Verdict | None = None, http_status: int = 200, scope: str = "series",
    was: tuple[str, str] | None = None,
) -> web.Response:
    gettext = translator_of(request)
    zone = zone_of(access.calendar)
    return await render(
        request, "calendar_event.html", http_status=http_status, calendar=access.calendar,
        writable=access.writable, item=item, rid=rid, values=values,
        date=start.strftime("%Y-%m-%d"), start_time=start.strftime("%H:%M"),
        end_time=end.strftime("%H:%M"), zone_name=access.calendar.timezone or "UTC",
        was_start=was[0] if was else start.strftime("%Y-%m-%dT%H:%M"),
        was_end=was[1] if was else end.strftime("%Y-%m-%dT%H:%M"), scope=scope,
        refusal=_verdict_json(verdict, gettext, zone) if verdict is not None else None,
    )


def _notes(text: str) -> str:
    from icalendar import Calendar

    for comp in Calendar.from_ical(text).walk("VEVENT"):
        return str(comp.get("DESCRIPTION", "") or "")
    return ""


def _instance_of(item: ItemRecord, rid: str, zone: dt.tzinfo) -> Entry | None:
    """The occurrence ``rid`` of a series (or the single appointment itself)."""
    if not item.recurring:
        found = entries([item], dt.datetime.fromtimestamp(item.start_ts - 86400, dt.UTC),
                        dt.datetime.fromtimestamp(item.end_ts + 86400, dt.UTC), zone, {})
        return found[0] if found else None
    when = parse_rid(rid)
    if when is None:
        return None
    around = entries([item], when - dt.timedelta(days=8), when + dt.timedelta(days=8), zone, {})
    return next((e for e in around if e.recurrence_id == rid), None)


async def save(request: web.Request) -> web.StreamResponse:
    """``POST …/save``: create, edit or move (form or ``calendar.js``)."""
    access = await _access(request, write=True)
    calendar = access.calendar
    zone = zone_of(calendar)
    gettext = translator_of(request)
    form = await form_data(request)
    store = store_of(request)
    uid = form.get("uid", "")
    rid_text = form.get("rid", "")
    scope: Scope = "this" if form.get("scope") == "this" else "series"
    start, end = _times(form, zone)
    if start is None or end is None or end <= start or end - start > dt.timedelta(days=7):
        return await _fail(request, access, 422, gettext("Give a valid start and end time."))
    edit = _edit(form, start, end)
    if edit.customer.get("email") and not is_email(edit.customer["email"] or ""):
        return await _fail(request, access, 422, gettext("The e-mail address is not valid."))
    now = dt.datetime.fromtimestamp(store.clock(), dt.UTC)
    item = await _item(store, calendar, uid) if uid else None
    try:
        if item is None:
            uid = f"{uuid.uuid4()}@termin-bridge"
            text = create_text(uid, edit, zone, now)
        else:
            text = edit_text(item.text, edit, zone, now, scope=scope, rid=parse_rid(rid_text))
        parsed = parse_resource(text)
    except (ValueError, InvalidICalendar) as exc:
        return await _fail(request, access, 422, gettext("The appointment could not be "
                                                         "saved: {reason}", reason=str(exc)))
    moved = item is None or (form.get("was_start"), form.get("was_end")) != (
        start.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        end.astimezone(zone).strftime("%Y-%m-%dT%H:%M"))
    proposal = None
    if moved and parsed.status != "CANCELLED":
        proposal = proposal_of(parsed) if not parsed.recurring else Proposal(uid, start, end)
    record = session_of(request).record
    override = Override(f"{record.role} {record.user_name}", "admin") \
        if form.get("allow_conflict") == "1" else None
    etag = form.get("etag") or (item.etag if item is not None else None)
    try:
        await asyncio.to_thread(functools.partial(
            guarded_put, store, Policy.of(settings_of(request).availability), calendar,
            item.href if item is not None else href_for_uid(uid), parsed, proposal,
            origin="admin", override=override, if_match=etag if item is not None else None,
            if_none_match=item is None, now=now))
    except BookingRefused as exc:
        if _wants_json(request):
            return web.json_response(_verdict_json(exc.verdict, gettext, zone), status=409)
        values = {k: form.get(k, "") for k in ("title", "notes", "customer_name",
                                               "customer_email", "customer_phone")}
        return await _form(request, access, item, rid_text, start.astimezone(zone),
                           end.astimezone(zone), values, verdict=exc.verdict, http_status=409,
                           scope=scope, was=(form.get("was_start", ""),
                                             form.get("was_end", "")))
    except EtagMismatch:
        return await _fail(request, access, 412, gettext(
            "The appointment was changed meanwhile. Reload and try again."))
    except NotFound:
        return await _fail(request, access, 404, gettext("The appointment no longer exists."))
    _LOGGER.info("calendar view: %s saved %s in %s%s", record.user_name, uid, calendar.path,
                 " (override)" if override else "")
    wake_worker(request)
    message = gettext("Appointment saved.")
    if _wants_json(request):
        return web.json_response({"ok": True, "message": message})
    raise await redirect(request, _view_url(calendar, form, start.astimezone(zone).date()),
                         message)


def _view_url(calendar: Collection, form: dict[str, str], day: dt.date) -> str:
    view = form.get("view", "week")
    view = view if view in VIEWS else "week"
    return f"/admin/calendar/{calendar.path}?view={view}&date={day.isoformat()}"


async def _fail(request: web.Request, access: Access, status: int, message: str
                ) -> web.Response:
    if _wants_json(request):
        return web.json_response({"error": message}, status=status)
    raise await redirect(request, f"/admin/calendar/{access.calendar.path}", message, "error")


async def delete(request: web.Request) -> web.StreamResponse:
    """``POST …/delete``: delete an appointment, or one instance of a series."""
    access = await _access(request, write=True)
    calendar = access.calendar
    gettext = translator_of(request)
    form = await form_data(request)
    store = store_of(request)
    item = await _item(store, calendar, form.get("uid", ""))
    rid = parse_rid(form.get("rid", ""))
    etag = form.get("etag") or item.etag
    now = dt.datetime.fromtimestamp(store.clock(), dt.UTC)
    try:
        if item.recurring and form.get("scope") == "this" and rid is not None:
            parsed = parse_resource(delete_instance(item.text, rid, zone_of(calendar), now))
            await asyncio.to_thread(functools.partial(
                store.put_item, calendar.path, item.href, parsed, origin="admin",
                if_match=etag))
        else:
            await asyncio.to_thread(functools.partial(
                store.delete_item, calendar.path, item.href, origin="admin", if_match=etag))
    except EtagMismatch:
        return await _fail(request, access, 412, gettext(
            "The appointment was changed meanwhile. Reload and try again."))
    except NotFound:
        return await _fail(request, access, 404, gettext("The appointment no longer exists."))
    _LOGGER.info("calendar view: %s deleted %s in %s", session_of(request).record.user_name,
                 item.uid, calendar.path)
    wake_worker(request)
    message = gettext("Appointment deleted.")
    if _wants_json(request):
        return web.json_response({"ok": True, "message": message})
    day = dt.datetime.fromtimestamp(item.start_ts, dt.UTC).astimezone(zone_of(calendar)).date()
    raise await redirect(request, _view_url(calendar, form, day), message)


def add_routes(admin: web.Application) -> None:
    """Register the handlers of this module."""
    admin.router.add_get("/calendar", calendar_home)
    base = "/calendar/{owner}/{slug}"
    admin.router.add_get(base, calendar_page)
    admin.router.add_get(base + "/data", calendar_data)
    admin.router.add_get(base + "/event", event_page)
    admin.router.add_post(base + "/save", save)
    admin.router.add_post(base + "/delete", delete)
