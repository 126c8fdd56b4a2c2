"""What every admin page handler uses: app keys, page rendering, flash messages, lookups.

A handler that performs one action and sends the browser on with a message has one shape:
``await act(request, action, to=..., fail=...)`` turns an expected error of the action into an
error message and a redirect; after it the handler logs what was done and ends with
``raise await redirect(request, to, message)``.  The page language's
:class:`~bridge.admin.i18n.Translator` is set once per request by the session middleware
(:func:`translator_of`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import jinja2
from aiohttp import web

from bridge.admin.csrf import FORM_FIELD
from bridge.admin.i18n import LANGUAGES, Translator
from bridge.admin.messages import localize
from bridge.admin.providers_ui import (
    MICROSOFT_APPS_URL,
    MICROSOFT_CONSENT_URL,
    PROVIDER_LABELS,
    PROVIDER_NAMES,
    admin_consent_url,
)
from bridge.admin.sessions import RequestSession, SessionManager
from bridge.config import Settings
from bridge.errors import BridgeError, NotFound
from bridge.ical.timezones import zone_for_name
from bridge.model import Collection
from bridge.store import SqlStore
from bridge.store.logins import LoginPolicy
from bridge.web.keys import SETTINGS, STORE

__all__ = [
    "ADMIN",
    "DASH",
    "SESSION",
    "TRANSLATOR",
    "AdminContext",
    "act",
    "calendar_or_404",
    "flash",
    "form_data",
    "or_404",
    "redirect",
    "render",
    "see_other",
    "session_of",
    "translator_of",
]

T = TypeVar("T")

# Typed request key where aiohttp has them (3.13+), a plain string before.
SESSION: Any = (
    web.RequestKey("termin_bridge.admin.session", RequestSession)
    if hasattr(web, "RequestKey") else "termin_bridge.admin.session"
)
TRANSLATOR: Any = (
    web.RequestKey("termin_bridge.admin.translator", Translator)
    if hasattr(web, "RequestKey") else "termin_bridge.admin.translator"
)


@dataclass
class AdminContext:
    """What every admin handler needs besides store and settings."""

    templates: jinja2.Environment
    sessions: SessionManager
    allowed_origins: frozenset[str]
    csp: str
    static_version: str = "0"
    login_policy: LoginPolicy = field(default_factory=LoginPolicy)

    def static_url(self, name: str) -> str:
        """The URL of a static file, versioned so browsers refetch it after an upgrade."""
        return f"/admin/static/{name}?v={self.static_version}"


ADMIN = web.AppKey("admin", AdminContext)
DASH = "\u2013"  # shown for "no value"


def store_of(request: web.Request) -> SqlStore:
    """The store of the sidecar."""
    return request.config_dict[STORE]


def settings_of(request: web.Request) -> Settings:
    """The sidecar's settings."""
    return request.config_dict[SETTINGS]


def session_of(request: web.Request) -> RequestSession:
    """The session the middleware attached (login pages included)."""
    session: RequestSession = request[SESSION]
    return session


def translator_of(request: web.Request) -> Translator:
    """The ``_()`` of this request's page language (set by the session middleware)."""
    gettext: Translator = request[TRANSLATOR]
    return gettext


async def form_data(request: web.Request) -> dict[str, str]:
    """The posted form as plain strings (files and repeated keys beyond the first ignored)."""
    try:
        form = await request.post()
    except ValueError as exc:  # a malformed multipart body
        raise web.HTTPBadRequest(text="malformed form") from exc
    return {k: v for k, v in form.items() if isinstance(v, str) and k != FORM_FIELD}


async def flash(request: web.Request, message: str, kind: str = "ok") -> None:
    """Show ``message`` (already translated) on the next page rendered for this session."""
    session = session_of(request)
    await request.config_dict[ADMIN].sessions.update(
        session, {"flash": {"kind": kind, "text": message}}
    )


def see_other(location: str) -> web.HTTPSeeOther:
    """A 303 to a local path (the caller builds it; never from request input)."""
    return web.HTTPSeeOther(location)


async def redirect(
    request: web.Request, to: str, message: str, kind: str = "ok"
) -> web.HTTPSeeOther:
    """Flash ``message`` (already translated) and return the 303 to ``to`` for the caller to
    raise: ``raise await redirect(request, to, message)``."""
    await flash(request, message, kind)
    return see_other(to)


