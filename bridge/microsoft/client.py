"""The Microsoft Graph calendar client: aiohttp behind an async, typed facade.

* The Graph root comes from ``[microsoft] graph_endpoint`` (``https://graph.microsoft.com/v1.0``
  or the emulator's), so Graph and the emulator are one code path.  Links Graph hands back
  (``@odata.nextLink``, ``@odata.deltaLink``) are followed only when they point below that root:
  the bearer token never goes to another host.
* The access token comes from an injected token source; a 401 makes it refresh once and the
  request is repeated once.
* ``If-Match`` is sent on updates and deletes when an etag is given (stale → 412
  ``ErrorIrresolvableConflict`` → :class:`~bridge.errors.RemotePreconditionFailed`).
* :func:`translate_error` is the only place where a Graph status becomes a
  :class:`~bridge.errors.RemoteError`.
* Throttling: Graph allows four concurrent requests per mailbox, so each mailbox's requests pass
  one :class:`asyncio.Semaphore` of four (shared by every connection of that mailbox); 429, 503
  and 504 are retried with truncated exponential backoff and full jitter, honouring
  ``Retry-After``.  ``$batch`` sends at most 20 requests per envelope and retries the members that
  were throttled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bridge.errors import (
    CursorExpired,
    RemoteAuthError,
    RemoteError,
    RemoteForbidden,
    RemoteNotFound,
    RemotePreconditionFailed,
    RemoteTransient,
)
from bridge.providers.http import (
    ClientStats,
    RequestBudget,
    RetryPolicy,
    TokenSource,
    read_bounded,
)

__all__ = [
    "BATCH_SIZE",
    "MAILBOX_CONCURRENCY",
    "BatchRequest",
    "BatchResult",
    "DeltaPage",
    "GraphBadRequest",
    "GraphClient",
    "GraphConflict",
    "translate_error",
]

_LOGGER = logging.getLogger(__name__)

# Graph's limits: requests per $batch envelope, concurrent requests per mailbox.
BATCH_SIZE = 20
MAILBOX_CONCURRENCY = 4
# Responses larger than this are refused (a calendar page is far smaller).
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


class GraphBadRequest(RemoteError):
    """400: Graph refused the request's shape (a mapping or client bug, never retried)."""


class GraphConflict(RemoteError):
    """409: the item exists already or is being changed concurrently."""


@dataclass(frozen=True)
class DeltaPage:
    """One page of ``calendarView/delta``: rows, and either the next page or the new cursor."""

    items: list[dict[str, Any]]
    next_link: str | None
    delta_link: str | None


@dataclass(frozen=True)
class BatchRequest:
    """One member of a ``$batch`` envelope (``url`` relative to the Graph root)."""

    method: str
    url: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchResult:
    """A member's answer: the body, or the translated error."""

    body: dict[str, Any] | None
    error: RemoteError | None
    headers: Mapping[str, str] = field(default_factory=dict)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _error_code(body: Any) -> tuple[str, str]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code") or ""), str(error.get("message") or "")


def translate_error(status: int, body: Any, headers: Mapping[str, str] | None = None
                    ) -> RemoteError:
    """The one mapping from a Graph error answer to a :class:`RemoteError`.

    ``body`` is the decoded JSON (Graph's ``{"error": {"code", "message", "innerError"}}``) or
    anything else; the message keeps Graph's code, never the request's content.
    """
    code, _ = _error_code(body)
    message = f"Microsoft Graph answered {status} {code}".strip()
    err: RemoteError
    if status == 400:
        err = GraphBadRequest(message, status=status, reason=code)
    elif status == 401:
        err = RemoteAuthError(message, status=status, reason=code or "InvalidAuthenticationToken")
    elif status == 403:
        err = RemoteForbidden(message, status=status, reason=code or "ErrorAccessDenied")
    elif status == 404:
        err = RemoteNotFound(message, status=status, reason=code or "ErrorItemNotFound")
    elif status == 409:
        err = GraphConflict(message, status=status, reason=code)
    elif status == 410 and code in ("SyncStateNotFound", "syncStateNotFound",
                                    "SyncStateInvalid", "resyncRequired"):
        err = CursorExpired(message, status=status, reason=code)
    elif status == 410:
        err = RemoteNotFound(message, status=status, reason=code or "gone")
    elif status == 412:
        err = RemotePreconditionFailed(message, status=status,
                                       reason=code or "ErrorIrresolvableConflict")
    elif status in _TRANSIENT_STATUS:
        err = RemoteTransient(message, status=status, reason=code)
    else:
        err = RemoteError(message, status=status, reason=code)
    err.retry_after = _retry_after(headers or {})  # type: ignore[attr-defined]
    return err


