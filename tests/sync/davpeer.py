"""Real CalDAV servers as test peers, and a small proxy in front of them.

* :class:`RadicaleServer`: stock Radicale (``python -m radicale``, its own multifilesystem
  storage in a temp dir, htpasswd auth, *not* termin-bridge's storage plugin) on a free port.
* :class:`XandikosServer`: Xandikos (``python -m xandikos.web --defaults``); it has no auth of
  its own (it is deployed behind a reverse proxy), so the proxy checks Basic auth for it.
* :class:`DavProxy`: an aiohttp reverse proxy (own thread and loop) between the bridge and a
  peer.  It changes nothing unless told: it counts the bridge's writes, injects faults per
  operation, forgets sync tokens, and can play what real servers do that the two peers do not:
  no ``sync-collection`` (``no_sync``), rewriting bodies and answering ``PUT`` without an ETag
  (``rewrite``), iCloud's shape (``icloud``: discovery across a second host name, 401 with an
  ``X-MobileMe-AuthToken`` challenge, VTODO refused), and hostile answers (``hostile``).

The test's own look at the peer (what a person does in the server's UI) goes straight to the
peer with :func:`dav`, never through the proxy.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

USER = "alice"
PASSWORD = "s3cret-pw"


def free_port() -> int:
    """A TCP port free right now on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def dav(method: str, url: str, body: bytes | str | None = None, *, user: str = USER,
        password: str = PASSWORD, headers: dict[str, str] | None = None,
        timeout: float = 60.0) -> tuple[int, dict[str, str], bytes]:
    """One blocking request to a peer (the test's own look)."""
    data = body.encode() if isinstance(body, str) else body
    sent = {"Authorization": _auth(user, password)}
    if data is not None:
        sent["Content-Type"] = "application/xml; charset=utf-8"
    req = urllib.request.Request(url, data=data, method=method, headers={
        **sent, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class LoopbackNames(AbstractResolver):
    """A resolver that finds host names ending in ``suffix`` on 127.0.0.1 (iCloud's hosts in
    tests) and asks the system for every other name."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.inner = aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        """Loopback for the test names."""
        if host.endswith(self.suffix):
            return [{"hostname": host, "host": "127.0.0.1", "port": port,
                     "family": socket.AF_INET, "proto": 0, "flags": 0}]
        return await self.inner.resolve(host, port, family)

    async def close(self) -> None:
        """Close the system resolver."""
        await self.inner.close()


def _wait_up(url: str, proc: subprocess.Popen[bytes], deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"peer exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"peer at {url} did not come up")


class _Process:
    """A peer in its own process."""

    base: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Terminate the process."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# Stock Radicale's own server with its config file; only fsync is switched off (a private
# option, not settable in the file), so the tests and the benchmark do not wait on the disk.
_RADICALE = """
import sys
from radicale import config, server
conf = config.load([(sys.argv[1], False)])
conf.update({"storage": {"_filesystem_fsync": "False"}}, "tests", privileged=True)
server.serve(conf)
"""


class RadicaleServer(_Process):
    """Stock Radicale with htpasswd auth (plain) and multifilesystem storage under ``root``."""

    auth = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.htpasswd = root / "users"
        self.set_password(PASSWORD)
        config = root / "config"
        config.write_text(
            f"[server]\nhosts = 127.0.0.1:{self.port}\n[auth]\ntype = htpasswd\n"
            f"htpasswd_filename = {self.htpasswd}\nhtpasswd_encryption = plain\ndelay = 0\n"
            f"[storage]\nfilesystem_folder = {root / 'collections'}\n"
            "[logging]\nlevel = warning\n[rights]\ntype = owner_only\n")
        self.proc = subprocess.Popen([sys.executable, "-c", _RADICALE, str(config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_up(self.base + "/", self.proc)

    def set_password(self, password: str) -> None:
        """Replace the user's password (Radicale reads the file on every login)."""
        self.htpasswd.write_text(f"{USER}:{password}\n")

    def new_calendar(self) -> str:
        """A new, empty event calendar; its path."""
        path = f"/{USER}/{uuid.uuid4().hex[:12]}/"
        status, _, _ = dav("MKCALENDAR", self.base + path)
        assert status == 201, status
        return path


class XandikosServer(_Process):
    """Xandikos (git-backed storage under ``root``); the proxy does its auth."""

    auth = False

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "xandikos.web", "--defaults", "-d", str(root / "x"),
             "-l", "127.0.0.1", "-p", str(self.port), "--current-user-principal", f"/{USER}/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_up(self.base + "/", self.proc)

    def set_password(self, password: str) -> None:
        """Xandikos has no users: the proxy keeps the password."""

    def new_calendar(self) -> str:
        """A new, empty event calendar below the principal's ``calendars`` home."""
        path = f"/{USER}/calendars/{uuid.uuid4().hex[:12]}/"
        status, _, body = dav("MKCALENDAR", self.base + path)
        assert status == 201, (status, body)
        return path


_SYNC = re.compile(rb"<[^>]*sync-token>([^<]*)<")
_ICLOUD_401 = {"WWW-Authenticate": 'X-MobileMe-AuthToken realm="Newcastle"'}


@dataclass
class DavProxy:
    """The reverse proxy (see the module doc); ``hosts`` are extra names the test's resolver
    maps to it (iCloud's two hosts)."""

    upstream: str
    password: str = PASSWORD
    check_auth: bool = False
    no_sync: bool = False
    rewrite: bool = False
    icloud: bool = False
    hostile: str = ""
    redirect_to: str = ""
    digest: bool = False
    faults: dict[str, list[int]] = field(default_factory=dict)
    expired: set[str] = field(default_factory=set)
    issued: set[str] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)
    log: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(30)

    @property
    def base(self) -> str:
        """The proxy's URL."""
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        """Stop the proxy's loop."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def reset(self) -> None:
        """No faults, modes off, counters zero."""
        self.faults.clear()
        self.expired.clear()
        self.counts.clear()
        self.log.clear()
        self.no_sync = self.rewrite = self.icloud = self.digest = False
        self.hostile = self.redirect_to = ""

    # -- what the test asks ------------------------------------------------------------------------
    def writes(self) -> int:
        """Writes (PUT/DELETE) the bridge sent since the last reset."""
        return self.counts["PUT"] + self.counts["DELETE"]

    @staticmethod
    def operation(method: str, headers: Any, body: bytes) -> str:
        """The scenario name of a request (``list``/``insert``/``update``/``delete``/…)."""
        if method in ("PROPFIND",) or (method == "REPORT" and b"sync-collection" in body):
            return "list"
        if method == "PUT":
            return "insert" if headers.get("If-None-Match") else "update"
        if method == "DELETE":
            return "delete"
        return method.lower()

    # -- the proxy ------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        method = request.method
        op = self.operation(method, request.headers, body)
        self.log.append((method, request.path))
        auth = request.headers.get("Authorization", "")
        if self.digest and not digest_ok(auth, method, self.password):
            return web.Response(status=401, headers={"WWW-Authenticate": (
                f'Digest realm="{_REALM}", nonce="{uuid.uuid4().hex}", qop="auth", '
                'algorithm=MD5')})
        if (self.check_auth or self.icloud) and auth != _auth(USER, self.password):
            headers = _ICLOUD_401 if self.icloud else {"WWW-Authenticate": 'Basic realm="x"'}
            return web.Response(status=401, headers=headers)
        if self.redirect_to:
            raise web.HTTPMovedPermanently(self.redirect_to)
        if self.hostile:
            hostile = await self._hostile(request, op)
            if hostile is not None:
                return hostile
        queue = self.faults.get(op)
        if queue:
            return web.Response(status=queue.pop(0), text="injected fault")
        if method in ("PUT", "DELETE"):
            self.counts[method] += 1
        self.counts["requests"] += 1
        if method == "REPORT" and b"sync-collection" in body:
            if self.no_sync:
                return web.Response(status=403, content_type="application/xml", text=(
                    '<?xml version="1.0"?><d:error xmlns:d="DAV:"><d:supported-report/>'
                    "</d:error>"))
            match = _SYNC.search(body)
            token = match.group(1).decode() if match else ""
            if token and token in self.expired:
                return web.Response(status=403, content_type="application/xml", text=(
                    '<?xml version="1.0"?><d:error xmlns:d="DAV:"><d:valid-sync-token/>'
                    "</d:error>"))
        if self.icloud and method == "PUT" and b"BEGIN:VTODO" in body:
            return web.Response(status=403, text="VTODO not supported")
        if self.rewrite and method == "PUT":
            body = rewrite_body(body)
        if self.icloud and method == "PROPFIND" and request.path in ("/", ""):
            return self._icloud_root(request)
        return await self._forward(request, method, body)

    def _icloud_root(self, request: web.Request) -> web.Response:
        """``caldav.icloud.com/``: the principal, on the same host (as iCloud answers)."""
        text = ('<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><d:href>/</d:href>'
                "<d:propstat><d:prop><d:current-user-principal><d:href>"
                f"/{USER}/</d:href></d:current-user-principal></d:prop>"
                "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>")
        return web.Response(status=207, content_type="application/xml", text=text)

    async def _forward(self, request: web.Request, method: str, body: bytes
                       ) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "content-length", "transfer-encoding")}
        if self.check_auth or self.icloud or self.digest:  # the proxy did the auth
            headers["Authorization"] = _auth(USER, PASSWORD)
        url = self.upstream + request.path_qs
        async with aiohttp.ClientSession() as session, session.request(
                method, url, data=body or None, headers=headers,
                allow_redirects=False) as resp:
            data = await resp.read()
            out = {k: v for k, v in resp.headers.items()
                   if k.lower() not in ("content-length", "transfer-encoding",
                                        "content-encoding", "connection", "server")}
            if self.rewrite and method == "PUT":
                out.pop("ETag", None)
                out.pop("Etag", None)
            if self.icloud and method in ("PROPFIND", "REPORT"):
                data = self._icloud_hosts(data, request)
            if method == "REPORT":
                for token in _SYNC.findall(data):
                    self.issued.add(token.decode())
            return web.Response(status=resp.status, body=data, headers=out)

    def _icloud_hosts(self, data: bytes, request: web.Request) -> bytes:
        """The calendar home on the second host (``p42-…``), as iCloud names it."""
        host = request.host
        if not host.startswith("caldav."):
            return data
        second = "p42-" + host
        home = re.compile(rb"(<[^>]*calendar-home-set[^>]*>\s*<[^>]*href>)(/)")
        return home.sub(rb"\1http://" + second.encode() + rb"\2", data)

    async def _hostile(self, request: web.Request, op: str) -> web.StreamResponse | None:
        return await HOSTILE[self.hostile](request, op) if self.hostile in HOSTILE else None

    def expire(self) -> None:
        """Every sync token handed out so far becomes unknown (403 ``valid-sync-token``)."""
        self.expired |= self.issued


_REALM = "digest-test"


def digest_ok(header: str, method: str, password: str) -> bool:
    """Whether an ``Authorization: Digest …`` header (RFC 7616, MD5, qop=auth) is right."""
    if not header.startswith("Digest "):
        return False
    fields = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
    if fields.get("username") != USER or fields.get("realm") != _REALM:
        return False

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1 = md5(f"{USER}:{_REALM}:{password}")
    ha2 = md5(f"{method}:{fields.get('uri', '')}")
    expected = md5(f"{ha1}:{fields.get('nonce')}:{fields.get('nc')}:{fields.get('cnonce')}:"
                   f"{fields.get('qop')}:{ha2}")
    return fields.get("response") == expected


def rewrite_body(body: bytes) -> bytes:
    """What rewriting servers do to a PUT body: another PRODID, DTSTAMP of now, the
    VTIMEZONE blocks dropped (the server keeps its own), lines reordered."""
    text = body.decode("utf-8")
    text = re.sub(r"PRODID:[^\r\n]*", "PRODID:-//Rewriting Server//EN", text)
    text = re.sub(r"DTSTAMP:[^\r\n]*", "DTSTAMP:" + time.strftime("%Y%m%dT%H%M%SZ",
                                                                   time.gmtime()), text)
    text = re.sub(r"BEGIN:VTIMEZONE\r?\n.*?END:VTIMEZONE\r?\n", "", text, flags=re.DOTALL)
    return text.encode("utf-8")


async def _huge(request: web.Request, op: str) -> web.StreamResponse | None:
    if op != "list":
        return None
    resp = web.StreamResponse(status=207, headers={"Content-Type": "application/xml"})
    await resp.prepare(request)
    await resp.write(b'<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">')
    row = (b"<d:response><d:href>/x/" + b"a" * 900 + b".ics</d:href><d:propstat><d:prop>"
           b"<d:getetag>\"1\"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status>"
           b"</d:propstat></d:response>")
    try:
        for _ in range(200_000):  # ~200 MB, or until the client hangs up
            await resp.write(row * 64)
    except (ConnectionError, RuntimeError):
        pass
    return resp


async def _bomb(request: web.Request, op: str) -> web.StreamResponse | None:
    if op != "list":
        return None
    lol = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i + 1} "{("&lol" + str(i) + ";") * 10}">'.replace(
               "&lol0;", "&lol;") for i in range(9))
           + ']><d:multistatus xmlns:d="DAV:"><d:sync-token>&lol9;</d:sync-token>'
           "</d:multistatus>")
    return web.Response(status=207, content_type="application/xml", text=lol)


async def _slow(request: web.Request, op: str) -> web.StreamResponse | None:
    if op != "list":
        return None
    resp = web.StreamResponse(status=207, headers={"Content-Type": "application/xml"})
    await resp.prepare(request)
    await resp.write(b'<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">')
    try:
        for _ in range(600):  # an endless multistatus, a row every 0.1 s
            await resp.write(b"<d:response><d:href>/x/1.ics</d:href></d:response>")
            await asyncio.sleep(0.1)
    except (ConnectionError, RuntimeError):
        pass
    return resp


async def _storm(request: web.Request, op: str) -> web.StreamResponse | None:
    return web.Response(status=503, text="storm") if op == "list" else None


HOSTILE: dict[str, Callable[[web.Request, str], Any]] = {
    "huge": _huge, "bomb": _bomb, "slow": _slow, "storm": _storm}
