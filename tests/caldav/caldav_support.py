"""Helpers for the CalDAV suite: Radicale on our store, in-process (WSGI) and over HTTP.

Users: ``alice`` and ``bob`` (staff), ``carol`` (staff, read grant on ``bob/private``, write
grant on ``bob/shared``) and ``boss`` (admin).  Passwords are ``<name>-secret``.
"""

from __future__ import annotations

import base64
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

from bridge.bootstrap import open_bridge_store
from bridge.config import Settings, load
from bridge.passwords import hash_password
from bridge.store import SqlStore
from radicale_plugins.fastpath import FastPath
from radicale_plugins.guard import WSGIApp
from radicale_plugins.server import DavServer, build_application, build_configuration
from radicale_plugins.store_registry import register_store

ROLES = {"alice": "staff", "bob": "staff", "carol": "staff", "boss": "admin"}
_HASHES: dict[str, str] = {}
FAST = {"auth": {"delay": "0.01"}}


def password(user: str) -> str:
    """The test password of ``user``."""
    return f"{user}-secret"


def populate(store: SqlStore) -> None:
    """Users, calendars and grants every CalDAV test starts from."""
    for name, role in ROLES.items():
        if name not in _HASHES:
            _HASHES[name] = hash_password(password(name))
        store.create_user(name, _HASHES[name], role=role)  # type: ignore[arg-type]
    for path, name in (("alice/work", "Work"), ("bob/private", "Private"),
                       ("bob/shared", "Shared")):
        store.create_collection(path, tag="VCALENDAR", props={"D:displayname": name},
                                timezone="Europe/Berlin")
    store.set_grant("bob/private", "carol", "read")
    store.set_grant("bob/shared", "carol", "write")


def settings_for(url: str, data_dir: Path) -> Settings:
    """Settings naming the store at ``url``."""
    base = load(data_dir / "absent.toml", env={})
    return base.with_overrides(storage={"url": url, "data_dir": str(data_dir)},
                               dav={"host": "127.0.0.1", "port": 5232})


@dataclass
class Response:
    """A WSGI answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", "replace")


def wsgi_request(app: Any, calls: list[str], method: str, path: str, body: str | bytes = b"",
                 *, user: str | None = "alice", headers: dict[str, str] | None = None,
                 pw: str | None = None, environ_extra: dict[str, Any] | None = None
                 ) -> Response:
    """Send one request to a WSGI app; ``user=None`` sends no credentials."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(data),
        "CONTENT_LENGTH": str(len(data)), "wsgi.errors": sys.stderr,
        "SERVER_NAME": "localhost", "SERVER_PORT": "5232", "HTTP_HOST": "localhost:5232",
    }
    setup_testing_defaults(environ)
    if user is not None:
        secret = pw if pw is not None else password(user)
        token = base64.b64encode(f"{user}:{secret}".encode()).decode()
        environ["HTTP_AUTHORIZATION"] = "Basic " + token
    for key, value in (headers or {}).items():
        name = key.upper().replace("-", "_")
        if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[name] = value
        else:
            environ["HTTP_" + name] = value
    environ.update(environ_extra or {})
    captured: dict[str, Any] = {}

    def start_response(status: str, hdrs: list[tuple[str, str]], _exc: Any = None) -> None:
        captured["status"] = int(status.split(maxsplit=1)[0])
        captured["headers"] = dict(hdrs)

    chunks = app(environ, start_response)
    payload = b"".join(chunks)
    calls.append(f"{method} {path} -> {captured['status']}")
    return Response(captured["status"], captured["headers"], payload)


def radicale_of(app: WSGIApp) -> Any:
    """Radicale's ``Application`` inside the guard (and the fast path, when it is on)."""
    inner = app.app.app  # type: ignore[attr-defined]  # Guard → OneConnection → …
    return inner.app if isinstance(inner, FastPath) else inner


