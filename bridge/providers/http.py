"""What every provider's HTTP client shares: retry policy, request budget, counters, tokens.

A provider's client (``bridge.google.client`` is the model) retries transient failures with
:class:`RetryPolicy` (truncated exponential backoff, full jitter, ``Retry-After`` honoured),
draws every request from the account's :class:`RequestBudget`, counts answers in
:class:`ClientStats` (exported on ``/metrics``) and asks a :class:`TokenSource` for access tokens.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp

__all__ = ["BACKGROUND_RESERVE", "ClientStats", "RequestBudget", "RetryPolicy", "TokenSource",
           "read_bounded"]


class TokenSource(Protocol):
    """What a provider's client needs from auth: an access token, and forgetting a refused one."""

    async def access_token(self) -> str:
        """A valid access token."""

    def invalidate(self) -> None:
        """Forget the cached access token (it was refused)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Truncated exponential backoff with full jitter."""

    max_attempts: int = 6
    base: float = 0.5
    cap: float = 32.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        backoff = random.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))
        if retry_after is not None:
            return max(backoff, min(retry_after, self.max_retry_after))
        return backoff


# Share of the burst that background work leaves for ordinary pushes and pulls.
BACKGROUND_RESERVE = 1 / 3


class RequestBudget:
    """A token bucket of ``per_minute`` requests (burst of 1/6 of it) for one remote account."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.capacity = max(1.0, per_minute / 6)
        self.tokens = self.capacity
        self.clock = clock
        self.stamp = clock()
        self.waited = 0.0
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.per_minute / 60)
        self.stamp = now

    async def acquire(self, cost: int = 1, *, background: bool = False) -> None:
        """Wait until ``cost`` requests may be sent.

        ``background`` work (a large restore) takes a token only while more than
        :data:`BACKGROUND_RESERVE` of the burst stays in the bucket, and never holds the lock
        while it waits, so ordinary pushes and pulls of the same account do not queue
        behind it.
        """
        if background:
            reserve = self.capacity * BACKGROUND_RESERVE
            for _ in range(cost):
                while True:
                    async with self._lock:
                        self._refill()
                        if self.tokens >= reserve + 1:
                            self.tokens -= 1
                            break
                        wait = (reserve + 1 - self.tokens) * 60 / self.per_minute
                    self.waited += wait
                    await asyncio.sleep(wait)
            return
        for _ in range(cost):
            async with self._lock:
                self._refill()
                while self.tokens < 1:
                    wait = (1 - self.tokens) * 60 / self.per_minute
                    self.waited += wait
                    await asyncio.sleep(wait)
                    self._refill()
                self.tokens -= 1

    @property
    def available(self) -> float:
        """Requests that could be sent right now (for metrics)."""
        self._refill()
        return self.tokens


@dataclass
class ClientStats:
    """Request counters of one client (exported by ``/metrics``)."""

    by_status: Counter[str] = field(default_factory=Counter)
    retries: int = 0


async def read_bounded(stream: aiohttp.StreamReader, limit: int) -> bytes | None:
    """A whole HTTP body, or ``None`` once it grows beyond ``limit`` bytes.

    ``StreamReader.read(n)`` answers what has arrived so far, not ``n`` bytes, so a body is
    read chunk by chunk to its end (a provider's answers and its notifications alike).
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
