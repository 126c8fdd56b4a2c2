"""The sidecar's access log, with secrets redacted from request paths.

Feed URLs carry their bearer token in the path (``/feeds/<token>.ics``), so aiohttp's default
access log would write live credentials to disk.  :class:`RedactingAccessLogger` logs the same
request line with the token replaced; pass it as ``access_log_class`` to ``web.AppRunner`` (or
``web.run_app``).  Referer is not logged either.
"""

from __future__ import annotations

import re

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from bridge.web.forwarded import CLIENT

__all__ = ["REDACTED", "RedactingAccessLogger", "redact_path"]

REDACTED = "<redacted>"
# The whole remainder of a feed path, query included: the token may be followed by anything.
_FEED_PATH = re.compile(r"(/feeds/).*", re.IGNORECASE | re.DOTALL)
# The query of Exchange's notification URL carries the channel token.
_NOTIFY_QUERY = re.compile(r"(/sync/exchange/notify\?).*", re.IGNORECASE | re.DOTALL)
# Belt and braces: any long run of URL-safe base64 anywhere (tokens, OAuth codes) is hidden too.
_LONG_SECRET = re.compile(r"[A-Za-z0-9_%-]{32,}")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def redact_path(raw_path: str) -> str:
    """``raw_path`` (path and query) with feed tokens and other long secrets replaced."""
    path = _FEED_PATH.sub(r"\g<1>" + REDACTED, raw_path)
    path = _NOTIFY_QUERY.sub(r"\g<1>" + REDACTED, path)
    path = _LONG_SECRET.sub(REDACTED, path)
    # A request line is attacker-controlled: keep it on one printable line.
    return _UNPRINTABLE.sub("?", path)[:2048]


class RedactingAccessLogger(AbstractAccessLogger):
    """An access logger that never writes tokens: ``remote "METHOD path" status bytes ms``."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        """Write one access-log line for a finished request."""
        agent = _UNPRINTABLE.sub("?", request.headers.get("User-Agent", "-"))[:256]
        self.logger.info(
            '%s "%s %s HTTP/%d.%d" %d %d %.1fms "%s"',
            request.get(CLIENT) or request.remote or "-",
            request.method,
            redact_path(request.raw_path),
            request.version.major,
            request.version.minor,
            response.status,
            response.body_length,
            time * 1000,
            agent,
        )
