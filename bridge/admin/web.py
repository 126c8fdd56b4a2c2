"""The admin page of the sidecar: ``setup(app)`` mounts it under ``/admin/``.

Server-rendered (Jinja2 with autoescape), German and English.  Every ``/admin/`` request passes
two middlewares: security headers (CSP with ``frame-ancestors 'none'``, no caching, referrer
only same-origin) and the session gate (loads the server-side session, sends anonymous visitors
to the login page, sets the page language's translator on the request, checks the CSRF token of
every state-changing request).  The OAuth redirect URI ``/oauth2/callback`` lives at the root and
runs through the same two layers.

Handlers live in ``views_auth`` (login, logout, language), ``views_sync``, ``views_connect``
and ``views_login`` (Synchronisation: connect flow, login providers' form, import, status),
``views_ledger`` (conflicts, ledger) and
``views_feeds`` (ICS feeds) and ``views_booking`` (booking-page settings).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bridge.admin import (
    views_auth,
    views_booking,
    views_calendar,
    views_connect,
    views_feeds,
    views_ledger,
    views_login,
    views_sync,
)
from bridge.admin.csrf import csrf_problem
from bridge.admin.i18n import Translator, negotiate
from bridge.admin.pages import ADMIN, SESSION, TRANSLATOR, AdminContext
from bridge.admin.sessions import RequestSession, SessionManager
from bridge.sync.service import callback_path
from bridge.web.keys import SETTINGS, STORE

__all__ = ["CALLBACK_PATH", "setup"]

_LOGGER = logging.getLogger(__name__)
_HERE = Path(__file__).resolve().parent
CALLBACK_PATH = callback_path("google")
MICROSOFT_CALLBACK_PATH = callback_path("microsoft")
# Paths under /admin/ that anonymous visitors may use.
_PUBLIC = frozenset({"/admin/login", "/admin/lang"})
# What a staff member's session may reach: the calendar view (their own and granted calendars)
# and the session's own pages; everything else is for administrators.
_STAFF_PATHS = frozenset({"/admin/", "/admin/logout", "/admin/calendar"})
_STAFF_PREFIX = "/admin/calendar/"
_PURGE_EVERY = 600.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def _csp(form_targets: list[str]) -> str:
    # The Connect button posts to us and we redirect to Google: Chrome applies form-action to
    # that redirect, so the authorisation server's origin must be listed.
    actions = " ".join(["'self'", *form_targets])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; form-action {actions}; frame-ancestors 'none'; base-uri 'none'"
    )


def _security_headers(response: web.StreamResponse, csp: str) -> None:
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def _headers_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
    csp = request.config_dict[ADMIN].csp
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _security_headers(exc, csp)
        raise
    _security_headers(response, csp)
    return response


def _login_redirect(request: web.Request) -> web.HTTPException:
    if request.method == "GET" and request.path.startswith("/admin/"):
        target = request.path_qs if request.path != "/admin/" else ""
        suffix = "?next=" + quote(target, safe="/") if target else ""
        return web.HTTPSeeOther("/admin/login" + suffix)
    return web.HTTPForbidden(text="login required")


def _may_enter(session: RequestSession, path: str) -> bool:
    """Admins reach every page; staff the calendar view and their session's pages."""
    record = session.record
    if record.is_admin:
        return True
    return record.is_staff and (path in _STAFF_PATHS or path.startswith(_STAFF_PREFIX))


def _translator(request: web.Request, session: RequestSession) -> Translator:
    """The session's language if one was chosen, else the best match of Accept-Language."""
    chosen = session.data.get("lang")
    return Translator(negotiate(request.headers.get("Accept-Language"), chosen))


@web.middleware
async def _session_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
    admin = request.config_dict[ADMIN]
    public = request.path in _PUBLIC or request.path.startswith("/admin/static/")
    if request.path.startswith("/admin/static/"):
        response = await handler(request)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response
    session = await (admin.sessions.ensure(request) if public else admin.sessions.load(request))
    if session is None or (not public and not _may_enter(session, request.path)):
        raise _login_redirect(request)
    request[SESSION] = session
    gettext = _translator(request, session)
    request[TRANSLATOR] = gettext
    problem = await csrf_problem(request, session.csrf_token, admin.allowed_origins)
    if problem is not None:
        _LOGGER.warning("refused %s %s: CSRF check failed (%s)", request.method, request.path,
                        problem)
        response = web.Response(
            status=403, text=gettext("Request refused: the form expired or came from another "
                                     "site. Reload the page and try again."),
        )
        admin.sessions.apply_cookie(session, response)
        return response
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        admin.sessions.apply_cookie(request[SESSION], exc)
        raise
    admin.sessions.apply_cookie(request[SESSION], response)
    return response


def _wrap_root(handler: Handler) -> Handler:
    """Run a root-level handler (the OAuth callback) through the admin middlewares."""

    async def gated(request: web.Request) -> web.StreamResponse:
        return await _headers_mw(request, lambda r: _session_mw(r, handler))

    return gated


async def _purge_sessions(app: web.Application) -> AsyncIterator[None]:
    store = app[STORE]

    async def loop() -> None:
        while True:
            try:
                removed = await asyncio.to_thread(store.purge_admin_sessions)
                if removed:
                    _LOGGER.debug("purged %d expired admin sessions", removed)
            except SQLAlchemyError as exc:
                # A busy or briefly unreachable database: try again at the next round.
                _LOGGER.warning("purging expired admin sessions failed: %s", type(exc).__name__)
            await asyncio.sleep(_PURGE_EVERY)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_HERE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _static_version() -> str:
    digest = hashlib.sha256()
    for path in sorted((_HERE / "static").iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def setup(app: web.Application) -> None:
    """Mount the admin page on the sidecar application."""
    settings = app[SETTINGS]
    public_url = settings.http.public_url
    secure = public_url.startswith("https://")
    origins = {o for o in (_origin(public_url),) if o}
    auth_origins = [o for o in (_origin(settings.google.auth_uri),
                                _origin(settings.microsoft.authority)) if o]
    app[ADMIN] = AdminContext(
        templates=_templates(),
        sessions=SessionManager(app[STORE], secure=secure),
        allowed_origins=frozenset(origins),
        csp=_csp(list(dict.fromkeys(auth_origins))),
        static_version=_static_version(),
    )
    admin = web.Application(middlewares=[_headers_mw, _session_mw])
    admin.router.add_static("/static/", _HERE / "static")
    views_auth.add_routes(admin)
    views_sync.add_routes(admin)
    views_connect.add_routes(admin)
    views_login.add_routes(admin)
    views_ledger.add_routes(admin)
    views_feeds.add_routes(admin)
    views_booking.add_routes(admin)
    views_calendar.add_routes(admin)
    app.router.add_get("/admin", _to_admin)
    app.add_subapp("/admin", admin)
    app.router.add_get(CALLBACK_PATH, _wrap_root(views_connect.oauth_callback))
    app.router.add_get(MICROSOFT_CALLBACK_PATH, _wrap_root(views_connect.oauth_callback))
    app.cleanup_ctx.append(_purge_sessions)


async def _to_admin(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPMovedPermanently("/admin/")
