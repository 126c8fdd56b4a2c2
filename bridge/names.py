"""Rules for user names and calendar slugs (also what CalDAV paths may contain)."""

from __future__ import annotations

import re

from bridge.errors import BridgeError

__all__ = ["InvalidName", "check_calendar_ref", "check_slug", "check_user_name"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


class InvalidName(BridgeError):
    """A user name or calendar slug breaks the naming rules."""


def check_user_name(name: str) -> str:
    """Return ``name`` if it is a valid user name (lowercase letters, digits, ``. _ -``)."""
    if not _NAME.match(name) or ".." in name:
        raise InvalidName(
            f"invalid user name {name!r}: use 1-63 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_slug(slug: str) -> str:
    """Return ``slug`` if it is a valid calendar slug (same rules as user names)."""
    if not _NAME.match(slug) or ".." in slug:
        raise InvalidName(
            f"invalid calendar name {slug!r}: use 1-63 lowercase letters, digits, '.', '_' or "
            "'-', starting with a letter or digit"
        )
    return slug


def check_calendar_ref(ref: str) -> tuple[str, str]:
    """Split ``OWNER/SLUG`` and check both parts."""
    owner, sep, slug = ref.strip("/").partition("/")
    if not sep or "/" in slug:
        raise InvalidName(f"expected OWNER/SLUG, got {ref!r}")
    return check_user_name(owner), check_slug(slug)
