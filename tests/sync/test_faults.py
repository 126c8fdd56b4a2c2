"""Google faults: nothing lost or duplicated, retries bounded, permanent errors parked."""

from __future__ import annotations

import pytest

from bridge.google.ids import event_id
from emulators.google.server import ALICE
from tests.sync.conftest import CAL, Harness, gevent


@pytest.mark.parametrize(("status", "reason"), [
    (500, "backendError"), (503, "backendError"), (429, "rateLimitExceeded"),
    (403, "rateLimitExceeded"), (403, "userRateLimitExceeded"),
])
async def test_transient_faults_are_retried_without_duplicates(
        h: Harness, status: int, reason: str) -> None:
    h.emu.hooks.fault("calendar.events.insert", status=status, reason=reason, times=2)
    h.put("f@x")
    await h.push()
    assert set(h.google_masters()) == {event_id(CAL, "f@x")}
    assert h.store.outbox_stats(h.connection_id).pending == 0


async def test_storm_longer_than_retries_requeues_then_drains(h: Harness) -> None:
    h.emu.hooks.fault("calendar.events.insert", status=503, times=9)
    for i in range(3):
        h.put(f"s{i}@x", day=1 + i)
    for _ in range(6):
        await h.push()
    assert len(h.google_masters()) == 3
    stats = h.store.outbox_stats(h.connection_id)
    assert stats.pending == 0 and stats.parked == 0


async def test_connection_reset_and_timeout_are_transient(h: Harness) -> None:
    h.emu.hooks.fault("calendar.events.insert", reset=True, times=1)
    h.emu.hooks.fault("calendar.events.list", latency=6.0, times=1)  # > http_timeout 5 s
    h.put("r@x")
    await h.push()
    assert set(h.google_masters()) == {event_id(CAL, "r@x")}
    h.emu.hooks.external_change(ALICE, "insert", event=gevent("G"))
    await h.pull()
    assert len(h.local()) == 2


async def test_permanent_errors_park_with_error_and_no_retry(h: Harness) -> None:
    h.emu.hooks.fault("calendar.events.insert", status=400, reason="invalid", times=1)
    h.put("bad@x")
    h.emu.hooks.reset_counters()
    await h.push()
    stats = h.store.outbox_stats(h.connection_id)
    assert stats.parked == 1 and stats.pending == 0
    assert h.emu.hooks.state()["api_requests_total"] == 1  # 0 retries
    parked = h.store.parked_outbox(h.connection_id)
    assert "GoogleBadRequest" in parked[0]["error"]
    # Forbidden (not a rate limit) parks too.
    h.emu.hooks.fault("calendar.events.insert", status=403, reason="forbiddenForNonOrganizer")
    h.put("bad2@x")
    await h.push()
    assert h.store.outbox_stats(h.connection_id).parked == 2
    # After the admin fixed the cause, parked rows go out.
    assert h.store.requeue_parked(h.connection_id) == 2
    await h.push()
    assert len(h.google_masters()) == 2


async def test_delete_410_and_404_count_as_done(h: Harness) -> None:
    h.put("d@x")
    await h.push()
    eid = event_id(CAL, "d@x")
    h.emu.hooks.external_change(ALICE, "delete", event_id=eid)  # already gone on Google
    h.delete("d@x")
    await h.push()
    assert h.store.outbox_stats(h.connection_id).pending == 0
    assert h.store.outbox_stats(h.connection_id).parked == 0


async def test_retries_are_bounded(h: Harness) -> None:
    h.emu.hooks.fault("calendar.events.insert", status=500, times=None)
    h.put("b@x")
    h.emu.hooks.reset_counters()
    for _ in range(10):
        await h.push()
    stats = h.store.outbox_stats(h.connection_id)
    assert stats.parked == 1 and stats.pending == 0
    # 6 claims x 4 client attempts at most.
    assert h.emu.hooks.state()["api_requests_total"] <= 24
    h.emu.hooks.clear_faults()


async def test_token_endpoint_outage_is_transient(h: Harness) -> None:
    h.engine._contexts.clear()
    h.emu.hooks.fault("oauth2.token", status=503, times=1)
    h.put("t@x")
    for _ in range(3):
        await h.push()
    assert h.store.get_connection(h.connection_id).status == "ok"
    assert event_id(CAL, "t@x") in h.google_masters()
