"""The hostile-input corpus of ``../shared/hostile-inputs.md`` (groups A-D) and its runner.

Used by ``tests/hostile`` (a fast subset) and ``scripts/hostile-report`` (everything).

* :func:`catalogue` builds one :class:`Case` per catalogue row (A1-A17, B1-B8, C1-C8, and the
  booking API, feed URL, admin form and Google ingest boundaries), each naming where it goes
  (``target``) and what must come back (``expect``, an inclusive status range).
* :func:`generated` builds seeded mutations of valid resources, XML bodies, JSON bodies and
  Google events.
* :class:`Env` is one in-process world: Radicale behind the guard (WSGI), the sidecar (booking
  API, feeds, admin) on an aiohttp test server, all on one store with users ``alice``, ``bob``,
  ``carol``, ``boss``.  :meth:`Env.run` sends a case and returns an :class:`Outcome` that says
  whether it crashed, answered 5xx, stored something it must not have, or leaked another
  user's data.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import re
import secrets
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.errors import InvalidICalendar
from bridge.feeds.http import FeedOptions, add_feed_routes
from bridge.google.series import build_series
from bridge.ical.validate import parse_resource
from bridge.store import SqlStore, open_store
from bridge.web.app import create_app
from radicale_plugins.guard import RAW_CHUNKED
from radicale_plugins.server import build_application, build_configuration
from radicale_plugins.store_registry import register_store, unregister_store
from tests.caldav.caldav_support import (
    PROPFIND_ETAG,
    Dav,
    calendar_query,
    multiget,
    populate,
    settings_for,
    sync_collection,
)

__all__ = ["Case", "Env", "Outcome", "catalogue", "generated"]

BOB_SECRET = "BOB-SECRET-7f3a"
ALICE_SECRET = "ALICE-SECRET-19c2"
INJECTED = "X-INJECTED"
CRLF = "\r\n"
ANY = (100, 599)
CLIENT_ERROR = (400, 499)


# -- payload builders ------------------------------------------------------------------------
def ics(*lines: str) -> str:
    """A VCALENDAR around ``lines``."""
    return CRLF.join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hostile//EN", *lines,
                      "END:VCALENDAR"]) + CRLF


def vevent(uid: str, *extra: str, start: str = "20260105T100000Z",
           end: str | None = "20260105T110000Z", summary: str = "Hostile") -> list[str]:
    """The lines of one VEVENT."""
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z", f"DTSTART:{start}"]
    if end is not None:
        lines.append(f"DTEND:{end}")
    return [*lines, f"SUMMARY:{summary}", *extra, "END:VEVENT"]


def event_ics(uid: str, *extra: str, **kw: Any) -> bytes:
    """One VEVENT in a VCALENDAR, as bytes."""
    return ics(*vevent(uid, *extra, **kw)).encode()


def nested_events(depth: int) -> bytes:
    """``BEGIN:VEVENT`` nested ``depth`` times (A4)."""
    inner = [f"UID:nest-{depth}", "DTSTAMP:20250101T000000Z", "DTSTART:20260105T100000Z"]
    return ics(*(["BEGIN:VEVENT"] * depth), *inner, *(["END:VEVENT"] * depth)).encode()


BERLIN = CRLF.join([
    "BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "BEGIN:STANDARD", "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100",
    "END:STANDARD", "BEGIN:DAYLIGHT", "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200",
    "END:DAYLIGHT", "END:VTIMEZONE"])

_L = ["&lol;" * 10] + [f"&lol{i - 1};" * 10 for i in range(2, 10)]
BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{_L[i - 1]}">' for i in range(1, 10))
                  + ']><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop>&lol9;'
                  '</D:propfind>')
XXE = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
       '<D:propfind xmlns:D="DAV:"><D:prop>&e;</D:prop></D:propfind>')
XXE_PARAM = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
             '<D:propfind xmlns:D="DAV:"><D:prop/></D:propfind>')
PROPPATCH = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
             '<D:displayname>pwned</D:displayname></D:prop></D:set></D:propertyupdate>')
MKCAL = ('<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" '
         'xmlns:C="urn:ietf:params:xml:ns:caldav"/>')
VCARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:vc-1\r\nFN:Mallory\r\nEND:VCARD\r\n"
GOOD_JSON: dict[str, Any] = {
    "start": "2026-06-01T10:00:00+02:00", "end": "2026-06-01T10:30:00+02:00",
    "customer": {"name": "Erika Mustermann", "email": "erika@example.org",
                 "phone": "+49 30 1234567"},
    "service": "Beratung", "notes": "Erster Termin",
}
GOOGLE_BASE: dict[str, Any] = {
    "id": "hostile0001", "iCalUID": "hostile0001@google.com", "status": "confirmed",
    "summary": "From Google", "etag": '"1"', "updated": "2026-01-01T00:00:00Z",
    "start": {"dateTime": "2026-01-05T10:00:00Z"}, "end": {"dateTime": "2026-01-05T11:00:00Z"},
}


class LazyChunked:
    """A raw ``Transfer-Encoding: chunked`` body of ``total`` bytes, produced on demand."""

    def __init__(self, total: int, chunk: int = 0x10000) -> None:
        self.pieces = self._pieces(total, chunk)
        self.buffer = bytearray()

    @staticmethod
    def _pieces(total: int, chunk: int) -> Any:
        sent = 0
        while sent < total:
            size = min(chunk, total - sent)
            yield b"%x\r\n" % size
            yield b"A" * size
            yield b"\r\n"
            sent += size
        yield b"0\r\n\r\n"

    def _fill(self, n: int, until_newline: bool = False) -> None:
        while len(self.buffer) < n and not (until_newline and b"\n" in self.buffer):
            piece = next(self.pieces, None)
            if piece is None:
                return
            self.buffer += piece

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes."""
        self._fill(n if n >= 0 else 1 << 62)
        data = bytes(self.buffer[:n] if n >= 0 else self.buffer)
        del self.buffer[:len(data)]
        return data

    def readline(self, limit: int = -1) -> bytes:
        """One line (at most ``limit`` bytes)."""
        self._fill(limit if limit >= 0 else 1 << 62, until_newline=True)
        end = self.buffer.find(b"\n")
        n = end + 1 if end >= 0 else len(self.buffer)
        if limit >= 0:
            n = min(n, limit)
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data


