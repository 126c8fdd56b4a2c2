"""RFC 9457 ``application/problem+json`` answers of the booking API."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from bridge.api.model import FieldError

__all__ = ["PROBLEM_TYPE", "ApiProblem", "problem_response"]

PROBLEM_TYPE = "application/problem+json"
_TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 409: "Conflict",
    412: "Precondition Failed", 413: "Content Too Large", 415: "Unsupported Media Type",
    422: "Unprocessable Content", 428: "Precondition Required", 500: "Internal Server Error",
    503: "Service Unavailable",
}


class ApiProblem(Exception):
    """An error answer: HTTP status, a short code, detail text, optional field errors and
    extension members."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})  # RFC 9457 extension members
        super().__init__(detail)


def problem_response(problem: ApiProblem) -> web.Response:
    """The problem+json response for ``problem``."""
    body: dict[str, object] = {
        **problem.extra,
        "type": f"https://termin-bridge.invalid/problems/{problem.code}",
        "title": _TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in problem.errors]
    return web.Response(
        status=problem.status, text=json.dumps(body), content_type=PROBLEM_TYPE,
        headers=problem.headers,
    )
