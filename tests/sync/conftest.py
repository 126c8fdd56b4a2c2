"""Fixtures for the sync tests: the emulator over HTTP, a store, and a connected engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bridge.google.auth import OAuthEndpoints
from bridge.google.crypto import TokenCipher
from bridge.google.provider import GoogleProviderFactory
from bridge.ical import parse_resource
from bridge.model import ItemRecord
from bridge.providers.base import ProviderFactory
from bridge.providers.http import RetryPolicy
from bridge.store import SqlStore, href_for_uid, open_store
from bridge.sync.context import SyncOptions
from bridge.sync.engine import SyncEngine
from emulators.google.server import ALICE, CLIENT_ID, CLIENT_SECRET, EmulatorServer

CAL = "alice/work"
TZ = "Europe/Berlin"
SECRET = "test-secret-key-for-sync"


def ics(uid: str, summary: str = "Haircut", day: int = 10, hour: int = 9, *,
        extra: str = "", minutes: int = 60) -> str:
    """A one-event resource in Europe/Berlin."""
    end_h, end_m = hour + (minutes // 60), minutes % 60
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\n"
        f"DTSTART;TZID={TZ}:203003{day:02d}T{hour:02d}0000\r\n"
        f"DTEND;TZID={TZ}:203003{day:02d}T{end_h:02d}{end_m:02d}00\r\n"
        f"SUMMARY:{summary}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def gevent(summary: str, day: int = 12, hour: int = 9, **extra: Any) -> dict[str, Any]:
    """A Google event body (UTC times)."""
    return {"summary": summary,
            "start": {"dateTime": f"2030-03-{day:02d}T{hour:02d}:00:00Z"},
            "end": {"dateTime": f"2030-03-{day:02d}T{hour + 1:02d}:00:00Z"}, **extra}


def fast_options(**overrides: Any) -> SyncOptions:
    """Engine options with waits shortened for tests."""
    values: dict[str, Any] = {
        "poll_interval": 3600.0, "requests_per_minute": 100_000, "push_retry_base": 0.0,
        "push_retry_cap": 0.0, "idle_wait": 0.05, "http_timeout": 5.0,
        "retry": RetryPolicy(max_attempts=4, base=0.001, cap=0.005, max_retry_after=0.01),
        "max_push_attempts": 6, "page_size": 250,
        # Deletions from Google apply at once (the valve counts each pull alone); the valve's
        # window and its held deletions are tested on their own (test_valve.py).
        "safety_window": 0.0,
    }
    values.update(overrides)
    return SyncOptions(**values)


@dataclass
class Harness:
    """A store with calendar ``alice/work`` connected to Alice's primary Google calendar."""

    emu: EmulatorServer
    store: SqlStore
    engine: SyncEngine
    connection_id: int

    @property
    def calendar_id(self) -> str:
        return ALICE

    def put(self, uid: str, text: str | None = None, origin: str = "caldav", **kw: Any
            ) -> ItemRecord:
        """A local write (as a phone or the booking API would make it)."""
        data = parse_resource(text or ics(uid, **kw))
        existing = self.store.get_item_by_uid(CAL, uid)
        href = existing.href if existing else href_for_uid(uid)
        new, _ = self.store.put_item(CAL, href, data, origin=origin)
        return new

    def delete(self, uid: str) -> None:
        """A local delete."""
        item = self.store.get_item_by_uid(CAL, uid)
        assert item is not None
        self.store.delete_item(CAL, item.href, origin="caldav")

    def google(self) -> dict[str, dict[str, Any]]:
        """Live (not cancelled) Google events by id."""
        return {e["id"]: e for e in self.emu.hooks.stored_events(ALICE)
                if e.get("status") != "cancelled"}

    def google_masters(self) -> dict[str, dict[str, Any]]:
        """Live non-instance events."""
        return {k: v for k, v in self.google().items() if not v.get("recurringEventId")}

    def local(self) -> dict[str, ItemRecord]:
        """Local items by UID."""
        return {i.uid: i for i in self.store.list_items(CAL)}

    async def sync(self, rounds: int = 2) -> None:
        """Pull then push, ``rounds`` times."""
        for _ in range(rounds):
            await self.engine.pull_connection(self.connection_id, "poll")
            await self.engine.drain()

    async def push(self) -> None:
        """Push what is queued."""
        await self.engine.drain()

    async def pull(self, trigger: str = "poll") -> Any:
        """One pull."""
        return await self.engine.pull_connection(self.connection_id, trigger)



