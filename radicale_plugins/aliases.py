"""Names of shared calendars in the grantee's calendar home.

A calendar ``/bob/work/`` granted to ``alice`` appears as ``/alice/bob~work/``: the target's
owner, ``~`` and its slug.  User names and slugs (:mod:`bridge.names`) never contain ``~``, and
the storage refuses to create a collection with ``~`` in its name, so an alias can never collide
with a real calendar and always splits back into exactly one target path.
"""

from __future__ import annotations

__all__ = ["SEPARATOR", "alias_path", "alias_target", "is_alias_name"]

SEPARATOR = "~"


def is_alias_name(name: str) -> bool:
    """True when one path segment has the reserved alias form (contains ``~``)."""
    return SEPARATOR in name


def alias_path(home: str, target: str) -> str:
    """The alias of ``target`` (``"bob/work"``) in the home ``home``: ``"alice/bob~work"``."""
    owner, _, slug = target.partition("/")
    return f"{home}/{owner}{SEPARATOR}{slug}"


def alias_target(path: str) -> tuple[str, str] | None:
    """``(home, target)`` for an alias path ``"alice/bob~work"``; None for any other path.

    The target is another user's collection directly below their principal, never the home's
    own (``alice/alice~work`` is not an alias), never empty parts.
    """
    home, sep, name = path.strip("/").partition("/")
    if not sep or "/" in name or not is_alias_name(name):
        return None
    owner, _, slug = name.partition(SEPARATOR)
    if not home or not owner or not slug or owner == home:
        return None
    return home, f"{owner}/{slug}"