def _network_error(exc: BaseException) -> RemoteTransient:
    err = RemoteTransient(f"network error: {type(exc).__name__}", reason="network")
    err.retry_after = None  # type: ignore[attr-defined]
    return err


def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificate checks on, trusting ``ca_file`` instead of the system store when given."""
    return ssl.create_default_context(cafile=ca_file or None)


class GraphClient:
    """Graph calendar calls for one mailbox (one connection's account)."""

    def __init__(
        self,
        *,
        graph_endpoint: str,
        tokens: TokenSource,
        session: aiohttp.ClientSession,
        limiter: asyncio.Semaphore | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        stats: ClientStats | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        budget: RequestBudget | None = None,
    ) -> None:
        self.root = graph_endpoint.rstrip("/")
        self.tokens = tokens
        self.session = session
        self.limiter = limiter or asyncio.Semaphore(MAILBOX_CONCURRENCY)
        self.retry = retry or RetryPolicy()
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.stats = stats or ClientStats()
        self.sleep = sleep
        self.budget = budget  # the mailbox's request budget (every attempt draws from it)

    # -- plumbing ----------------------------------------------------------------------------
    def url(self, path_or_link: str) -> str:
        """An absolute URL below the Graph root; a foreign link raises ``RemoteError``."""
        if not path_or_link.startswith(("https://", "http://")):
            return self.root + "/" + path_or_link.lstrip("/")
        root = urllib.parse.urlsplit(self.root)
        link = urllib.parse.urlsplit(path_or_link)
        same_origin = (link.scheme, link.netloc.lower()) == (root.scheme, root.netloc.lower())
        if not same_origin or not (link.path + "/").startswith(root.path.rstrip("/") + "/"):
            raise RemoteError("Microsoft Graph sent a link outside its own root",
                              reason="foreign_link")
        return path_or_link

    async def _send(self, method: str, url: str, token: str, *, body: Any,
                    headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], Any]:
        sent = {"Authorization": "Bearer " + token, "Accept": "application/json", **headers}
        data = None
        if body is not None:
            sent["Content-Type"] = "application/json"
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        async with self.limiter, self.session.request(
                method, url, data=data, headers=sent, timeout=self.timeout,
                allow_redirects=False) as resp:
            raw = await read_bounded(resp.content, MAX_RESPONSE_BYTES)
            if raw is None:
                raise RemoteError("Microsoft Graph sent an oversized answer",
                                  status=resp.status, reason="too_large")
            answer_headers = dict(resp.headers)
            status = resp.status
        decoded: Any = None
        if raw:
            try:
                decoded = json.loads(raw)
            except ValueError:
                decoded = None
        return status, answer_headers, decoded

    async def request(
        self, method: str, path_or_link: str, *, body: Any = None,
        params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
        etag: str | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """One Graph request with auth, throttling, retries and error translation."""
        url = self.url(path_or_link)
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params, safe="$,()'")
        sent = dict(headers or {})
        if etag is not None:
            sent["If-Match"] = etag
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            if self.budget is not None:
                await self.budget.acquire()
            token = await self.tokens.access_token()
            try:
                status, answer_headers, decoded = await self._send(
                    method, url, token, body=body, headers=sent)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                err: RemoteError = _network_error(exc)
            else:
                if status < 300:
                    self.stats.by_status[str(status)] += 1
                    return decoded, answer_headers
                err = translate_error(status, decoded, answer_headers)
            self.stats.by_status[str(err.status or err.reason or "error")] += 1
            if err.status == 401 and not refreshed:
                refreshed = True
                self.tokens.invalidate()
                attempt -= 1
                continue
            if isinstance(err, RemoteTransient) and attempt < self.retry.max_attempts:
                delay = self.retry.delay(attempt, getattr(err, "retry_after", None))
                self.stats.retries += 1
                _LOGGER.debug("%s %s: %s, retry %d in %.2fs", method,
                              urllib.parse.urlsplit(url).path, err, attempt, delay)
                await self.sleep(delay)
                continue
            raise err

    async def get_json(self, path_or_link: str, **kwargs: Any) -> dict[str, Any]:
        """``GET`` answering a JSON object."""
        body, _ = await self.request("GET", path_or_link, **kwargs)
        return body if isinstance(body, dict) else {}

    async def list_all(self, path: str, *, params: Mapping[str, str] | None = None
                       ) -> list[dict[str, Any]]:
        """Every ``value`` row of a collection, following ``@odata.nextLink``."""
        rows: list[dict[str, Any]] = []
        page = await self.get_json(path, params=params)
        while True:
            rows.extend(r for r in page.get("value") or [] if isinstance(r, dict))
            link = page.get("@odata.nextLink")
            if not link:
                return rows
            page = await self.get_json(str(link))

    # -- account and calendars ---------------------------------------------------------------
    async def me(self) -> dict[str, Any]:
        """The signed-in user (``id``, ``userPrincipalName``, ``mail``, ``displayName``)."""
        return await self.get_json("/me")

    async def calendars(self) -> list[dict[str, Any]]:
        """Every calendar of the mailbox (callers keep the ``canEdit`` ones for two-way sync)."""
        return await self.list_all("/me/calendars")

    # -- events ------------------------------------------------------------------------------
    @staticmethod
    def _prefer(zone: str | None) -> dict[str, str]:
        return {"Prefer": f'outlook.timezone="{zone}"'} if zone else {}

    async def get_event(self, event_id: str, *, expand: str | None = None,
                        zone: str | None = None) -> dict[str, Any]:
        """One event (``expand``: a ``$expand`` value such as the extended properties)."""
        params = {"$expand": expand} if expand else None
        return await self.get_json(f"/me/events/{_seg(event_id)}", params=params,
                                   headers=self._prefer(zone))

    async def create_event(self, calendar_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST`` an event (the body carries ``transactionId`` for idempotent retries)."""
        created, _ = await self.request("POST", f"/me/calendars/{_seg(calendar_id)}/events",
                                        body=body)
        return created if isinstance(created, dict) else {}

    async def update_event(self, event_id: str, body: Mapping[str, Any], *,
                           etag: str | None) -> dict[str, Any]:
        """``PATCH`` an event (or an occurrence) under ``If-Match``."""
        updated, _ = await self.request("PATCH", f"/me/events/{_seg(event_id)}", body=body,
                                        etag=etag)
        return updated if isinstance(updated, dict) else {}

    async def delete_event(self, event_id: str, *, etag: str | None) -> None:
        """``DELETE`` an event or an occurrence under ``If-Match``."""
        await self.request("DELETE", f"/me/events/{_seg(event_id)}", etag=etag)

    async def instances(self, event_id: str, start: str, end: str) -> list[dict[str, Any]]:
        """A series' occurrences and exceptions between two ISO UTC times."""
        return await self.list_all(f"/me/events/{_seg(event_id)}/instances",
                                   params={"startDateTime": start, "endDateTime": end})

    async def series_masters(self, calendar_id: str) -> list[dict[str, Any]]:
        """The ids of a calendar's series masters (``type eq 'seriesMaster'``)."""
        return await self.list_all(f"/me/calendars/{_seg(calendar_id)}/events",
                                   params={"$filter": "type eq 'seriesMaster'",
                                           "$select": "id,type", "$top": "1000"})

    async def find_by_property(self, calendar_id: str, property_id: str, value: str
                               ) -> list[dict[str, Any]]:
        """Events of a calendar whose single-value extended property equals ``value``."""
        quoted = value.replace("'", "''")
        prop = property_id.replace("'", "''")
        flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop}' and ep/value eq '{quoted}')"
        return await self.list_all(f"/me/calendars/{_seg(calendar_id)}/events",
                                   params={"$filter": flt})

    # -- delta -------------------------------------------------------------------------------
    def delta_start(self, calendar_id: str, start: str, end: str) -> str:
        """The first ``calendarView/delta`` URL of a round over ``[start, end)``."""
        query = urllib.parse.urlencode({"startDateTime": start, "endDateTime": end})
        return f"{self.root}/me/calendars/{_seg(calendar_id)}/calendarView/delta?{query}"

    async def delta_page(self, link: str, *, page_size: int = 100,
                         zone: str | None = None) -> DeltaPage:
        """One delta page; an expired cursor raises :class:`~bridge.errors.CursorExpired`."""
        headers = {"Prefer": f"odata.maxpagesize={page_size}"}
        if zone:
            headers["Prefer"] += f', outlook.timezone="{zone}"'
        page = await self.get_json(link, headers=headers)
        items = [r for r in page.get("value") or [] if isinstance(r, dict)]
        next_link = page.get("@odata.nextLink")
        delta_link = page.get("@odata.deltaLink")
        if not next_link and not delta_link:
            raise RemoteError("Microsoft Graph sent a delta page without a link",
                              reason="no_link")
        return DeltaPage(items, str(next_link) if next_link else None,
                         str(delta_link) if delta_link else None)

    # -- batch -------------------------------------------------------------------------------
    async def batch(self, requests: Sequence[BatchRequest]) -> list[BatchResult]:
        """Run requests in ``$batch`` envelopes of :data:`BATCH_SIZE`, answers in order.

        Members throttled with 429/503/504 are sent again (after their ``Retry-After``) up to
        the retry policy's attempts; other member errors are returned translated, not raised.
        """
        results: list[BatchResult | None] = [None] * len(requests)
        pending = list(range(len(requests)))
        attempt = 0
        while pending:
            attempt += 1
            retry: list[int] = []
            wait: float | None = None
            for start in range(0, len(pending), BATCH_SIZE):
                chunk = pending[start:start + BATCH_SIZE]
                envelope = {"requests": [_member(str(i), requests[i]) for i in chunk]}
                answer, _ = await self.request("POST", "/$batch", body=envelope)
                answered = {str(r.get("id")): r for r in (answer or {}).get("responses") or []
                            if isinstance(r, dict)}
                for i in chunk:
                    result = _member_result(answered.get(str(i)))
                    err = result.error
                    if (isinstance(err, RemoteTransient)
                            and attempt < self.retry.max_attempts):
                        retry.append(i)
                        after = getattr(err, "retry_after", None)
                        wait = max(wait or 0.0, self.retry.delay(attempt, after))
                        continue
                    results[i] = result
            pending = retry
            if pending:
                self.stats.retries += 1
                await self.sleep(wait or 0.0)
        return [r for r in results if r is not None]

    # -- subscriptions -----------------------------------------------------------------------
    async def subscribe(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a change-notification subscription (Graph validates the URL first)."""
        created, _ = await self.request("POST", "/subscriptions", body=body)
        return created if isinstance(created, dict) else {}

    async def renew(self, subscription_id: str, expiration: str) -> dict[str, Any]:
        """Move a subscription's expiry."""
        renewed, _ = await self.request("PATCH", f"/subscriptions/{_seg(subscription_id)}",
                                        body={"expirationDateTime": expiration})
        return renewed if isinstance(renewed, dict) else {}

    async def unsubscribe(self, subscription_id: str) -> None:
        """Delete a subscription (gone already counts as done)."""
        with contextlib.suppress(RemoteNotFound):
            await self.request("DELETE", f"/subscriptions/{_seg(subscription_id)}")


def _seg(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _member(member_id: str, req: BatchRequest) -> dict[str, Any]:
    member: dict[str, Any] = {"id": member_id, "method": req.method,
                              "url": "/" + req.url.lstrip("/")}
    headers = dict(req.headers)
    if req.body is not None:
        member["body"] = dict(req.body)
        headers.setdefault("Content-Type", "application/json")
    if headers:
        member["headers"] = headers
    return member


def _member_result(answer: Mapping[str, Any] | None) -> BatchResult:
    if answer is None:
        err = RemoteTransient("Microsoft Graph left a batch member unanswered",
                              reason="batch_missing")
        err.retry_after = None  # type: ignore[attr-defined]
        return BatchResult(None, err)
    status = int(answer.get("status") or 0)
    headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
    body = answer.get("body")
    if 200 <= status < 300:
        return BatchResult(body if isinstance(body, dict) else {}, None, headers)
    return BatchResult(None, translate_error(status, body, headers), headers)
