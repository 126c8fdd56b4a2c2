"""Worker liveness for outbox claims: a claim is taken over only when its worker is dead.

A push worker holds a lock for as long as it may push, and the operating system or the database
drops that lock the moment the worker's process dies:

* **PostgreSQL**: a session advisory lock (key from the worker id) on a connection of its own.
  PostgreSQL releases it when that session ends (process killed, connection gone).  Another
  worker tests it with ``pg_try_advisory_xact_lock`` inside its claim transaction: granted means
  no session holds it, so the worker is gone (the test lock ends with the transaction).
* **SQLite**: an ``flock`` on ``<database>.workers/<hash>.lock``; the kernel drops it when the
  process dies.  A worker whose file is missing or can be locked by someone else is dead.  (One
  process normally runs the engine on SQLite; a restarted one finds the old claims dead at once.)

Time never decides, so a live worker that is slow (a busy machine, Google answering slowly) never
loses its claims, and a dead worker's claims are free at the next claim.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import logging
import os
import threading
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

__all__ = ["WorkerLiveness", "worker_lock_key"]

_LOGGER = logging.getLogger(__name__)


def worker_lock_key(worker: str) -> int:
    """The signed 64-bit advisory lock key of ``worker`` (PostgreSQL)."""
    digest = hashlib.sha256(b"termin-bridge push worker\0" + worker.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _file_name(worker: str) -> str:
    return hashlib.sha256(worker.encode()).hexdigest()[:32] + ".lock"


class WorkerLiveness:
    """Holds this process's worker locks and tells whether another worker is still alive."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        url = make_url(str(engine.url))
        self.directory: Path | None = None
        if not self.postgres and url.database:
            self.directory = Path(url.database).with_name(Path(url.database).name + ".workers")
        self._lock = threading.Lock()
        self._sessions: dict[str, Connection] = {}
        self._files: dict[str, int] = {}

    # -- own locks ---------------------------------------------------------------------------
    def hold(self, worker: str) -> None:
        """Take ``worker``'s lock unless already held (before its first claim)."""
        with self._lock:
            if self.postgres:
                if worker in self._sessions:
                    return
                conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                   {"k": worker_lock_key(worker)}).scalar()
                if not got:
                    conn.close()
                    raise RuntimeError(f"push worker {worker!r} is already running elsewhere")
                self._sessions[worker] = conn
                return
            if worker in self._files or self.directory is None:
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / _file_name(worker)
            for attempt in itertools.count():
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    # Another starting worker is removing what looked like a dead file (it holds
                    # the lock for a moment); only the same id elsewhere holds it for long.
                    os.close(fd)
                    if attempt >= 100:
                        raise RuntimeError(f"push worker {worker!r} is already running "
                                           "elsewhere") from None
                    time.sleep(0.02)
                    continue
                # That worker may have removed the file between our open and our lock: then
                # the lock is on a nameless file, so start again.
                with contextlib.suppress(FileNotFoundError):
                    if os.stat(path).st_ino == os.fstat(fd).st_ino:
                        break
                os.close(fd)
            os.ftruncate(fd, 0)
            os.write(fd, worker.encode())
            self._files[worker] = fd
            for path in self.directory.glob("*.lock"):  # files of killed workers
                if path.name != _file_name(worker):
                    self._unlink_if_dead(path)

    def healthy(self, worker: str) -> bool:
        """Whether ``worker``'s lock is still held (PostgreSQL: its session answers).

        ``False`` means other workers may already have taken its claims: the caller stops
        pushing them, and the next :meth:`hold` takes a fresh lock.
        """
        with self._lock:
            if not self.postgres:
                return True
            conn = self._sessions.get(worker)
            if conn is None:
                return False
            try:
                conn.execute(text("SELECT 1"))
                return True
            except Exception as exc:  # the session (and with it the lock) is gone
                _LOGGER.warning("Worker %s lost its liveness session (%s)", worker,
                                type(exc).__name__)
                del self._sessions[worker]
                with contextlib.suppress(Exception):
                    conn.invalidate()
                return False

    def release(self, worker: str) -> None:
        """Drop ``worker``'s lock (it holds no claims any more)."""
        with self._lock:
            conn = self._sessions.pop(worker, None)
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"),
                                 {"k": worker_lock_key(worker)})
                with contextlib.suppress(Exception):
                    conn.close()
            fd = self._files.pop(worker, None)
            if fd is not None and self.directory is not None:
                with contextlib.suppress(OSError):
                    (self.directory / _file_name(worker)).unlink()
                os.close(fd)

    def release_all(self) -> None:
        """Drop every lock this process holds (the store is closing)."""
        for worker in list(self._sessions) + list(self._files):
            self.release(worker)

    # -- other workers -----------------------------------------------------------------------
    def is_dead(self, conn: Connection, worker: str) -> bool:
        """Whether ``worker`` is gone, so its claims may be taken (inside a claim transaction)."""
        if worker in self._sessions or worker in self._files:
            return False
        if self.postgres:
            return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                                     {"k": worker_lock_key(worker)}).scalar())
        if self.directory is None:
            return True
        return self._unlink_if_dead(self.directory / _file_name(worker))

    @staticmethod
    def _unlink_if_dead(path: Path) -> bool:
        """True (and the file removed) unless a live process holds the lock on ``path``."""
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False  # its process holds the lock: alive
        try:
            with contextlib.suppress(OSError):
                path.unlink()  # dead for good (worker ids are never reused); still locked
        finally:
            os.close(fd)
        return True
