"""The app lifecycle every emulator has: load the state file (or apply the seed) at startup,
apply config knobs, run the notification worker while serving, save the state file on shutdown.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

__all__ = ["Worker", "lifecycle"]

_LOGGER = logging.getLogger(__name__)


class Worker(Protocol):
    """A background worker with an async start and close (push/notification delivery)."""

    async def start(self) -> None:
        """Begin working."""

    async def close(self) -> None:
        """Stop working."""


def lifecycle(
    state: Any, path: Path | None, seed: dict[str, Any] | None, config: dict[str, Any] | None, *,
    apply_seed: Callable[[Any, dict[str, Any]], None],
    load_state: Callable[[dict[str, Any], Any], Any],
    dump_state: Callable[[Any], dict[str, Any]],
    worker: Callable[[Any], Worker],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` entry for an emulator app holding ``state``."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        """Load state or seed, run the worker, save state on shutdown."""
        if path is not None and path.exists():
            text = await asyncio.to_thread(path.read_text, "utf-8")
            load_state(json.loads(text), state)
            _LOGGER.info("Emulator state loaded from %s", path)
        elif seed:
            apply_seed(state, seed)
        if config:
            state.config.update(config)
        running = worker(state)
        await running.start()
        yield
        await running.close()
        if path is not None:
            data = json.dumps(dump_state(state), indent=1)
            await asyncio.to_thread(path.write_text, data, "utf-8")
            _LOGGER.info("Emulator state saved to %s", path)

    return run
