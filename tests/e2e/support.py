"""The whole product as a business runs it, for the end-to-end tests.

:class:`Bridge` writes a real ``bridge.toml`` (free ports, ``[google]`` pointing at an offline
:class:`~emulators.google.server.EmulatorServer`, ``[notifications]`` at an aiosmtpd server),
opens the store the way every command does (:func:`bridge.bootstrap.open_settings_store`) and runs
CalDAV + sidecar either in a thread (``bridge.runner.run``) or as a ``termin-bridge serve``
subprocess.  Tests then talk to it only through what customers and staff use: the ``caldav``
client library, the booking API over HTTP, ICS feed URLs, the CLI, and what arrives at Google
(the emulator) and at the SMTP server.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar

import caldav
from aiosmtpd.controller import Controller

from bridge.bootstrap import load_settings, open_settings_store
from bridge.config import Settings, with_secret_key
from bridge.google.crypto import cipher_from_settings
from bridge.passwords import hash_password
from bridge.store import SqlStore
from bridge.sync.engine import SyncEngine
from bridge.sync.service import SyncService
from bridge.web.providers import provider_factories
from emulators.google.server import ALICE, CLIENT_ID, CLIENT_SECRET, EmulatorServer

T = TypeVar("T")

CAL = "alice/work"
TZ = "Europe/Berlin"
STAFF = "alice"
STAFF_PASSWORD = "alice-phone-password"
SCOPES = ["https://www.googleapis.com/auth/calendar.events",
          "https://www.googleapis.com/auth/calendar.calendarlist.readonly"]
PRIVATE_UID = "terminUid"


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, what: str = "condition",
               interval: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except AssertionError as exc:  # a predicate may assert to explain itself
            last_exc = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}"
                                 + (f": {last_exc}" if last_exc else ""))
        time.sleep(interval)


# -- SMTP --------------------------------------------------------------------------------------

@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd, no TLS, no auth) that keeps every accepted message."""

    port: int = field(default_factory=free_port)
    messages: list[Message] = field(default_factory=list)
    delay: float = 0.0  # seconds before accepting DATA (a slow mail server)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Any = None

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        msg = message_from_bytes(envelope.content, policy=policy.default)
        msg["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        with self._lock:
            self.messages.append(msg)
        return "250 OK"

    def start(self) -> SmtpSink:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def to(self, address: str) -> list[Message]:
        """Messages whose envelope recipient is ``address``."""
        with self._lock:
            return [m for m in self.messages if m["X-Envelope-To"] == address]

    def snapshot(self) -> list[Message]:
        with self._lock:
            return list(self.messages)


# -- HTTP --------------------------------------------------------------------------------------

@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 10.0) -> HttpResult:
    """One request without proxies; error statuses are returned, not raised."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return HttpResult(resp.status, dict(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as exc:
        return HttpResult(exc.code, dict(exc.headers.items()), exc.read())


# -- iCalendar ---------------------------------------------------------------------------------

def phone_event(uid: str, summary: str, day: int, hour: int, *, minutes: int = 60,
                customer_email: str | None = None) -> str:
    """What a phone PUTs: one VEVENT in Europe/Berlin on 2030-03-<day>."""
    end_h, end_m = hour + minutes // 60, minutes % 60
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Apple Inc.//iOS 17.4//EN", "BEGIN:VEVENT",
        f"UID:{uid}", "DTSTAMP:20300101T000000Z",
        f"DTSTART;TZID={TZ}:203003{day:02d}T{hour:02d}0000",
        f"DTEND;TZID={TZ}:203003{day:02d}T{end_h:02d}{end_m:02d}00",
        f"SUMMARY:{summary}",
    ]
    if customer_email:
        lines += ["X-TERMIN-CUSTOMER-NAME:Kunde", f"X-TERMIN-CUSTOMER-EMAIL:{customer_email}"]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


# -- the product -------------------------------------------------------------------------------

def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


class Bridge:
    """One termin-bridge installation: config file, store, and its servers (thread or process)."""

    def __init__(self, root: Path, storage_url: str, emu: EmulatorServer, smtp: SmtpSink, *,
                 poll_interval: int = 1) -> None:
        self.root = root
        self.emu = emu
        self.smtp = smtp
        self.dav_port = free_port()
        self.http_port = free_port()
        self.config_path = root / "bridge.toml"
        sections: dict[str, dict[str, Any]] = {
            "storage": {"url": storage_url, "data_dir": str(root / "data")},
            "dav": {"host": "127.0.0.1", "port": self.dav_port},
            "http": {"host": "127.0.0.1", "port": self.http_port, "metrics_port": free_port()},
            "google": {
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "auth_uri": emu.base_url + "/o/oauth2/v2/auth", "token_uri": emu.token_uri,
                "revoke_uri": emu.base_url + "/revoke", "api_endpoint": emu.api_endpoint,
            },
            "sync": {"poll_interval": poll_interval, "push": "off"},
            "security": {"secret_key": "e2e-" + secrets.token_hex(24)},
            "notifications": {
                "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none",
                "sender": "praxis@example.org", "language": "en", "poll_interval": 0.2,
                "retry_base": 0.5, "max_attempts": 5,
            },
            "logging": {"level": "INFO"},
        }
        lines: list[str] = []
        for section, values in sections.items():
            lines.append(f"[{section}]")
            lines += [f"{k} = {_toml(v)}" for k, v in values.items()]
            lines.append("")
        root.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text("\n".join(lines), encoding="utf-8")
        self.settings: Settings = with_secret_key(load_settings(str(self.config_path)), create=True)
        self.store: SqlStore = open_settings_store(self.settings)
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None
        self._exit: list[int] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / "serve.log"

    # -- URLs ---------------------------------------------------------------------------------
    @property
    def dav_url(self) -> str:
        return f"http://127.0.0.1:{self.dav_port}/"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    # -- set-up through the store (as the CLI does) -----------------------------------------
    def add_staff(self, name: str = STAFF, password: str = STAFF_PASSWORD) -> None:
        self.store.create_user(name, hash_password(password), role="staff")

    def add_calendar(self, path: str = CAL, name: str = "Praxis") -> int:
        self.store.create_collection(path, tag="VCALENDAR", props={"D:displayname": name},
                                     timezone=TZ)
        coll = self.store.get_collection(path)
        assert coll is not None
        return coll.id

    def connect_google(self, path: str = CAL, google_calendar: str = ALICE) -> int:
        """Connect ``path`` to a Google calendar without a browser, then start the import.

        The refresh token comes from the emulator's ``issue_tokens`` hook (what the consent page
        would have produced); the import is started through the admin page's facade and run by
        the sidecar's own sync engine.
        """
        tokens = self.emu.hooks.issue_tokens(ALICE, CLIENT_ID, SCOPES)
        cipher = cipher_from_settings(self.settings)
        record = self.store.create_connection(
            path, account_email=ALICE, remote_calendar_id=google_calendar,
            remote_calendar_name="Alice", scopes=" ".join(SCOPES),
            seal_token=lambda cid: cipher.encrypt(cid, tokens["refresh_token"]))
        self.store.update_connection_state(record.id, {"calendar_tz": TZ})
        engine = SyncEngine.from_settings(self.store, self.settings,
                                          providers=provider_factories(self.settings, self.store))
        service = SyncService(self.store, self.settings, engine)
        service.start_import(record.id, push_existing=True)
        return record.id

    def wait_imported(self, connection_id: int, timeout: float = 15.0) -> None:
        def done() -> bool:
            state = self.store.get_connection(connection_id).state
            return (state.get("import") or {}).get("phase") == "done"

        wait_until(done, timeout, "the first Google import to finish")

    # -- running ------------------------------------------------------------------------------
    def start_thread(self) -> None:
        """``bridge.runner.run(..., dav=True, sidecar=True)`` in a background thread."""
        from bridge.runner import run

        assert self._thread is None
        stop = threading.Event()
        self._stop = stop
        self._exit = []

        def main() -> None:
            self._exit.append(run(self.settings, self.store, dav=True, sidecar=True,
                                  stop_event=stop))

        self._thread = threading.Thread(target=main, name="e2e-bridge", daemon=True)
        self._thread.start()
        self.wait_ready()

    def stop_thread(self) -> int:
        assert self._thread is not None and self._stop is not None
        self._stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive(), "the servers did not stop within 30 s"
        self._thread = None
        return self._exit[0] if self._exit else -1

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TERMIN_BRIDGE_")}
        env["TERMIN_BRIDGE_ADMIN_PASSWORD"] = "e2e-admin-password"
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _cli_argv(self) -> list[str]:
        script = Path(sys.executable).parent / "termin-bridge"
        if script.exists():
            return [str(script)]
        return [sys.executable, "-m", "bridge"]

    def cli(self, *args: str, stdin: str | None = None, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
        """Run ``termin-bridge --config <file> ARGS`` and return its output."""
        result = subprocess.run(
            [*self._cli_argv(), "--config", str(self.config_path), *args], input=stdin,
            capture_output=True, text=True, env=self._env(), cwd=self.root, timeout=60,
            check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"termin-bridge {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def start_process(self, timeout: float = 30.0) -> None:
        """``termin-bridge --config bridge.toml serve`` as a child process."""
        assert self.proc is None
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [*self._cli_argv(), "--config", str(self.config_path), "serve"],
            stdout=log, stderr=subprocess.STDOUT, env=self._env(), cwd=self.root)
        log.close()
        try:
            self.wait_ready(timeout=timeout)
        except AssertionError:
            self.stop_process(check=False)
            raise AssertionError("termin-bridge serve did not come up:\n" + self.log()) from None

    def stop_process(self, *, check: bool = True) -> int:
        """SIGTERM (what systemd sends) and wait for a clean exit."""
        assert self.proc is not None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            raise AssertionError("termin-bridge serve ignored SIGTERM:\n" + self.log()) from None
        if check:
            assert code == 0, f"termin-bridge serve exited {code}:\n{self.log()}"
        return code

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]
        except FileNotFoundError:
            return ""

    def wait_ready(self, timeout: float = 20.0) -> None:
        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"serve exited with {self.proc.returncode}")
            if self._thread is not None and not self._thread.is_alive():
                raise AssertionError("the runner thread ended")
            try:
                if http("GET", self.http_url + "/healthz", timeout=2).status != 200:
                    return False
                with socket.create_connection(("127.0.0.1", self.dav_port), timeout=1):
                    return True
            except OSError:
                return False

        wait_until(ready, timeout, "CalDAV and the sidecar to accept requests", interval=0.1)

    def close(self) -> None:
        from radicale_plugins.store_registry import unregister_store

        if self.proc is not None:
            self.stop_process(check=False)
        if self._thread is not None:
            self.stop_thread()
        unregister_store(self.settings.storage_url)
        self.store.close()

    # -- clients ------------------------------------------------------------------------------
    def phone(self, user: str = STAFF, password: str = STAFF_PASSWORD) -> caldav.DAVClient:
        """A CalDAV account as a phone would add it: server URL, user name, password."""
        return caldav.DAVClient(url=self.dav_url, username=user, password=password, timeout=10)

    def phone_calendar(self, path: str = CAL) -> caldav.Calendar:
        principal = self.phone().principal()
        slug = path.split("/", 1)[1]
        found = [c for c in principal.calendars() if str(c.url).rstrip("/").endswith(slug)]
        assert len(found) == 1, [str(c.url) for c in principal.calendars()]
        return found[0]

    def google(self, calendar_id: str = ALICE) -> list[dict[str, Any]]:
        """Every event Google stores for the calendar (cancelled ones too)."""
        return self.emu.hooks.stored_events(calendar_id)

    def google_live_by_uid(self, uid: str, calendar_id: str = ALICE) -> list[dict[str, Any]]:
        """Live Google events carrying our UID."""
        return [e for e in self.google(calendar_id)
                if e.get("status") != "cancelled" and google_uid(e) == uid]


def google_uid(event: dict[str, Any]) -> str:
    """The UID the bridge keeps on a Google event (ours, else Google's iCalUID)."""
    private = (event.get("extendedProperties") or {}).get("private") or {}
    return str(private.get(PRIVATE_UID) or event.get("iCalUID") or "")
