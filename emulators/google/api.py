"""The Calendar API request pipeline shared by plain HTTP requests and batch parts.

``dispatch`` routes a transport-neutral :class:`ApiRequest` by the discovery document's paths, then
applies, in order: request counting, scheduled faults, bearer authentication, scope check, the
per-account rate limit, and the method handler.  Handlers are registered in ``HANDLERS`` by method
id (``calendar.events.list``); a documented method without a handler answers 501.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from multidict import CIMultiDict

from emulators.google.controls import FaultRule
from emulators.google.errors import ApiError, ResetConnection
from emulators.google.scopes import SCOPE_PREFIX, MethodSpec, match_route
from emulators.google.state import AccessToken, EmulatorState

__all__ = [
    "HANDLERS",
    "ApiRequest",
    "ApiResponse",
    "Ctx",
    "apply_fault",
    "authenticate",
    "dispatch",
    "json_response",
]

_LOGGER = logging.getLogger(__name__)
API_PREFIX = "/calendar/v3/"


@dataclass
class ApiRequest:
    """A transport-neutral API request (from aiohttp or from a batch part)."""

    method: str
    path: str
    query: str
    headers: CIMultiDict[str]
    body: bytes = b""

    def params(self) -> dict[str, list[str]]:
        """The query parameters, each with all its values."""
        return parse_qs(self.query, keep_blank_values=True)


@dataclass
class ApiResponse:
    """A transport-neutral response."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


@dataclass
class Ctx:
    """What a handler gets: the state, the caller and the request."""

    state: EmulatorState
    request: ApiRequest
    spec: MethodSpec
    path_params: dict[str, str]
    token: AccessToken

    @property
    def account(self) -> str:
        """The calling account's email."""
        return self.token.account

    @property
    def params(self) -> dict[str, list[str]]:
        """Query parameters."""
        return self.request.params()

    def calendar_id(self) -> str:
        """The ``calendarId`` path parameter with ``primary`` resolved."""
        cid = self.path_params.get("calendarId", "")
        return self.account if cid == "primary" else cid

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object (400 ``parseError`` if it is not one)."""
        if not self.request.body:
            return {}
        try:
            data = json.loads(self.request.body)
        except ValueError as exc:
            raise ApiError(400, "parseError", "Parse Error") from exc
        if not isinstance(data, dict):
            raise ApiError(400, "parseError", "Parse Error")
        return data


Handler = Callable[[Ctx], Awaitable[ApiResponse]]
HANDLERS: dict[str, Handler] = {}


def json_response(body: dict[str, Any], status: int = 200, etag: str | None = None) -> ApiResponse:
    """A JSON response, with an ``ETag`` header when given."""
    headers = {"ETag": etag} if etag else {}
    return ApiResponse(status, body, headers)


def _error_response(error: ApiError) -> ApiResponse:
    return ApiResponse(error.code, error.body(), dict(error.headers))


def take_fault(state: EmulatorState, method_id: str, account: str | None) -> FaultRule | None:
    """Find the first matching fault rule and use up one of its ``times``."""
    for rule in state.faults:
        if not fnmatch.fnmatchcase(method_id, rule.method):
            continue
        if rule.account is not None and rule.account != account:
            continue
        if rule.times is not None:
            rule.times -= 1
            if rule.times <= 0:
                state.faults.remove(rule)
        _LOGGER.debug("Fault for %s: status=%s reset=%s after=%s", method_id, rule.status,
                      rule.reset, rule.after)
        return rule
    return None


async def enact_fault(rule: FaultRule, method_id: str) -> None:
    """Sleep, reset the connection or raise the rule's error."""
    if rule.latency:
        await asyncio.sleep(rule.latency)
    if rule.reset:
        raise ResetConnection(method_id)
    if rule.status is not None:
        reason = rule.reason or {
            429: "rateLimitExceeded", 500: "backendError", 503: "backendError",
            404: "notFound", 409: "conflict", 410: "deleted", 412: "conditionNotMet",
            401: "authError",
        }.get(rule.status, "badRequest")
        headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
        raise ApiError(rule.status, reason, rule.message, headers=headers)


