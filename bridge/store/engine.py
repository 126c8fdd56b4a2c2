"""Database engines and transactions for SQLite and PostgreSQL.

SQLite runs in WAL mode with a busy timeout and foreign keys; write transactions start with
``BEGIN IMMEDIATE`` so two writers queue on the lock instead of failing at commit time.  Both
back ends retry a write transaction a few times on "database is locked" / serialization
failures, so those never reach a caller under ordinary contention.

A request that runs several transactions (a CalDAV ``PUT`` reads the collection and the item,
takes the write lock, writes) can hold one pooled connection for its whole run
(:func:`held_connection`): its transactions and the write lock then use that connection
instead of checking one out each time, which on PostgreSQL also means a ping (a round trip)
each time.  A transaction started while the held connection is busy (one inside another)
checks out its own, as without it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

__all__ = ["advisory_lock", "held_connection", "is_postgres", "make_engine", "read_tx",
           "retrying", "write_tx"]

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

_WRITE = "termin_bridge_write"
_HELD: ContextVar[Connection | None] = ContextVar("termin_bridge_held", default=None)


def is_postgres(engine: Engine) -> bool:
    """True when ``engine`` talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the pragmas and hooks this project relies on."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise ValueError("an in-memory SQLite store is not supported; give a file path")
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})
        _install_sqlite_hooks(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions are deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _retryable(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return any(
        s in text
        for s in ("database is locked", "database is busy", "could not serialize",
                  "deadlock detected", "serialization failure")
    )


def retrying(fn: Callable[[], T], attempts: int = 8) -> T:
    """Run ``fn`` (one whole transaction), retrying on lock and serialization failures."""
    for attempt in range(attempts):
        try:
            return fn()
        except (OperationalError, DBAPIError) as exc:
            if not _retryable(exc) or attempt == attempts - 1:
                raise
            delay = min(2.0, 0.02 * 2**attempt) * (0.5 + random.random())
            _LOGGER.debug("transaction retry %d after %s", attempt + 1, type(exc.orig).__name__)
            time.sleep(delay)
    raise AssertionError("unreachable")


@contextmanager
def held_connection(engine: Engine) -> Iterator[None]:
    """Hold one pooled connection of ``engine`` in this context (see the module doc); nested
    calls keep the outer one."""
    if _HELD.get() is not None:
        yield
        return
    with engine.connect() as conn:
        token = _HELD.set(conn)
        try:
            yield
        finally:
            _HELD.reset(token)


def _held(engine: Engine) -> Connection | None:
    """The held connection, when it belongs to ``engine`` and is free for a transaction."""
    conn = _HELD.get()
    if conn is None or conn.engine is not engine or conn.closed or conn.invalidated \
            or conn.in_transaction():
        return None
    return conn


@contextmanager
def _connection(engine: Engine) -> Iterator[Connection]:
    """The held connection if it is free, else one checked out for this block."""
    held = _held(engine)
    if held is not None:
        yield held
        return
    with engine.connect() as conn:
        yield conn


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite); commits on success."""
    with _connection(engine) as conn:
        conn.execution_options(**{_WRITE: True})
        try:
            with conn.begin():
                yield conn
        finally:
            conn.execution_options(**{_WRITE: False})


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """Reads.  SQLite: one transaction, one snapshot for several queries.  PostgreSQL:
    autocommit; at its READ COMMITTED each statement takes its own snapshot inside a
    transaction too, so ``BEGIN`` and ``COMMIT`` (two round trips a read) bought nothing."""
    with _connection(engine) as conn:
        if is_postgres(engine):
            with _autocommitting(conn):
                yield conn
        else:
            with conn.begin():
                yield conn


@contextmanager
def advisory_lock(engine: Engine, key: int) -> Iterator[None]:
    """PostgreSQL's session-level advisory lock ``key`` for this block: one holder at a time
    across processes.  Taken outside any transaction (autocommit), so the transactions inside
    the block commit while it is held."""
    with _connection(engine) as conn:
        with _autocommitting(conn):
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        try:
            yield
        finally:
            with _autocommitting(conn):
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


@contextmanager
def _autocommitting(conn: Connection) -> Iterator[None]:
    """Statements outside a transaction for this block; afterwards the connection's
    transactions are transactions again."""
    conn.execution_options(isolation_level="AUTOCOMMIT")
    try:
        yield
    finally:
        conn.rollback()  # ends SQLAlchemy's autobegun transaction: nothing is sent
        conn.execution_options(isolation_level=conn.default_isolation_level)
