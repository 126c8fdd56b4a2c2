"""Google-shaped error bodies for the emulator.

The Calendar API answers every error with
``{"error": {"code", "message", "errors": [{"domain", "reason", "message", ...}], "status"}}``;
:class:`ApiError` carries those fields and renders that body.  :class:`OAuthError` is the flat
``{"error", "error_description"}`` shape of the OAuth token and revoke endpoints.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "STATUS_NAMES",
    "ApiError",
    "OAuthError",
    "ResetConnection",
    "bad_request",
    "forbidden_access_level",
    "int_value",
    "not_found",
    "reason_domain",
]

STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "FAILED_PRECONDITION",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_DEFAULT_MESSAGES: dict[str, str] = {
    "rateLimitExceeded": "Rate Limit Exceeded",
    "userRateLimitExceeded": "User Rate Limit Exceeded",
    "quotaExceeded": "Calendar usage limits exceeded.",
    "backendError": "Backend Error",
    "notFound": "Not Found",
    "conditionNotMet": "Precondition Failed",
    "duplicate": "The requested identifier already exists.",
    "conflict": "Conflict",
    "deleted": "Resource has been deleted",
    "fullSyncRequired": "Sync token is no longer valid, a full sync is required.",
    "forbidden": "Forbidden",
    "authError": "Invalid Credentials",
    "insufficientPermissions": "Insufficient Permission",
    "requiredAccessLevel": "You need to have writer access to this calendar.",
    "badRequest": "Bad Request",
    "invalid": "Invalid Value",
    "required": "Required",
    "internalError": "Internal Error",
}

_USAGE_LIMIT_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}
)
_CALENDAR_REASONS = frozenset({"fullSyncRequired", "updatedMinTooLongAgo", "timeRangeEmpty"})


def reason_domain(reason: str) -> str:
    """Return the error domain Google uses for ``reason``."""
    if reason in _USAGE_LIMIT_REASONS:
        return "usageLimits"
    if reason in _CALENDAR_REASONS:
        return "calendar"
    if reason.startswith("push."):
        return "push"
    return "global"


class ResetConnection(Exception):
    """Raised by a fault rule: the HTTP layer drops the connection without answering."""


class ApiError(Exception):
    """A Calendar API error with Google's body shape."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str | None = None,
        *,
        domain: str | None = None,
        location: str | None = None,
        location_type: str | None = None,
        top_message: str | None = None,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        self.code = code
        self.reason = reason
        self.message = message or _DEFAULT_MESSAGES.get(reason, reason)
        self.domain = domain or reason_domain(reason)
        self.location = location
        self.location_type = location_type
        self.top_message = top_message or self.message
        self.headers = dict(headers or {})
        self.details = details
        super().__init__(f"{code} {reason}: {self.message}")

    def body(self) -> dict[str, Any]:
        """Render the JSON error body."""
        item: dict[str, Any] = {
            "domain": self.domain,
            "reason": self.reason,
            "message": self.message,
        }
        if self.location is not None:
            item["location"] = self.location
            item["locationType"] = self.location_type or "parameter"
        error: dict[str, Any] = {
            "errors": [item],
            "code": self.code,
            "message": self.top_message,
        }
        status = STATUS_NAMES.get(self.code)
        if status:
            error["status"] = status
        if self.details:
            error["details"] = self.details
        return {"error": error}


class OAuthError(Exception):
    """An OAuth endpoint error: ``{"error": code, "error_description": text}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        self.status = status
        self.error = error
        self.description = description
        super().__init__(f"{status} {error}: {description}")

    def body(self) -> dict[str, str]:
        """Render the JSON error body."""
        return {"error": self.error, "error_description": self.description}


def bad_request(
    message: str, *, reason: str = "badRequest", location: str | None = None
) -> ApiError:
    """A 400 with the given message and reason."""
    return ApiError(400, reason, message, location=location)


def int_value(value: Any, name: str) -> int:
    """``int(value)``, or 400 ``invalid`` naming the field."""
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "invalid", f"Invalid value for: {name}", location=name) from exc


def not_found() -> ApiError:
    """The plain 404 ``notFound``."""
    return ApiError(404, "notFound", "Not Found")


def forbidden_access_level() -> ApiError:
    """403 ``requiredAccessLevel``: writing to a calendar the user may only read."""
    return ApiError(403, "requiredAccessLevel", "You need to have writer access to this calendar.")
