"""Per-client limit on feed misses (unknown, malformed or revoked tokens).

Guessing a 256-bit token is hopeless anyway; the limit keeps scanners from burning CPU and
database round-trips, and it keeps logs quiet.  A client over the limit gets 429 for *every*
feed request, valid tokens included, so the limit itself cannot be used as an oracle.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

__all__ = ["MissLimiter"]


class MissLimiter:
    """At most ``limit`` misses per ``window`` seconds per client key (sliding window)."""

    def __init__(
        self,
        limit: int = 10,
        window: float = 60.0,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self.clock = clock
        self._misses: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        misses = self._misses.get(client)
        if misses is None:
            return None
        while misses and misses[0] <= now - self.window:
            misses.popleft()
        if not misses:
            del self._misses[client]
            return None
        return misses

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may try again, or ``None`` when it is not limited."""
        now = self.clock()
        with self._lock:
            misses = self._recent(client, now)
            if misses is None or len(misses) < self.limit:
                return None
            return max(1, math.ceil(misses[-self.limit] + self.window - now))

    def record(self, client: str) -> None:
        """Count one miss for ``client``."""
        now = self.clock()
        with self._lock:
            misses = self._recent(client, now)
            if misses is None:
                misses = self._misses[client] = deque(maxlen=self.limit)
                # Bounded memory under a spray of source addresses: forget the stalest client.
                while len(self._misses) > self.max_clients:
                    self._misses.popitem(last=False)
            else:
                self._misses.move_to_end(client)
            misses.append(now)
