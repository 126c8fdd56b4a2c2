"""The online booking page on the public port: ``setup(app)`` mounts it under ``/book/``.

``/book/<public id>`` lets a customer pick a service duration and a free slot (working hours
minus busy times, :mod:`bridge.booking.offer`), enter name, e-mail and phone and book.  The
write is :func:`bridge.booking.guard.guarded_put` with ``origin="booking"`` and no override:
the booking rules are judged under the calendar lock inside the write's transaction, so of two
customers booking one slot at the same moment exactly one wins, and the appointment takes the
store's one write path (change log, provider outbox, the customer's confirmation e-mail).
The e-mail carries a signed link (:mod:`bridge.booking.tokens`) to ``/book/manage/<token>``,
where the customer cancels or moves the appointment without an account.

Every page is server-rendered (Jinja2, autoescape), German or English (``?lang=``, remembered
in a cookie, else ``Accept-Language``; texts in the admin catalogue), with the admin pages' CSP.
Forms carry a signed double-submit token (no session on a public page) and pass the admin's
fetch-metadata check (:func:`bridge.admin.csrf.csrf_problem`).  Booking attempts and misses
(unknown ids, bad links) are rate-limited per client (:class:`bridge.feeds.limits.MissLimiter`).
Slots show only free times: never a title or another customer's data.  Bad input answers a
clear 4xx page, never a 5xx.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from aiohttp import web

from bridge.admin.csrf import FORM_FIELD, csrf_problem
from bridge.admin.i18n import LANGUAGES, Translator, negotiate
from bridge.api.model import (
    AppointmentChange,
    ValidationFailed,
    apply_change,
    build_calendar,
    parse_change,
)
from bridge.availability import Slot
from bridge.booking.guard import BookingRefused, Policy, guarded_put, load_occurrences, zone_of
from bridge.booking.offer import Offer, day_range, day_slots
from bridge.booking.rules import Proposal
from bridge.booking.tokens import ManageClaim, Signer, TokenExpired, TokenForged, manage_path
from bridge.errors import BridgeError, DuplicateUid, EtagMismatch, InvalidICalendar, NotFound
from bridge.feeds.limits import MissLimiter
from bridge.ical.validate import parse_resource
from bridge.model import Collection, ItemRecord
from bridge.notify.render import format_when
from bridge.notify.web import wake_worker
from bridge.store import SqlStore, href_for_uid
from bridge.store.booking import BookingPage
from bridge.web.keys import SETTINGS, STORE

__all__ = ["BOOKPAGE", "BookPage", "setup"]

_LOGGER = logging.getLogger(__name__)
_HERE = Path(__file__).resolve().parent
PREFIX = "/book"
ORIGIN = "booking"
_CSRF_COOKIE = "tb_book_csrf"
_LANG_COOKIE = "tb_book_lang"
_MAX_FIELD = 1000  # raw characters of one form field before any cleaning
_SEARCH_DAYS = 14  # how far the page looks for the first day with free slots
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class BookPage:
    """The booking page's state: templates, signer, limiters."""

    templates: jinja2.Environment
    signer: Signer | None
    allowed_origins: frozenset[str]
    secure: bool
    static_version: str
    # Booking, cancel and move attempts per client, and misses (unknown ids, bad links).
    writes: MissLimiter = field(default_factory=lambda: MissLimiter(20, 600.0))
    misses: MissLimiter = field(default_factory=lambda: MissLimiter(30, 60.0))


BOOKPAGE = web.AppKey("bookpage", BookPage)
_LANG: Any = (web.RequestKey("termin_bridge.bookpage.lang", Translator)
              if hasattr(web, "RequestKey") else "termin_bridge.bookpage.lang")


class PageError(Exception):
    """A 4xx answer: status and an English message from the catalogue."""

    def __init__(self, status: int, message: str, **values: Any) -> None:
        self.status = status
        self.message = message
        self.values = values
        super().__init__(message)


# -- helpers -----------------------------------------------------------------------------------
def _ctx(request: web.Request) -> BookPage:
    return request.config_dict[BOOKPAGE]


def _store(request: web.Request) -> SqlStore:
    return request.config_dict[STORE]


def _gettext(request: web.Request) -> Translator:
    found: Translator = request[_LANG]
    return found