class LazyBytes:
    """A body of ``total`` bytes (already de-chunked by the server), produced on demand."""

    def __init__(self, total: int) -> None:
        self.left = total

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes."""
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return b"B" * n


# -- cases and outcomes ----------------------------------------------------------------------
@dataclass
class Case:
    """One hostile input: where it goes, what it is, what must come back."""

    group: str
    ident: str
    target: str  # dav | gate | google | api | feed | admin | call
    method: str = "GET"
    path: str = "/"
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    user: str | None = "alice"
    environ: dict[str, Any] = field(default_factory=dict)
    expect: tuple[int, int] = CLIENT_ERROR
    must_not_store: bool = True
    generated: bool = False
    alive_check: bool = True


@dataclass
class Outcome:
    """What a case did."""

    case: Case
    status: int = 0
    seconds: float = 0.0
    crash: str | None = None
    stored: str | None = None
    leak: str | None = None
    unexpected: str | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """A crash, a 5xx, something stored, a leak or a status outside the expectation."""
        return bool(self.crash or self.status >= 500 or self.stored or self.leak
                    or self.unexpected)

    def describe(self) -> str:
        """One line for reports and assertion messages."""
        what = self.crash or self.stored or self.leak or self.unexpected or ""
        return (f"{self.case.group}/{self.case.ident} {self.case.method} {self.case.path[:60]!r}"
                f" -> {self.status} {what}".strip())


# -- the in-process world --------------------------------------------------------------------
class Env:
    """Radicale + guard, the sidecar and the ical gate on one populated store."""

    def __init__(self, url: str, data_dir: Path, *, auth_delay: float = 0.01,
                 max_request_size: int | None = None) -> None:
        self.url = url
        self.store: SqlStore = open_store(url)
        populate(self.store)
        register_store(url, self.store)
        settings = settings_for(url, data_dir).with_overrides(
            security={"secret_key": "k" * 40}, notifications={"poll_interval": 0.05})
        self.settings = settings
        self.max_request_size = max_request_size or settings.dav.max_request_size
        configuration = build_configuration(
            settings, store_url=url, extra={"auth": {"delay": str(auth_delay)}})
        self.dav = Dav(build_application(configuration, max_request_size=self.max_request_size),
                       self.store, settings)
        for user in ("alice", "bob", "carol", "boss"):  # Radicale creates principals on login
            self.dav.request("PROPFIND", f"/{user}/", PROPFIND_ETAG, user=user)
        assert self.dav.request("PUT", "/bob/private/secret.ics", event_ics(
            "secret", summary=BOB_SECRET), user="bob").status == 201
        assert self.dav.request("PUT", "/alice/work/mine.ics", event_ics(
            "mine", summary=ALICE_SECRET)).status == 201
        calendar = self.store.get_collection("alice/work")
        assert calendar is not None
        self.calendar_id = calendar.id
        _key, self.api_key = self.store.create_api_key("hostile", "write")
        _feed, self.feed_token = self.store.create_feed("alice/work", privacy="full")
        revoked, self.revoked_token = self.store.create_feed("alice/work", privacy="busy")
        self.store.revoke_feed(revoked.id)
        self.loop = asyncio.new_event_loop()
        self.client: TestClient = self.loop.run_until_complete(self._client(
            create_app(settings, self.store)))
        feeds = web.Application()
        add_feed_routes(feeds, self.store, FeedOptions(miss_limit=10**9))
        self.feeds: TestClient = self.loop.run_until_complete(self._client(feeds))
        self.csrf = ""

    @staticmethod
    async def _client(app: web.Application) -> TestClient:
        client = TestClient(TestServer(app))
        await client.start_server()
        return client

    def close(self) -> None:
        """Stop the servers and close the store."""
        for client in (self.client, self.feeds):
            self.loop.run_until_complete(client.close())
        self.loop.close()
        unregister_store(self.url)
        self.store.close()

    # -- state -------------------------------------------------------------------------------
    def fingerprint(self) -> Any:
        """Everything a hostile request could have changed (revisions bump on every write)."""
        cols = tuple((c.path, c.revision, json.dumps(c.props, sort_keys=True))
                     for c in self.store.list_collections())
        users = tuple((u.name, u.role) for u in self.store.list_users())
        return cols, users, len(self.store.list_feeds())

    def alive(self) -> str | None:
        """``None`` when CalDAV and the sidecar still answer normally."""
        checks = [
            (self.dav.request("PROPFIND", "/alice/work/", PROPFIND_ETAG,
                              headers={"Depth": "1"}).status, 207, "PROPFIND"),
            (self.dav.request("GET", "/alice/work/mine.ics").status, 200, "GET"),
            (self.dav.request("REPORT", "/alice/work/", calendar_query(
                "20260101T000000Z", "20260201T000000Z"), headers={"Depth": "1"}).status,
             207, "REPORT"),
            (self._http(self.client, "GET", "/api/v1/calendars", b"",
                        {"Authorization": f"Bearer {self.api_key}"})[0], 200, "API"),
        ]
        bad = [f"{name} {got}" for got, want, name in checks if got != want]
        return "server no longer answers: " + ", ".join(bad) if bad else None

    def _http(self, client: TestClient, method: str, path: str, body: Any,
              headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        async def go() -> tuple[int, bytes, dict[str, str]]:
            async with client.request(method, path, data=body, headers=headers,
                                      allow_redirects=False) as resp:
                return resp.status, await resp.read(), dict(resp.headers)

        return self.loop.run_until_complete(go())

    def admin_csrf(self) -> str:
        """A CSRF token of the test client's admin session."""
        if not self.csrf:
            _status, body, _h = self._http(self.client, "GET", "/admin/login", b"", {})
            found = re.search(rb'name="csrf_token" value="([^"]+)"', body)
            assert found is not None, body[:200]
            self.csrf = found.group(1).decode()
        return self.csrf

    # -- running -----------------------------------------------------------------------------
    def run(self, case: Case, *, check_alive: bool = True) -> Outcome:
        """Send ``case`` and judge the result."""
        out = Outcome(case)
        before = self.fingerprint() if case.target in ("dav", "api", "admin", "feed") else None
        start = time.perf_counter()
        try:
            getattr(self, "_run_" + case.target)(case, out)
        except Exception as exc:
            out.crash = f"{type(exc).__name__}: {exc}"[:300]
            out.crash += " @ " + traceback.format_exc().strip().splitlines()[-3].strip()[:200]
        out.seconds = time.perf_counter() - start
        if out.crash is None and not out.status:
            out.crash = "no status"
        low, high = case.expect
        if out.crash is None and not low <= out.status <= high and out.status < 500:
            out.unexpected = f"status {out.status}, expected {low}-{high}"
        if (out.crash is None and 400 <= out.status < 500 and case.target in ("dav", "api")
                and case.method != "HEAD" and not out.body.strip()):
            out.unexpected = f"{out.status} without a message"
        if (before is not None and out.stored is None and out.crash is None
                and (case.must_not_store or not 200 <= out.status < 300)
                and self.fingerprint() != before):
            out.stored = f"the store changed (answer {out.status})"
        if check_alive and case.alive_check and case.target in ("dav", "api", "admin", "feed"):
            out.unexpected = out.unexpected or self.alive()
        return out

    def _leak_check(self, out: Outcome, user: str | None) -> None:
        foreign = ALICE_SECRET if user in ("bob", "carol") else BOB_SECRET
        if user == "boss":
            return
        if foreign.encode() in out.body:
            out.leak = "another user's data in the answer"

    def _run_dav(self, case: Case, out: Outcome) -> None:
        resp = self.dav.request(case.method, case.path, case.body, user=case.user,
                                headers=case.headers, environ_extra=case.environ)
        out.status, out.body, out.headers = resp.status, resp.body, resp.headers
        self._leak_check(out, case.user)
        if not case.must_not_store and case.method == "PUT" and 200 <= resp.status < 300:
            coll, _, name = case.path.strip("/").rpartition("/")
            item = self.store.get_item(coll, name)
            if item is None:
                out.stored = "answered 2xx but nothing stored"
                return
            try:
                parse_resource(item.text)
            except InvalidICalendar as exc:
                out.stored = f"stored a resource the gate refuses: {exc}"

    def _run_gate(self, case: Case, out: Outcome) -> None:
        try:
            parsed = parse_resource(case.body)
        except InvalidICalendar as exc:
            out.status, out.body = exc.status, str(exc).encode()
            if not str(exc).strip():
                out.unexpected = "refused without a message"
            return
        out.status = 200
        if any(line.upper().startswith(INJECTED) for line in parsed.text.splitlines()):
            out.stored = "an injected line passed the gate"

    def _run_google(self, case: Case, out: Outcome) -> None:
        master, exceptions = case.body
        series = build_series(str(master.get("id", "x")) if isinstance(master, dict) else "x",
                              master, exceptions, calendar_tz="Europe/Berlin")
        if series.parsed is None:
            out.status, out.body = 422, (series.error or "deleted").encode()
            return
        out.status = 200
        text = series.parsed.text
        parse_resource(text)
        if any(line.upper().startswith(INJECTED) for line in text.splitlines()):
            out.stored = "an injected line in the mapped resource"
        if len(text.encode()) > 1_000_000:
            out.stored = "mapped resource over the size cap"

    def _run_api(self, case: Case, out: Outcome) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}",
                   "Content-Type": "application/json", **case.headers}
        if case.user is None:
            headers.pop("Authorization")
        before = {i.href for i in self.store.list_items("alice/work")}
        out.status, out.body, out.headers = self._http(
            self.client, case.method, case.path, case.body, headers)
        if 400 <= out.status < 500 and out.status != 413:
            try:
                problem = json.loads(out.body)
                assert problem.get("detail") or problem.get("title")
            except (ValueError, AssertionError, AttributeError):
                out.unexpected = f"{out.status} without a problem+json message"
        if not case.must_not_store:
            for item in self.store.list_items("alice/work"):
                if item.href in before:
                    continue
                try:
                    parse_resource(item.text)
                except InvalidICalendar as exc:
                    out.stored = f"stored a resource the gate refuses: {exc}"
                if any(line.upper().startswith(INJECTED) for line in item.text.splitlines()):
                    out.stored = "an injected iCalendar line was stored"

    def _run_feed(self, case: Case, out: Outcome) -> None:
        client = self.client if case.user == "limited" else self.feeds
        out.status, out.body, out.headers = self._http(client, case.method, case.path,
                                                       case.body, case.headers)
        out.headers.pop("Date", None)
        if out.status == 200 and any(
                line.upper().startswith(INJECTED) for line in out.body.decode().splitlines()):
            out.leak = "an injected line in the feed"

    def _run_admin(self, case: Case, out: Outcome) -> None:
        body = case.body
        if isinstance(body, dict):
            body = {k: (self.admin_csrf() if v == "{csrf}" else v) for k, v in body.items()}
        out.status, out.body, out.headers = self._http(self.client, case.method, case.path,
                                                       body, case.headers)

    def _run_call(self, case: Case, out: Outcome) -> None:
        out.status, text = case.body(self)
        out.body = text.encode()


