"""Password hashing (argon2id) for staff and admin accounts."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["generate_password", "hash_password", "needs_rehash", "verify_password"]

_HASHER = PasswordHasher()


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


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A random password for generated accounts (about 120 bits)."""
    return secrets.token_urlsafe(15)
