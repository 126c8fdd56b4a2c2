"""One held connection per request (``held_connection``): the transactions inside reuse it,
stay transactions (also inside the advisory write lock), and a transaction inside another
still gets its own connection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from bridge.bootstrap import open_bridge_store
from bridge.ical import parse_resource
from bridge.model import ParsedResource
from bridge.store import SqlStore
from bridge.store import schema as s
from bridge.store.engine import advisory_lock, held_connection, read_tx, write_tx
from tests.caldav.caldav_support import vevent

KEY = 0x7465737468656C64


def _opened(url: str) -> Iterator[SqlStore]:
    st = open_bridge_store(url)
    st.create_user("alice", "x")
    st.create_collection("alice/cal", tag="VCALENDAR", timezone="Europe/Berlin")
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    yield from _opened(store_url)


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[SqlStore]:
    """The advisory lock is PostgreSQL's (SQLite serialises writers itself)."""
    yield from _opened(postgres_url)


def _checkouts(store: SqlStore) -> list[int]:
    count = [0]

    def counted(*_args: Any) -> None:
        count[0] += 1

    event.listen(store.engine, "checkout", counted)
    return count


def _names(store: SqlStore) -> set[str]:
    return {u.name for u in store.list_users()}


def test_transactions_of_a_request_use_one_connection(store: SqlStore) -> None:
    count = _checkouts(store)
    with held_connection(store.engine):
        for i in range(5):
            store.create_user(f"user{i}", "x")
            assert store.get_user(f"user{i}") is not None
        with held_connection(store.engine):  # nested: keeps the outer one
            store.get_collection("alice/cal")
    assert count[0] == 1
    store.get_collection("alice/cal")  # outside: checks one out, as always
    assert count[0] == 2


def test_a_transaction_inside_another_gets_its_own_connection(store: SqlStore) -> None:
    count = _checkouts(store)
    with held_connection(store.engine), read_tx(store.engine) as outer:
        outer.execute(select(s.users.c.name)).all()
        with read_tx(store.engine) as inner:
            assert inner is not outer
            inner.execute(select(s.users.c.name)).all()
    assert count[0] == 2


def test_a_failed_write_on_the_held_connection_leaves_nothing(store: SqlStore) -> None:
    with held_connection(store.engine):
        with pytest.raises(RuntimeError), write_tx(store.engine) as conn:
            conn.execute(s.users.insert().values(name="ghost", password_hash="x", role="staff",
                                                 created_at=0.0))
            raise RuntimeError("boom")
        assert "ghost" not in _names(store)
        store.create_user("real", "x")
    assert "real" in _names(store) and "ghost" not in _names(store)


def test_writes_inside_the_advisory_lock_stay_transactions(pg_store: SqlStore) -> None:
    store = pg_store
    with held_connection(store.engine), advisory_lock(store.engine, KEY):
        # The lock was taken outside a transaction; the write below must not autocommit.
        with pytest.raises(RuntimeError), write_tx(store.engine) as conn:
            conn.execute(s.users.insert().values(name="ghost", password_hash="x",
                                                 role="staff", created_at=0.0))
            raise RuntimeError("boom")
        assert "ghost" not in _names(store)
        store.put_item("alice/cal", "a.ics", _parsed("a"), origin="dav")
    assert store.get_item("alice/cal", "a.ics") is not None
    # Released: another session takes the lock at once.
    with store.engine.connect() as other:
        got = other.exec_driver_sql(f"SELECT pg_try_advisory_lock({KEY})").scalar()
        other.exec_driver_sql(f"SELECT pg_advisory_unlock({KEY})")
        other.commit()
    assert got is True


def test_the_lock_is_held_across_sessions_while_the_block_runs(pg_store: SqlStore) -> None:
    store = pg_store
    with held_connection(store.engine), advisory_lock(store.engine, KEY), \
            store.engine.connect() as other:
        assert other.exec_driver_sql(f"SELECT pg_try_advisory_lock({KEY})").scalar() is False
        other.rollback()


def _parsed(uid: str) -> ParsedResource:
    return parse_resource(vevent(uid))
