"""Fixtures for notification tests: a real SMTP server (aiosmtpd), a webhook receiver that
checks signatures, a store with a controllable clock, and helpers to write Google/phone edits."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import insert, select

from bridge.bootstrap import open_bridge_store
from bridge.config import Settings, load
from bridge.ical import parse_resource
from bridge.notify.webhook import verify
from bridge.store import SqlStore
from bridge.store import schema as s

CALENDAR = "alice/praxis"
WEBHOOK_SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
START = datetime(2026, 7, 6, 8, 0, tzinfo=UTC)  # Monday 10:00 in Berlin


class FakeClock:
    """A clock the test moves; starts three days before START."""

    def __init__(self) -> None:
        self.now = (START - timedelta(days=3)).timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta).total_seconds()


@dataclass
class SmtpSink:
    """Messages the test SMTP server accepted."""

    port: int
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        msg["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server on loopback (aiosmtpd), no TLS, no auth."""
    sink = SmtpSink(_free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class WebhookSink:
    """Deliveries the receiver accepted (signature checked) and how to make it fail."""

    url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    fail_with: int | None = None
    calls: int = 0


@pytest.fixture
async def webhook(aiohttp_server: Any) -> WebhookSink:
    """A local webhook receiver verifying the Standard Webhooks signature."""
    sink = WebhookSink()

    async def receive(request: web.Request) -> web.Response:
        sink.calls += 1
        body = await request.read()
        if not verify(WEBHOOK_SECRET, body, request.headers):
            sink.bad_signatures += 1
            return web.Response(status=401)
        if sink.fail_with is not None:
            return web.Response(status=sink.fail_with)
        data = json.loads(body)
        assert data["id"] == request.headers["webhook-id"]
        sink.bodies.append(data)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    server = await aiohttp_server(app)
    sink.url = str(server.make_url("/hook"))
    return sink


@pytest.fixture
def clock() -> FakeClock:
    """The store's clock."""
    return FakeClock()


def open_notify_store(url: str, clock: FakeClock) -> SqlStore:
    """A store on ``url`` with the calendar alice/praxis."""
    st = open_bridge_store(url, clock=clock)
    st.create_collection(CALENDAR, tag="VCALENDAR", props={"D:displayname": "Praxis Sonnenschein"},
                         timezone="Europe/Berlin", exist_ok=True)
    return st


@pytest.fixture
def nstore(sqlite_url: str, clock: FakeClock) -> Iterator[SqlStore]:
    """A SQLite store with a fake clock."""
    st = open_notify_store(sqlite_url, clock)
    try:
        yield st
    finally:
        st.close()


def notify_settings(tmp_path: Path, smtp: SmtpSink | None, webhook: WebhookSink | None,
                    **notifications: Any) -> Settings:
    """Settings pointing at the test SMTP server and webhook receiver."""
    values: dict[str, Any] = {"poll_interval": 0.05, "retry_base": 0.05, "max_attempts": 3}
    if smtp is not None:
        values |= {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none",
                   "sender": "praxis@example.org"}
    if webhook is not None:
        values |= {"webhook_url": webhook.url, "webhook_secret": WEBHOOK_SECRET}
    return load(tmp_path / "absent.toml", env={}).with_overrides(
        storage={"data_dir": str(tmp_path)}, notifications=values | notifications)


def add_connection(store: SqlStore, *, state: dict[str, Any], path: str = CALENDAR) -> int:
    """A Google connection row for ``path`` (as the sync engine keeps it)."""
    now = time.time()
    with store.engine.begin() as conn:
        coll_id = conn.execute(select(s.collections.c.id)
                               .where(s.collections.c.path == path)).scalar_one()
        result = conn.execute(insert(s.connections).values(
            collection_id=coll_id, account_email="praxis@gmail.example",
            remote_calendar_id="praxis@gmail.example", status="ok", active=True,
            import_state=json.dumps(state), sync_state_version=1, created_at=now,
            updated_at=now))
        return int(result.inserted_primary_key[0])


def set_connection_state(store: SqlStore, connection_id: int, state: dict[str, Any]) -> None:
    """Replace the connection's JSON state."""
    from sqlalchemy import update

    with store.engine.begin() as conn:
        conn.execute(update(s.connections).where(s.connections.c.id == connection_id)
                     .values(import_state=json.dumps(state)))


def event_text(uid: str, start: datetime, minutes: int = 30, *, customer: bool = False,
               attendee: str | None = None, summary: str = "Termin", status: str = "CONFIRMED",
               description: str = "") -> str:
    """A VEVENT as a phone or Google would store it."""
    end = start + timedelta(minutes=minutes)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT",
             f"UID:{uid}", "DTSTAMP:20260101T000000Z",
             f"DTSTART:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}",
             f"DTEND:{end.astimezone(UTC):%Y%m%dT%H%M%SZ}", f"SUMMARY:{summary}",
             f"STATUS:{status}"]
    if customer:
        lines += ["X-TERMIN-CUSTOMER-NAME:Erika Mustermann",
                  "X-TERMIN-CUSTOMER-EMAIL:erika@example.org", "X-TERMIN-SERVICE:Beratung"]
    if attendee:
        lines += ["ORGANIZER:mailto:praxis@gmail.example",
                  "ATTENDEE;PARTSTAT=ACCEPTED:mailto:praxis@gmail.example",
                  f"ATTENDEE;CN=Kunde;PARTSTAT=NEEDS-ACTION:mailto:{attendee}"]
    if description:
        lines.append(f"DESCRIPTION:{description}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def put(store: SqlStore, uid: str, text: str, origin: str) -> None:
    """Write ``text`` as item ``<uid>.ics`` with ``origin``."""
    store.put_item(CALENDAR, f"{uid}.ics", parse_resource(text), origin=origin)


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


# Worker ids are unique in production; PostgreSQL's liveness locks (bridge.store.liveness) are
# database-wide, so test processes running in parallel must not share a worker's name.
_RUN = secrets.token_hex(4)


def worker_name(name: str) -> str:
    """``name`` made unique to this test process."""
    return f"{name}-{_RUN}"
