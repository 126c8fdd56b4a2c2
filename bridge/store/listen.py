"""PostgreSQL ``LISTEN`` in a background thread: call back on every ``NOTIFY`` of a channel.

Used by workers that must react to commits of other processes at once instead of at their next
scan.  The thread holds one autocommit connection of its own; when it cannot connect (or the
connection drops) it logs once and the caller's polling covers the gap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine

__all__ = ["PgListener"]

_LOGGER = logging.getLogger(__name__)


class PgListener:
    """``LISTEN channel`` on ``engine``'s database; ``callback`` runs in the listener thread."""

    def __init__(self, engine: Engine, channel: str, callback: Callable[[], None]) -> None:
        if not channel.isidentifier():
            raise ValueError(f"invalid channel name {channel!r}")
        self.engine = engine
        self.channel = channel
        self.callback = callback
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start listening (returns at once; :attr:`ready` is set once ``LISTEN`` ran)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"listen-{self.channel}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and wait for the thread (it notices within a second)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql")
        try:
            conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        except Exception as exc:  # polling still covers it
            _LOGGER.warning("LISTEN %s unavailable (%s); relying on polling", self.channel,
                            type(exc).__name__)
            return
        try:
            with conn:
                conn.execute(f"LISTEN {self.channel}")
                self.ready.set()
                while not self._stop.is_set():
                    for _ in conn.notifies(timeout=0.5, stop_after=1):
                        try:
                            self.callback()
                        except Exception:
                            _LOGGER.exception("LISTEN %s callback failed", self.channel)
        except Exception as exc:
            if not self._stop.is_set():
                _LOGGER.warning("LISTEN %s stopped (%s); relying on polling", self.channel,
                                type(exc).__name__)
