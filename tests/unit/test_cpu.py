"""The CPU pool: big batches in worker processes (order kept), small ones in the calling thread,
a dead worker costs nothing, idle workers exit, workers log like the parent."""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge import logging_setup
from bridge.cpu import CHUNKS_PER_WORKER, CpuPool

ROOT = Path(__file__).resolve().parents[2]


def _square_with_pid(items: list[int]) -> list[tuple[int, int]]:
    return [(i * i, os.getpid()) for i in items]


def _fail_on_seven(items: list[int]) -> list[int]:
    if 7 in items:
        raise ValueError("seven")
    return items


def _die_outside(parent: int, items: list[int]) -> list[int]:
    """Kills the worker process it runs in (as the out-of-memory killer would); in the parent
    it just answers."""
    if os.getpid() != parent:
        os._exit(9)
    return [i + 1 for i in items]


def _logging_of_worker(items: list[int]) -> list[tuple[int, str]]:
    root = logging.getLogger()
    kinds = [type(h.formatter).__name__ for h in root.handlers]
    return [(root.level, ",".join(kinds)) for _ in items]


def _wait_for(check: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


@pytest.fixture
def pool() -> Iterator[CpuPool]:
    with CpuPool(2, min_batch=10) as p:
        yield p


def test_small_batches_stay_in_the_calling_thread(pool: CpuPool) -> None:
    out = pool.run(_square_with_pid, range(9))
    assert [v for v, _ in out] == [i * i for i in range(9)]
    assert {pid for _, pid in out} == {os.getpid()}
    assert pool.batches == 0 and not pool.running


def test_big_batches_run_in_worker_processes_in_order(pool: CpuPool) -> None:
    out = pool.run(_square_with_pid, range(1000))
    assert [v for v, _ in out] == [i * i for i in range(1000)]
    pids = {pid for _, pid in out}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert pool.batches == 1 and pool.running
    assert pool.start_method in ("fork", "forkserver")


async def test_map_runs_off_the_event_loop(pool: CpuPool) -> None:
    out = await pool.map(_square_with_pid, list(range(50)))
    assert [v for v, _ in out] == [i * i for i in range(50)]
    assert os.getpid() not in {pid for _, pid in out}


def test_chunks_come_in_order_as_they_are_done(pool: CpuPool) -> None:
    small = list(pool.chunks(_square_with_pid, range(9)))
    assert len(small) == 1 and [v for v, _ in small[0]] == [i * i for i in range(9)]
    parts = pool.chunks(_square_with_pid, range(800))
    first = next(parts)  # usable while the workers map the rest
    assert [v for v, _ in first] == [i * i for i in range(len(first))]
    rest = list(parts)
    assert len(rest) == 2 * CHUNKS_PER_WORKER - 1
    values = [v for chunk in [first, *rest] for v, _ in chunk]
    assert values == [i * i for i in range(800)]


def test_an_error_in_the_function_reaches_the_caller_and_the_pool_goes_on(
        pool: CpuPool) -> None:
    with pytest.raises(ValueError, match="seven"):
        pool.run(_fail_on_seven, range(100))
    assert pool.run(_fail_on_seven, range(8, 100)) == list(range(8, 100))


def test_a_dead_worker_loses_nothing(pool: CpuPool, caplog: pytest.LogCaptureFixture) -> None:
    dying = functools.partial(_die_outside, os.getpid())
    with caplog.at_level(logging.WARNING, logger="bridge.cpu"):
        out = pool.run(dying, range(200))
    assert out == [i + 1 for i in range(200)]  # mapped in this process instead
    assert "worker process died" in caplog.text
    assert not pool.running
    # The next big batch starts a new pool.
    assert [v for v, _ in pool.run(_square_with_pid, range(20))] == [i * i for i in range(20)]
    assert pool.running


def test_idle_workers_exit_and_come_back_when_needed() -> None:
    with CpuPool(2, min_batch=10, idle=0.3) as pool:
        pool.run(_square_with_pid, range(20))
        assert _wait_for(lambda: not pool.running)
        out = pool.run(_square_with_pid, range(20))
        assert os.getpid() not in {pid for _, pid in out}
        pool.close()
        assert not pool.running


def test_no_workers_keeps_everything_in_the_calling_thread() -> None:
    idle = CpuPool(0)
    assert idle.run(_square_with_pid, range(5000))[0] == (0, os.getpid())
    assert not idle.running and idle.batches == 0


def test_workers_log_like_the_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging_setup, "_CONFIG", [("json", "WARNING")])
    with CpuPool(1, min_batch=1) as pool:
        (level, kinds), = pool.run(_logging_of_worker, [1])
    assert level == logging.WARNING and kinds == "JsonFormatter"


def test_a_threaded_process_starts_workers_from_a_fork_server() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        with CpuPool(2, min_batch=10) as pool:
            pool.run(_square_with_pid, range(20))
            assert pool.start_method == "forkserver"
    finally:
        stop.set()


def test_a_single_threaded_process_forks_its_workers() -> None:
    script = textwrap.dedent("""
        import os
        from bridge.cpu import CHUNKS_PER_WORKER, CpuPool
        from tests.unit.test_cpu import _square_with_pid
        if __name__ == "__main__":
            with CpuPool(2, min_batch=10) as pool:
                out = pool.run(_square_with_pid, range(100))
                assert os.getpid() not in {pid for _, pid in out}
                print(pool.start_method)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.strip() == "fork"
