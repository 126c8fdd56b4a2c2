"""An emulator app served from a background thread with its own event loop, for tests and the
demo: ``start()``/``stop()`` or ``with``; ``run(func)`` calls ``func(state)`` on the loop thread.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar

from aiohttp import web

__all__ = ["ThreadedServer"]

S = TypeVar("S")


class ThreadedServer(Generic[S]):
    """``app`` (holding ``state``) on ``host:port`` (0: a free port), http or https."""

    def __init__(self, app: web.Application, state: S, *, host: str, port: int, name: str,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.port = port
        self.state = state
        self._app = app
        self._name = name
        self._ssl = ssl_context
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """``http(s)://host:port`` (no trailing slash)."""
        scheme = "https" if self._ssl is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> Self:
        """Start serving; returns once the port is bound."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError("emulator failed to start") from self._error
        self.started()
        return self

    def started(self) -> None:
        """Called once the port is known (subclasses rebuild their hook clients)."""

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced to start()
            self._error = exc
            self._ready.set()
            return
        loop.run_forever()
        loop.close()

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._ready.set()

    def stop(self) -> None:
        """Shut down (the app's cleanup saves its state file) and join the thread."""
        loop, runner = self._loop, self._runner
        if loop is None or self._thread is None:
            return
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(30)
        self._loop = None

    def run(self, func: Callable[[S], Any]) -> Any:
        """Run ``func(state)`` on the emulator's loop thread and return its result."""
        assert self._loop is not None

        async def call() -> Any:
            """Run ``func`` on the loop thread."""
            return func(self.state)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(30)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
