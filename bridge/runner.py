"""Run the servers of one process: Radicale (CalDAV) and the sidecar, stopped together.

This is the composition root: the one module in ``bridge`` that imports ``radicale_plugins``.
:func:`run` starts each requested server in a thread, waits for SIGINT/SIGTERM (or for a server
to die), then stops both and returns the exit code.  With CalDAV it also prunes the change log
every few hours, so sync tokens expire after ``[storage] sync_history_days``.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType
from typing import Any

from bridge.config import Settings
from bridge.errors import BridgeError
from bridge.store import SqlStore
from bridge.web.app import run_sidecar

__all__ = ["run"]

_LOGGER = logging.getLogger(__name__)


PRUNE_INTERVAL = 6 * 3600.0


def _prune_loop(store: SqlStore, stop: threading.Event) -> None:
    """Drop change-log rows older than the sync history; older sync tokens get 403."""
    while True:
        try:
            cutoff = time.time() - store.history_days * 86_400
            pruned = store.prune_history(cutoff)
            if pruned:
                _LOGGER.info("pruned %d change-log rows older than %d days", pruned,
                             store.history_days)
        except Exception:
            _LOGGER.exception("pruning the change log failed")
        if stop.wait(PRUNE_INTERVAL):
            return


def _install_signals(stop: threading.Event) -> dict[int, Any]:
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous

    def handler(signum: int, _frame: FrameType | None) -> None:
        _LOGGER.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    return previous


def run(
    settings: Settings,
    store: SqlStore,
    *,
    dav: bool,
    sidecar: bool,
    demo: bool = False,
    demo_port: int = 0,
    demo_microsoft_port: int | None = 0,
    demo_ews_port: int | None = 0,
    stop_event: threading.Event | None = None,
) -> int:
    """Serve CalDAV and/or the sidecar until SIGINT/SIGTERM or ``stop_event``; returns 0."""
    stop = stop_event or threading.Event()
    failed = threading.Event()
    dav_server = None
    sidecar_thread: threading.Thread | None = None
    stop_demo = None
    if demo:
        from bridge.demo import start_demo

        settings, stop_demo = start_demo(settings, store, port=demo_port,
                                         microsoft_port=demo_microsoft_port,
                                         ews_port=demo_ews_port)
    if dav:
        from radicale_plugins.server import DavServer

        try:
            dav_server = DavServer(settings, store)
        except OSError as exc:
            raise BridgeError(
                f"cannot listen on {settings.dav.host}:{settings.dav.port} "
                f"for CalDAV: {exc.strerror or exc}"
            ) from exc
    if sidecar:
        def sidecar_main() -> None:
            try:
                run_sidecar(settings, store, stop)
            except Exception:
                _LOGGER.exception("the sidecar stopped with an error")
                failed.set()
            finally:
                stop.set()

        sidecar_thread = threading.Thread(target=sidecar_main, name="sidecar", daemon=True)
    previous = _install_signals(stop)
    try:
        if dav_server is not None:
            dav_server.start()
            threading.Thread(target=_prune_loop, args=(store, stop), name="prune-history",
                             daemon=True).start()
        if sidecar_thread is not None:
            sidecar_thread.start()
        while not stop.wait(0.5):
            pass
    finally:
        stop.set()
        if dav_server is not None:
            dav_server.stop()
        if sidecar_thread is not None:
            sidecar_thread.join(timeout=15)
        if stop_demo is not None:
            stop_demo()
        for sig, old in previous.items():
            signal.signal(sig, old)
    return 1 if failed.is_set() else 0
