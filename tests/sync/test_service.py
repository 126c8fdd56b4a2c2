"""SyncService operations against the emulator: cancel a paused pull, poll interval, status."""

from __future__ import annotations

import asyncio
import time

import pytest

from bridge.config import Settings, load
from bridge.errors import BridgeError
from bridge.google.ids import event_id
from bridge.sync.service import SyncService
from emulators.google.server import ALICE, CLIENT_ID, CLIENT_SECRET, EmulatorServer
from tests.sync.conftest import CAL, SECRET, Harness, gevent


def _settings(emu: EmulatorServer) -> Settings:
    return load("/nonexistent.toml", env={}).with_overrides(
        google={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "token_uri": emu.token_uri, "auth_uri": emu.base_url + "/o/oauth2/v2/auth",
                "revoke_uri": emu.base_url + "/revoke", "api_endpoint": emu.api_endpoint},
        security={"secret_key": SECRET})


def _service(h: Harness) -> SyncService:
    return SyncService(h.store, _settings(h.emu), h.engine)


async def _paused_with_deletions(h: Harness) -> list[str]:
    """5 appointments made here and 5 from Google, then 8 of them deleted on Google."""
    for i in range(5):
        h.put(f"local-{i}@x", summary=f"L{i}", day=1 + i)
        h.emu.hooks.external_change(ALICE, "insert", event=gevent(f"G{i}", day=10 + i))
    await h.sync()
    assert len(h.local()) == 10 and len(h.google_masters()) == 10
    victims = sorted(h.google_masters())[:8]
    for eid in victims:
        h.emu.hooks.external_change(ALICE, "delete", event_id=eid)
    await h.pull()
    assert h.store.get_connection(h.connection_id).paused_reason
    return victims


async def _restored(h: Harness) -> None:
    """Wait for the background restore job of "cancel, keep appointments"."""
    task = h.engine.restore_task(h.connection_id)
    assert task is not None
    await asyncio.wait_for(task, 60)


async def test_cancel_pause_keeps_local_and_restores_google(h: Harness) -> None:
    victims = await _paused_with_deletions(h)
    # Another change from Google in the same pull is still applied.
    new = h.emu.hooks.external_change(ALICE, "insert", event=gevent("New on Google", day=20))
    before = {uid: item.text for uid, item in h.local().items()}
    service = _service(h)
    assert await service.cancel_pause(h.connection_id) == {"started": True}
    await _restored(h)
    progress = service.restore_progress(h.connection_id)
    assert progress is not None
    assert (progress["phase"], progress["total"], progress["done"]) == ("done", 8, 8)
    record = h.store.get_connection(h.connection_id)
    assert record.paused_reason is None
    local = h.local()
    assert len(local) == 11 and all(local[uid].text == text for uid, text in before.items())
    # Every deleted event is back on Google under its own id (undeleted, no new ids).
    google = h.google_masters()
    assert set(victims) <= set(google) and new["id"] in google and len(google) == 11
    assert event_id(CAL, "local-0@x") in google
    rows = h.store.query_ledger(connection_id=h.connection_id, action="restore")
    assert len(rows) == 8 and {r.trigger for r in rows} == {"admin"}
    assert {r.outcome for r in rows} == {"ok"} and {r.remote_id for r in rows} == set(victims)
    assert len(h.store.query_ledger(connection_id=h.connection_id, action="keep")) == 8
    # Converged: the next syncs change nothing on either side and do not pause again.
    h.emu.hooks.reset_counters()
    revision = h.store.get_collection(CAL).revision  # type: ignore[union-attr]
    await h.sync()
    assert h.emu.hooks.state()["writes"] == []
    assert h.store.get_collection(CAL).revision == revision  # type: ignore[union-attr]
    assert h.store.get_connection(h.connection_id).paused_reason is None
    assert h.store.outbox_stats(h.connection_id).pending == 0


async def test_cancel_pause_after_google_listed_nothing(h: Harness) -> None:
    for i in range(3):
        h.emu.hooks.external_change(ALICE, "insert", event=gevent(f"G{i}", day=1 + i))
    await h.pull()
    ids = sorted(h.google_masters())
    for eid in ids:
        h.emu.hooks.external_change(ALICE, "delete", event_id=eid)
    h.emu.hooks.expire_sync_tokens(ALICE)
    h.emu.hooks.advance_clock(40 * 86400)  # tombstones gone from a full list
    await h.pull()
    assert h.store.get_connection(h.connection_id).paused_reason
    service = _service(h)
    assert await service.cancel_pause(h.connection_id) == {"started": True}
    await _restored(h)
    assert (service.restore_progress(h.connection_id) or {})["total"] == 3
    assert sorted(h.google_masters()) == ids and len(h.local()) == 3
    await h.sync()
    assert len(h.local()) == 3 and sorted(h.google_masters()) == ids
    assert h.store.get_connection(h.connection_id).paused_reason is None


async def test_cancel_pause_without_pause_does_nothing(h: Harness) -> None:
    assert await _service(h).cancel_pause(h.connection_id) == {"skipped": True}


async def test_poll_interval_and_status_fields(h: Harness) -> None:
    service = _service(h)
    info = service.status(h.connection_id)[0]
    assert info["poll_interval"] == 3600 and info["poll_interval_configured"] is None
    assert info["lag_seconds"] == 0.0
    assert {"channel_id", "channel_expiry"} <= set(info)
    for bad in (59, 86401, 0, -60, True, 90.5):
        with pytest.raises(BridgeError):
            service.set_poll_interval(h.connection_id, bad)  # type: ignore[arg-type]
    assert h.store.get_connection(h.connection_id).poll_interval is None
    service.set_poll_interval(h.connection_id, 120)
    info = service.status(h.connection_id)[0]
    assert info["poll_interval"] == 120 and info["poll_interval_configured"] == 120
    service.set_poll_interval(h.connection_id, None)
    assert service.status(h.connection_id)[0]["poll_interval"] == 3600
    # Lag: the age of the oldest pending push.
    h.store.clock = lambda: time.time() - 30
    h.put("late@x")
    h.store.clock = time.time
    assert 29 <= service.status(h.connection_id)[0]["lag_seconds"] < 60
