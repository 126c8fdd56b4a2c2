"""The Google Calendar client: google-api-python-client behind an async, typed facade.

* Endpoints come from ``[google] api_endpoint``, so Google and the emulator are one code path.
* Each worker thread has its own ``httplib2.Http`` and service object (httplib2 is not
  thread-safe); every call runs in a thread via :func:`asyncio.to_thread`, off the event loop.
* The access token comes from an injected :class:`~bridge.google.auth.TokenProvider`; a 401 makes
  it refresh once and the call is repeated once.
* ``If-Match`` is set on updates, patches and deletes when an etag is given.
* :func:`translate_error` is the only place where an HTTP status becomes a
  :class:`~bridge.errors.RemoteError`.
* Transient failures (5xx, 429, 403 rate limits, timeouts, resets, truncated bodies) are retried
  with truncated exponential backoff and full jitter, honouring ``Retry-After``; permanent errors
  are raised at once.  A per-user token bucket keeps us below Google's 600 requests per minute.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import httplib2
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from bridge.errors import (
    CursorExpired,
    RemoteAuthError,
    RemoteError,
    RemoteForbidden,
    RemoteNotFound,
    RemotePreconditionFailed,
    RemoteTransient,
)
from bridge.providers.http import ClientStats, RequestBudget, RetryPolicy, TokenSource

__all__ = [
    "GoogleBadRequest",
    "GoogleClient",
    "GoogleDuplicate",
    "GoogleQuotaExceeded",
    "translate_error",
]

_LOGGER = logging.getLogger(__name__)

# Requests per batch (Google allows 1,000; it recommends at most 50).
BATCH_SIZE = 50
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_TRANSIENT_EXC: tuple[type[BaseException], ...] = (
    TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException,
    httplib2.HttpLib2Error, OSError, ValueError,
)


class GoogleBadRequest(RemoteError):
    """400: the request itself is wrong (permanent; never retried)."""


class GoogleDuplicate(RemoteError):
    """409 ``duplicate``: an event with that id already exists (or existed)."""


class GoogleQuotaExceeded(RemoteTransient):
    """403 ``quotaExceeded`` (calendar usage limits): retry only much later."""


def _reason(exc: HttpError) -> str:
    try:
        data = json.loads(exc.content.decode("utf-8", "replace"))
        errors = data.get("error", {}).get("errors") or []
        if errors and isinstance(errors[0], dict):
            return str(errors[0].get("reason") or "")
        return str(data.get("error", {}).get("status") or "")
    except (ValueError, AttributeError):
        return ""


def _retry_after(exc: HttpError) -> float | None:
    value = exc.resp.get("retry-after") if exc.resp is not None else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def translate_error(exc: BaseException) -> RemoteError:
    """The one mapping from an HTTP or network failure to a :class:`RemoteError`."""
    if isinstance(exc, RemoteError):
        return exc
    if not isinstance(exc, HttpError):
        return RemoteTransient(f"network error: {type(exc).__name__}", reason="network")
    status = int(exc.resp.status) if exc.resp is not None else 0
    reason = _reason(exc)
    message = f"Google answered {status} {reason}".strip()
    err: RemoteError
    if status == 400:
        err = GoogleBadRequest(message, status=status, reason=reason)
    elif status == 401:
        err = RemoteAuthError(message, status=status, reason=reason or "authError")
    elif status == 403 and reason in _RATE_REASONS:
        err = RemoteTransient(message, status=status, reason=reason)
    elif status == 403 and reason == "quotaExceeded":
        err = GoogleQuotaExceeded(message, status=status, reason=reason)
    elif status == 403:
        err = RemoteForbidden(message, status=status, reason=reason)
    elif status == 404:
        err = RemoteNotFound(message, status=status, reason=reason or "notFound")
    elif status == 409:
        err = GoogleDuplicate(message, status=status, reason=reason or "duplicate")
    elif status == 410 and reason in ("fullSyncRequired", "updatedMinTooLongAgo", ""):
        if reason:
            err = CursorExpired(message, status=status, reason=reason)
        else:
            err = RemoteNotFound(message, status=status, reason="deleted")
    elif status == 410:
        err = RemoteNotFound(message, status=status, reason=reason)
    elif status == 412:
        err = RemotePreconditionFailed(message, status=status, reason=reason)
    elif status == 429 or status >= 500:
        err = RemoteTransient(message, status=status, reason=reason)
    else:
        err = RemoteError(message, status=status, reason=reason)
    err.retry_after = _retry_after(exc)  # type: ignore[attr-defined]
    return err


def _retryable(err: RemoteError) -> bool:
    return isinstance(err, RemoteTransient) and not isinstance(err, GoogleQuotaExceeded)


Builder = Callable[[Any], Any]


def _calendar_list(params: dict[str, Any]) -> Builder:
    return lambda svc: svc.calendarList().list(**params)


def batch_uri(api_endpoint: str) -> str:
    """The batch endpoint that belongs to ``api_endpoint`` (``…/calendar/v3/`` →
    ``…/batch/calendar/v3``; the discovery document's own batch URL is always Google's)."""
    base = api_endpoint if api_endpoint.endswith("/") else api_endpoint + "/"
    if base.endswith("calendar/v3/"):
        return base[: -len("calendar/v3/")] + "batch/calendar/v3"
    return base + "batch"


def _batch_builder(builders: list[Builder], uri: str) -> Builder:
    return lambda svc: _BatchCall(svc, builders, uri)


class _BatchCall:
    """Several API requests sent as one ``multipart/mixed`` batch (the library's
    :class:`~googleapiclient.http.BatchHttpRequest`), shaped like one request for
    :meth:`GoogleClient.call`: its headers (``Authorization``) go on every part, and
    ``execute`` returns each part's result or exception in order."""

    def __init__(self, svc: Any, builders: list[Builder], uri: str) -> None:
        self.svc = svc
        self.builders = builders
        self.uri = uri
        self.headers: dict[str, str] = {}

    def execute(self, http: httplib2.Http, num_retries: int = 0) -> list[tuple[Any, Any]]:
        out: list[tuple[Any, Any]] = [(None, None)] * len(self.builders)

        def done(request_id: str, response: Any, exception: Any) -> None:
            out[int(request_id)] = (response, exception)

        batch = BatchHttpRequest(callback=done, batch_uri=self.uri)
        for i, builder in enumerate(self.builders):
            request = builder(self.svc)
            request.headers.update(self.headers)
            batch.add(request, request_id=str(i))
        batch.execute(http=http)
        return out