async def apply_fault(state: EmulatorState, method_id: str, account: str | None = None) -> None:
    """Take and enact the first matching fault rule (for endpoints without an 'after')."""
    rule = take_fault(state, method_id, account)
    if rule is not None:
        await enact_fault(rule, method_id)


def _truncate(resp: ApiResponse) -> ApiResponse:
    text = json.dumps(resp.body or {}).encode()
    return ApiResponse(resp.status, None, dict(resp.headers), raw=text[: len(text) // 2])


def _bearer(request: ApiRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    params = request.params()
    for name in ("access_token", "oauth_token"):
        if params.get(name):
            return params[name][-1]
    return None


def _auth_error() -> ApiError:
    return ApiError(
        401, "authError", "Invalid Credentials",
        location="Authorization", location_type="header",
        top_message="Request had invalid authentication credentials. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                 'error="invalid_token"'},
    )


def authenticate(state: EmulatorState, request: ApiRequest) -> AccessToken:
    """The live access token of the request, or 401 ``authError``."""
    value = _bearer(request)
    token = state.access_tokens.get(value or "")
    if token is None or token.revoked or token.expires_at <= state.clock.now():
        raise _auth_error()
    if state.policy_blocks(token.account, token.client_id):
        raise _auth_error()
    return token


def _check_scopes(spec: MethodSpec, token: AccessToken) -> None:
    if spec.scopes & set(token.scopes):
        return
    raise ApiError(
        403, "insufficientPermissions", "Insufficient Permission",
        top_message="Request had insufficient authentication scopes.",
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                 'error="insufficient_scope", scope="' + " ".join(sorted(spec.scopes)) + '"'},
        details=[{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            "domain": "googleapis.com",
            "metadata": {"service": "calendar-json.googleapis.com", "method": spec.id},
        }],
    )


def _check_rate(state: EmulatorState, account: str) -> None:
    limit = state.rate_limit
    if limit is None:
        return
    now = state.clock.now().timestamp()
    hits = state.rate_hits.setdefault(account, deque())
    while hits and hits[0] <= now - limit.per_seconds:
        hits.popleft()
    if len(hits) >= limit.max:
        raise ApiError(limit.status, limit.reason)
    hits.append(now)


async def dispatch(state: EmulatorState, request: ApiRequest) -> ApiResponse:
    """Run one API request through the whole pipeline; never raises ``ApiError``."""
    rel = request.path[len(API_PREFIX):] if request.path.startswith(API_PREFIX) else None
    routed = match_route(request.method, rel) if rel is not None else None
    if routed is None:
        _LOGGER.debug("No route for %s %s", request.method, request.path)
        return _error_response(ApiError(404, "notFound", "Not Found"))
    spec, path_params = routed
    state.counters.api_requests[spec.id] += 1
    peek = state.access_tokens.get(_bearer(request) or "")
    rule = take_fault(state, spec.id, peek.account if peek else None)
    try:
        if rule is not None and not rule.after and not rule.truncate:
            await enact_fault(rule, spec.id)
        token = authenticate(state, request)
        _check_scopes(spec, token)
        _check_rate(state, token.account)
        handler = HANDLERS.get(spec.id)
        if handler is None:
            raise ApiError(501, "notImplemented", f"{spec.id} is not emulated")
        resp = await handler(Ctx(state, request, spec, path_params, token))
    except ApiError as error:
        _LOGGER.debug("%s -> %d %s", spec.id, error.code, error.reason)
        resp = _error_response(error)
    except ResetConnection:
        raise
    except Exception as exc:  # answered as Google's backend would, and logged
        _LOGGER.error("Unexpected error in %s", spec.id, exc_info=exc)
        resp = _error_response(ApiError(500, "backendError", "Backend Error"))
    if rule is not None and rule.truncate:
        return _truncate(resp)
    if rule is not None and rule.after:
        try:
            await enact_fault(rule, spec.id)
        except ApiError as error:
            return _error_response(error)
    return resp


def full_scope(name: str) -> str:
    """``calendar.events`` → the full scope URL."""
    return name if name.startswith("https://") else SCOPE_PREFIX + name


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup for plain mappings."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None
