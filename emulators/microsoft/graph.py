"""The Graph request pipeline shared by plain HTTP requests and ``$batch`` members.

``dispatch`` routes a transport-neutral :class:`GraphRequest` (path below ``/v1.0``;
``/users/{id|upn}/…`` of the caller is ``/me/…``) and applies, in order: request counting,
scheduled faults, bearer authentication (401 ``InvalidAuthenticationToken``), the per-mailbox
rate limit (429 ``TooManyRequests``), the per-mailbox concurrency limit (429
``ApplicationThrottled``, "MailboxConcurrency"), and the handler.  Handlers register with
:func:`route`.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import re
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from multidict import CIMultiDict

from emulators.microsoft.controls import FaultRule
from emulators.microsoft.errors import GraphError, ResetConnection, graph_body
from emulators.microsoft.render import Prefs, parse_prefs
from emulators.microsoft.state import AccessToken, MsState

__all__ = ["Ctx", "GraphRequest", "GraphResponse", "dispatch", "json_response", "route",
           "take_fault"]

_LOGGER = logging.getLogger(__name__)
_JSON_TYPE = ("application/json;odata.metadata=minimal;odata.streaming=true;"
              "IEEE754Compatible=false;charset=utf-8")
_USERS = re.compile(r"^/users/([^/]+)(/.*)?$", re.IGNORECASE)
_DEFAULT_FAULT_CODES = {
    429: ("TooManyRequests", "Too many requests, please try again later."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable."),
    504: ("UnknownError", "The request timed out."),
    500: ("generalException", "An unspecified error occurred."),
}


@dataclass
class GraphRequest:
    """A transport-neutral Graph request (``path`` is below ``/v1.0``)."""

    method: str
    path: str
    query: str
    headers: CIMultiDict[str]
    body: bytes = b""
    base_url: str = "https://graph.microsoft.com/v1.0"


@dataclass
class GraphResponse:
    """A transport-neutral response (``text`` for non-JSON bodies)."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None


@dataclass
class Ctx:
    """What a handler gets: the state, the caller, the request and its preferences."""

    state: MsState
    request: GraphRequest
    token: AccessToken
    match: dict[str, str]
    prefs: Prefs

    @property
    def account(self) -> str:
        """The caller's user principal name."""
        return self.token.account

    @property
    def params(self) -> dict[str, str]:
        """Query parameters (last value wins)."""
        return dict(parse_qsl(self.request.query, keep_blank_values=True))

    def json_body(self) -> dict[str, Any]:
        """The body as a JSON object, or 400 ``BadRequest``."""
        if not self.request.body:
            raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
        try:
            data = json.loads(self.request.body)
        except ValueError as exc:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please "
                             "ensure Content-Type header is set and payload is of valid JSON "
                             "format.") from exc
        if not isinstance(data, dict):
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.")
        return data


Handler = Callable[[Ctx], Awaitable[GraphResponse]]
_ROUTES: list[tuple[str, re.Pattern[str], str, Handler]] = []


