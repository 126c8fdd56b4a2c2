"""kill -9 of a pushing process: its claimed outbox rows reach Google within seconds, once each.

Regression (issue 12, item 3): after a SIGKILL while pushing, the rows the dead worker had
claimed waited for the 120 s claim lease to lapse (~118 s measured) before anyone pushed them.
Now a claim belongs to a live worker (PostgreSQL session advisory lock, ``flock`` on SQLite) and
is free the moment its process dies: a restarted process (SQLite) or the surviving second
process (PostgreSQL) takes the rows over at its next claim.  Google must still hold every
appointment exactly once and see no second insert of any row but the one in flight at the kill.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from bridge.ical import parse_resource
from bridge.store import href_for_uid
from bridge.store import schema as s
from tests.e2e.conftest import MakeBridge
from tests.e2e.support import (
    CAL,
    Bridge,
    free_port,
    google_uid,
    http,
    phone_event,
    wait_until,
)

BURST = 25
# Seconds from restart/kill until no stranded row is still claimed by the dead worker (the lease
# made it ~118 s; quiet machine: < 1 s).  A surviving worker takes them at its next claim, after
# the batch it is pushing, which a 2-core machine under heavy load stretches to several seconds.
TAKEOVER_LIMIT = 20.0
STARTUP = 90.0  # a process start took 18-24 s at load average ~22 on 2 cores


def _write_burst(bridge: Bridge, prefix: str) -> list[str]:
    """Local bookings (as the booking API writes them), each queued for Google."""
    uids = [f"{prefix}-{i:02d}" for i in range(BURST)]
    for i, uid in enumerate(uids):
        text = phone_event(uid, f"Termin {i}", day=1 + i % 28, hour=8 + i % 9)
        bridge.store.put_item(CAL, href_for_uid(uid), parse_resource(text), origin="api")
    return uids


def _claims(bridge: Bridge) -> dict[int, str]:
    """Pending outbox rows that some worker has claimed: row id → worker."""
    with bridge.store.engine.connect() as conn:
        rows = conn.execute(select(s.outbox.c.id, s.outbox.c.claimed_by).where(
            s.outbox.c.state == "pending", s.outbox.c.claimed_by.is_not(None))).all()
    return {r.id: r.claimed_by for r in rows}


def _states(bridge: Bridge, ids: set[int]) -> dict[int, str]:
    with bridge.store.engine.connect() as conn:
        rows = conn.execute(select(s.outbox.c.id, s.outbox.c.state)
                            .where(s.outbox.c.id.in_(ids))).all()
    return {r.id: r.state for r in rows}


def _kill(proc: subprocess.Popen[Any]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def _check_once(bridge: Bridge, uids: list[str], in_flight_at_kill: int) -> None:
    """Every appointment once on Google; no row inserted twice but the one(s) in flight."""
    live = Counter(google_uid(e) for e in bridge.google()
                   if e.get("status") != "cancelled" and not e.get("recurringEventId"))
    assert {u: live[u] for u in uids} == dict.fromkeys(uids, 1)
    state = bridge.emu.hooks.state()
    stored = Counter(w["eventId"] for w in state["writes"] if w["op"] == "insert")
    assert [e for e, n in stored.items() if n > 1] == []
    inserts = state["api_requests"].get("calendar.events.insert", 0)
    # The insert in flight when the process died is sent again (Google answers 409, the
    # successor re-plans and links); nothing else is sent twice.
    assert BURST <= inserts <= BURST + in_flight_at_kill, inserts


def _up(port: int) -> bool:
    try:
        return http("GET", f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
    except OSError:
        return False


def _take_over(bridge: Bridge, stranded: dict[int, str], since: float) -> tuple[float, float]:
    """Seconds until the dead worker's rows were claimed by another worker, and until pushed."""
    dead = set(stranded.values())

    def taken() -> bool:
        claims = _claims(bridge)
        return not any(claims.get(i) in dead for i in stranded)

    wait_until(taken, TAKEOVER_LIMIT + 25, "the killed process's rows to be taken over",
               interval=0.02)
    taken_after = time.monotonic() - since
    wait_until(lambda: set(_states(bridge, set(stranded)).values()) == {"done"}, 120,
               "the killed process's rows to be pushed")
    return taken_after, time.monotonic() - since


