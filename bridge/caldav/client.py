"""The CalDAV HTTP client: aiohttp with the server URL treated as untrusted.

Plain aiohttp rather than the ``caldav`` library (see DESIGN.md, *CalDAV provider*): the engine
is asyncio and ``caldav`` blocks (requests/niquests), it follows redirects and sends
credentials on its own terms, and it reads answers unbounded; the provider needs five request
shapes, each with a bounded answer, and the URL policy of :mod:`bridge.providers.netguard` at
connect time.

* Every request goes through :class:`~bridge.providers.netguard.NetGuard`: URL scheme and
  literal addresses before the request, resolved addresses in the connector (the factory's
  session), redirects followed here (at most :data:`MAX_REDIRECTS`) with each hop checked and
  credentials sent only to the entered host or the preset's host pattern.
* Basic auth is sent preemptively (iCloud answers some 401s with ``X-MobileMe-AuthToken``
  challenges); a ``Digest`` challenge switches the client to Digest for good.
* Answers are read to at most :data:`MAX_BODY_BYTES` within the request timeout.
* :func:`translate` is the only place where an HTTP status becomes a
  :class:`~bridge.errors.RemoteError`; 429, 5xx and network failures are retried with the
  :class:`~bridge.providers.http.RetryPolicy`, ``Retry-After`` honoured.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import aiohttp

from bridge.errors import (
    RemoteAuthError,
    RemoteError,
    RemoteForbidden,
    RemoteNotFound,
    RemotePreconditionFailed,
    RemoteTransient,
)
from bridge.providers.http import ClientStats, RequestBudget, RetryPolicy, read_bounded
from bridge.providers.netguard import MAX_BODY_BYTES, MAX_REDIRECTS, NetGuard, UnsafeTarget

__all__ = ["DavAnswer", "DavClient", "DavLogin", "translate"]

_LOGGER = logging.getLogger(__name__)
_TRANSIENT = frozenset({429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class DavLogin:
    """The account: user, password (secret) and the host the user entered."""

    username: str
    password: str = field(repr=False)
    entered_host: str = ""


@dataclass(frozen=True)
class DavAnswer:
    """A response: status, headers, the bounded body and the final URL (after redirects)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str


def translate(status: int, headers: Mapping[str, str], *, auth_message: str) -> RemoteError:
    """The one mapping from a CalDAV error status to a :class:`RemoteError`."""
    message = f"the CalDAV server answered {status}"
    err: RemoteError
    if status == 401:
        err = RemoteAuthError(auth_message, status=status, reason="auth")
    elif status == 403:
        err = RemoteForbidden(message, status=status, reason="forbidden")
    elif status in (404, 410):
        err = RemoteNotFound(message, status=status, reason="not_found")
    elif status == 412:
        err = RemotePreconditionFailed(message, status=status, reason="precondition")
    elif status in _TRANSIENT:
        err = RemoteTransient(message, status=status, reason="server")
    else:
        err = RemoteError(message, status=status, reason="http")
    err.retry_after = _retry_after(headers)  # type: ignore[attr-defined]
    return err


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class DavClient:
    """HTTP for one CalDAV account (one connection, or one connect test)."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        login: DavLogin,
        guard: NetGuard,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        stats: ClientStats | None = None,
        budget: RequestBudget | None = None,
        limiter: asyncio.Semaphore | None = None,
        auth_message: str = "the server refused the user name or password",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.session = session
        self.login = login
        self.guard = guard
        self.retry = retry or RetryPolicy()
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.stats = stats or ClientStats()
        self.budget = budget
        self.limiter = limiter or asyncio.Semaphore(4)
        self.auth_message = auth_message
        self.sleep = sleep
        self.digest = False
        self.requests = 0  # HTTP requests sent (the benchmark's idle-poll count)

    def _auth_headers(self) -> dict[str, str]:
        if self.digest:
            return {}
        raw = f"{self.login.username}:{self.login.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}

    async def _once(self, method: str, url: str, body: bytes | None,
                    headers: Mapping[str, str]) -> DavAnswer:
        """One request with redirects followed under the guard."""
        for _ in range(MAX_REDIRECTS + 1):
            host = self.guard.check_url(url)
            if not self.guard.may_send_credentials(self.login.entered_host, host):
                raise UnsafeTarget(f"the server redirected to another host ({host}); the "
                                   "password is not sent there", reason="host")
            sent = {**headers, **self._auth_headers()}
            middlewares: tuple[aiohttp.DigestAuthMiddleware, ...] = ()
            if self.digest:
                middlewares = (aiohttp.DigestAuthMiddleware(self.login.username,
                                                            self.login.password),)
            self.requests += 1
            async with self.limiter, self.session.request(
                    method, url, data=body, headers=sent, timeout=self.timeout,
                    allow_redirects=False, middlewares=middlewares) as resp:
                if resp.status in _REDIRECTS and resp.headers.get("Location"):
                    url = urljoin(url, resp.headers["Location"])
                    if resp.status == 303:
                        method, body = "GET", None
                    continue
                raw = await read_bounded(resp.content, MAX_BODY_BYTES)
                if raw is None:
                    raise RemoteError("the CalDAV server sent an oversized answer",
                                      status=resp.status, reason="too_large")
                challenge = resp.headers.get("WWW-Authenticate", "")
                if resp.status == 401 and not self.digest and "digest" in challenge.lower():
                    self.digest = True
                    continue
                return DavAnswer(resp.status, dict(resp.headers), raw, str(resp.url))
        raise RemoteError("the CalDAV server redirected too often", reason="redirects")

    async def request(self, method: str, url: str, *, body: bytes | None = None,
                      headers: Mapping[str, str] | None = None,
                      accept: Collection[int] = ()) -> DavAnswer:
        """One request with retries and error translation; statuses in ``accept`` (besides
        2xx) are answered instead of raised."""
        sent = dict(headers or {})
        if body is not None and "Content-Type" not in sent:
            sent["Content-Type"] = "application/xml; charset=utf-8"
        attempt = 0
        while True:
            attempt += 1
            if self.budget is not None:
                await self.budget.acquire()
            try:
                answer = await self._once(method, url, body, sent)
            except UnsafeTarget as exc:  # before the request, on a redirect or at connect time
                self.stats.by_status["unsafe_url"] += 1
                raise RemoteForbidden(str(exc), reason="unsafe_url") from None
            except aiohttp.ClientSSLError as exc:
                raise RemoteError(f"TLS refused: {type(exc).__name__}", reason="tls") from None
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                err: RemoteError = RemoteTransient(
                    f"network error: {type(exc).__name__}", reason="network")
                err.retry_after = None  # type: ignore[attr-defined]
            else:
                if answer.status < 300 or answer.status in accept:
                    self.stats.by_status[str(answer.status)] += 1
                    return answer
                err = translate(answer.status, answer.headers, auth_message=self.auth_message)
            self.stats.by_status[str(err.status or err.reason or "error")] += 1
            if isinstance(err, RemoteTransient) and attempt < self.retry.max_attempts:
                delay = self.retry.delay(attempt, getattr(err, "retry_after", None))
                self.stats.retries += 1
                _LOGGER.debug("%s %s: %s, retry %d in %.2fs", method, urlsplit(url).path, err,
                              attempt, delay)
                await self.sleep(delay)
                continue
            raise err
