"""Login, logout and the language switch of the admin page.

Only users with the ``admin`` role may log in; staff accounts are refused even with the right
password.  A successful login rotates the session id and CSRF token; logout deletes the session
server-side.  The ``next`` target after login is checked by
:func:`~bridge.admin.redirects.safe_next`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from aiohttp import web

from bridge.admin.common import (
    ADMIN,
    SESSION,
    form_data,
    lang_of,
    render,
    session_of,
    store_of,
)
from bridge.admin.i18n import LANGUAGES, translator
from bridge.admin.redirects import safe_next
from bridge.passwords import hash_password, verify_password

__all__ = ["add_routes"]

_LOGGER = logging.getLogger(__name__)
# Failed logins per user name within the window before further attempts are refused.
_MAX_FAILURES = 8
_WINDOW = 900.0
_FAILURES: dict[str, deque[float]] = {}
_DUMMY_HASH: list[str] = []


def _throttled(name: str, now: float) -> bool:
    recent = _FAILURES.get(name)
    if recent is None:
        return False
    while recent and recent[0] < now - _WINDOW:
        recent.popleft()
    return len(recent) >= _MAX_FAILURES


def _record_failure(name: str, now: float) -> None:
    if len(_FAILURES) > 10_000:
        _FAILURES.clear()  # bounded memory under a spray of random names
    _FAILURES.setdefault(name, deque()).append(now)


def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password("not-a-real-password"))
    return _DUMMY_HASH[0]


async def login_page(request: web.Request) -> web.StreamResponse:
    """``GET /admin/login``."""
    session = session_of(request)
    target = safe_next(request.query.get("next"))
    if session.record.is_admin:
        raise web.HTTPSeeOther(target)
    return await render(request, "login.html", next=target, error=None, username="")


async def login_submit(request: web.Request) -> web.StreamResponse:
    """``POST /admin/login``: check the password, refuse non-admins, rotate the session."""
    form = await form_data(request)
    name = form.get("username", "").strip()[:255]
    password = form.get("password", "")[:1024]
    target = safe_next(form.get("next"))
    gettext = translator(lang_of(request))
    now = time.monotonic()
    if _throttled(name, now):
        return await render(request, "login.html", http_status=429, next=target, username=name,
                            error=gettext("Too many failed attempts. Wait a few minutes."))
    user = await asyncio.to_thread(store_of(request).get_user, name) if name else None
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = bool(password) and await asyncio.to_thread(verify_password, stored, password)
    if user is None or not ok:
        _record_failure(name, now)
        _LOGGER.info("failed admin login for %r", name)
        return await render(request, "login.html", http_status=401, next=target, username=name,
                            error=gettext("Wrong user name or password."))
    if user.role != "admin":
        _LOGGER.info("refused admin login for non-admin user %r", name)
        return await render(request, "login.html", http_status=403, next=target, username=name,
                            error=gettext("This account may not use the admin page. "
                                          "Ask an administrator."))
    admin = request.config_dict[ADMIN]
    request[SESSION] = await admin.sessions.login(
        session_of(request), user.id)
    _FAILURES.pop(name, None)
    raise web.HTTPSeeOther(target)


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


async def home(_request: web.Request) -> web.StreamResponse:
    """``GET /admin/``: the Synchronisation page is the start page."""
    raise web.HTTPSeeOther("/admin/sync")


def add_routes(admin: web.Application) -> None:
    """Register the handlers of this module."""
    admin.router.add_get("/", home)
    admin.router.add_get("/login", login_page)
    admin.router.add_post("/login", login_submit)
    admin.router.add_post("/logout", logout)
    admin.router.add_post("/lang", set_language)
