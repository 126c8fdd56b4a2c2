"""Migration 0016: every connection names its provider; rows from before are Google's.
Migration 0017: the remote side's columns have provider-neutral names, data kept.  And the one
reading of a write's origin (``<provider>:<connection id>``)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, text

from bridge.model import connection_of_origin, origin_for_connection
from bridge.store import SqlStore, open_store
from bridge.store import schema as s
from bridge.store.engine import make_engine
from bridge.store.migrate import upgrade


def test_migration_matches_metadata(store: SqlStore) -> None:
    only = MetaData()
    for table in (s.connections, s.collections, s.users, s.held_deletions):
        table.to_metadata(only)
    names = ("'connections'", "'held_deletions'")  # links, ledger: test_store_conflicts.py
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "compare_server_default": True})
        diff = [d for d in compare_metadata(context, only)
                if any(n in repr(d) for n in names) and d[0] != "remove_table"]
    assert diff == []


def test_remote_columns_are_renamed_with_their_data(store_url: str) -> None:
    engine = make_engine(store_url)
    upgrade(engine, "0016")
    old = SqlStore(engine)
    old.create_user("alice", "x")
    coll = old.create_collection("alice/work", tag="VCALENDAR").id
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO connections (collection_id, provider, account_email, google_calendar_id,"
            " google_calendar_name, scopes, status, active, sync_state_version, import_state, "
            "created_at, updated_at) VALUES (:coll, 'microsoft', 'a@example.com', 'AAMkCal', "
            "'Praxis', '', 'ok', true, 0, '{}', 0, 0)"), {"coll": coll})
        cid = conn.execute(text("SELECT id FROM connections")).scalar_one()
        conn.execute(text(
            "INSERT INTO links (connection_id, uid, google_event_id, google_etag, hash_google, "
            "google_updated, google_exceptions, google_extra, updated_at) VALUES (:cid, 'u1', "
            "'AAMkEv', 'W/\"1\"', 'h', '2026-01-01T00:00:00Z', '[\"x\"]', '{}', 0)"),
            {"cid": cid})
    old.close()
    store = open_store(store_url)  # migrates to the head
    try:
        (record,) = store.list_connections()
        assert (record.remote_calendar_id, record.remote_calendar_name) == ("AAMkCal", "Praxis")
        (link,) = store.links_by_event(record.id, ["AAMkEv"]).values()
        assert (link.uid, link.remote_etag, link.hash_remote, link.remote_held) == (
            "u1", 'W/"1"', "h", ("x",))
    finally:
        store.close()


def test_existing_connections_become_google_and_new_ones_default_to_it(store_url: str
                                                                       ) -> None:
    engine = make_engine(store_url)
    upgrade(engine, "0015")
    old = SqlStore(engine)
    old.create_user("alice", "x")
    coll = old.create_collection("alice/work", tag="VCALENDAR").id
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO connections (collection_id, account_email, google_calendar_id, "
            "google_calendar_name, scopes, status, active, sync_state_version, import_state, "
            "created_at, updated_at) VALUES (:coll, 'a@example.com', 'primary', 'A', '', 'ok', "
            "true, 0, '{}', 0, 0)"), {"coll": coll})
    old.close()
    store = open_store(store_url)  # migrates to the head
    try:
        (record,) = store.list_connections()
        assert record.provider == "google" and record.remote_calendar_id == "primary"
        store.create_user("bob", "x")
        store.create_collection("bob/work", tag="VCALENDAR")
        assert store.create_connection("bob/work").provider == "google"
    finally:
        store.close()


def test_origins_name_provider_and_connection() -> None:
    assert origin_for_connection("google", 7) == "google:7"
    assert connection_of_origin("google:7") == ("google", 7)
    assert connection_of_origin("microsoft:12") == ("microsoft", 12)
    for other in ("caldav", "api", "import", "admin", "sync:split", "sync:inherit", "google:",
                  ":7", "google:x7", "google:٣"):
        assert connection_of_origin(other) is None, other
