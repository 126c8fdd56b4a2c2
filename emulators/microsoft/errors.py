"""Microsoft-shaped error bodies: the Graph envelope and the identity platform's AADSTS body.

Graph answers every error with ``{"error": {"code", "message", "innerError": {"date",
"request-id", "client-request-id"}}}`` (:class:`GraphError`).  The token endpoint answers with
``{"error", "error_description": "AADSTSnnnnn: … Trace ID: … Correlation ID: … Timestamp: …",
"error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"[, "suberror"]}``
(:class:`AadError`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

__all__ = ["AadError", "GraphError", "ResetConnection", "aad_body", "graph_body"]

_ERROR_URI = "https://login.microsoftonline.com/error?code="


class ResetConnection(Exception):
    """Raised by a fault rule: the HTTP layer drops the connection without answering."""


class GraphError(Exception):
    """A Graph API error: HTTP status, ``code`` and ``message`` (and extra headers)."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        super().__init__(f"{status} {code}: {message}")


def graph_body(code: str, message: str, now: dt.datetime,
               client_request_id: str | None = None) -> dict[str, Any]:
    """The Graph error envelope with a fresh request id."""
    request_id = str(uuid.uuid4())
    return {"error": {"code": code, "message": message, "innerError": {
        "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": client_request_id or request_id,
    }}}


class AadError(Exception):
    """An identity platform error: OAuth ``error``, AADSTS number, text and ``suberror``."""

    def __init__(self, status: int, error: str, code: int, text: str,
                 suberror: str | None = None) -> None:
        self.status = status
        self.error = error
        self.code = code
        self.text = text
        self.suberror = suberror
        super().__init__(f"{status} {error} AADSTS{code}: {text}")

    def description(self, now: dt.datetime, trace_id: str, correlation_id: str) -> str:
        """``AADSTSnnnnn: text`` plus the trace/correlation ids and timestamp lines."""
        stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        return (f"AADSTS{self.code}: {self.text} Trace ID: {trace_id} "
                f"Correlation ID: {correlation_id} Timestamp: {stamp}")

    def body(self, now: dt.datetime) -> dict[str, Any]:
        """The JSON body of the token endpoint."""
        return aad_body(self, now)


def aad_body(error: AadError, now: dt.datetime) -> dict[str, Any]:
    """Render ``error`` with fresh trace and correlation ids."""
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    body: dict[str, Any] = {
        "error": error.error,
        "error_description": error.description(now, trace_id, correlation_id),
        "error_codes": [error.code],
        "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"{_ERROR_URI}{error.code}",
    }
    if error.suberror:
        body["suberror"] = error.suberror
    return body
