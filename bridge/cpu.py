"""Pure CPU work on the other cores: mapping a page of events, validating an imported file.

Mapping a provider's events to iCalendar through the validation gate, or validating the
resources of an imported file, is pure Python work of about half a millisecond per event.  In a
thread it holds the interpreter lock the event loop and the store writes need, so a 10,000-event
import was bound to one core.  :class:`CpuPool` runs a batch of at least ``min_batch`` items in
worker processes, split in chunks (the order is kept), so the next page is mapped on the other
cores while the current one commits.  Smaller batches (every ordinary pull, a single read) run
in the calling thread: starting processes and pickling cost more than they save there.

* The processes start with the first big batch (an import of a small calendar starts none)
  and exit after ``idle`` seconds without work, so an idle sidecar holds no worker memory.
  Starting them ahead of the first page gained nothing measurable: forked from the fork server,
  they are up before the first chunk would have been mapped.
* A process with other threads running (the sidecar: the store's and the event loop's threads)
  starts its workers from a fork server: a child forked from a threaded process can inherit a
  lock another thread held.  A single-threaded process (the ``import-ics`` command) forks them
  directly, which costs nothing.
* The function and its items must pickle: a module-level function (or a
  :func:`functools.partial` of one) of plain data.  Its modules are imported in each worker,
  so they must not pull in the store or the HTTP stack.
* A worker that dies (the kernel's out-of-memory killer) breaks only its pool: the batch runs
  in the calling thread instead, nothing is lost, and the next batch starts a new pool.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from types import TracebackType
from typing import TypeVar

from bridge.logging_setup import logging_config, setup_logging

__all__ = ["CHUNKS_PER_WORKER", "THREAD", "CpuPool", "default_workers"]

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

# Chunks per worker: small enough that the workers finish together, large enough that
# pickling and scheduling stay a small share.
CHUNKS_PER_WORKER = 4
MAX_WORKERS = 4
# Imported once by the fork server, so the workers it forks have them: the validation gate
# (icalendar), and the main script (a worker imports it otherwise: the console script would
# import the whole CLI in each worker; ``python -m bridge`` is never imported again).
PRELOAD = ("__main__", "bridge.ical.validate", "bridge.ical.render")


def default_workers() -> int:
    """The cores this process may use, at most :data:`MAX_WORKERS`; 0 on a single core (the
    calling thread is as fast there)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(cores, MAX_WORKERS) if cores > 1 else 0


def _init_worker(config: tuple[str, str] | None) -> None:
    """Log like the parent (format and level), so a worker's warnings are not lost."""
    if config is not None:
        setup_logging(*config)


class CpuPool:
    """Runs a pure function over big batches in worker processes (see the module doc).

    ``workers=None`` uses :func:`default_workers`; ``0`` keeps every batch in the calling
    thread.  Thread-safe: several connections may map at once.
    """

    def __init__(self, workers: int | None = None, *, min_batch: int = 500,
                 idle: float = 120.0) -> None:
        self.workers = default_workers() if workers is None else max(0, workers)
        self.min_batch = max(1, min_batch)
        self.idle = idle
        self.batches = 0  # batches run in worker processes (tests, logs)
        self.start_method: str | None = None  # of the pool last started
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._timer: threading.Timer | None = None
        self._busy = 0  # batches in worker processes right now (no idle countdown meanwhile)

    def __enter__(self) -> CpuPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def running(self) -> bool:
        """Whether worker processes are up (or starting)."""
        return self._pool is not None

    def in_processes(self, count: int) -> bool:
        """Whether a batch of ``count`` items goes to worker processes."""
        return self.workers > 0 and count >= self.min_batch

    def run(self, fn: Callable[[list[T]], list[R]], items: Sequence[T]) -> list[R]:
        """``fn(items)``, in worker processes when the batch is big enough (blocking)."""
        return [result for chunk in self.chunks(fn, items) for result in chunk]

    def chunks(self, fn: Callable[[list[T]], list[R]], items: Sequence[T]
               ) -> Iterator[list[R]]:
        """``fn`` over consecutive chunks of ``items``, each chunk's results as soon as it
        and those before it are done (in order), so the caller can use the first while the
        workers map the rest; a small batch is one chunk, mapped in the calling thread."""
        batch = list(items)
        if not self.in_processes(len(batch)):
            yield fn(batch)
            return
        size = -(-len(batch) // (self.workers * CHUNKS_PER_WORKER))
        parts = [batch[i:i + size] for i in range(0, len(batch), size)]
        with self._lock:
            pool = self._started()
            self._cancel_timer()
            self._busy += 1
        futures: list[Future[list[R]]] = []
        done = 0
        try:
            try:
                futures = [pool.submit(fn, part) for part in parts]
                for future in futures:
                    result = future.result()
                    done += 1
                    yield result
            except BrokenProcessPool:
                _LOGGER.warning("A worker process died while mapping %d items: they are mapped "
                                "in this process instead", sum(len(p) for p in parts[done:]))
                self._discard(pool)
                for part in parts[done:]:
                    yield fn(part)
                return
        finally:
            for future in futures:
                future.cancel()
            with self._lock:
                self._busy -= 1
            self._arm_timer()
        self.batches += 1

    async def map(self, fn: Callable[[list[T]], list[R]], items: Sequence[T]) -> list[R]:
        """:meth:`run` off the event loop."""
        return await asyncio.to_thread(self.run, fn, items)

    def close(self) -> None:
        """Stop the worker processes (a later batch starts new ones)."""
        with self._lock:
            self._cancel_timer()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- internals ---------------------------------------------------------------------------
    def _started(self) -> ProcessPoolExecutor:
        """The running pool (created when there is none); call with the lock held."""
        if self._pool is None:
            context: BaseContext
            if threading.active_count() == 1:
                context = multiprocessing.get_context("fork")
            else:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(list(PRELOAD))
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context,
                                             initializer=_init_worker,
                                             initargs=(logging_config(),))
            self.start_method = context.get_start_method()
            _LOGGER.debug("Started a pool of %d worker processes (%s)", self.workers,
                          self.start_method)
        return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm_timer(self) -> None:
        """(Re)start the idle countdown after which the workers exit (none while a batch
        runs: the last batch to finish starts it)."""
        with self._lock:
            self._cancel_timer()
            if self._pool is None or self._busy:
                return
            timer = threading.Timer(self.idle, lambda: self._idle_close(timer))
            timer.daemon = True
            self._timer = timer
            timer.start()

    def _idle_close(self, timer: threading.Timer) -> None:
        with self._lock:
            if self._timer is not timer or self._busy:
                return  # a batch came meanwhile (it cancelled this countdown)
            self._timer = None
            pool, self._pool = self._pool, None
        if pool is not None:
            _LOGGER.debug("Worker processes idle for %g s: stopped", self.idle)
            pool.shutdown(wait=True)


# Keeps every batch in the calling thread: the default of providers opened without a pool.
THREAD = CpuPool(0)
