"""CSRF protection for every state-changing request of the admin page.

Two layers: a per-session synchroniser token that each form echoes in ``csrf_token`` (or a
script in the ``X-CSRF-Token`` header), compared in constant time; and a fetch-metadata check
that refuses a browser's cross-site request (``Sec-Fetch-Site: cross-site`` / ``same-site``, or
an ``Origin`` that is not ours) even before the token is looked at.  SameSite=Lax cookies are a
third layer.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from aiohttp import web

__all__ = ["FORM_FIELD", "HEADER", "SAFE_METHODS", "csrf_problem"]

FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _origin_ok(request: web.Request, allowed_origins: frozenset[str]) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # old browsers and non-browser clients; the token still decides
    if origin == "null":
        return False
    parts = urlsplit(origin)
    own = f"{request.scheme}://{request.host}"
    return origin == own or f"{parts.scheme}://{parts.netloc}" in allowed_origins


async def csrf_problem(
    request: web.Request, expected: str, allowed_origins: frozenset[str] = frozenset()
) -> str | None:
    """Why ``request`` fails the CSRF check, or ``None`` when it passes (or is safe)."""
    if request.method in SAFE_METHODS:
        return None
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return "cross-site request"
    if not _origin_ok(request, allowed_origins):
        return "foreign origin"
    given = request.headers.get(HEADER, "")
    if not given and request.content_type in (
        "application/x-www-form-urlencoded", "multipart/form-data"
    ):
        try:
            form = await request.post()
        except ValueError:  # a malformed multipart body (no boundary, a part without name)
            return "malformed form"
        value = form.get(FORM_FIELD, "")
        given = value if isinstance(value, str) else ""
    if not given or not expected:
        return "missing token"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return "wrong token"
    return None
