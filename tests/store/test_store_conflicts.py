"""One open conflict row per appointment (``record_conflict``, migration 0014), on SQLite and
PostgreSQL, with several writers at once; and the link's stored Google fields."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, insert, text

from bridge.store import SqlStore, open_store
from bridge.store import schema as s
from bridge.store.engine import make_engine
from bridge.store.links import _ledger_values
from bridge.store.migrate import upgrade
from bridge.store.sync import LedgerEntry

CAL = "alice/work"


def _connection(store: SqlStore) -> tuple[int, int]:
    store.create_user("alice", "x")
    coll = store.create_collection(CAL, tag="VCALENDAR")
    return store.create_connection(CAL, account_email="a@example.com").id, coll.id


def _conflict(cid: int, coll: int, version: str, uid: str = "u@x") -> LedgerEntry:
    return LedgerEntry("both", "poll", "conflict", "open", cid, coll, uid, detail={
        "reason": "edited on both sides", "winner": "local", "version": version,
        "loser": {"side": "google", "event": {"master": {"summary": version}}}})


def _rows(store: SqlStore, uid: str = "u@x") -> list[tuple[str, str]]:
    return [(r.outcome, r.detail["version"]) for r in store.query_ledger(action="conflict",
                                                                          uid=uid)]


def test_migration_matches_metadata(store: SqlStore) -> None:
    only = MetaData()
    for table in (s.links, s.ledger, s.connections, s.collections, s.users):
        table.to_metadata(only)
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(context, only)
                if ("links" in repr(d) or "ledger" in repr(d)) and d[0] != "remove_table"]
    assert diff == []


def test_same_decision_once_a_new_one_supersedes(store: SqlStore) -> None:
    cid, coll = _connection(store)
    first = store.record_conflict(_conflict(cid, coll, "google:e1"))
    assert store.record_conflict(_conflict(cid, coll, "google:e1")) == first
    assert _rows(store) == [("open", "google:e1")]
    second = store.record_conflict(_conflict(cid, coll, "google:e2"))
    assert _rows(store) == [("open", "google:e2"), ("superseded", "google:e1")]
    assert store.get_ledger(second).detail["supersedes"] == [first]
    store.record_conflict(_conflict(cid, coll, "google:e1", uid="other@x"))  # per appointment
    assert _rows(store, "other@x") == [("open", "google:e1")]
    store.set_ledger_outcome(second, "resolved")
    store.record_conflict(_conflict(cid, coll, "google:e3"))
    assert [o for o, _ in _rows(store)] == ["open", "resolved", "superseded"]


def test_writers_at_once_leave_one_open_row(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(4)]
    try:
        cid, coll = _connection(stores[0])
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: stores[n % 4].record_conflict(
                _conflict(cid, coll, "google:same")), range(16)))
            list(pool.map(lambda n: stores[n % 4].record_conflict(
                _conflict(cid, coll, f"google:v{n}")), range(16)))
        rows = _rows(stores[0])
        assert [o for o, _ in rows].count("open") == 1
        assert sum(1 for _, v in rows if v == "google:same") == 1
        assert len(rows) == 17  # every different losing version is kept
    finally:
        for st in stores:
            st.close()


def _old_connection(old: SqlStore) -> tuple[int, int]:
    """A calendar and its connection as the schema of 0008 holds them (the store's own
    connection methods read the columns of the newest schema)."""
    old.create_user("alice", "x")
    coll = old.create_collection(CAL, tag="VCALENDAR").id
    with old.engine.begin() as conn:
        cid = conn.execute(text(
            "INSERT INTO connections (collection_id, account_email, google_calendar_id, "
            "google_calendar_name, scopes, status, active, sync_state_version, import_state, "
            "created_at, updated_at) VALUES (:coll, 'a@example.com', '', '', '', 'ok', false, "
            "0, '{}', 0, 0) RETURNING id"), {"coll": coll}).scalar_one()
    return int(cid), coll


def test_migration_supersedes_duplicate_open_conflicts(store_url: str) -> None:
    engine = make_engine(store_url)
    upgrade(engine, "0008")
    old = SqlStore(engine)
    cid, coll = _old_connection(old)
    rows = [_ledger_values(e, 0.0) for e in (
        *(_conflict(cid, coll, f"v{n}") for n in range(3)), _conflict(cid, coll, "w", uid="w@x"))]
    with engine.begin() as conn:  # the columns 0008 has (its event id column had another name)
        conn.execute(insert(s.ledger), [{k: v for k, v in r.items() if k != "remote_id"}
                                        for r in rows])
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ledger")).scalar_one() == 4
    assert _rows(old) == [("open", "v2"), ("superseded", "v1"), ("superseded", "v0")]
    assert _rows(old, "w@x") == [("open", "w")]
    old.close()
