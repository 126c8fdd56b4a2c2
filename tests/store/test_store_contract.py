"""The store contract: run unchanged on SQLite and PostgreSQL (``store`` fixture)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from bridge.errors import AlreadyExists, DuplicateUid, EtagMismatch, NotFound, SyncTokenInvalid
from bridge.model import origin_for_connection
from bridge.store import SqlStore, open_store
from bridge.store import schema as s
from tests.helpers import parsed

CAL = "alice/work"


def ts(text: str) -> int:
    return int(datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp())


@pytest.fixture
def cal(store: SqlStore) -> SqlStore:
    store.create_collection(CAL, tag="VCALENDAR", props={"D:displayname": "Work"},
                            timezone="Europe/Berlin")
    return store


def add_connection(store: SqlStore, path: str = CAL, active: bool = True) -> int:
    with store.engine.begin() as conn:
        coll = conn.execute(select(s.collections.c.id).where(s.collections.c.path == path)).one()
        return int(conn.execute(
            insert(s.connections).values(
                collection_id=coll.id, active=active, created_at=0.0, updated_at=0.0
            ).returning(s.connections.c.id)
        ).scalar_one())


def outbox_rows(store: SqlStore) -> list[tuple[int, str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(s.outbox.c.connection_id, s.outbox.c.uid, s.outbox.c.op).order_by(s.outbox.c.id)
        ).all()
    return [(r.connection_id, r.uid, r.op) for r in rows]


# -- collections and users ------------------------------------------------------------------

def test_collections_create_parents_and_list_children(store: SqlStore) -> None:
    store.create_collection("bob/home", tag="VCALENDAR")
    store.create_collection("bob/contacts", tag="VADDRESSBOOK")
    assert [c.path for c in store.list_collections("")] == ["bob"]
    assert [c.path for c in store.list_collections("bob")] == ["bob/contacts", "bob/home"]
    assert [c.path for c in store.list_collections(tag="VCALENDAR")] == ["bob/home"]
    with pytest.raises(AlreadyExists):
        store.create_collection("bob/home")
    assert store.create_collection("bob/home", exist_ok=True).tag == "VCALENDAR"


def test_collection_meta_and_delete(cal: SqlStore) -> None:
    before = cal.get_collection(CAL)
    assert before is not None and before.display_name == "Work"
    after = cal.set_collection_meta(CAL, {"tag": "VCALENDAR", "D:displayname": "Büro",
                                          "ICAL:calendar-color": "#ff0000ff"})
    assert after.display_name == "Büro" and after.color == "#ff0000ff"
    assert after.revision > before.revision  # ctag changes with properties
    cal.put_item(CAL, "a.ics", parsed("a"), origin="test")
    cal.delete_collection("alice")
    assert cal.get_collection(CAL) is None and cal.get_item(CAL, "a.ics") is None


def test_like_wildcards_in_paths_do_not_leak(store: SqlStore) -> None:
    store.create_collection("a_b/x", tag="VCALENDAR")
    store.create_collection("axb/y", tag="VCALENDAR")
    assert [c.path for c in store.list_collections("a_b")] == ["a_b/x"]
    store.delete_collection("a_b")
    assert store.get_collection("axb/y") is not None


def test_users_and_grants(store: SqlStore) -> None:
    store.create_user("alice", "h1", role="admin")
    store.create_user("bob", "h2")
    with pytest.raises(AlreadyExists):
        store.create_user("bob", "h3")
    store.set_password_hash("bob", "h4")
    bob = store.get_user("bob")
    assert bob is not None and bob.password_hash == "h4" and not bob.is_admin
    with pytest.raises(NotFound):
        store.set_password_hash("carol", "x")
    store.create_collection("alice/work", tag="VCALENDAR")
    store.set_grant("alice/work", "bob", "read")
    store.set_grant("alice/work", "bob", "write")
    assert [(g.collection_path, g.user, g.level) for g in store.list_grants("bob")] == [
        ("alice/work", "bob", "write")
    ]
    store.set_grant("alice/work", "bob", None)
    assert store.list_grants() == []


# -- items, etags, change log ---------------------------------------------------------------

def test_crud_and_etag_preconditions(cal: SqlStore) -> None:
    new, old = cal.put_item(CAL, "a.ics", parsed("a"), origin="caldav", if_none_match=True)
    assert old is None and new.uid == "a" and new.etag.startswith('"')
    with pytest.raises(EtagMismatch):
        cal.put_item(CAL, "a.ics", parsed("a", summary="x"), origin="caldav", if_none_match=True)
    with pytest.raises(EtagMismatch) as info:
        cal.put_item(CAL, "a.ics", parsed("a", summary="x"), origin="caldav", if_match='"stale"')
    assert info.value.got == new.etag
    changed, prev = cal.put_item(CAL, "a.ics", parsed("a", summary="x"), origin="caldav",
                                 if_match=new.etag)
    assert prev is not None and prev.etag == new.etag and changed.etag != new.etag
    assert changed.summary == "x"
    with pytest.raises(EtagMismatch):
        cal.delete_item(CAL, "a.ics", origin="caldav", if_match=new.etag)
    cal.delete_item(CAL, "a.ics", origin="caldav", if_match=changed.etag)
    assert cal.get_item(CAL, "a.ics") is None
    with pytest.raises(NotFound):
        cal.delete_item(CAL, "a.ics", origin="caldav")
    with pytest.raises(NotFound):
        cal.put_item("nobody/none", "a.ics", parsed("a"), origin="caldav")


def test_uid_unique_per_calendar(cal: SqlStore) -> None:
    cal.put_item(CAL, "a.ics", parsed("same"), origin="t")
    with pytest.raises(DuplicateUid) as info:
        cal.put_item(CAL, "b.ics", parsed("same"), origin="t")
    assert info.value.existing_href == "a.ics"
    assert cal.has_uid(CAL, "same") == "a.ics" and cal.has_uid(CAL, "other") is None
    assert cal.get_item_by_uid(CAL, "same") is not None
    cal.create_collection("alice/other", tag="VCALENDAR")
    cal.put_item("alice/other", "b.ics", parsed("same"), origin="t")  # other calendar: fine


def test_revision_and_change_log_with_tombstones(cal: SqlStore) -> None:
    coll = cal.get_collection(CAL)
    assert coll is not None and coll.revision == 0
    cal.put_item(CAL, "a.ics", parsed("a"), origin="t")
    cal.put_item(CAL, "b.ics", parsed("b"), origin="t")
    mid = cal.changes_since(CAL, 0)
    assert mid.revision == 2 and mid.hrefs == ("a.ics", "b.ics")
    assert cal.changes_since(CAL, 2).hrefs == ()  # nothing changed: same revision, no hrefs
    assert cal.changes_since(CAL, 2).revision == 2
    cal.delete_item(CAL, "a.ics", origin="t")
    cal.put_item(CAL, "c.ics", parsed("c"), origin="t")
    later = cal.changes_since(CAL, 2)
    assert later.revision == 4 and later.hrefs == ("a.ics", "c.ics")  # tombstone reported
    with pytest.raises(SyncTokenInvalid):
        cal.changes_since(CAL, 99)
    with pytest.raises(SyncTokenInvalid):
        cal.changes_since(CAL, 1, epoch="someone-else")


def test_pruned_history_invalidates_old_tokens(store: SqlStore) -> None:
    now = [1000.0]
    clocked = SqlStore(store.engine, clock=lambda: now[0])
    clocked.create_collection(CAL, tag="VCALENDAR")
    clocked.put_item(CAL, "a.ics", parsed("a"), origin="t")
    now[0] = 5000.0
    clocked.put_item(CAL, "b.ics", parsed("b"), origin="t")
    assert clocked.prune_history(older_than=2000.0) == 1
    with pytest.raises(SyncTokenInvalid):
        clocked.changes_since(CAL, 0)
    assert clocked.changes_since(CAL, 1).hrefs == ("b.ics",)


def test_move_item_within_and_across_collections(cal: SqlStore) -> None:
    cal.create_collection("alice/other", tag="VCALENDAR")
    cal.put_item(CAL, "a.ics", parsed("a"), origin="t")
    moved = cal.move_item(CAL, "a.ics", "alice/other", "z.ics", origin="t")
    assert moved.collection_path == "alice/other" and moved.href == "z.ics"
    assert cal.get_item(CAL, "a.ics") is None
    assert cal.changes_since(CAL, 1).hrefs == ("a.ics",)
    assert cal.changes_since("alice/other", 0).hrefs == ("z.ics",)


# -- outbox ---------------------------------------------------------------------------------

def test_outbox_rows_for_active_connections_except_origin(cal: SqlStore) -> None:
    first = add_connection(cal)
    cal.put_item(CAL, "a.ics", parsed("a"), origin="caldav")
    cal.put_item(CAL, "b.ics", parsed("b"), origin=origin_for_connection("google", first))
    cal.delete_item(CAL, "a.ics", origin="api")
    assert outbox_rows(cal) == [(first, "a", "upsert"), (first, "a", "delete")]


def test_outbox_skips_inactive_and_other_calendars(cal: SqlStore) -> None:
    cal.create_collection("alice/other", tag="VCALENDAR")
    add_connection(cal, "alice/other")
    inactive = add_connection(cal, CAL, active=False)
    assert inactive
    cal.put_item(CAL, "a.ics", parsed("a"), origin="caldav")
    assert outbox_rows(cal) == []


def test_failed_write_leaves_nothing(cal: SqlStore) -> None:
    conn_id = add_connection(cal)
    cal.put_item(CAL, "a.ics", parsed("dup"), origin="caldav")
    with pytest.raises(DuplicateUid):
        cal.put_item(CAL, "b.ics", parsed("dup"), origin="caldav")
    assert outbox_rows(cal) == [(conn_id, "dup", "upsert")]
    assert cal.changes_since(CAL, 0).revision == 1
    assert cal.get_item(CAL, "b.ics") is None


# -- time ranges ----------------------------------------------------------------------------

def hrefs_in(store: SqlStore, start: str, end: str) -> list[str]:
    return sorted(i.href for i in store.items_in_range(CAL, ts(start), ts(end), "VEVENT"))


def test_time_range_candidates(cal: SqlStore) -> None:
    cal.put_item(CAL, "single.ics", parsed("single", "20260105T100000Z", "20260105T110000Z"),
                 origin="t")
    cal.put_item(CAL, "allday.ics", parsed("allday", "20260110", "20260112"), origin="t")
    cal.put_item(CAL, "bounded.ics", parsed(
        "bounded", "20260101T080000Z", "20260101T090000Z",
        extra="RRULE:FREQ=WEEKLY;COUNT=4"), origin="t")
    cal.put_item(CAL, "forever.ics", parsed(
        "forever", "20260101T080000Z", "20260101T090000Z", extra="RRULE:FREQ=DAILY"), origin="t")
    cal.put_item(CAL, "moved.ics", parsed(
        "moved", "20260101T080000Z", "20260101T090000Z", extra="RRULE:FREQ=DAILY;COUNT=3",
        overrides="BEGIN:VEVENT\nUID:moved\nRECURRENCE-ID:20260102T080000Z\n"
                  "DTSTART:20260301T080000Z\nDTEND:20260301T090000Z\nSUMMARY:moved\n"
                  "END:VEVENT"), origin="t")
    assert hrefs_in(cal, "20260105T000000Z", "20260106T000000Z") == [
        "bounded.ics", "forever.ics", "moved.ics", "single.ics"]
    assert hrefs_in(cal, "20260111T000000Z", "20260111T120000Z") == [
        "allday.ics", "bounded.ics", "forever.ics", "moved.ics"]
    # After the bounded series ended: only the unbounded one and the moved instance's span.
    assert hrefs_in(cal, "20260201T000000Z", "20260202T000000Z") == ["forever.ics", "moved.ics"]
    assert hrefs_in(cal, "20260302T000000Z", "20270101T000000Z") == ["forever.ics"]
    assert hrefs_in(cal, "20250101T000000Z", "20251231T000000Z") == []


def test_time_range_query_uses_an_index(cal: SqlStore) -> None:
    query = ("SELECT * FROM items WHERE collection_id=1 AND component='VEVENT'"
             " AND start_ts <= 10 AND end_ts >= 5")
    with cal.engine.connect() as conn:
        if cal.engine.dialect.name == "sqlite":
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + query).all()
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = conn.exec_driver_sql("EXPLAIN " + query).all()
    assert any("INDEX" in str(row).upper() for row in plan), plan


# -- bulk -----------------------------------------------------------------------------------

def test_bulk_put_creates_updates_and_logs(cal: SqlStore) -> None:
    conn_id = add_connection(cal)
    result = cal.bulk_put(CAL, [parsed(f"u{i}") for i in range(50)], origin="import")
    assert (result.created, result.updated) == (50, 0)
    again = cal.bulk_put(CAL, [parsed("u1", summary="new"), parsed("u2")], origin="import")
    assert (again.created, again.updated) == (0, 1)
    change = cal.changes_since(CAL, 0)
    assert change.revision == 51 and len(change.hrefs) == 50
    assert len([r for r in outbox_rows(cal) if r[0] == conn_id]) == 51


def test_replace_all_items(cal: SqlStore) -> None:
    cal.put_item(CAL, "a.ics", parsed("a"), origin="t")
    cal.put_item(CAL, "b.ics", parsed("b"), origin="t")
    cal.replace_all_items(CAL, [parsed("b", summary="new"), parsed("c")], origin="t")
    assert sorted(i.uid for i in cal.list_items(CAL)) == ["b", "c"]
    assert "a.ics" in cal.changes_since(CAL, 2).hrefs


# -- concurrency ----------------------------------------------------------------------------

def test_concurrent_writers_lose_nothing(store_url: str) -> None:
    setup = open_store(store_url)
    setup.create_collection(CAL, tag="VCALENDAR")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        st = open_store(store_url, migrate=False)
        try:
            for i in range(40):
                st.put_item(CAL, f"w{n}-{i}.ics", parsed(f"w{n}-{i}"), origin="t")
                if i % 4 == 0:
                    st.delete_item(CAL, f"w{n}-{i}.ics", origin="t")
        except BaseException as exc:
            errors.append(exc)
        finally:
            st.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    items = setup.list_items(CAL)
    assert len(items) == 4 * 30
    coll = setup.get_collection(CAL)
    assert coll is not None and coll.revision == 4 * 50  # every write got its own revision
    with setup.engine.connect() as conn:
        revisions = [r[0] for r in conn.execute(select(s.changes.c.revision)).all()]
    assert sorted(revisions) == list(range(1, 201))
    setup.close()


def test_replace_all_items_is_atomic(cal: SqlStore) -> None:
    cal.put_item(CAL, "y.ics", parsed("x"), origin="t")  # uid x lives at y.ics
    cal.put_item(CAL, "old.ics", parsed("old"), origin="t")
    # uid y would be named y.ics, which x (kept) occupies: the whole replace must roll back.
    with pytest.raises(DuplicateUid):
        cal.replace_all_items(CAL, [parsed("x"), parsed("y")], origin="t")
    assert sorted(i.uid for i in cal.list_items(CAL)) == ["old", "x"]
    assert cal.changes_since(CAL, 0).revision == 2


def test_bulk_put_names_address_book_items_vcf(store: SqlStore) -> None:
    store.create_collection("alice/contacts", tag="VADDRESSBOOK")
    store.bulk_put("alice/contacts", [parsed("c1")], origin="t", suffix=".vcf")
    assert [i.href for i in store.list_items("alice/contacts")] == ["c1.vcf"]
