"""A new poll interval applies from now, in this process and in every other sidecar.

Regression (issue 12, item 9): the scheduler fixed the next pull time when a pull started
(``now + interval``), so after 5 → 1 minute the next Google change still came with the old
5-minute cycle (~283 s).  The scheduler's clock is driven by the test (no waiting for minutes);
the pulls themselves run against the emulator.
"""

from __future__ import annotations

import asyncio

from bridge.store import SqlStore, open_store
from bridge.sync.engine import SyncEngine
from bridge.sync.service import SyncService
from emulators.google.server import EmulatorServer
from tests.sync.conftest import Harness, connect, fast_options, google_factories
from tests.sync.test_service import _settings


class FakeClock:
    """The scheduler's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _engine(store: SqlStore, emu: EmulatorServer, clock: FakeClock) -> SyncEngine:
    return SyncEngine(store, fast_options(api_endpoint=emu.api_endpoint, poll_interval=300.0),
                      providers=google_factories(emu), clock=clock)


async def _tick(engine: SyncEngine, connection_id: int) -> bool:
    """One scheduler tick; True when it pulled the connection (the pull is awaited)."""
    started = await engine.schedule_once()
    await asyncio.gather(*started.values())
    return connection_id in started


async def test_shorter_interval_applies_from_now(h: Harness) -> None:
    clock = FakeClock()
    engine = _engine(h.store, h.emu, clock)
    service = SyncService(h.store, _settings(h.emu), engine)
    try:
        service.set_poll_interval(h.connection_id, 300)
        assert await _tick(engine, h.connection_id)  # first tick: pull at once
        clock.now += 100
        assert not await _tick(engine, h.connection_id)  # 100 s < 5 min
        service.set_poll_interval(h.connection_id, 60)
        assert await _tick(engine, h.connection_id)  # 100 s ≥ 1 min: due now, not at 300 s
        clock.now += 59
        assert not await _tick(engine, h.connection_id)
        clock.now += 1
        assert await _tick(engine, h.connection_id)  # and then every minute
        # Back to a longer interval: no pull before it.
        service.set_poll_interval(h.connection_id, 600)
        clock.now += 300
        assert not await _tick(engine, h.connection_id)
        clock.now += 300
        assert await _tick(engine, h.connection_id)
    finally:
        await engine.stop()


async def test_other_sidecar_picks_up_the_new_interval(emu: EmulatorServer,
                                                       postgres_url: str) -> None:
    """Another process's engine (its own store on the same PostgreSQL) follows the change."""
    admin_store = open_store(postgres_url)
    other_store = open_store(postgres_url, migrate=False)
    cid = connect(admin_store, emu)
    clock = FakeClock()
    admin = SyncService(admin_store, _settings(emu), _engine(admin_store, emu, FakeClock()))
    sidecar = _engine(other_store, emu, clock)
    try:
        admin.set_poll_interval(cid, 300)
        assert await _tick(sidecar, cid)  # the import
        assert other_store.get_connection(cid).import_done
        clock.now += 120
        assert not await _tick(sidecar, cid)
        admin.set_poll_interval(cid, 60)  # in the admin's process
        assert await _tick(sidecar, cid)  # the other sidecar pulls at its next tick
        clock.now += 30
        assert not await _tick(sidecar, cid)
    finally:
        await sidecar.stop()
        await admin.engine.stop()
        other_store.close()
        admin_store.close()