class GoogleClient:
    """Calendar API calls for one Google user (one connection's account)."""

    def __init__(
        self,
        *,
        api_endpoint: str,
        tokens: TokenSource,
        budget: RequestBudget | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        stats: ClientStats | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.api_endpoint = api_endpoint if api_endpoint.endswith("/") else api_endpoint + "/"
        self.tokens = tokens
        self.budget = budget
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.stats = stats or ClientStats()
        self.sleep = sleep
        self._local = threading.local()

    # -- plumbing ----------------------------------------------------------------------------
    def _service(self) -> tuple[Any, httplib2.Http]:
        svc = getattr(self._local, "service", None)
        if svc is None:
            http = httplib2.Http(timeout=self.timeout)
            svc = build(
                "calendar", "v3", http=http, static_discovery=True, cache_discovery=False,
                client_options={"api_endpoint": self.api_endpoint},
            )
            self._local.service = svc
            self._local.http = http
        return svc, self._local.http

    def _execute(self, builder: Builder, token: str, etag: str | None) -> Any:
        svc, http = self._service()
        request = builder(svc)
        request.headers["Authorization"] = "Bearer " + token
        if etag is not None:
            request.headers["If-Match"] = etag
        try:
            return request.execute(http=http, num_retries=0)
        except HttpError:
            raise
        except _TRANSIENT_EXC as exc:
            # A reset or timeout leaves httplib2's connection unusable: start a fresh one.
            self._local.service = None
            raise RemoteTransient(f"network error: {type(exc).__name__}",
                                  reason="network") from exc

    async def call(self, name: str, builder: Builder, *, etag: str | None = None,
                   cost: int = 1, background: bool = False) -> Any:
        """Run one API request with auth, budget, retries and error translation.

        ``cost``: requests it counts for (a batch counts each part); ``background``: see
        :meth:`RequestBudget.acquire`.
        """
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            if self.budget is not None:
                await self.budget.acquire(cost, background=background)
            token = await self.tokens.access_token()
            try:
                result = await asyncio.to_thread(self._execute, builder, token, etag)
            except Exception as exc:
                err = translate_error(exc)
                self.stats.by_status[str(err.status or err.reason or "error")] += 1
                if err.status == 401 and not refreshed:
                    refreshed = True
                    self.tokens.invalidate()
                    _LOGGER.debug("%s: 401, refreshing the access token once", name)
                    attempt -= 1
                    continue
                if _retryable(err) and attempt < self.retry.max_attempts:
                    delay = self.retry.delay(attempt, getattr(err, "retry_after", None))
                    self.stats.retries += 1
                    _LOGGER.debug("%s: %s, retry %d in %.2fs", name, err, attempt, delay)
                    await self.sleep(delay)
                    continue
                raise err from exc
            self.stats.by_status["200"] += 1
            return result

    async def batch(self, name: str, builders: list[Builder], *, background: bool = False
                    ) -> list[tuple[Any, RemoteError | None]]:
        """Run requests as batches of :data:`BATCH_SIZE`: each part's result or its error.

        A batch that fails as a whole is retried like one request; a part's error is returned
        (translated), not raised, so the caller can fall back for that part alone.
        """
        uri = batch_uri(self.api_endpoint)
        out: list[tuple[Any, RemoteError | None]] = []
        for start in range(0, len(builders), BATCH_SIZE):
            chunk = builders[start:start + BATCH_SIZE]
            parts = await self.call(name, _batch_builder(chunk, uri), cost=len(chunk),
                                    background=background)
            for result, exc in parts:
                if exc is None:
                    out.append((result, None))
                    continue
                err = translate_error(exc)
                self.stats.by_status[str(err.status or err.reason or "error")] += 1
                out.append((None, err))
        return out

    async def batch_get_events(self, calendar_id: str, event_ids: list[str], *,
                               background: bool = False
                               ) -> list[tuple[Any, RemoteError | None]]:
        """``events.get`` of each id, in batches."""
        def get(event_id: str) -> Builder:
            return lambda svc: svc.events().get(calendarId=calendar_id, eventId=event_id)

        return await self.batch("batch events.get", [get(e) for e in event_ids],
                                background=background)

    async def batch_update_events(self, calendar_id: str,
                                  bodies: list[tuple[str, dict[str, Any]]], *,
                                  background: bool = False
                                  ) -> list[tuple[Any, RemoteError | None]]:
        """``events.update`` (``sendUpdates=none``) of each (id, body), in batches."""
        def put(event_id: str, body: dict[str, Any]) -> Builder:
            return lambda svc: svc.events().update(calendarId=calendar_id, eventId=event_id,
                                                   body=body, sendUpdates="none")

        return await self.batch("batch events.update", [put(e, b) for e, b in bodies],
                                background=background)

    # -- API -----------------------------------------------------------------------------
    async def list_events(
        self,
        calendar_id: str,
        *,
        sync_token: str | None = None,
        page_token: str | None = None,
        ical_uid: str | None = None,
        max_results: int = 2500,
    ) -> dict[str, Any]:
        """One page of ``events.list`` (with deleted items, unexpanded series)."""
        params: dict[str, Any] = {"calendarId": calendar_id, "maxResults": max_results,
                                  "showDeleted": True, "singleEvents": False}
        if sync_token:
            params["syncToken"] = sync_token
        if page_token:
            params["pageToken"] = page_token
        if ical_uid:
            params["iCalUID"] = ical_uid
        result: dict[str, Any] = await self.call(
            "events.list", lambda svc: svc.events().list(**params))
        return result

    async def get_event(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        """``events.get`` (cancelled events too)."""
        result: dict[str, Any] = await self.call(
            "events.get", lambda svc: svc.events().get(calendarId=calendar_id, eventId=event_id))
        return result

    async def insert_event(self, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``events.insert`` with ``sendUpdates=none``; 409 raises ``GoogleDuplicate``."""
        result: dict[str, Any] = await self.call(
            "events.insert",
            lambda svc: svc.events().insert(calendarId=calendar_id, body=body,
                                            sendUpdates="none"))
        return result

    async def update_event(
        self, calendar_id: str, event_id: str, body: dict[str, Any], *, etag: str | None = None
    ) -> dict[str, Any]:
        """``events.update`` (full replace) with ``If-Match`` when ``etag`` is given.

        ``conferenceDataVersion=1`` and ``supportsAttachments=true``: the body carries the
        event's conference data and attachments as Google gave them (``mapping_extra``), and
        only with these flags does Google take them from the body instead of ignoring them.
        """
        result: dict[str, Any] = await self.call(
            "events.update",
            lambda svc: svc.events().update(calendarId=calendar_id, eventId=event_id, body=body,
                                            sendUpdates="none", conferenceDataVersion=1,
                                            supportsAttachments=True),
            etag=etag)
        return result

    async def patch_event(
        self, calendar_id: str, event_id: str, body: dict[str, Any], *, etag: str | None = None
    ) -> dict[str, Any]:
        """``events.patch`` with ``If-Match`` when ``etag`` is given."""
        result: dict[str, Any] = await self.call(
            "events.patch",
            lambda svc: svc.events().patch(calendarId=calendar_id, eventId=event_id, body=body,
                                           sendUpdates="none"),
            etag=etag)
        return result

    async def delete_event(
        self, calendar_id: str, event_id: str, *, etag: str | None = None
    ) -> None:
        """``events.delete`` with ``If-Match`` when ``etag`` is given."""
        await self.call(
            "events.delete",
            lambda svc: svc.events().delete(calendarId=calendar_id, eventId=event_id,
                                            sendUpdates="none"),
            etag=etag)

    async def calendar_list(self, *, min_access_role: str = "writer") -> list[dict[str, Any]]:
        """Every calendar the user may write to (``calendarList.list``, all pages)."""
        out: list[dict[str, Any]] = []
        page: str | None = None
        while True:
            params: dict[str, Any] = {"minAccessRole": min_access_role, "maxResults": 250}
            if page:
                params["pageToken"] = page
            data: dict[str, Any] = await self.call("calendarList.list", _calendar_list(params))
            out.extend(data.get("items") or [])
            page = data.get("nextPageToken")
            if not page:
                return out

    async def watch(
        self, calendar_id: str, *, channel_id: str, address: str, token: str, ttl: int
    ) -> dict[str, Any]:
        """``events.watch``: open a push channel to ``address``."""
        body = {"id": channel_id, "type": "web_hook", "address": address, "token": token,
                "params": {"ttl": str(ttl)}}
        result: dict[str, Any] = await self.call(
            "events.watch", lambda svc: svc.events().watch(calendarId=calendar_id, body=body))
        return result

    async def stop_channel(self, channel_id: str, resource_id: str) -> None:
        """``channels.stop`` (404 means already gone and is ignored)."""
        try:
            await self.call(
                "channels.stop",
                lambda svc: svc.channels().stop(body={"id": channel_id,
                                                      "resourceId": resource_id}))
        except RemoteNotFound:
            _LOGGER.debug("channel %s was already stopped", channel_id)