def _client(request: web.Request) -> str:
    return request.remote or "-"


def _now(request: web.Request) -> dt.datetime:
    return dt.datetime.fromtimestamp(_store(request).clock(), dt.UTC)


def _policy(request: web.Request) -> Policy:
    return Policy.of(request.config_dict[SETTINGS].availability)


def _signer(request: web.Request) -> Signer:
    signer = _ctx(request).signer
    if signer is None:  # no secret key: the page cannot sign links or forms
        raise PageError(404, "This booking page does not exist or is switched off.")
    return signer


def _fmt_time(value: dt.datetime) -> str:
    return value.strftime("%H:%M")


def _fmt_day(day: dt.date, lang: str) -> str:
    from babel.dates import format_date

    pattern = "EEEE, d. MMMM y" if lang == "de" else "EEEE, d MMMM y"
    return str(format_date(day, pattern, locale="de_DE" if lang == "de" else "en_GB"))


def _zone_label(calendar: Collection) -> str:
    return calendar.timezone or "UTC"


def _when(start: dt.datetime, end: dt.datetime, calendar: Collection, lang: str) -> str:
    payload = {"start": start.astimezone(dt.UTC).isoformat(),
               "end": end.astimezone(dt.UTC).isoformat(), "timezone": _zone_label(calendar)}
    return f"{format_when(payload, lang)} · {_zone_label(calendar)}"


def _calendar_name(calendar: Collection) -> str:
    return str(calendar.props.get("D:displayname") or calendar.path.rsplit("/", 1)[-1])


async def _render(request: web.Request, template: str, status: int = 200,
                  **context: Any) -> web.Response:
    ctx = _ctx(request)
    gettext = _gettext(request)
    cookie = request.cookies.get(_CSRF_COOKIE) or ""
    new_cookie = None
    if len(cookie) != 43:
        cookie = new_cookie = secrets.token_urlsafe(32)
    signer = ctx.signer
    query = {k: v for k, v in request.query.items() if k != "lang"}
    html = ctx.templates.get_template(template).render(
        _=gettext, lang=gettext.lang, languages=LANGUAGES,
        csrf_token=signer.form_token(cookie) if signer is not None else "",
        static=lambda name: f"{PREFIX}/static/{name}?v={ctx.static_version}",
        lang_url=lambda code: request.path + "?" + urlencode({**query, "lang": code}),
        **context)
    response = web.Response(text=html, status=status, content_type="text/html",
                            charset="utf-8")
    if new_cookie is not None:
        response.set_cookie(_CSRF_COOKIE, new_cookie, path=PREFIX + "/", httponly=True,
                            samesite="Strict", secure=ctx.secure)
    return response


async def _problem(request: web.Request, error: PageError) -> web.Response:
    gettext = _gettext(request)
    return await _render(request, "book_error.html", error.status,
                         message=gettext(error.message, **error.values))


# -- middleware: headers, language, CSRF, limits, 4xx pages ------------------------------------
@web.middleware
async def _page_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
    ctx = _ctx(request)
    chosen = request.query.get("lang") or request.cookies.get(_LANG_COOKIE)
    gettext = Translator(negotiate(request.headers.get("Accept-Language"), chosen))
    request[_LANG] = gettext
    try:
        if request.path.startswith(PREFIX + "/static/"):
            response = await handler(request)
            response.headers["Cache-Control"] = "public, max-age=86400"
        else:
            response = await _checked(request, handler)
    except PageError as exc:
        response = await _problem(request, exc)
    except web.HTTPNotFound:
        response = await _problem(request, PageError(404, "This page does not exist."))
    except web.HTTPMethodNotAllowed:
        response = await _problem(request, PageError(405, "This page does not exist."))
    except web.HTTPRequestEntityTooLarge:
        response = await _problem(request, PageError(413, "The form is too large."))
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # no-referrer sends "Origin: null"
    response.headers.setdefault("Cache-Control", "no-store")
    lang = request.query.get("lang")
    if lang in LANGUAGES:
        response.set_cookie(_LANG_COOKIE, lang, path=PREFIX + "/", httponly=True,
                            samesite="Lax", secure=ctx.secure)
    return response


