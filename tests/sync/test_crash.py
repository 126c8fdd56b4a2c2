"""kill -9 the engine at random points during an import and a push burst; restart; converge."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from bridge.store import SqlStore
from emulators.google.server import ALICE, EmulatorServer
from tests.sync.conftest import CAL, Harness, connect, gevent, make_engine

ROOT = Path(__file__).resolve().parents[2]


def _spawn(url: str, emu: EmulatorServer, page_size: int = 20) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.sync.engine_runner", url, emu.base_url, str(page_size)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def _converge(store: SqlStore, cid: int, proc_url: str, emu: EmulatorServer,
              expected_local: int) -> None:
    proc = _spawn(proc_url, emu)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            record = store.get_connection(cid)
            stats = store.outbox_stats(cid)
            done = (record.import_done and stats.pending == 0
                    and len(store.list_items(CAL)) >= expected_local)
            if done:
                break
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        _kill(proc)


def _check(store: SqlStore, emu: EmulatorServer) -> None:
    events = [e for e in emu.hooks.stored_events(ALICE)
              if e.get("status") != "cancelled" and not e.get("recurringEventId")]
    uids = Counter(
        (e.get("extendedProperties", {}).get("private", {}).get("terminUid") or e["iCalUID"])
        for e in events)
    duplicates = [u for u, n in uids.items() if n > 1]
    local = {i.uid for i in store.list_items(CAL)}
    assert duplicates == []
    assert set(uids) == local, (set(uids) - local, local - set(uids))


@pytest.mark.timeout(400)  # two engine processes started on a loaded 2-core machine
def test_kill9_during_import_and_push_burst(emu: EmulatorServer, sqlite_url: str) -> None:
    from bridge.store import open_store

    rng = random.Random(int(os.environ.get("CRASH_SEED", "7")))
    store = open_store(sqlite_url)
    for i in range(150):
        emu.hooks.external_change(ALICE, "insert", event=gevent(f"G{i}", day=1 + i % 28,
                                                                hour=6 + i % 12))
    store.create_user("alice", "x")
    store.create_collection(CAL, tag="VCALENDAR", timezone="Europe/Berlin")
    harness = Harness(emu, store, make_engine(store, emu), 0)
    for i in range(20):
        harness.put(f"pre{i}@x", day=1 + i)
    cid = connect(store, emu, push_existing=True)
    # Import: kill at random moments, three times.
    for _ in range(3):
        proc = _spawn(sqlite_url, emu)
        time.sleep(rng.uniform(0.05, 0.6))
        _kill(proc)
    _converge(store, cid, sqlite_url, emu, 170)
    _check(store, emu)
    # Push burst: 60 local writes while the engine runs and gets killed.
    proc = _spawn(sqlite_url, emu)
    try:
        for i in range(60):
            harness.put(f"burst{i}@x", day=1 + i % 28, hour=7 + i % 10)
            if i % 20 == 10:
                _kill(proc)
                proc = _spawn(sqlite_url, emu)
                time.sleep(rng.uniform(0.0, 0.2))
    finally:
        _kill(proc)
    _converge(store, cid, sqlite_url, emu, 230)
    _check(store, emu)
    assert len(store.list_items(CAL)) == 230
    store.close()
