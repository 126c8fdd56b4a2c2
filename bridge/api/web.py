"""Mount the booking API at ``/api/v1`` on the sidecar (``setup(app)``).

The API is a sub-application with three middlewares, outermost first: errors (every failure
becomes ``application/problem+json``; unexpected ones are logged and answered 500 without
details), authentication (``Authorization: Bearer <key>``; ``GET`` needs the read scope,
everything else write or admin; the OpenAPI document is public; which calendars a key reaches is
checked by :func:`~bridge.api.request.calendar_for`), and idempotency (a ``POST`` with an
``Idempotency-Key`` is answered once and replayed for 24 hours; the same key with another
request is refused with 422, one still running with 409).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bridge.api import appointments, calendars
from bridge.api.model import FieldError, ValidationFailed
from bridge.api.openapi import openapi_document
from bridge.api.problems import ApiProblem, problem_response
from bridge.api.request import API_KEY, json_response, store_of
from bridge.store.api import Access, ApiKey

__all__ = ["API_KEY", "PREFIX", "create_api", "setup"]

_LOGGER = logging.getLogger(__name__)
PREFIX = "/api/v1"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_PUBLIC = frozenset({"/openapi.json"})
_REPLAY_HEADERS = ("Location", "ETag", "Content-Type")


def _relative(request: web.Request) -> str:
    path = request.path
    return path[len(PREFIX):] if path.startswith(PREFIX) else path


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiProblem as problem:
        return problem_response(problem)
    except ValidationFailed as exc:
        return problem_response(ApiProblem(422, "validation-failed",
                                           "one or more fields are invalid", errors=exc.errors))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        code = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(
            exc.status, "http-error")
        return problem_response(ApiProblem(exc.status, code, exc.reason, headers=headers))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the one boundary that turns any bug into a plain 500
        _LOGGER.exception("booking API request %s %s failed (%s)", request.method, request.path,
                          type(exc).__name__)
        return problem_response(ApiProblem(500, "internal-error", "internal error"))


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _relative(request) in _PUBLIC:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="termin-bridge"'}
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiProblem(401, "unauthorized", "send an API key as 'Authorization: Bearer <key>'",
                         headers=challenge)
    store = store_of(request)
    key = await asyncio.to_thread(store.authenticate_api_key, secret.strip())
    if key is None:
        raise ApiProblem(401, "unauthorized", "unknown or revoked API key", headers=challenge)
    needed: Access = "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"
    if not key.allows(needed):
        raise ApiProblem(403, "insufficient-scope", f"this API key lacks the {needed} scope")
    if key.last_used_at is None or key.last_used_at < store.clock() - 60:
        await asyncio.to_thread(store.touch_api_key, key.id)
    request[API_KEY] = key
    return await handler(request)


def _valid_key(value: str) -> bool:
    return 0 < len(value) <= 255 and all(0x21 <= ord(ch) <= 0x7E for ch in value)


def _to_response(exc: Exception) -> web.Response | None:
    if isinstance(exc, ApiProblem):
        return problem_response(exc)
    if isinstance(exc, ValidationFailed):
        return problem_response(ApiProblem(422, "validation-failed",
                                           "one or more fields are invalid", errors=exc.errors))
    return None


@web.middleware
async def _idempotency(request: web.Request, handler: Handler) -> web.StreamResponse:
    key_text = request.headers.get("Idempotency-Key")
    if request.method != "POST" or key_text is None:
        return await handler(request)
    if not _valid_key(key_text):
        raise ApiProblem(400, "invalid-idempotency-key", "Idempotency-Key must be 1 to 255 "
                         "visible ASCII characters",
                         errors=[FieldError("Idempotency-Key", "must be 1 to 255 visible ASCII "
                                                               "characters")])
    api_key: ApiKey = request[API_KEY]
    body = await request.read()
    digest = hashlib.sha256()
    for part in (request.method.encode(), str(request.rel_url).encode(),
                 request.content_type.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    store = store_of(request)
    found = await asyncio.to_thread(store.begin_idempotent, api_key.id, key_text,
                                    digest.hexdigest())
    if found.state == "replay":
        headers = dict(found.headers or {}) | {"Idempotent-Replayed": "true"}
        content_type = headers.pop("Content-Type", "application/json").split(";")[0]
        return web.Response(status=found.status or 200, text=found.body or "",
                            content_type=content_type, headers=headers)
    if found.state == "mismatch":
        raise ApiProblem(422, "idempotency-key-reused", "this Idempotency-Key was used for a "
                         "different request", errors=[FieldError("Idempotency-Key",
                                                                 "was used for another request")])
    if found.state == "in_progress" or found.record_id is None:
        raise ApiProblem(409, "idempotency-in-progress", "a request with this Idempotency-Key "
                         "is still running", headers={"Retry-After": "1"})
    record_id = found.record_id
    try:
        try:
            response = await handler(request)
        except (ApiProblem, ValidationFailed) as exc:
            converted = _to_response(exc)
            assert converted is not None
            response = converted
    except BaseException:
        await asyncio.shield(asyncio.to_thread(store.abandon_idempotent, record_id))
        raise
    if not isinstance(response, web.Response) or response.status >= 500:
        await asyncio.to_thread(store.abandon_idempotent, record_id)
        return response
    headers = {h: response.headers[h] for h in _REPLAY_HEADERS if h in response.headers}
    text = response.text or ""
    await asyncio.to_thread(store.finish_idempotent, record_id, response.status, headers, text)
    return response


async def _openapi(_request: web.Request) -> web.Response:
    return json_response(openapi_document())


def create_api() -> web.Application:
    """The ``/api/v1`` sub-application."""
    api = web.Application(middlewares=[_errors, _auth, _idempotency])
    api.router.add_get("/openapi.json", _openapi)
    api.router.add_routes(calendars.routes)
    api.router.add_routes(appointments.routes)
    return api


def setup(app: web.Application) -> None:
    """Mount the booking API on the sidecar application."""
    app.add_subapp(PREFIX, create_api())
    _LOGGER.debug("booking API mounted at %s", PREFIX)