async def _checked(request: web.Request, handler: Handler) -> web.StreamResponse:
    ctx = _ctx(request)
    client = _client(request)
    if ctx.misses.retry_after(client) is not None:
        raise PageError(429, "Too many attempts. Please wait a moment and try again.")
    if request.method == "POST":
        retry = ctx.writes.retry_after(client)
        if retry is not None:
            raise PageError(429, "Too many attempts. Please wait a moment and try again.")
        ctx.writes.record(client)
        cookie = request.cookies.get(_CSRF_COOKIE, "")
        expected = ctx.signer.form_token(cookie) if ctx.signer is not None and cookie else ""
        problem = await csrf_problem(request, expected, ctx.allowed_origins)
        if problem is not None:
            _LOGGER.warning("booking page refused %s: CSRF check failed (%s)", request.method,
                            problem)
            raise PageError(403, "The form expired or came from another site. Reload the page "
                                 "and try again.")
    return await handler(request)


def _miss(request: web.Request) -> None:
    _ctx(request).misses.record(_client(request))


# -- reading requests --------------------------------------------------------------------------
async def _form(request: web.Request) -> dict[str, str]:
    try:
        form = await request.post()
    except ValueError as exc:
        raise PageError(400, "The form could not be read.") from exc
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != FORM_FIELD}
    if any(len(v) > _MAX_FIELD for v in values.values()):
        raise PageError(400, "An entry is too long.")
    return values


async def _enabled_page(request: web.Request) -> tuple[BookingPage, Collection]:
    found = await asyncio.to_thread(_store(request).booking_page_by_public_id,
                                    request.match_info["public_id"])
    if found is None or not found[0].enabled or _ctx(request).signer is None:
        _miss(request)
        raise PageError(404, "This booking page does not exist or is switched off.")
    return found


def _duration(raw: str | None, page: BookingPage) -> int | None:
    if raw is None or raw == "":
        return page.durations[0] if len(page.durations) == 1 else None
    if not raw.isdigit() or int(raw) not in page.durations:
        raise PageError(400, "This service duration is not offered.")
    return int(raw)


def _day(raw: str | None, default: dt.date) -> dt.date:
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise PageError(400, "This is not a valid date.") from exc


def _start(raw: str | None, zone: dt.tzinfo) -> dt.datetime:
    """A slot's start as the page sends it (local ISO time of the calendar's zone)."""
    if not raw:
        raise PageError(400, "Please choose a time.")
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise PageError(400, "This is not a valid time.") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(zone)


def _offer(request: web.Request, page: BookingPage, zone: dt.tzinfo) -> Offer:
    return Offer.of(_now(request), zone, dt.timedelta(minutes=page.lead_minutes),
                    page.horizon_days)


def _slots_of_days(
    store: SqlStore, policy: Policy, calendar: Collection, first: dt.date, days: int,
    minutes: int, offer: Offer, ignore_uid: str | None = None,
) -> dict[dt.date, list[Slot]]:
    """Free slots per day for ``days`` days from ``first`` (one load of the occurrences)."""
    zone = zone_of(calendar)
    duration = dt.timedelta(minutes=minutes)
    lo = day_range(first, zone)[0]
    hi = day_range(first + dt.timedelta(days=days - 1), zone)[1] + duration
    occurrences = load_occurrences(store, policy, calendar, lo, hi)
    return {day: day_slots(occurrences, day, zone, duration, offer, options=policy.options,
                           ignore_uid=ignore_uid)
            for day in (first + dt.timedelta(days=i) for i in range(days))}


