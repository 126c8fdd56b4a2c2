"""A graceful stop hands unfinished outbox claims back, so a restarted process pushes at once.

Regression: ``SyncEngine.stop`` cancelled the push loop with a batch claimed (lease 120 s) and a
push in flight; the claims stayed leased to the stopped worker, and after a restart Google stayed
behind for two minutes (found by tests/e2e/test_e2e_restart.py).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from sqlalchemy import select

from bridge.store import schema as s
from tests.sync.conftest import Harness, make_engine


async def _wait(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_stop_mid_push_releases_claims_and_a_new_worker_pushes_at_once(h: Harness
                                                                             ) -> None:
    # Each insert is stored at Google, then answered 0.5 s later: a push is in flight at stop.
    h.emu.hooks.fault("calendar.events.insert", latency=0.5, after=True, times=None)
    uids = [f"stop-{i}" for i in range(4)]
    for i, uid in enumerate(uids):
        h.put(uid, day=10 + i)
    await h.engine.start()
    await _wait(lambda: len(h.google()) >= 1)
    await h.engine.stop()

    with h.store.engine.connect() as conn:
        rows = conn.execute(select(s.outbox.c.uid, s.outbox.c.claimed_by)
                            .where(s.outbox.c.state == "pending")).all()
    assert rows, "everything was pushed before the stop; the test proves nothing"
    assert [r.uid for r in rows if r.claimed_by is not None] == []

    h.emu.hooks.clear_faults()
    successor = make_engine(h.store, h.emu)
    try:
        await successor.drain(timeout=10)
    finally:
        await successor.stop()
    live = Counter(e["extendedProperties"]["private"]["terminUid"] for e in h.google().values())
    assert live == Counter(dict.fromkeys(uids, 1))
    assert h.store.outbox_stats(h.connection_id).pending == 0
