"""Safe ``next=`` targets: only relative paths under the admin page, never another host.

Everything that is not a plain ``/admin/...`` path is refused: scheme-relative ``//evil.com``,
absolute URLs, backslash tricks (``/\\evil.com`` which browsers read as ``//evil.com``),
``javascript:`` and other schemes, control characters, and encoded slashes or backslashes.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["DEFAULT_TARGET", "safe_next"]

DEFAULT_TARGET = "/admin/"
# Allow-list: the admin prefix followed by path characters and an optional plain query.
_ALLOWED = re.compile(r"^/admin/[A-Za-z0-9._~/-]*(\?[A-Za-z0-9._~=&%+-]*)?$")


def safe_next(value: str | None) -> str:
    """``value`` when it is an allowed relative admin path, else :data:`DEFAULT_TARGET`."""
    if not value or len(value) > 512:
        return DEFAULT_TARGET
    decoded = unquote(value)
    if "\\" in decoded or "//" in decoded or any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        return DEFAULT_TARGET
    if "/../" in decoded or decoded.endswith("/.."):
        return DEFAULT_TARGET
    if not _ALLOWED.match(value):
        return DEFAULT_TARGET
    return value