def route(method: str, pattern: str, op: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``method`` and a path pattern with ``{name}`` segments."""
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "/?$",
                       re.IGNORECASE)

    def register(func: Handler) -> Handler:
        _ROUTES.append((method, regex, op, func))
        return func

    return register


def json_response(body: dict[str, Any], status: int = 200) -> GraphResponse:
    """A JSON response."""
    return GraphResponse(status, body)


def _match(method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
    for verb, regex, op, func in _ROUTES:
        found = regex.match(path)
        if found and verb == method:
            return op, func, found.groupdict()
    return None


def _bearer(request: GraphRequest) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def authenticate(state: MsState, request: GraphRequest) -> AccessToken:
    """The live access token of the request, or 401 ``InvalidAuthenticationToken``."""
    value = _bearer(request)
    header = {"WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.'
              'microsoftonline.com/common/oauth2/authorize", '
              'client_id="00000003-0000-0000-c000-000000000000"'}
    if not value:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", header)
    token = state.access_tokens.get(value)
    if token is None:
        raise GraphError(401, "InvalidAuthenticationToken",
                         "IDX14100: JWT is not well formed, there are no dots (.)." if "."
                         not in value else "Access token validation failure. Invalid audience.",
                         header)
    if token.revoked or token.expires_at <= state.clock.now():
        raise GraphError(401, "InvalidAuthenticationToken",
                         "Lifetime validation failed, the token is expired.", header)
    return token


def take_fault(state: MsState, op: str, account: str | None) -> FaultRule | None:
    """The first fault rule matching ``op`` (and account), using up one of its ``times``."""
    for rule in state.faults:
        if not fnmatch.fnmatchcase(op, rule.op):
            continue
        if rule.account is not None and rule.account != account:
            continue
        if rule.times is not None:
            rule.times -= 1
            if rule.times <= 0:
                state.faults.remove(rule)
        return rule
    return None


def fault_error(rule: FaultRule) -> GraphError | None:
    """The error a fault rule answers with (``None`` for latency-only rules)."""
    if rule.reset:
        raise ResetConnection(rule.op)
    if rule.status is None:
        return None
    code, message = _DEFAULT_FAULT_CODES.get(rule.status, ("BadRequest", "Fault injected."))
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    return GraphError(rule.status, rule.code or code, rule.message or message, headers)


def _check_rate(state: MsState, account: str) -> None:
    limit = state.rate_limit
    if limit is None:
        return
    now = state.clock.now().timestamp()
    hits = state.rate_hits.setdefault(account, deque())
    while hits and hits[0] <= now - limit.per_seconds:
        hits.popleft()
    if len(hits) >= limit.max:
        state.counters.throttled += 1
        raise GraphError(429, "TooManyRequests", "Too many requests, please try again later.",
                         {"Retry-After": str(limit.retry_after)})
    hits.append(now)


def _normalise_path(path: str, state: MsState, token: AccessToken | None) -> str:
    found = _USERS.match(path)
    if found is None or token is None:
        return path
    account = state.accounts.get(token.account)
    who = found.group(1).lower()
    if account is not None and who in (account.upn.lower(), account.oid.lower()):
        return "/me" + (found.group(2) or "")
    raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try "
                     "again.")


def _error(state: MsState, request: GraphRequest, error: GraphError) -> GraphResponse:
    body = graph_body(error.code, error.message, state.clock.now(),
                      request.headers.get("client-request-id"))
    return GraphResponse(error.status, body, dict(error.headers))


async def _run(state: MsState, request: GraphRequest, path: str, func: Handler,
               match: dict[str, str], rule: FaultRule | None) -> GraphResponse:
    token = authenticate(state, request)
    if not token.account:  # an app-only (client credentials) token
        if path.lower().startswith("/me"):
            raise GraphError(400, "BadRequest", "/me request is only valid with delegated "
                             "authentication flow.")
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try "
                         "again.")
    _check_rate(state, token.account)
    if state.inflight[token.account] >= state.config.max_concurrency:
        state.counters.throttled += 1
        raise GraphError(429, "ApplicationThrottled",
                         "Application is over its MailboxConcurrency limit.",
                         {"Retry-After": str(state.config.concurrency_retry_after)})
    state.inflight[token.account] += 1
    state.counters.max_inflight = max(state.counters.max_inflight, state.inflight[token.account])
    try:
        if rule is not None and rule.latency:
            await asyncio.sleep(rule.latency)
        if rule is not None and not rule.after:
            error = fault_error(rule)
            if error is not None:
                raise error
        resp = await func(Ctx(state, request, token, match, parse_prefs(request.headers)))
    finally:
        state.inflight[token.account] -= 1
    if rule is not None and rule.after:
        error = fault_error(rule)
        if error is not None:
            raise error
    return resp


async def dispatch(state: MsState, request: GraphRequest) -> GraphResponse:
    """Run one Graph request through the whole pipeline; never raises ``GraphError``."""
    request_id = str(uuid.uuid4())
    try:
        token = state.access_tokens.get(_bearer(request))
        path = _normalise_path(request.path, state, token)
        routed = _match(request.method, path)
        if routed is None:
            segment = path.strip("/").split("/")[-1] or path
            raise GraphError(400, "BadRequest", f"Resource not found for the segment "
                             f"'{segment}'.")
        op, func, match = routed
        state.counters.api_requests[op] += 1
        rule = take_fault(state, op, token.account if token else None)
        resp = await _run(state, request, path, func, match, rule)
    except GraphError as error:
        _LOGGER.debug("%s %s -> %d %s", request.method, request.path, error.status, error.code)
        resp = _error(state, request, error)
    except ResetConnection:
        raise
    except Exception as exc:  # answered as Graph's backend would, and logged
        _LOGGER.error("Unexpected error in %s %s", request.method, request.path, exc_info=exc)
        resp = _error(state, request, GraphError(500, "generalException",
                                                 "An unspecified error occurred."))
    resp.headers.setdefault("request-id", request_id)
    resp.headers.setdefault("client-request-id",
                            request.headers.get("client-request-id", request_id))
    if resp.body is not None:
        resp.headers.setdefault("Content-Type", _JSON_TYPE)
    return resp
