"""Server-side sessions of the admin page.

The cookie holds 256 random bits; the store keeps only their sha256 (:mod:`bridge.store.admin`).
Every visitor gets an anonymous session first (it carries the login form's CSRF token); a
successful login *replaces* it with a new session id and a new CSRF token (no session fixation),
and logout deletes the row, so a copied cookie is dead from then on.  Sessions expire after
``IDLE_SECONDS`` without a request and ``ABSOLUTE_SECONDS`` after login, whichever is first.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bridge.store import SqlStore
from bridge.store.admin import AdminSession

__all__ = [
    "ABSOLUTE_SECONDS",
    "IDLE_SECONDS",
    "SessionManager",
    "hash_sid",
]

_LOGGER = logging.getLogger(__name__)

IDLE_SECONDS = 2 * 3600
ABSOLUTE_SECONDS = 12 * 3600
ANON_SECONDS = 3600
# Touch the row at most this often (the idle expiry does not need second precision).
_TOUCH_EVERY = 60.0
_SID_BYTES = 32


def hash_sid(sid: str) -> str:
    """The stored form of a session id (sha256, hex)."""
    return hashlib.sha256(sid.encode("ascii", "replace")).hexdigest()


def _new_sid() -> str:
    return secrets.token_urlsafe(_SID_BYTES)


def _new_csrf() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class RequestSession:
    """The session of the current request and the cookie to send back (if any)."""

    record: AdminSession
    sid: str | None = None  # set when a new cookie must be sent

    @property
    def csrf_token(self) -> str:
        """The CSRF token forms of this session must echo."""
        return self.record.csrf_token

    @property
    def data(self) -> dict[str, Any]:
        """Session data (language, pending OAuth flow, flash message)."""
        return self.record.data


class SessionManager:
    """Load, create, rotate and end sessions for requests; set the cookie on responses."""

    def __init__(self, store: SqlStore, *, secure: bool, clock: Any = time.time) -> None:
        self.store = store
        self.secure = secure
        self.clock = clock
        # ``__Host-`` pins the cookie to this exact origin and path (only allowed with Secure).
        self.cookie_name = "__Host-tb_admin" if secure else "tb_admin"

    def _sid_from(self, request: web.Request) -> str | None:
        value = request.cookies.get(self.cookie_name, "")
        if not value or len(value) > 128:
            return None
        return value

    async def load(self, request: web.Request) -> RequestSession | None:
        """The live session of ``request``, or ``None``."""
        sid = self._sid_from(request)
        if sid is None:
            return None
        record = await asyncio.to_thread(self.store.get_admin_session, hash_sid(sid))
        if record is None:
            return None
        await self._maybe_touch(record)
        return RequestSession(record)

    async def ensure(self, request: web.Request) -> RequestSession:
        """The live session of ``request``, or a fresh anonymous one (cookie set later)."""
        existing = await self.load(request)
        if existing is not None:
            return existing
        new_sid = _new_sid()
        record = await asyncio.to_thread(
            self.store.create_admin_session, hash_sid(new_sid), _new_csrf(),
            expires_at=self.clock() + ANON_SECONDS,
        )
        return RequestSession(record, sid=new_sid)

    async def _maybe_touch(self, record: AdminSession) -> None:
        now = self.clock()
        if now - record.last_seen_at < _TOUCH_EVERY:
            return
        limit = record.created_at + (ABSOLUTE_SECONDS if record.user_id else ANON_SECONDS)
        expires = min(now + (IDLE_SECONDS if record.user_id else ANON_SECONDS), limit)
        await asyncio.to_thread(self.store.touch_admin_session, record.sid_hash, expires)

    async def login(self, session: RequestSession, user_id: int) -> RequestSession:
        """Replace ``session`` by a new authenticated one (new id, new CSRF token)."""
        new_sid = _new_sid()
        keep = {k: v for k, v in session.data.items() if k == "lang"}
        record = await asyncio.to_thread(
            self.store.rotate_admin_session, session.record.sid_hash, hash_sid(new_sid),
            _new_csrf(), expires_at=self.clock() + IDLE_SECONDS, user_id=user_id, data=keep,
        )
        _LOGGER.info("admin user id %d logged in", user_id)
        return RequestSession(record, sid=new_sid)

    async def logout(self, session: RequestSession) -> RequestSession:
        """Delete the session server-side and start a fresh anonymous one."""
        new_sid = _new_sid()
        keep = {k: v for k, v in session.data.items() if k == "lang"}
        record = await asyncio.to_thread(
            self.store.rotate_admin_session, session.record.sid_hash, hash_sid(new_sid),
            _new_csrf(), expires_at=self.clock() + ANON_SECONDS, user_id=None, data=keep,
        )
        return RequestSession(record, sid=new_sid)

    async def update(
        self, session: RequestSession, set_values: dict[str, Any] | None = None,
        pop_keys: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Change session data atomically; returns the popped values (single-use reads)."""
        popped = await asyncio.to_thread(
            self.store.update_admin_session_data, session.record.sid_hash, set_values, pop_keys
        )
        for key in pop_keys:
            session.record.data.pop(key, None)
        session.record.data.update(set_values or {})
        return popped or {}

    def apply_cookie(self, session: RequestSession, response: web.StreamResponse) -> None:
        """Send the session cookie when the session is new or was rotated."""
        if session.sid is None:
            return
        response.set_cookie(
            self.cookie_name, session.sid, path="/", httponly=True, secure=self.secure,
            samesite="Lax",
        )
