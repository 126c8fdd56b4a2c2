"""Login, logout and the language switch of the admin page.

Administrators reach every page; staff members log in to the calendar view only (their own
and granted calendars; ``web._may_enter``), other roles are refused even with the right
password.  A successful login rotates the session id and CSRF token; logout deletes the session
server-side.  The ``next`` target after login is checked by
:func:`~bridge.admin.redirects.safe_next`.  Each attempt is charged to the user name and the
client address before the password is checked (:mod:`bridge.store.logins`, shared by every
process); a locked name or address gets 429 even with the right password, and every refusal
costs one argon2 verification (:func:`~bridge.passwords.check_password`).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bridge.admin.i18n import LANGUAGES
from bridge.admin.pages import (
    ADMIN,
    SESSION,
    form_data,
    render,
    session_of,
    store_of,
    translator_of,
)
from bridge.admin.redirects import safe_next
from bridge.passwords import check_password, upgraded_hash
from bridge.store.logins import AttemptKey

__all__ = ["add_routes"]

_LOGGER = logging.getLogger(__name__)


async def login_page(request: web.Request) -> web.StreamResponse:
    """``GET /admin/login``."""
    session = session_of(request)
    target = safe_next(request.query.get("next"))
    if session.record.is_admin or session.record.is_staff:
        raise web.HTTPSeeOther(_landing(target, session.record.is_admin))
    return await render(request, "login.html", next=target, error=None, username="")


async def login_submit(request: web.Request) -> web.StreamResponse:
    """``POST /admin/login``: check the password, refuse non-admins, rotate the session."""
    form = await form_data(request)
    name = form.get("username", "").strip()[:255]
    password = form.get("password", "")[:1024]
    target = safe_next(form.get("next"))
    gettext = translator_of(request)
    store = store_of(request)
    user = await asyncio.to_thread(store.get_user, name) if name else None
    # Charged before the password is checked, so parallel guesses cannot exceed the limit.
    keys = [AttemptKey("user", name, keep=user is not None),
            AttemptKey("addr", request.remote or "")]
    policy = request.config_dict[ADMIN].login_policy
    if not await asyncio.to_thread(store.claim_login_attempt, keys, policy):
        _LOGGER.info("admin login for %r refused: too many failures", name)
        return await render(request, "login.html", http_status=429, next=target, username=name,
                            error=gettext("Too many failed attempts. Wait a few minutes."))
    stored = user.password_hash if user is not None else None
    ok = await asyncio.to_thread(check_password, stored, password)
    if user is None or not ok:
        _LOGGER.info("failed admin login for %r", name)
        return await render(request, "login.html", http_status=401, next=target, username=name,
                            error=gettext("Wrong user name or password."))
    if user.role not in ("admin", "staff"):
        _LOGGER.info("refused admin login for non-admin user %r", name)
        return await render(request, "login.html", http_status=403, next=target, username=name,
                            error=gettext("This account may not use the admin page. "
                                          "Ask an administrator."))
    await asyncio.to_thread(store.login_succeeded, keys)
    if stored is not None and (new_hash := await asyncio.to_thread(upgraded_hash, stored,
                                                                   password)):
        await asyncio.to_thread(store.set_password_hash, user.name, new_hash)
    admin = request.config_dict[ADMIN]
    request[SESSION] = await admin.sessions.login(
        session_of(request), user.id)
    raise web.HTTPSeeOther(_landing(target, user.role == "admin"))


def _landing(target: str, admin: bool) -> str:
    """Where a login ends: the wanted page, but staff only inside the calendar view."""
    if admin or target.startswith("/admin/calendar/"):
        return target
    return "/admin/calendar"


async def logout(request: web.Request) -> web.StreamResponse:
    """``POST /admin/logout``: end the session server-side."""
    admin = request.config_dict[ADMIN]
    request[SESSION] = await admin.sessions.logout(session_of(request))
    raise web.HTTPSeeOther("/admin/login")


async def set_language(request: web.Request) -> web.StreamResponse:
    """``POST /admin/lang``: remember the chosen language in the session."""
    form = await form_data(request)
    lang = form.get("lang", "")
    if lang in LANGUAGES:
        await request.config_dict[ADMIN].sessions.update(session_of(request), {"lang": lang})
    raise web.HTTPSeeOther(safe_next(form.get("next")))


async def home(request: web.Request) -> web.StreamResponse:
    """``GET /admin/``: the Synchronisation page for admins, the calendar view for staff."""
    raise web.HTTPSeeOther("/admin/sync" if session_of(request).record.is_admin
                           else "/admin/calendar")


def add_routes(admin: web.Application) -> None:
    """Register the handlers of this module."""
    admin.router.add_get("/", home)
    admin.router.add_get("/login", login_page)
    admin.router.add_post("/login", login_submit)
    admin.router.add_post("/logout", logout)
    admin.router.add_post("/lang", set_language)