# -- the catalogue ---------------------------------------------------------------------------
def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _auth_none(env: Env) -> tuple[int, str]:
    configuration = build_configuration(env.settings, store_url=env.url,
                                        extra={"auth": {"type": "none"}})
    try:
        build_application(configuration, max_request_size=1000)
    except RuntimeError as exc:
        return 403, str(exc)
    return 200, "served with auth none"


def _dup_uid(env: Env) -> tuple[int, str]:
    first = env.dav.request("PUT", "/alice/work/dup-a.ics", event_ics("dup-uid"))
    second = env.dav.request("PUT", "/alice/work/dup-b.ics", event_ics("dup-uid", summary="B"))
    items = [i for i in env.store.list_items("alice/work") if i.uid == "dup-uid"]
    env.dav.request("DELETE", "/alice/work/dup-a.ics")
    if first.status != 201 or len(items) != 1 or items[0].href != "dup-a.ics":
        return 200, f"first {first.status}, items {[i.href for i in items]}"
    return second.status, second.text


SANITISED_BY_RADICALE = {"A14 NUL in SUMMARY"}


def _ics_cases() -> list[tuple[str, bytes, dict[str, str]]]:
    """(ident, body, headers) of the hostile iCalendar rows, for PUT and for the gate."""
    five_mb = event_ics("a1", summary="A" * 5_000_000)
    long_line = event_ics("a1b", summary="L" * 100_000)
    far = "20360105T100000Z"
    return [
        ("A1 5 MB SUMMARY line", five_mb, {}),
        ("A1 100 KB line", long_line, {}),
        ("A2 15 MB item", event_ics("a2", *(f"X-PAD-{i}:{'P' * 70}" for i in range(200_000))),
         {}),
        *[(f"A4 nested VEVENT x{n}", nested_events(n), {}) for n in (400, 600, 1200, 5000)],
        ("A5 COUNT=10^9", event_ics("a5", "RRULE:FREQ=DAILY;COUNT=1000000000"), {}),
        ("A6 FREQ=SECONDLY", event_ics("a6", "RRULE:FREQ=SECONDLY"), {}),
        ("A6 FREQ=MINUTELY", event_ics("a6m", "RRULE:FREQ=MINUTELY;INTERVAL=1"), {}),
        ("A7 SECONDLY until +10y", event_ics("a7", f"RRULE:FREQ=SECONDLY;UNTIL={far}"), {}),
        ("A7 HOURLY until +10y", event_ics("a7h", f"RRULE:FREQ=HOURLY;UNTIL={far}"), {}),
        ("A8 UNTIL before DTSTART", event_ics("a8", "RRULE:FREQ=DAILY;UNTIL=20250101T000000Z"),
         {}),
        ("A9 DTEND before DTSTART", event_ics("a9", end="20260105T090000Z"), {}),
        ("A10 TZID=Mars/Olympus_Mons", ics(
            "BEGIN:VEVENT", "UID:a10", "DTSTAMP:20250101T000000Z",
            "DTSTART;TZID=Mars/Olympus_Mons:20260105T100000",
            "DTEND;TZID=Mars/Olympus_Mons:20260105T110000", "END:VEVENT").encode(), {}),
        ("A11 UTF-16 BOM bytes", b"\xff\xfe" + event_ics("a11"), {}),
        ("A11 Latin-1 e-acute", event_ics("a11b", summary="Caf\u00e9").decode().encode(
            "latin-1"), {}),
        ("A12 charset=x-bogus", event_ics("a12"),
         {"Content-Type": "text/calendar; charset=x-bogus"}),
        ("A13 no UID", ics("BEGIN:VEVENT", "DTSTAMP:20250101T000000Z",
                           "DTSTART:20260105T100000Z", "END:VEVENT").encode(), {}),
        ("A13 two UIDs", ics(*vevent("a13-1"), *vevent("a13-2")).encode(), {}),
        ("A13 two UID lines", event_ics("a13d", "UID:other"), {}),
        ("A13 VEVENT+VTODO", ics(*vevent("a13m"), "BEGIN:VTODO", "UID:a13m",
                                 "DTSTAMP:20250101T000000Z", "END:VTODO").encode(), {}),
        ("A13 vCard into a calendar", VCARD.encode(), {}),
        ("A13 two VCALENDARs", event_ics("a13c") + event_ics("a13c"), {}),
        ("A14 binary garbage", b"\x00\x01\x02\xff" * 64, {}),
        ("A14 empty body", b"", {}),
        ("A14 NUL in SUMMARY", event_ics("a14", summary="a\x00b"), {}),
        ("A14 bad DTSTART", event_ics("a14d", start="2026-13-45"), {}),
        ("A14 EXRULE", event_ics("a14x", "EXRULE:FREQ=DAILY"), {}),
        ("A14 two RRULEs", event_ics("a14r", "RRULE:FREQ=DAILY;COUNT=2",
                                     "RRULE:FREQ=WEEKLY;COUNT=2"), {}),
        ("A14 DTEND and DURATION", event_ics("a14e", "DURATION:PT1H"), {}),
        ("A14 negative DURATION", event_ics("a14n", "DURATION:-PT1H", end=None), {}),
        ("A14 duplicate RECURRENCE-ID", ics(
            *vevent("a14o", "RRULE:FREQ=DAILY;COUNT=5"),
            *vevent("a14o", "RECURRENCE-ID:20260106T100000Z", start="20260106T120000Z",
                    end="20260106T130000Z"),
            *vevent("a14o", "RECURRENCE-ID:20260106T100000Z", start="20260106T140000Z",
                    end="20260106T150000Z")).encode(), {}),
        ("A14 VTIMEZONE only", ics(BERLIN).encode(), {}),
        ("A14 1001 components", ics(*vevent("a14c"), *(
            ["BEGIN:VTIMEZONE", "TZID:Z", "END:VTIMEZONE"] * 1001)).encode(), {}),
    ]