@dataclass
class Dav:
    """Radicale on a fresh store, called in-process through its WSGI interface."""

    app: WSGIApp
    store: SqlStore
    settings: Settings
    calls: list[str] = field(default_factory=list)

    def request(self, method: str, path: str, body: str | bytes = b"", **kw: Any) -> Response:
        """Send one request (see :func:`wsgi_request`)."""
        return wsgi_request(self.app, self.calls, method, path, body, **kw)


@dataclass
class StockDav:
    """Stock Radicale (multifilesystem, htpasswd) in-process, for side-by-side comparisons."""

    app: Any
    calls: list[str] = field(default_factory=list)

    def request(self, method: str, path: str, body: str | bytes = b"", **kw: Any) -> Response:
        """Send one request (see :func:`wsgi_request`)."""
        return wsgi_request(self.app, self.calls, method, path, body, **kw)


def make_stock_dav(folder: Path, rights: str = "owner_only") -> StockDav:
    """Stock Radicale 3.9 with multifilesystem in ``folder`` and the users of :data:`ROLES`."""
    import radicale.config
    from radicale.app import Application

    folder.mkdir(parents=True, exist_ok=True)
    users = folder / "users"
    users.write_text("".join(f"{name}:{password(name)}\n" for name in ROLES))
    configuration = radicale.config.load([])
    configuration.update({
        "storage": {"type": "multifilesystem", "filesystem_folder": str(folder / "collections")},
        "auth": {"type": "htpasswd", "htpasswd_filename": str(users),
                 "htpasswd_encryption": "plain", "delay": "0.01"},
        "rights": {"type": rights},
        "web": {"type": "none"},
    }, "stock", privileged=True)
    return StockDav(Application(configuration))


def make_dav(url: str, data_dir: Path, extra: dict[str, dict[str, str]] | None = None
             ) -> tuple[Dav, SqlStore]:
    """A populated store at ``url`` and Radicale in front of it."""
    store = open_bridge_store(url)
    populate(store)
    register_store(url, store)
    settings = settings_for(url, data_dir)
    configuration = build_configuration(settings, store_url=url, extra=extra or FAST)
    app = build_application(configuration, max_request_size=2_000_000)
    return Dav(app, store, settings), store


@dataclass
class Served:
    """A running HTTP CalDAV server on a populated store."""

    url: str
    store: SqlStore
    server: DavServer


def vevent(uid: str, start: str = "20260105T100000Z", end: str | None = "20260105T110000Z",
           *, summary: str = "Appointment", extra: str = "") -> str:
    """One VCALENDAR with one VEVENT (DATE values when ``start`` has 8 characters)."""
    value = ";VALUE=DATE" if len(start) == 8 else ""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT",
             f"UID:{uid}", "DTSTAMP:20250101T000000Z", f"DTSTART{value}:{start}"]
    if end is not None:
        lines.append(f"DTEND{value}:{end}")
    lines.append(f"SUMMARY:{summary}")
    lines.extend(x for x in extra.strip().split("\n") if x)
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


PROPFIND_ETAG = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop>'
                 '</D:propfind>')


def calendar_query(start: str | None, end: str | None, comp: str = "VEVENT",
                   props: str = "<D:getetag/>") -> str:
    """A calendar-query REPORT body with an optional (open-ended) time range."""
    attrs = "".join(f' {k}="{v}"' for k, v in (("start", start), ("end", end)) if v)
    rng = f"<C:time-range{attrs}/>" if attrs else ""
    return ('<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" '
            f'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>{props}</D:prop><C:filter>'
            f'<C:comp-filter name="VCALENDAR"><C:comp-filter name="{comp}">{rng}'
            '</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>')


def sync_collection(token: str = "", props: str = "<D:getetag/>") -> str:
    """A sync-collection REPORT body."""
    return ('<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:">'
            f'<D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>'
            f'<D:prop>{props}</D:prop></D:sync-collection>')


def multiget(hrefs: list[str], props: str = "<D:getetag/><C:calendar-data/>") -> str:
    """A calendar-multiget REPORT body."""
    refs = "".join(f"<D:href>{h}</D:href>" for h in hrefs)
    return ('<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget xmlns:D="DAV:" '
            f'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>{props}</D:prop>{refs}'
            '</C:calendar-multiget>')
