"""Build and serve Radicale on the termin-bridge store.

:func:`build_configuration` turns our :class:`~bridge.config.Settings` into a Radicale
configuration that uses the three plugins; :func:`build_application` wraps Radicale's
``Application`` in the :class:`~radicale_plugins.guard.Guard` and holds one store connection
per request (:class:`OneConnection`); :class:`DavServer` serves it
threaded on ``[dav] host/port`` until :meth:`DavServer.stop`.  ``/.well-known/caldav`` answers
301 to ``/``, whose PROPFIND gives ``current-user-principal``; the principal gives
``calendar-home-set`` (itself), so every client finds its calendars from the server URL alone.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
import wsgiref.simple_server
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import radicale
import radicale.config
import radicale.server
from radicale.app import Application

from bridge.config import Settings
from bridge.store import SqlStore
from bridge.store.engine import held_connection
from radicale_plugins.fastpath import with_fast_path
from radicale_plugins.guard import RAW_CHUNKED, Guard, WSGIApp
from radicale_plugins.storage import Storage
from radicale_plugins.store_registry import register_store

__all__ = ["DavServer", "OneConnection", "build_application", "build_configuration"]

_LOGGER = logging.getLogger(__name__)


def build_configuration(
    settings: Settings, *, store_url: str | None = None, extra: dict[str, dict[str, str]] | None
    = None,
) -> Any:
    """A Radicale configuration for our plugins (no config files are read)."""
    url = store_url or settings.storage_url
    values: dict[str, dict[str, str]] = {
        "server": {
            "hosts": _hosts(settings.dav.host, settings.dav.port),
            "max_content_length": str(settings.dav.max_request_size),
            "max_resource_size": str(settings.dav.max_resource_size),
            "timeout": "30",
        },
        "auth": {"type": "radicale_plugins.auth", "lc_username": "True", "delay": "1",
                 "realm": "termin-bridge"},
        "rights": {"type": "radicale_plugins.rights"},
        "storage": {
            "type": "radicale_plugins.storage",
            "bridge_db_url": url,
            "filesystem_folder": str(Path(settings.data_dir) / "collections"),
        },
        "web": {"type": "none"},
    }
    for section, options in (extra or {}).items():
        values.setdefault(section, {}).update(options)
    configuration = radicale.config.load([])
    configuration.update(values, "termin-bridge", privileged=True)
    return configuration


def _hosts(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def build_application(configuration: Any, *, max_request_size: int, fast_path: bool = True
                      ) -> WSGIApp:
    """Radicale's application (behind the fast path unless turned off) behind the guard.

    Refuses ``[auth] type = none``.
    """
    if configuration.get("auth", "type") == "none":
        raise RuntimeError("termin-bridge refuses to serve CalDAV with '[auth] type = none'")
    radicale_app = Application(configuration)
    storage = radicale_app._storage
    if not isinstance(storage, Storage):
        raise TypeError("termin-bridge serves CalDAV on radicale_plugins.storage only")
    app = OneConnection(with_fast_path(radicale_app, fast_path), storage.store)
    return Guard(app, max_request_size=max_request_size,
                 max_resource_size=int(configuration.get("server", "max_resource_size")))


class OneConnection:
    """Runs each request with one held store connection (:func:`held_connection`): a ``PUT``
    reads the collection and the item, takes the write lock and writes in five to seven
    transactions, each of which checked a connection out of the pool (and, on PostgreSQL,
    pinged it) before.  The answer is read within the request, so no transaction outlives
    it; a request that needs a second connection at once (a transaction inside another) still
    checks one out."""

    def __init__(self, app: WSGIApp, store: SqlStore) -> None:
        self.app = app
        self.store = store

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        """The wrapped application's answer, produced while the connection is held."""
        with held_connection(self.store.engine):
            answer = self.app(environ, start_response)
            try:
                return list(answer)
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()


class _RequestHandler(radicale.server.RequestHandler):
    def get_environ(self) -> dict[str, Any]:
        env: dict[str, Any] = super().get_environ()
        env[RAW_CHUNKED] = True
        return env


class _HTTPServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True
    block_on_close = False
    request_timeout = 30.0

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    def get_request(self) -> tuple[socket.socket, Any]:
        request, address = self.socket.accept()
        request.settimeout(self.request_timeout)
        return request, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        _LOGGER.debug("connection error from %s", client_address, exc_info=True)


class DavServer:
    """Radicale on our store, served by threads on one listening socket."""

    def __init__(self, settings: Settings, store: SqlStore, *, host: str | None = None,
                 port: int | None = None, extra: dict[str, dict[str, str]] | None = None) -> None:
        url = settings.storage_url
        register_store(url, store)
        self.configuration = build_configuration(settings, store_url=url, extra=extra)
        self.app = build_application(
            self.configuration, max_request_size=settings.dav.max_request_size,
            fast_path=settings.dav.fast_path,
        )
        bind_host = host if host is not None else settings.dav.host
        bind_port = port if port is not None else settings.dav.port
        family = socket.AF_INET6 if ":" in bind_host else socket.AF_INET
        server_class = type("_DavHTTPServer", (_HTTPServer,), {"address_family": family})
        self.httpd = server_class((bind_host, bind_port), _RequestHandler)
        self.httpd.set_app(self.app)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL of the server."""
        host = str(self.httpd.server_address[0])
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def start(self) -> DavServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="caldav",
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        _LOGGER.info("CalDAV (Radicale %s) listening on %s", radicale.VERSION, self.url)
        return self

    def stop(self) -> None:
        """Stop accepting requests and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        _LOGGER.info("CalDAV server stopped")