async def _day_view(
    request: web.Request, calendar: Collection, page: BookingPage, minutes: int,
    raw_day: str | None, ignore_uid: str | None = None,
) -> dict[str, Any]:
    """The chosen (or first free) day, its slots and the navigation around it."""
    zone = zone_of(calendar)
    offer = _offer(request, page, zone)
    first = offer.first_day(zone)
    store, policy = _store(request), _policy(request)
    if raw_day:
        day = _day(raw_day, first)
        if not offer.has_day(day, zone):
            raise PageError(400, "This day cannot be booked.")
        slots = (await asyncio.to_thread(_slots_of_days, store, policy, calendar, day, 1,
                                         minutes, offer, ignore_uid))[day]
    else:
        days = min(_SEARCH_DAYS, (offer.last_day - first).days + 1)
        found = await asyncio.to_thread(_slots_of_days, store, policy, calendar, first, days,
                                        minutes, offer, ignore_uid)
        day = next((d for d, s in found.items() if s), first)
        slots = found[day]
    lang = _gettext(request).lang
    prev_day = day - dt.timedelta(days=1)
    next_day = day + dt.timedelta(days=1)
    return {
        "day": day, "day_label": _fmt_day(day, lang),
        "prev_day": prev_day if offer.has_day(prev_day, zone) else None,
        "next_day": next_day if offer.has_day(next_day, zone) else None,
        "slots": [{"value": s.start.strftime("%Y-%m-%dT%H:%M"), "label": _fmt_time(s.start),
                   "end": _fmt_time(s.end)} for s in slots],
        "zone": _zone_label(calendar),
    }


async def _require_offered(
    request: web.Request, calendar: Collection, page: BookingPage, start: dt.datetime,
    minutes: int, ignore_uid: str | None = None,
) -> None:
    zone = zone_of(calendar)
    offer = _offer(request, page, zone)
    if start < _now(request):
        raise PageError(400, "This time is in the past. Please choose another time.")
    day = start.astimezone(zone).date()
    if not offer.has_day(day, zone) or start < offer.earliest:
        raise PageError(409, "This time is not offered. Please choose another time.")
    slots = (await asyncio.to_thread(_slots_of_days, _store(request), _policy(request), calendar,
                                     day, 1, minutes, offer, ignore_uid))[day]
    if not any(s.start == start for s in slots):
        raise PageError(409, "This time is not offered. Please choose another time.")


# -- the booking page --------------------------------------------------------------------------
async def booking_page(request: web.Request) -> web.StreamResponse:
    """``GET /book/<public id>``: durations, a day's free slots, and the contact form."""
    page, calendar = await _enabled_page(request)
    minutes = _duration(request.query.get("duration"), page)
    context: dict[str, Any] = {"page": page, "calendar_name": _calendar_name(calendar),
                               "zone": _zone_label(calendar), "minutes": minutes,
                               "base": f"{PREFIX}/{page.public_id}", "chosen": None,
                               "errors": {}, "values": {}}
    if minutes is not None:
        context.update(await _day_view(request, calendar, page, minutes,
                                       request.query.get("day")))
        raw_start = request.query.get("start")
        if raw_start:
            start = _start(raw_start, zone_of(calendar))
            await _require_offered(request, calendar, page, start, minutes)
            context["chosen"] = {
                "value": start.strftime("%Y-%m-%dT%H:%M"),
                "label": _when(start, start + dt.timedelta(minutes=minutes), calendar,
                               _gettext(request).lang)}
    return await _render(request, "book.html", **context)


_FIELD_MESSAGES = {
    "customer.name": "Please enter your name (at most 200 characters).",
    "customer.email": "Please enter a valid e-mail address.",
    "customer.phone": "Please enter a valid phone number (digits, spaces, + ( ) / . -).",
}


def _customer(form: dict[str, str], zone: dt.tzinfo, start: dt.datetime,
              minutes: int) -> tuple[AppointmentChange, dict[str, str]]:
    """The validated change of a booking (the booking API's own field checks), or errors."""
    errors: dict[str, str] = {}
    name, email, phone = (form.get(k, "").strip() for k in ("name", "email", "phone"))
    if not email:
        errors["customer.email"] = _FIELD_MESSAGES["customer.email"]
    body: dict[str, Any] = {
        "start": start.isoformat(), "duration_minutes": minutes,
        "service": f"{minutes} min",
        "customer": {"name": name, "email": email or None, "phone": phone or None}}
    try:
        change = parse_change(body, zone, create=True)
    except ValidationFailed as exc:
        for error in exc.errors:
            errors[error.field] = _FIELD_MESSAGES.get(error.field, "Please check your entries.")
        change = AppointmentChange()
    return change, errors


