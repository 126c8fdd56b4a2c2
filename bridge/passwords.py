"""Password hashing (argon2id) for staff and admin accounts."""

from __future__ import annotations

import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "check_password",
    "generate_password",
    "hash_password",
    "needs_rehash",
    "upgraded_hash",
    "verify_password",
]

_HASHER = PasswordHasher()
_DUMMY_LOCK = threading.Lock()
_DUMMY_HASH: list[str] = []


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    if not password:
        raise ValueError("the password must not be empty")
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash`` (constant-time in argon2)."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash() -> str:
    """A hash of a random password, made once per process (same parameters as real ones)."""
    with _DUMMY_LOCK:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(_HASHER.hash(secrets.token_urlsafe(16)))
        return _DUMMY_HASH[0]


def check_password(password_hash: str | None, password: str) -> bool:
    """Check a login: one argon2 verification whatever the input, so a wrong guess costs the same.

    ``password_hash`` is ``None`` for an unknown account; the password is then verified against
    a dummy hash.  An empty password is verified too (and always refused), so neither an unknown
    name nor an empty password answers faster than a wrong password for a real account.
    """
    ok = verify_password(password_hash or _dummy_hash(), password)
    return ok and bool(password) and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(password_hash)


def upgraded_hash(password_hash: str, password: str) -> str | None:
    """After a successful login: a new hash when ``password_hash`` uses older parameters (the
    caller stores it), else ``None``.  This is how hashes follow argon2's current defaults."""
    return hash_password(password) if needs_rehash(password_hash) else None


def generate_password() -> str:
    """A random password for generated accounts (about 120 bits)."""
    return secrets.token_urlsafe(15)
