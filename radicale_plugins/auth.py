"""Radicale auth plugin: the store's accounts (``[auth] type = radicale_plugins.auth``).

The same users as ``termin-bridge user``.  argon2 verification costs ~50 ms, and phones send
Basic credentials with every request, so a successful verification is remembered for
``CACHE_SECONDS`` in a per-instance, thread-safe map keyed by an HMAC (random per-process key)
of user name, stored hash and password: no plaintext is kept, and a password change takes effect
within ``USER_SECONDS`` (the account row is re-read that often) because the stored hash is part
of the key.  Failed logins are never cached and always cost one argon2 verification (against a
dummy hash for an unknown or invalid name, and for an empty password too), so no refusal is
cheaper than a wrong password; Radicale adds its own constant-time padding and random delay.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from typing import Any

from radicale import auth as radicale_auth

from bridge.model import User
from bridge.names import InvalidName, check_user_name
from bridge.passwords import check_password, upgraded_hash
from radicale_plugins.store_registry import store_for

__all__ = ["CACHE_SECONDS", "USER_SECONDS", "Auth"]

CACHE_SECONDS = 60.0
USER_SECONDS = 2.0
_MAX_ENTRIES = 10_000


class Auth(radicale_auth.BaseAuth):
    """Check Basic credentials against the store's argon2 hashes."""

    def __init__(self, configuration: Any) -> None:
        super().__init__(configuration)
        if configuration.get("auth", "type") == "none":
            raise RuntimeError("termin-bridge refuses '[auth] type = none'")
        self._store = store_for(configuration)
        self._key = secrets.token_bytes(32)
        self._verified: dict[bytes, float] = {}
        self._users: dict[str, tuple[float, User]] = {}
        self._lock = threading.Lock()
        self.clock = time.monotonic

    def _user(self, login: str, now: float) -> User | None:
        """The account, re-read from the store at most every ``USER_SECONDS``."""
        with self._lock:
            cached = self._users.get(login)
        if cached is not None and cached[0] > now:
            return cached[1]
        user = self._store.get_user(login)
        with self._lock:
            if len(self._users) >= _MAX_ENTRIES:
                self._users.clear()
            if user is not None:
                self._users[login] = (now + USER_SECONDS, user)
        return user

    def _digest(self, login: str, password_hash: str, password: str) -> bytes:
        message = "\x00".join((login, password_hash, password)).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def _login(self, login: str, password: str) -> str:
        try:
            check_user_name(login)
        except InvalidName:
            login = ""
        now = self.clock()
        user = self._user(login, now) if login else None
        stored = user.password_hash if user is not None else None
        digest = self._digest(login, stored or "", password)
        if stored is not None:
            with self._lock:
                expires = self._verified.get(digest)
            if expires is not None and expires > now:
                return login
        # One argon2 verification for every refusal too (unknown name, empty password).
        if not check_password(stored, password):
            return ""
        if stored is not None and (new_hash := upgraded_hash(stored, password)):
            self._store.set_password_hash(login, new_hash)
            with self._lock:
                self._users.pop(login, None)
            stored = new_hash
            digest = self._digest(login, stored, password)
        with self._lock:
            if len(self._verified) >= _MAX_ENTRIES:
                self._verified = {k: v for k, v in self._verified.items() if v > now}
                if len(self._verified) >= _MAX_ENTRIES:
                    self._verified.clear()
            self._verified[digest] = now + CACHE_SECONDS
        return login
