"""Hypothesis state machine: local ops, Google ops, faults, sync → convergence, no duplicates."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)

from bridge.store import open_store
from emulators.google.server import ALICE, EmulatorServer, basic_seed
from tests.sync.conftest import CAL, Harness, connect, gevent, make_engine

NAMES = st.sampled_from(["a", "b", "c", "d", "e"])
TITLES = st.sampled_from(["Cut", "Colour", "Wash", "Trim"])


class SyncMachine(RuleBasedStateMachine):
    """Both sides edited at random, with faults; a clean double sync must converge."""

    def __init__(self, emu: EmulatorServer) -> None:
        super().__init__()
        self.emu = emu

    @initialize()
    def setup(self) -> None:
        self.emu.hooks.reset(basic_seed())
        self.tmp = tempfile.TemporaryDirectory()
        self.store = open_store(f"sqlite:///{self.tmp.name}/db.sqlite")
        self.store.create_user("alice", "x")
        self.store.create_collection(CAL, tag="VCALENDAR", timezone="Europe/Berlin")
        cid = connect(self.store, self.emu)
        self.h = Harness(self.emu, self.store, make_engine(self.store, self.emu), cid)
        asyncio.run(self.h.pull("import"))
        self.day = 1

    def teardown(self) -> None:
        if hasattr(self, "h"):
            self.converges_after_clean_sync()
        self.store.close()
        self.tmp.cleanup()

    def _google_by_uid(self) -> dict[str, dict[str, Any]]:
        out = {}
        for e in self.h.google_masters().values():
            uid = (e.get("extendedProperties", {}).get("private", {}).get("terminUid")
                   or e["iCalUID"])
            out[uid] = e
        return out

    @rule(name=NAMES, title=TITLES)
    def local_write(self, name: str, title: str) -> None:
        self.day = self.day % 27 + 1
        self.h.put(f"{name}@x", summary=title, day=self.day)

    @rule(name=NAMES)
    def local_delete(self, name: str) -> None:
        if f"{name}@x" in self.h.local():
            self.h.delete(f"{name}@x")

    @rule(title=TITLES)
    def google_insert(self, title: str) -> None:
        self.day = self.day % 27 + 1
        self.emu.hooks.external_change(ALICE, "insert", event=gevent(title, day=self.day))

    @rule(title=TITLES, pick=st.integers(0, 20))
    def google_edit(self, title: str, pick: int) -> None:
        events = sorted(self.h.google_masters())
        if events:
            self.emu.hooks.advance_clock(1)
            self.emu.hooks.external_change(ALICE, "patch", event_id=events[pick % len(events)],
                                           event={"summary": title})

    @rule(pick=st.integers(0, 20))
    def google_delete(self, pick: int) -> None:
        events = sorted(self.h.google_masters())
        if events:
            self.emu.hooks.external_change(ALICE, "delete", event_id=events[pick % len(events)])

    @rule(method=st.sampled_from(["calendar.events.insert", "calendar.events.update",
                                  "calendar.events.list", "calendar.events.delete"]),
          status=st.sampled_from([500, 503, 429]))
    def fault(self, method: str, status: int) -> None:
        self.emu.hooks.fault(method, status=status, times=2)

    @rule()
    def expire_token(self) -> None:
        self.emu.hooks.expire_sync_tokens(ALICE)

    @rule()
    def sync(self) -> None:
        asyncio.run(self.h.sync(rounds=1))

    async def _clean_sync(self) -> None:
        for _ in range(3):
            if self.store.get_connection(self.h.connection_id).paused_reason:
                # The admin confirms what the safety valve held back (e.g. the only event
                # deleted on Google, then a full re-list: "Google returned an empty calendar").
                await self.h.engine.pull_connection(self.h.connection_id, "confirmed",
                                                    confirmed=True)
            await self.h.sync(rounds=1)

    @rule()
    def converges_after_clean_sync(self) -> None:
        self.emu.hooks.clear_faults()
        self.store.requeue_parked(self.h.connection_id)
        asyncio.run(self._clean_sync())
        google = self._google_by_uid()
        local = self.h.local()
        counts = Counter(
            (e.get("extendedProperties", {}).get("private", {}).get("terminUid") or e["iCalUID"])
            for e in self.h.google_masters().values())
        assert all(n == 1 for n in counts.values()), counts
        assert set(google) == set(local), (set(google) ^ set(local))
        for uid, item in local.items():
            assert google[uid]["summary"] == item.summary, uid
        # A second clean sync is a no-op.
        self.emu.hooks.reset_counters()
        asyncio.run(self.h.sync(rounds=1))
        assert self.emu.hooks.state()["writes"] == []


@pytest.mark.timeout(600)  # 30 examples of 12 steps: ~30 s of CPU, minutes on a busy machine
def test_sync_machine(emu_server: EmulatorServer) -> None:
    """The machine against the worker's emulator (the session fixture stops it)."""
    run_state_machine_as_test(lambda: SyncMachine(emu_server), settings=settings(
        max_examples=30, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