def endpoints_for(emu: EmulatorServer) -> OAuthEndpoints:
    """OAuth endpoints of the emulator."""
    return OAuthEndpoints(CLIENT_ID, CLIENT_SECRET, emu.base_url + "/o/oauth2/v2/auth",
                          emu.token_uri, emu.base_url + "/revoke")


def connect(store: SqlStore, emu: EmulatorServer, *, push_existing: bool = False,
            import_now: bool = True) -> int:
    """Create the calendar and an active connection with a sealed emulator refresh token."""
    if store.get_collection(CAL) is None:
        store.create_user("alice", "x") if store.get_user("alice") is None else None
        store.create_collection(CAL, tag="VCALENDAR", timezone=TZ)
    tokens = emu.hooks.issue_tokens(ALICE, CLIENT_ID, [
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.calendarlist.readonly"])
    cipher = TokenCipher(SECRET)
    record = store.create_connection(
        CAL, account_email=ALICE, remote_calendar_id=ALICE, remote_calendar_name="Alice",
        scopes="calendar.events",
        seal_token=lambda cid: cipher.encrypt(cid, tokens["refresh_token"]))
    store.update_connection_state(record.id, {"calendar_tz": TZ})
    if import_now:
        store.update_connection_state(record.id, {"import": {"phase": "running"},
                                                  "phase": "importing"})
        store.activate_connection(record.id, push_existing=push_existing)
    return record.id


def google_factories(emu: EmulatorServer) -> dict[str, ProviderFactory]:
    """The provider registry of an engine against the Google emulator."""
    return {"google": GoogleProviderFactory(cipher=TokenCipher(SECRET),
                                            endpoints=endpoints_for(emu))}


def make_engine(store: SqlStore, emu: EmulatorServer, **overrides: Any) -> SyncEngine:
    """An engine against the emulator with fast test options."""
    return SyncEngine(store, fast_options(api_endpoint=emu.api_endpoint, **overrides),
                      providers=google_factories(emu))


@pytest.fixture
def sync_store(sqlite_url: str) -> Iterator[SqlStore]:
    """A fresh SQLite store."""
    st = open_store(sqlite_url)
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
async def h(emu: EmulatorServer, sync_store: SqlStore) -> AsyncIterator[Harness]:
    """A connected, imported harness (empty calendar on both sides)."""
    cid = connect(sync_store, emu)
    engine = make_engine(sync_store, emu)
    harness = Harness(emu, sync_store, engine, cid)
    await harness.pull("import")
    yield harness
    await engine.stop()
    await asyncio.sleep(0)


# The providers the scenario suite runs over (tests/sync/providers.py has their kits).
PROVIDER_NAMES = ("google", "microsoft", "exchange", "radicale", "xandikos", "radicale-listing",
                  "radicale-rewriting", "icloud")


@pytest.fixture(params=PROVIDER_NAMES)
def provider(request: pytest.FixtureRequest) -> Any:
    """The provider under test: a :class:`tests.sync.providers.ProviderKit`."""
    from tests.sync.providers import KITS

    return KITS[request.param](request)


@pytest.fixture
async def ph(provider: Any, sync_store: SqlStore) -> AsyncIterator[Any]:
    """A connected, imported :class:`tests.sync.providers.ScenarioHarness` (empty calendar on
    both sides) for each provider."""
    from tests.sync.providers import ScenarioHarness

    cid = provider.connect(sync_store)
    engine = provider.make_engine(sync_store)
    harness = ScenarioHarness(getattr(provider.remote, "emu", None), sync_store, engine, cid,
                              kit=provider)
    await harness.pull("import")
    yield harness
    await engine.stop()
    await asyncio.sleep(0)


@pytest.fixture(scope="session")
def radicale_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Stock Radicale in its own process (multifilesystem storage in a temp dir) and the test
    proxy in front of it, one per test worker."""
    from tests.sync.davpeer import DavProxy, RadicaleServer

    server = RadicaleServer(tmp_path_factory.mktemp("radicale"))
    proxy = DavProxy(server.base)
    try:
        yield server, proxy
    finally:
        proxy.stop()
        server.stop()


@pytest.fixture(scope="session")
def xandikos_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Xandikos in its own process and the test proxy (doing its Basic auth) in front."""
    from tests.sync.davpeer import DavProxy, XandikosServer

    server = XandikosServer(tmp_path_factory.mktemp("xandikos"))
    proxy = DavProxy(server.base, check_auth=True)
    try:
        yield server, proxy
    finally:
        proxy.stop()
        server.stop()