async def book(request: web.Request) -> web.StreamResponse:
    """``POST /book/<public id>``: book the chosen slot (the booking rules decide)."""
    page, calendar = await _enabled_page(request)
    form = await _form(request)
    zone = zone_of(calendar)
    minutes = _duration(form.get("duration"), page)
    if minutes is None:
        raise PageError(400, "This service duration is not offered.")
    start = _start(form.get("start"), zone)
    await _require_offered(request, calendar, page, start, minutes)
    change, errors = _customer(form, zone, start, minutes)
    gettext = _gettext(request)
    if errors:
        context = await _day_view(request, calendar, page, minutes,
                                  start.date().isoformat())
        return await _render(
            request, "book.html", 400, page=page, calendar_name=_calendar_name(calendar),
            minutes=minutes, base=f"{PREFIX}/{page.public_id}",
            chosen={"value": start.strftime("%Y-%m-%dT%H:%M"),
                    "label": _when(start, start + dt.timedelta(minutes=minutes), calendar,
                                   gettext.lang)},
            errors=errors, values=form, **context)
    now = _now(request)
    uid = f"{uuid.uuid4()}@termin-bridge"
    end = start + dt.timedelta(minutes=minutes)
    change.customer["language"] = gettext.lang  # their e-mails follow the page's language
    try:
        parsed = parse_resource(build_calendar(uid, change, zone, now, booked_online=True))
    except InvalidICalendar as exc:
        raise PageError(400, "Please check your entries.") from exc
    proposal = Proposal(uid, start, end)
    try:
        await asyncio.to_thread(functools.partial(
            guarded_put, _store(request), _policy(request), calendar, href_for_uid(uid), parsed,
            proposal, origin=ORIGIN, if_none_match=True, now=now))
    except BookingRefused as exc:
        raise PageError(409, "Someone else has just booked this time. Please choose another "
                             "time.") from exc
    except (EtagMismatch, DuplicateUid) as exc:
        raise PageError(409, "Please try again.") from exc
    _LOGGER.info("booking page %s booked appointment %s in %s", page.public_id, uid,
                 calendar.path)
    wake_worker(request)
    return await _render(request, "book_done.html", 201, calendar_name=_calendar_name(calendar),
                         when=_when(start, end, calendar, gettext.lang), email=change.customer
                         .get("email") or "", kind="booked",
                         base=f"{PREFIX}/{page.public_id}")


# -- cancel and reschedule by the link in the e-mail -------------------------------------------
async def _claimed(request: web.Request) -> tuple[ManageClaim, Collection, BookingPage,
                                                   ItemRecord]:
    signer = _signer(request)
    store = _store(request)
    try:
        claim = signer.read_manage_token(request.match_info["token"], store.clock())
    except TokenExpired as exc:
        raise PageError(410, "This link has expired. Please contact us to change your "
                             "appointment.") from exc
    except TokenForged as exc:
        _miss(request)
        raise PageError(403, "This link is not valid. Please use the link from your e-mail.") \
            from exc

    def load() -> tuple[Collection | None, BookingPage | None, ItemRecord | None]:
        calendar = store.get_collection_by_id(claim.calendar_id)
        if calendar is None:
            return None, None, None
        return (calendar, store.booking_page(calendar.path),
                store.get_item_by_uid(calendar.path, claim.uid))

    calendar, page, item = await asyncio.to_thread(load)
    if calendar is None or page is None or not page.enabled:
        raise PageError(404, "This booking page does not exist or is switched off.")
    if item is None or item.status == "CANCELLED" or item.component != "VEVENT":
        raise PageError(410, "This appointment was cancelled or no longer exists.")
    if item.recurring:
        raise PageError(409, "This appointment cannot be changed online.")
    return claim, calendar, page, item


def _span(item: ItemRecord) -> tuple[dt.datetime, dt.datetime]:
    return (dt.datetime.fromtimestamp(item.start_ts, dt.UTC),
            dt.datetime.fromtimestamp(item.end_ts, dt.UTC))