def catalogue(env: Env) -> list[Case]:
    """Every row of the A-C catalogue plus the API, feed, admin and Google boundaries."""
    cases: list[Case] = []
    add = cases.append
    # A: hostile iCalendar through CalDAV PUT and through the gate itself.
    for n, (ident, body, headers) in enumerate(_ics_cases()):
        group = ident[0]
        if ident in SANITISED_BY_RADICALE:
            # vobject drops the NUL before our gate sees the text: stored clean, or refused.
            add(Case(group, ident, "dav", "PUT", f"/alice/work/hostile-{n}.ics", body, headers,
                     expect=(201, 499), must_not_store=False))
        else:
            add(Case(group, ident, "dav", "PUT", f"/alice/work/hostile-{n}.ics", body,
                     headers))
        if not headers:
            add(Case(group, ident + " (gate)", "gate", "PARSE", "parse_resource", body,
                     alive_check=False))
    framing = event_ics("framing")
    add(Case("A", "A3 50 MB Content-Length, body not sent", "dav", "PUT",
             "/alice/work/a3.ics", b"x", {"Content-Length": "50000000"}))
    add(Case("A", "A3 50 MB chunked (raw socket framing)", "dav", "PUT", "/alice/work/a3c.ics",
             headers={"Content-Length": "", "Transfer-Encoding": "chunked"},
             environ={"wsgi.input": LazyChunked(50_000_000), RAW_CHUNKED: True,
                      "CONTENT_LENGTH": ""}))
    add(Case("A", "A3 50 MB chunked (de-chunked by server)", "dav", "PUT",
             "/alice/work/a3d.ics", headers={"Transfer-Encoding": "chunked"},
             environ={"wsgi.input": LazyBytes(50_000_000), "CONTENT_LENGTH": ""}))
    add(Case("A", "A3 malformed chunk size", "dav", "PUT", "/alice/work/a3m.ics",
             headers={"Transfer-Encoding": "chunked"},
             environ={"wsgi.input": io.BytesIO(b"zz\r\nabc\r\n0\r\n\r\n"),
                      RAW_CHUNKED: True, "CONTENT_LENGTH": ""}))
    add(Case("A", "A3 Content-Length longer than body", "dav", "PUT", "/alice/work/a3l.ics",
             framing, {"Content-Length": str(len(framing) + 5000)}))
    add(Case("A", "A3 Content-Length shorter than body", "dav", "PUT", "/alice/work/a3s.ics",
             framing, {"Content-Length": str(len(framing) // 2)}))
    add(Case("A", "A3 negative Content-Length", "dav", "PUT", "/alice/work/a3n.ics", framing,
             {"Content-Length": "-1"}))
    add(Case("A", "A3 Content-Length not a number", "dav", "PUT", "/alice/work/a3x.ics",
             framing, {"Content-Length": "12, 13"}))
    for path in ("/alice/work/", "/alice/", "/alice/newcal"):
        add(Case("A", f"A14 PUT 'F:' to {path} (Radicale 500)", "dav", "PUT", path, b"F:"))
    add(Case("A", "A17 duplicate UID in two hrefs", "call", "PUT", "/alice/work/dup-b.ics",
             _dup_uid, must_not_store=False))
    # B: hostile XML.
    xml_bodies = [
        ("B1 billion laughs", BILLION_LAUGHS), ("B2 XXE file:///etc/passwd", XXE),
        ("B2 XXE parameter entity", XXE_PARAM),
        ("B3 nesting 5,000", "<a>" * 5_000 + "</a>" * 5_000),
        ("B4 nesting 200,000", "<a>" * 200_000 + "</a>" * 200_000),
        ("B5 malformed", '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'),
        ("B5 binary", "\x00\x01garbage"), ("B5 unbound prefix", "<X:propfind/>"),
    ]
    for ident, body in xml_bodies:
        for method in ("PROPFIND", "REPORT", "PROPPATCH"):
            add(Case("B", f"{ident} ({method})", "dav", method, "/alice/work/", body.encode(),
                     {"Depth": "1"}))
    add(Case("B", "B6 bogus sync-token", "dav", "REPORT", "/alice/work/",
             sync_collection("http://radicale.org/ns/sync/bogus").encode(), {"Depth": "1"},
             expect=(403, 403)))
    add(Case("B", "B6 foreign sync-token", "dav", "REPORT", "/alice/work/",
             sync_collection("urn:x-termin-bridge:sync:999999999999").encode(), {"Depth": "1"},
             expect=(403, 403)))
    add(Case("B", "B7 Depth: infinity on /", "dav", "PROPFIND", "/", PROPFIND_ETAG.encode(),
             {"Depth": "infinity"}, expect=(207, 403)))
    add(Case("B", "B7 expand over 100 years", "dav", "REPORT", "/alice/work/", (
        b'<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
        b'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:expand '
        b'start="20000101T000000Z" end="21000101T000000Z"/></C:calendar-data></D:prop>'
        b'<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>')))
    add(Case("B", "B7 open free-busy-query", "dav", "REPORT", "/alice/work/", (
        b'<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
        b'<C:time-range start="20200101T000000Z"/></C:free-busy-query>')))
    add(Case("B", "B8 unauthenticated 900 KB body", "dav", "PROPFIND", "/alice/work/",
             b"<" * 900_000, user=None, expect=(401, 401)))
    add(Case("B", "B8 unauthenticated 50 MB chunked", "dav", "PUT", "/alice/work/b8.ics",
             user=None, headers={"Transfer-Encoding": "chunked"},
             environ={"wsgi.input": LazyChunked(50_000_000), RAW_CHUNKED: True,
                      "CONTENT_LENGTH": ""}, expect=(401, 401)))
    cases += _cross_user_cases()
    cases += _api_cases(env)
    cases += _feed_cases(env)
    cases += _admin_cases()
    cases += _google_cases()
    add(Case("C", "C6 auth type none", "call", "START", "build_application", _auth_none,
             expect=(403, 403), alive_check=False))
    return cases


def _cross_user_cases() -> list[Case]:
    cases: list[Case] = []
    victims = {
        "alice": ["/bob/", "/bob/private/", "/bob/private/secret.ics", "/bob/new/",
                  "/bob/private/new.ics", "/nosuchuser/", "/nosuchuser/cal/x.ics"],
        "bob": ["/alice/", "/alice/work/", "/alice/work/mine.ics", "/alice/new/",
                "/alice/work/new.ics"],
        "carol": ["/alice/work/", "/alice/work/mine.ics", "/bob/", "/bob/new/"],
    }
    methods = [("GET", b""), ("PROPFIND", PROPFIND_ETAG.encode()),
               ("PUT", event_ics("intruder")), ("DELETE", b""),
               ("PROPPATCH", PROPPATCH.encode()), ("MKCOL", b""),
               ("REPORT", sync_collection().encode()), ("MKCALENDAR", MKCAL.encode()),
               ("MOVE", b"")]
    for user, paths in victims.items():
        for path in paths:
            for method, body in methods:
                headers = {"Depth": "1"}
                if method == "MOVE":
                    headers["Destination"] = f"http://localhost:5232/{user}/stolen.ics"
                cases.append(Case("C", f"C1 {user} {method} {path}", "dav", method, path, body,
                                  headers, user=user, expect=(400, 403), alive_check=False))
    tricks = ["/alice/../bob/private/", "/alice/work/../../bob/private/secret.ics",
              "/alice/work/%2e%2e/%2e%2e/bob/private/secret.ics",
              "/alice/work/..%2f..%2fbob%2fprivate%2fsecret.ics",
              "/alice/work/..\\..\\bob\\private\\secret.ics", "/alice/work/a\x00.ics",
              "/alice/.hidden/", "/alice/work/.secret.ics", "/alice/work/./mine.ics",
              "//bob/private/", "/BOB/private/secret.ics", "/bob//private/secret.ics",
              "/alice/work/%00.ics", "/alice/work/%5c..%5c..%5cbob", "/" + "a/" * 1500]
    for path in tricks:
        for method in ("GET", "PROPFIND", "PUT", "DELETE"):
            body = event_ics("trick") if method == "PUT" else b""
            cases.append(Case("C", f"C2 {method} {path[:40]!r}", "dav", method, path, body,
                              expect=(400, 414), alive_check=False))
    for dest in ("/bob/private/x.ics", "/alice/../bob/private/x.ics", "/nosuchuser/c/x.ics",
                 "/alice/work/%2e%2e/%2e%2e/bob/private/x.ics"):
        cases.append(Case("C", f"C3 MOVE to {dest}", "dav", "MOVE", "/alice/work/mine.ics",
                          headers={"Destination": f"http://localhost:5232{dest}"},
                          expect=(400, 403)))
    for dest in ("http://evil.example/alice/work/b.ics", "http://localhost:5233/alice/work/b.ics",
                 "//evil.example/alice/work/b.ics"):
        cases.append(Case("C", f"C4 MOVE to {dest}", "dav", "MOVE", "/alice/work/mine.ics",
                          headers={"Destination": dest}, expect=(400, 403)))
    cases.append(Case("C", "C5 no credentials", "dav", "PROPFIND", "/alice/work/", user=None,
                      expect=(401, 401)))
    cases.append(Case("C", "C5 wrong password", "dav", "PROPFIND", "/alice/work/",
                      headers={"Authorization": _basic("alice", "wrong")}, user=None,
                      expect=(401, 401)))
    cases.append(Case("C", "C5 unknown user", "dav", "PROPFIND", "/alice/work/",
                      headers={"Authorization": _basic("mallory", "x")}, user=None,
                      expect=(401, 401)))
    cases.append(Case("C", "C5 malformed Basic", "dav", "PROPFIND", "/alice/work/",
                      headers={"Authorization": "Basic !!!notbase64"}, user=None))
    for name in (".*", "alice/..", "a@b@c", "../bob", "al ice", "bob\x00", "alice\r\nX: y",
                 "%2e%2e", "", "A" * 300, "alice\u2028"):
        cases.append(Case("C", f"C7 user name {name[:20]!r}", "dav", "PROPFIND", "/alice/work/",
                          headers={"Authorization": _basic(name, "x")}, user=None,
                          expect=(400, 403)))
    hrefs = ["/bob/private/secret.ics", "/alice/work/../../bob/private/secret.ics",
             "/bob/private/", "/nosuchuser/cal/x.ics", "http://localhost:5232/bob/private/secret.ics"]
    cases.append(Case("C", "C8 calendar-multiget of bob's hrefs", "dav", "REPORT",
                      "/alice/work/", multiget(hrefs).encode(), {"Depth": "1"},
                      expect=(207, 403)))
    cases.append(Case("C", "C8 multiget on bob's principal", "dav", "REPORT", "/bob/",
                      multiget(hrefs).encode(), {"Depth": "1"}, expect=(400, 403)))
    cases.append(Case("C", "C8 sync-collection on bob's calendar", "dav", "REPORT",
                      "/bob/private/", sync_collection().encode(), {"Depth": "1"},
                      expect=(400, 403)))
    cases.append(Case("C", "C8 calendar-query on bob's calendar", "dav", "REPORT",
                      "/bob/private/", calendar_query(None, None, props=(
                          "<D:getetag/><C:calendar-data/>")).encode(), {"Depth": "1"},
                      expect=(400, 403)))
    return cases


def _api_cases(env: Env) -> list[Case]:
    base = f"/api/v1/calendars/{env.calendar_id}/appointments"
    good = json.dumps(GOOD_JSON).encode()

    def body(**changes: Any) -> bytes:
        return json.dumps(GOOD_JSON | changes).encode()

    injection = {"summary": f"a\r\n{INJECTED}:1\rb\u2028c\x00d\x0be\u0085f",
                 "service": f"s\n{INJECTED}:2", "notes": f"n\r\n{INJECTED}:3\r\nEND:VEVENT",
                 "customer": {"name": f"N\r{INJECTED}:4", "email": "e@example.org"}}
    rows: list[tuple[str, str, str, Any, dict[str, str], tuple[int, int]]] = [
        ("no key", "GET", base, b"", {"Authorization": ""}, (401, 401)),
        ("unknown key", "GET", base, b"", {"Authorization": "Bearer tbk_" + "A" * 43},
         (401, 401)),
        ("malformed JSON", "POST", base, b'{"start": ', {}, (400, 400)),
        ("non-UTF-8 JSON", "POST", base, b'{"notes": "\xff\xfe"}', {}, (400, 400)),
        ("wrong media type", "POST", base, good, {"Content-Type": "text/plain"}, (415, 415)),
        ("JSON array 200,000 deep", "POST", base, b"[" * 200_000 + b"]" * 200_000, {},
         (400, 400)),
        ("JSON object 100,000 deep", "POST", base, b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
         {}, (400, 400)),
        ("lone surrogate in notes", "POST", base, body(notes="\ud800x"), {}, (400, 422)),
        ("lone surrogate in customer.name", "POST", base,
         body(customer={"name": "\udfff"}), {}, (400, 422)),
        ("lone surrogate as a key", "POST", base, b'{"\\ud800": 1}', {}, (400, 422)),
        ("3 MB body", "POST", base, b'{"notes": "' + b"n" * 3_000_000 + b'"}', {},
         (413, 413)),
        ("A9 end before start", "POST", base, body(end="2026-06-01T09:00:00+02:00"), {},
         (422, 422)),
        ("duration over a week", "POST", base, json.dumps(
            {k: v for k, v in GOOD_JSON.items() if k != "end"} | {"duration_minutes": 10**30}
        ).encode(), {}, (422, 422)),
        ("NaN start", "POST", base, b'{"start": NaN, "end": Infinity}', {}, (422, 422)),
        ("year 1 and 9999", "POST", base, body(start="0001-01-01T00:00:00+14:00",
                                                end="9999-12-31T23:59:59-14:00"), {},
         (422, 422)),
        ("DST gap local time", "POST", base, body(start="2026-03-29T02:30:00",
                                                  end="2026-03-29T03:30:00"), {}, (422, 422)),
        ("wrong types", "POST", base, json.dumps({"start": 5, "end": [], "customer": "x",
                                                  "status": {}, "notes": 1e308}).encode(),
         {}, (422, 422)),
        ("unknown fields", "POST", base, body(uid="../../x", **{"__proto__": {}}), {},
         (422, 422)),
        ("70 KB customer name", "POST", base, body(customer={"name": "N" * 70_000}), {},
         (422, 422)),
        ("body is a string", "POST", base, b'"x"', {}, (422, 422)),
        ("Idempotency-Key not ASCII", "POST", base, good,
         {"Idempotency-Key": "schl\u00fcssel"}, (400, 400)),
        ("Idempotency-Key 300 chars", "POST", base, good, {"Idempotency-Key": "k" * 300},
         (400, 400)),
        ("calendar id 10^30", "GET", "/api/v1/calendars/" + "9" * 30 + "/appointments", b"",
         {}, (404, 404)),
        ("calendar id not a number", "GET", "/api/v1/calendars/..%2f..%2fadmin/appointments",
         b"", {}, (404, 404)),
        ("appointment id bad base64", "GET", base + "/~!!!", b"", {}, (404, 404)),
        ("appointment id 5,000 chars", "GET", base + "/~" + "A" * 5000, b"", {},
         (404, 404)),
        ("PATCH missing appointment", "PATCH", base + "/nope", good, {}, (404, 404)),
        ("range year 9999", "GET", base + "?from=9999-99-99&limit=99999999999999999999", b"",
         {}, (422, 422)),
        ("cursor garbage", "GET", base + "?cursor=%00%ff", b"", {}, (422, 422)),
        ("availability 8,000 years", "GET",
         f"/api/v1/calendars/{env.calendar_id}/availability?from=0001-01-01&to=9999-12-31"
         "&duration=1", b"", {}, (422, 422)),
        ("freebusy year 1", "GET",
         f"/api/v1/calendars/{env.calendar_id}/freebusy?from=0001-01-01&to=0001-01-02", b"",
         {}, (422, 422)),
    ]
    cases = [Case("API", ident, "api", method, path, data, headers,
                  user=None if headers.get("Authorization") == "" else "alice", expect=expect)
             for ident, method, path, data, headers, expect in rows]
    cases.append(Case("API", "A15 CR/LF/U+2028/NUL/NEL in every text field", "api", "POST",
                      base, body(**injection), expect=(201, 201), must_not_store=False))
    return cases


def _feed_cases(env: Env) -> list[Case]:
    token = env.feed_token
    names = {
        "unknown token": secrets.token_urlsafe(32) + ".ics",
        "revoked token": env.revoked_token + ".ics",
        "valid prefix": token[:42] + ("A" if token[42] != "A" else "B") + ".ics",
        "token without .ics": token,
        "token + .ICS": token + ".ICS",
        "short token": "abc.ics",
        "long token": "A" * 4000 + ".ics",
        "traversal": "..%2f..%2fadmin%2f.ics",
        "encoded NUL": token[:20] + "%00" + token[21:] + ".ics",
        "non-ASCII": "\u00fc" * 43 + ".ics",
        "empty": "",
        "SQL quote": "'%20OR%201=1--.ics",
        "percent-encoded token": "".join(f"%{b:02X}" for b in token.encode()) + ".icz",
    }
    cases = [Case("D", f"feed {ident}", "feed", "GET", "/feeds/" + name,
                  expect=(404, 404), alive_check=False) for ident, name in names.items()]
    cases.append(Case("D", "feed HEAD unknown", "feed", "HEAD",
                      "/feeds/" + secrets.token_urlsafe(32) + ".ics", expect=(404, 404)))
    cases.append(Case("D", "feed POST", "feed", "POST", "/feeds/" + token + ".ics",
                      b"x", expect=(405, 405)))
    return cases


def _admin_cases() -> list[Case]:
    form = {"username": "admin", "password": "x", "csrf_token": "{csrf}", "next": "/admin/"}
    rows: list[tuple[str, str, str, Any, dict[str, str], tuple[int, int]]] = [
        ("login next=//evil.com", "GET", "/admin/login?next=//evil.com", b"", {}, (200, 200)),
        ("login next=javascript:", "GET", "/admin/login?next=javascript:alert(1)", b"", {},
         (200, 200)),
        ("login without CSRF token", "POST", "/admin/login",
         {"username": "admin", "password": "x"}, {}, (403, 403)),
        ("login cross-site", "POST", "/admin/login", form, {"Sec-Fetch-Site": "cross-site"},
         (403, 403)),
        ("login foreign Origin", "POST", "/admin/login", form,
         {"Origin": "https://evil.example"}, (403, 403)),
        ("login NUL user name", "POST", "/admin/login", form | {"username": "ad\x00min"}, {},
         (401, 429)),
        ("login 1 MB user name", "POST", "/admin/login", form | {"username": "a" * 1_000_000},
         {}, (401, 429)),
        ("login 3 MB body", "POST", "/admin/login", form | {"password": "p" * 3_000_000}, {},
         (413, 413)),
        ("login non-UTF-8 form", "POST", "/admin/login",
         b"username=%ff%fe&password=%c0%80&csrf_token=x",
         {"Content-Type": "application/x-www-form-urlencoded"}, (400, 403)),
        ("login multipart garbage", "POST", "/admin/login", b"--x\r\n\r\n\x00\xff",
         {"Content-Type": "multipart/form-data; boundary=x"}, (400, 403)),
        ("login JSON body", "POST", "/admin/login", b'{"username": "admin"}',
         {"Content-Type": "application/json"}, (400, 403)),
        ("sync page unauthenticated", "GET", "/admin/sync", b"", {}, (303, 303)),
        ("lang without CSRF", "POST", "/admin/lang", {"lang": "de"}, {}, (403, 403)),
    ]
    return [Case("ADMIN", ident, "admin", method, path, data, headers, expect=expect)
            for ident, method, path, data, headers, expect in rows]


def _google(**changes: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return GOOGLE_BASE | changes, []


def _google_cases() -> list[Case]:
    rows: list[tuple[str, tuple[Any, Any], tuple[int, int]]] = [
        ("A16 10^4 attendees", _google(attendees=[
            {"email": f"u{i}@example.com", "responseStatus": "accepted"} for i in range(10_000)
        ]), (200, 422)),
        ("A16 1 MB description", _google(description="d" * 1_000_000), (422, 422)),
        ("A16 unknown eventType", _google(eventType="quantumMeeting"), (200, 200)),
        ("A9 end before start", _google(end={"dateTime": "2026-01-04T10:00:00Z"}), (200, 422)),
        ("A10 Mars time zone", _google(
            start={"dateTime": "2026-01-05T10:00:00", "timeZone": "Mars/Olympus_Mons"},
            end={"dateTime": "2026-01-05T11:00:00", "timeZone": "Mars/Olympus_Mons"}),
         (200, 422)),
        ("A15 CR/LF/U+2028 in text", _google(
            summary=f"a\r\n{INJECTED}:1\rb\u2028c", location=f"l\n{INJECTED}:2",
            description=f"d\r\n{INJECTED}:3\r\nEND:VEVENT"), (200, 200)),
        ("A15 NUL and C0 controls in text", _google(summary="a\x00b\x1bc", description="\x0b"),
         (200, 422)),
        ("A6 SECONDLY recurrence", _google(recurrence=["RRULE:FREQ=SECONDLY"]), (422, 422)),
        ("A5 COUNT=10^9", _google(recurrence=["RRULE:FREQ=DAILY;COUNT=1000000000"]),
         (422, 422)),
        ("recurrence junk", _google(recurrence=["BEGIN:VEVENT", "RRULE:\x00", "EXDATE:x"]),
         (200, 422)),
        ("no start", ({k: v for k, v in GOOGLE_BASE.items() if k != "start"}, []), (422, 422)),
        ("start not a date", _google(start={"dateTime": "not-a-date"}), (422, 422)),
        ("wrong types", _google(summary=5, attendees="x", start="tomorrow"), (200, 422)),
        ("attendees of strings", _google(attendees=["a@example.com"]), (200, 422)),
        ("extendedProperties not a dict", _google(extendedProperties=["x"]), (200, 422)),
        ("reminders garbage", _google(reminders={"overrides": [{"minutes": "x"}]}), (200, 422)),
        ("exception of another series", (GOOGLE_BASE | {"recurrence": [
            "RRULE:FREQ=DAILY;COUNT=3"]}, [{"id": "other_1", "recurringEventId": "other",
                                            "status": "confirmed"}]), (200, 422)),
    ]
    return [Case("GOOGLE", ident, "google", "MAP", "build_series", body, expect=expect,
                 must_not_store=False, alive_check=False)
            for ident, body, expect in rows]


# -- generated inputs ------------------------------------------------------------------------
_TOKENS = [
    b"BEGIN:VEVENT\r\n", b"END:VEVENT\r\n", b"BEGIN:VCALENDAR\r\n", b"END:VCALENDAR\r\n",
    b"BEGIN:VALARM\r\n", b"RRULE:FREQ=SECONDLY\r\n", b"RRULE:FREQ=DAILY;COUNT=1000000000\r\n",
    b"RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\r\n", b";TZID=Mars/Olympus_Mons",
    b"\x00", b"\xff\xfe", b"\r", b"\n", b"\xe2\x80\xa8", b"UID:dup\r\n",
    b"DTEND:19000101T000000Z\r\n", b"DURATION:-P1D\r\n", b"EXDATE:garbage\r\n",
    b"RECURRENCE-ID:20260105T100000Z\r\n", b"RDATE;VALUE=PERIOD:20260101T000000Z/PT1H\r\n",
    b"X-LONG:" + b"A" * 70_000 + b"\r\n", b":", b";", b"=", b"\\", b'"', b",",
    b"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>", b"&e;", b"<a>" * 80,
    b"</D:prop>", b"<D:href>/bob/private/secret.ics</D:href>",
    b'<C:expand start="19000101T000000Z" end="21000101T000000Z"/>',
    b'<C:time-range start="x"/>', b"]]>", b"<![CDATA[", b"\xef\xbb\xbf", b"\t", b" ",
    b"\r\n ", b"99999999999999999999", b"-1", b"20261332T256161Z", b"+9999",
    f"{INJECTED}:1\r\n".encode(),
]
_JSON_VALUES: list[Any] = [
    None, "", " ", "x" * 70_000, 1e308, -1, 0, 2**70, [], {}, True, "2026-02-30T10:00",
    f"\r\n{INJECTED}:1", "\u2028", "\x00", "\ud800", "9999-12-31T23:59:59+14:00",
    "2026-06-01T10:00:00+23:59", "0001-01-01", "2026-06-01", "P1D", [[[[[[[[[[[]]]]]]]]]]],
    {"name": "x", "email": "not-an-address", "phone": "+" * 40},
    {"name": f"\r\n{INJECTED}:2"}, "CANCELLED", "tentative", "<script>alert(1)</script>",
]
_GOOGLE_KEYS = ["summary", "description", "location", "start", "end", "recurrence",
                "attendees", "eventType", "extendedProperties", "iCalUID", "id", "status",
                "reminders", "organizer", "visibility", "transparency", "colorId", "sequence",
                "originalStartTime", "recurringEventId", "conferenceData", "source"]
_GOOGLE_VALUES: list[Any] = [
    None, "", "x" * 200_000, 5, -1, 2**70, [], {}, ["a@example.com"], "tomorrow",
    {"dateTime": "not-a-date"}, {"date": "0001-01-01"}, {"dateTime": "9999-12-31T23:59:59Z"},
    {"dateTime": "2026-01-05T10:00:00", "timeZone": "Mars/Olympus_Mons"},
    {"date": "2026-01-05", "dateTime": "2026-01-05T10:00:00Z"},
    ["RRULE:FREQ=SECONDLY"], ["RRULE:FREQ=DAILY;UNTIL=19000101"], ["EXDATE:xx"],
    ["RDATE;VALUE=PERIOD:20260101T000000Z/PT1H"], ["RRULE:FREQ=WEEKLY;BYDAY=XX"],
    [{"email": f"u{i}@example.com"} for i in range(50)], [{"email": None}, {"x": 1}],
    {"private": {"terminUid": "../../x", "terminCustomer": "{not json"}},
    {"private": "x"}, {"overrides": [{"method": "sms", "minutes": -5}]},
    f"a\r\n{INJECTED}:1", "a\x00b", "\u2028", "cancelled", "workingLocation", "birthday",
]
_XML_BASES = [
    PROPFIND_ETAG, calendar_query("20260101T000000Z", "20260201T000000Z"),
    calendar_query(None, None, props="<D:getetag/><C:calendar-data/>"), sync_collection(),
    multiget(["/alice/work/mine.ics", "/bob/private/secret.ics"]), PROPPATCH,
]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random byte/line mutations of ``data``."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        pos = rng.randint(0, len(buf))
        lines = bytes(buf).split(b"\r\n")
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[pos:pos] = bytes([rng.randrange(256)])
        elif op == 2 and buf:
            end = min(len(buf), pos + rng.randint(1, 40))
            del buf[pos:end]
        elif op in (3, 4):
            token = rng.choice(_TOKENS)
            if op == 4:
                at = rng.randrange(len(lines))
                lines.insert(at, token.rstrip(b"\r\n"))
                buf = bytearray(b"\r\n".join(lines))
            else:
                buf[pos:pos] = token
        elif op == 5 and len(lines) > 1:
            at = rng.randrange(len(lines))
            lines[at:at] = [lines[at]] * rng.randint(1, 50)
            buf = bytearray(b"\r\n".join(lines))
        elif op == 6 and len(lines) > 1:
            del lines[rng.randrange(len(lines))]
            buf = bytearray(b"\r\n".join(lines))
        elif op == 7 and len(lines) > 2:
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            buf = bytearray(b"\r\n".join(lines))
        else:
            del buf[pos:]
    return bytes(buf)


def _ics_bases(n: int) -> list[bytes]:
    uid = f"gen-{n}"
    return [
        event_ics(uid, "DESCRIPTION:line one\\nline two", "LOCATION:Room 1",
                  "X-TERMIN-CUSTOMER-NAME:Erika", "X-TERMIN-SERVICE:Beratung"),
        ics(*vevent(uid, "RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=MO,WE"),
            *vevent(uid, "RECURRENCE-ID:20260107T100000Z", start="20260107T120000Z",
                    end="20260107T130000Z")).encode(),
        ics(BERLIN, "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z",
            "DTSTART;TZID=Europe/Berlin:20260329T013000",
            "DTEND;TZID=Europe/Berlin:20260329T033000", "RRULE:FREQ=DAILY;UNTIL=20260410",
            "EXDATE;TZID=Europe/Berlin:20260331T013000", "BEGIN:VALARM", "ACTION:DISPLAY",
            "TRIGGER:-PT15M", "END:VALARM", "END:VEVENT").encode(),
        ics("BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z",
            "DTSTART;VALUE=DATE:20260105", "DTEND;VALUE=DATE:20260106",
            "SUMMARY:All day", "END:VEVENT").encode(),
        ics("BEGIN:VTODO", f"UID:{uid}", "DTSTAMP:20250101T000000Z", "DUE:20260105T100000Z",
            "SUMMARY:Todo", "END:VTODO").encode(),
    ]


def generated(env: Env, count: int, seed: int = 1) -> list[Case]:
    """``count`` seeded mutations: iCalendar PUTs (also through the gate), XML, JSON, Google."""
    rng = random.Random(seed)
    base = f"/api/v1/calendars/{env.calendar_id}/appointments"
    cases: list[Case] = []
    for n in range(count):
        kind = rng.random()
        ident = f"gen-{seed}-{n}"
        if kind < 0.40:
            body = _mutate(rng.choice(_ics_bases(n)), rng)
            target = "dav" if n % 2 else "gate"
            cases.append(Case("GEN-ICS", ident, target, "PUT" if target == "dav" else "PARSE",
                              f"/alice/work/{ident}.ics", body, expect=ANY,
                              must_not_store=False, generated=True))
        elif kind < 0.65:
            method = rng.choice(["PROPFIND", "REPORT", "REPORT", "PROPPATCH"])
            path = rng.choice(["/alice/work/", "/alice/", "/bob/private/", "/"])
            body = _mutate(rng.choice(_XML_BASES).encode(), rng)
            cases.append(Case("GEN-XML", ident, "dav", method, path, body,
                              {"Depth": rng.choice(["0", "1", "infinity"])}, expect=ANY,
                              must_not_store=False, generated=True))
        elif kind < 0.85:
            doc: dict[str, Any] = json.loads(json.dumps(GOOD_JSON))
            for _ in range(rng.randint(1, 3)):
                key = rng.choice([*GOOD_JSON, "duration_minutes", "status", "summary", "x"])
                if rng.random() < 0.2:
                    doc.pop(key, None)
                else:
                    doc[key] = rng.choice(_JSON_VALUES)
            data = json.dumps(doc).encode()
            if rng.random() < 0.3:
                data = _mutate(data, rng)
            cases.append(Case("GEN-JSON", ident, "api", "POST", base, data, expect=ANY,
                              must_not_store=False, generated=True))
        else:
            master: dict[str, Any] = dict(GOOGLE_BASE, id=f"gen{n}", iCalUID=f"{ident}@google")
            for _ in range(rng.randint(1, 3)):
                master[rng.choice(_GOOGLE_KEYS)] = rng.choice(_GOOGLE_VALUES)
            cases.append(Case("GEN-GOOGLE", ident, "google", "MAP", "build_series",
                              (master, []), expect=ANY, must_not_store=False, generated=True,
                              alive_check=False))
    return cases


def feed_responses_identical(outcomes: list[Outcome]) -> str | None:
    """``None`` when every 404 has the same body and headers (no oracle)."""
    misses = [o for o in outcomes if o.case.target == "feed" and o.status == 404
              and o.case.method == "GET"]
    if not misses:
        return "no feed misses"
    ref = misses[0]
    for other in misses[1:]:
        if (other.body, other.headers) != (ref.body, ref.headers):
            return f"{other.case.ident} differs from {ref.case.ident}"
    return None


def rss_mb() -> float:
    """Peak resident set size of this process in MB."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


CaseFilter = Callable[[Case], bool]
