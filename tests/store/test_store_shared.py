"""Collections shared with a user (``list_shared``/``get_shared``), on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect

from bridge.store import SqlStore
from bridge.store import schema as s


def test_shared_with_a_user(store: SqlStore) -> None:
    for name, role in (("alice", "staff"), ("bob", "staff"), ("boss", "admin")):
        store.create_user(name, "h", role=role)  # type: ignore[arg-type]
    store.create_collection("bob/work", tag="VCALENDAR", props={"D:displayname": "Work"})
    store.create_collection("bob/cards", tag="VADDRESSBOOK")
    store.create_collection("bob/plain")
    store.create_collection("bob/plain/deep", tag="VCALENDAR")
    store.create_collection("alice/own", tag="VCALENDAR")
    for path in ("bob/work", "bob/plain", "bob/plain/deep", "alice/own", "bob"):
        store.set_grant(path, "alice", "read")
    store.set_grant("bob/cards", "alice", "write")
    store.set_grant("bob/work", "boss", "write")
    shared = store.list_shared("alice")
    assert [(c.path, level) for c, level in shared] == [("bob/cards", "write"),
                                                        ("bob/work", "read")]
    assert shared[1][0].display_name == "Work"
    got = store.get_shared("alice", "/bob/work/")
    assert got is not None and got[0].path == "bob/work" and got[1] == "read"
    # untagged, deeper, own and principal collections are not shared calendars
    for path in ("bob/plain", "bob/plain/deep", "alice/own", "bob", "bob/none"):
        assert store.get_shared("alice", path) is None, path
    # admins see every home directly: nothing is listed for them
    assert store.list_shared("boss") == [] and store.get_shared("boss", "bob/work") is None
    assert store.list_shared("nobody") == [] and store.get_shared("nobody", "bob/work") is None
    store.set_grant("bob/work", "alice", None)
    assert store.get_shared("alice", "bob/work") is None
    assert [c.path for c, _ in store.list_shared("alice")] == ["bob/cards"]


def test_grants_are_indexed_by_user(store: SqlStore) -> None:
    indexes = inspect(store.engine).get_indexes("grants")
    assert any(ix["column_names"] == ["user_id"] for ix in indexes)
    only = MetaData()
    for table in (s.grants, s.users, s.collections):
        table.to_metadata(only)
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(context, only)
                if "grants" in repr(d) and d[0] != "remove_table"]
    assert diff == []