async def manage_page(request: web.Request) -> web.StreamResponse:
    """``GET /book/manage/<token>``: the appointment, cancel, and free slots to move it to."""
    _claim, calendar, page, item = await _claimed(request)
    start, end = _span(item)
    minutes = max(1, int((end - start).total_seconds() // 60))
    lang = _gettext(request).lang
    view = await _day_view(request, calendar, page, minutes, request.query.get("day"),
                           ignore_uid=item.uid)
    return await _render(request, "book_manage.html", calendar_name=_calendar_name(calendar),
                         when=_when(start, end, calendar, lang), minutes=minutes,
                         base=manage_path(request.match_info["token"]), **view)


async def cancel(request: web.Request) -> web.StreamResponse:
    """``POST /book/manage/<token>/cancel``: delete the appointment (a cancellation follows)."""
    _claim, calendar, page, item = await _claimed(request)
    await _form(request)
    store = _store(request)
    try:
        await asyncio.to_thread(store.delete_item, calendar.path, item.href, origin=ORIGIN,
                                if_match=item.etag)
    except (EtagMismatch, NotFound) as exc:
        raise PageError(409, "The appointment changed meanwhile. Please open the link again.") \
            from exc
    _LOGGER.info("booking page %s: customer cancelled %s in %s", page.public_id, item.uid,
                 calendar.path)
    wake_worker(request)
    start, end = _span(item)
    return await _render(request, "book_done.html", calendar_name=_calendar_name(calendar),
                         when=_when(start, end, calendar, _gettext(request).lang), email="",
                         kind="cancelled", base=f"{PREFIX}/{page.public_id}")


async def reschedule(request: web.Request) -> web.StreamResponse:
    """``POST /book/manage/<token>/reschedule``: move the appointment to an offered slot."""
    _claim, calendar, page, item = await _claimed(request)
    form = await _form(request)
    zone = zone_of(calendar)
    old_start, old_end = _span(item)
    minutes = max(1, int((old_end - old_start).total_seconds() // 60))
    start = _start(form.get("start"), zone)
    await _require_offered(request, calendar, page, start, minutes, ignore_uid=item.uid)
    end = start + dt.timedelta(minutes=minutes)
    now = _now(request)
    try:
        parsed = parse_resource(apply_change(item.text, AppointmentChange(start=start, end=end),
                                             zone, now))
    except (InvalidICalendar, ValidationFailed) as exc:
        raise PageError(409, "This appointment cannot be changed online.") from exc
    try:
        await asyncio.to_thread(functools.partial(
            guarded_put, _store(request), _policy(request), calendar, item.href, parsed,
            Proposal(item.uid, start, end), origin=ORIGIN, if_match=item.etag, now=now))
    except BookingRefused as exc:
        raise PageError(409, "Someone else has just booked this time. Please choose another "
                             "time.") from exc
    except (EtagMismatch, DuplicateUid, NotFound) as exc:
        raise PageError(409, "The appointment changed meanwhile. Please open the link again.") \
            from exc
    _LOGGER.info("booking page %s: customer moved %s in %s", page.public_id, item.uid,
                 calendar.path)
    wake_worker(request)
    return await _render(request, "book_done.html", calendar_name=_calendar_name(calendar),
                         when=_when(start, end, calendar, _gettext(request).lang), email="",
                         kind="moved", base=f"{PREFIX}/{page.public_id}")


# -- mounting ----------------------------------------------------------------------------------
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_HERE / "templates")), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def setup(app: web.Application) -> None:
    """Mount the booking page on the sidecar application (public port)."""
    settings = app[SETTINGS]
    signer: Signer | None = None
    try:
        old = [k.strip() for k in settings.security.old_secret_keys.split(",") if k.strip()]
        signer = Signer(settings.security.secret_key, old)
    except BridgeError:
        _LOGGER.warning("booking pages are unavailable: no [security] secret_key")
    public_url = settings.http.public_url
    digest = hashlib.sha256((_HERE / "static" / "book.css").read_bytes()).hexdigest()[:12]
    app[BOOKPAGE] = BookPage(
        templates=_templates(), signer=signer,
        allowed_origins=frozenset(o for o in (_origin(public_url),) if o),
        secure=public_url.startswith("https://"), static_version=digest)
    sub = web.Application(middlewares=[_page_mw])
    sub.router.add_static("/static/", _HERE / "static")
    sub.router.add_get("/manage/{token}", manage_page)
    sub.router.add_post("/manage/{token}/cancel", cancel)
    sub.router.add_post("/manage/{token}/reschedule", reschedule)
    sub.router.add_get("/{public_id}", booking_page)
    sub.router.add_post("/{public_id}", book)
    app.add_subapp(PREFIX, sub)