async def act(
    request: web.Request,
    action: Awaitable[T],
    *,
    to: str,
    errors: tuple[type[Exception], ...] = (BridgeError,),
    fail: str | None = None,
) -> T:
    """Await ``action`` and return its result; on one of ``errors`` flash ``fail`` as an error
    and send the browser to ``to``.

    ``fail`` is already translated, its ``{reason}`` becomes the error's text; without ``fail``
    the error's text is the message.
    """
    try:
        return await action
    except errors as exc:
        text = fail.format(reason=str(exc)) if fail is not None else str(exc)
        raise await redirect(request, to, text, "error") from exc


async def or_404(action: Awaitable[T]) -> T:
    """Await ``action``; a :class:`~bridge.errors.NotFound` answers 404."""
    try:
        return await action
    except NotFound as exc:
        raise web.HTTPNotFound() from exc


def _fmt_time(value: float | None, lang: str) -> str:
    if not value:
        return DASH
    stamp = dt.datetime.fromtimestamp(value, dt.UTC).astimezone()
    return stamp.strftime("%d.%m.%Y %H:%M:%S" if lang == "de" else "%Y-%m-%d %H:%M:%S")


def _fmt_zoned(value: float | None, zone_name: str | None, lang: str) -> str:
    """A POSIX time in the calendar's zone, the zone named ("03.12.2026 14:05 Europe/Berlin")."""
    if not value:
        return DASH
    zone = zone_for_name(zone_name or "") or dt.UTC
    stamp = dt.datetime.fromtimestamp(value, dt.UTC).astimezone(zone)
    text = stamp.strftime("%d.%m.%Y %H:%M" if lang == "de" else "%Y-%m-%d %H:%M")
    return f"{text} {zone_name or 'UTC'}"


def _fmt_ago(value: float | None, now: float, gettext: Translator) -> str:
    if not value:
        return DASH
    seconds = max(0, int(now - value))
    if seconds < 90:
        return gettext("{n} s ago", n=seconds)
    if seconds < 5400:
        return gettext("{n} min ago", n=seconds // 60)
    if seconds < 172800:
        return gettext("{n} h ago", n=seconds // 3600)
    return gettext("{n} days ago", n=seconds // 86400)


async def render(
    request: web.Request, template: str, http_status: int = 200, **context: Any
) -> web.Response:
    """Render ``template`` with the common context (language, CSRF token, user, flash)."""
    admin = request.config_dict[ADMIN]
    gettext = translator_of(request)
    lang = gettext.lang
    session: RequestSession | None = request.get(SESSION)
    flash_message = None
    if session is not None and "flash" in session.data:
        flash_message = (await admin.sessions.update(session, pop_keys=("flash",))).get("flash")
    now = store_of(request).clock()
    html = admin.templates.get_template(template).render(
        _=gettext,
        lang=lang,
        languages=LANGUAGES,
        csrf_token=session.csrf_token if session is not None else "",
        user=session.record.user_name if session is not None
        and (session.record.is_admin or session.record.is_staff) else None,
        admin=session is not None and session.record.is_admin,
        flash=flash_message,
        path=request.path,
        static=admin.static_url,
        fmt_time=lambda v: _fmt_time(v, lang),
        fmt_ago=lambda v: _fmt_ago(v, now, gettext),
        fmt_zoned=lambda v, zone: _fmt_zoned(v, zone, lang),
        explain=lambda text: localize(text, gettext),
        provider_label=lambda name: gettext(PROVIDER_LABELS.get(name) or name),
        provider_name=lambda name: PROVIDER_NAMES.get(name) or name,
        microsoft_admin_consent=admin_consent_url(settings_of(request)),
        microsoft_apps_url=MICROSOFT_APPS_URL, microsoft_consent_url=MICROSOFT_CONSENT_URL,
        **context,
    )
    return web.Response(text=html, status=http_status, content_type="text/html", charset="utf-8")


async def calendar_or_404(request: web.Request) -> Collection:
    """The calendar named by the ``owner``/``slug`` route parts, or 404."""
    path = f"{request.match_info['owner']}/{request.match_info['slug']}"
    coll = await asyncio.to_thread(store_of(request).get_collection, path)
    if coll is None or coll.tag != "VCALENDAR":
        raise web.HTTPNotFound(text="no such calendar")
    return coll