def _wait_pushing(bridge: Bridge, pids: list[int] | None = None) -> tuple[int, dict[int, str]]:
    """Wait until a process (one of ``pids``, else any) is pushing with rows claimed.

    Returns that process id and its claimed rows (row id → worker id ``host:pid:…``).
    """

    def pushing() -> tuple[int, dict[int, str]] | None:
        by_pid: dict[int, dict[int, str]] = {}
        for row, worker in _claims(bridge).items():
            by_pid.setdefault(int(worker.split(":")[-2]), {})[row] = worker
        if pids is not None:
            by_pid = {p: c for p, c in by_pid.items() if p in pids}
        if not by_pid or not any(google_uid(e).startswith("kill-") for e in bridge.google()):
            return None
        pid = max(by_pid, key=lambda p: len(by_pid[p]))
        return (pid, by_pid[pid]) if len(by_pid[pid]) >= 2 else None

    return wait_until(pushing, 60, "a push burst in progress with claimed rows")


@pytest.mark.timeout(400)  # two process starts and a burst on a loaded 2-core machine
def test_restarted_process_pushes_a_killed_process_rows_at_once(make_bridge: MakeBridge
                                                                ) -> None:
    bridge = make_bridge()
    bridge.add_staff()
    bridge.add_calendar()
    bridge.start_process(STARTUP)
    connection_id = bridge.connect_google()
    bridge.wait_imported(connection_id, timeout=60)
    bridge.emu.hooks.reset_counters()
    # Google stores each insert, then answers 0.3 s later: the burst is pushed slowly.
    bridge.emu.hooks.fault("calendar.events.insert", latency=0.3, after=True, times=None)
    uids = _write_burst(bridge, "kill")
    _pid, stranded = _wait_pushing(bridge)
    assert bridge.proc is not None
    _kill(bridge.proc)
    bridge.proc = None
    stranded = {i: w for i, w in _claims(bridge).items() if i in stranded}
    assert stranded, "the killed process left no claimed rows; the test proves nothing"
    bridge.emu.hooks.clear_faults()

    spawned = time.monotonic()
    bridge.start_process(STARTUP)  # returns once CalDAV and the sidecar answer
    ready = time.monotonic()
    taken, pushed = _take_over(bridge, stranded, ready)
    wait_until(lambda: bridge.store.outbox_stats(connection_id).pending == 0, 60,
               "the whole burst to be pushed")
    assert taken < TAKEOVER_LIMIT, f"the stranded rows waited {taken:.1f} s"
    _check_once(bridge, uids, in_flight_at_kill=1)
    print(f"restart (up after {ready - spawned:.2f} s): {len(stranded)} stranded rows taken "
          f"after {taken:.2f} s, pushed after {pushed:.2f} s")


@pytest.mark.timeout(400)
def test_surviving_process_pushes_a_killed_process_rows_at_once(
        make_bridge: MakeBridge, postgres_url: str) -> None:
    bridge = make_bridge(postgres_url)
    bridge.add_staff()
    bridge.add_calendar()
    bridge.start_process(STARTUP)
    connection_id = bridge.connect_google()
    bridge.wait_imported(connection_id, timeout=60)
    # A second sidecar on the same database (its own HTTP port, the same key).
    port = free_port()
    env = {**bridge._env(), "TERMIN_BRIDGE_HTTP_PORT": str(port)}
    log = (bridge.root / "sidecar2.log").open("ab")
    second = subprocess.Popen(
        [*bridge._cli_argv(), "--config", str(bridge.config_path), "sidecar"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=bridge.root)
    log.close()
    try:
        wait_until(lambda: _up(port), STARTUP, "the second sidecar to start", interval=0.1)
        bridge.emu.hooks.reset_counters()
        bridge.emu.hooks.fault("calendar.events.insert", latency=0.3, after=True, times=None)
        uids = _write_burst(bridge, "kill")
        assert bridge.proc is not None
        serve = bridge.proc
        # Kill whichever of the two holds more claimed rows; the other one survives.
        pid, stranded = _wait_pushing(bridge, [serve.pid, second.pid])
        victim, survivor = (serve, second) if pid == serve.pid else (second, serve)
        _kill(victim)
        killed_at = time.monotonic()
        stranded = {i: w for i, w in _claims(bridge).items() if i in stranded}
        assert stranded, "the killed process left no claimed rows; the test proves nothing"
        assert survivor.poll() is None, "the surviving process is not running"
        bridge.emu.hooks.clear_faults()
        taken, pushed = _take_over(bridge, stranded, killed_at)
        wait_until(lambda: bridge.store.outbox_stats(connection_id).pending == 0, 60,
                   "the whole burst to be pushed")
        assert taken < TAKEOVER_LIMIT, f"the stranded rows waited {taken:.1f} s"
        _check_once(bridge, uids, in_flight_at_kill=1)
        print(f"survivor: {len(stranded)} stranded rows taken after {taken:.2f} s, "
              f"pushed after {pushed:.2f} s")
    finally:
        if second.poll() is None:
            second.send_signal(signal.SIGTERM)
            try:
                second.wait(30)
            except subprocess.TimeoutExpired:
                second.kill()
                second.wait(10)
