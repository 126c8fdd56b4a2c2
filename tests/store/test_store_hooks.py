"""The store's hooks: item-write hooks inside the transaction, commit listeners after it."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from bridge.model import ItemRecord
from bridge.notify.hooks import Notifier, notifier
from bridge.store import SqlStore
from bridge.store import schema as s
from bridge.store.hooks import ItemWrite, Signal, WriteTx
from radicale_plugins.store_registry import store_for, unregister_store
from tests.helpers import parsed

CAL = "alice/work"


@pytest.fixture
def cal(store: SqlStore) -> SqlStore:
    store.create_collection(CAL, tag="VCALENDAR", timezone="Europe/Berlin")
    return store


class Recorder:
    """An item-write hook remembering what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[bool, ItemWrite]] = []

    def __call__(self, tx: WriteTx, write: ItemWrite) -> None:
        self.seen.append((tx.importing, write))

    def summary(self) -> list[tuple[str | None, str | None]]:
        return [(w.old.summary if w.old else None, w.new.summary if w.new else None)
                for _, w in self.seen]


def test_item_write_hooks_see_old_and_new_records(cal: SqlStore) -> None:
    hook = Recorder()
    cal.hooks.on_item_write("test", hook)
    cal.put_item(CAL, "a.ics", parsed("a", summary="one"), origin="caldav")
    cal.put_item(CAL, "a.ics", parsed("a", summary="two"), origin="api")
    cal.bulk_put(CAL, [parsed("b", summary="bulk"), parsed("a", summary="three")],
                 origin="import")
    cal.replace_all_items(CAL, [parsed("b", summary="bulk")], origin="caldav")
    assert hook.summary() == [(None, "one"), ("one", "two"), (None, "bulk"),
                              ("two", "three"), ("three", None)]
    for _, write in hook.seen:
        for record in (write.old, write.new):
            assert record is None or isinstance(record, ItemRecord)
    _, created = hook.seen[2]
    assert created.new is not None and created.new.collection_path == CAL
    assert created.href == created.new.href and created.uid == "b"
    assert created.origin == "import"
    # The bulk record equals what a read returns.
    assert cal.get_item(CAL, created.href) == created.new
    cal.delete_item(CAL, created.href, origin="caldav")
    _, deleted = hook.seen[-1]
    assert deleted.new is None and deleted.old is not None and deleted.old.summary == "bulk"


def test_a_failing_hook_rolls_the_write_back(cal: SqlStore) -> None:
    def refuse(_tx: WriteTx, _write: ItemWrite) -> None:
        raise RuntimeError("no")

    cal.hooks.on_item_write("refuse", refuse)
    revision = cal.get_collection(CAL).revision  # type: ignore[union-attr]
    with pytest.raises(RuntimeError):
        cal.put_item(CAL, "a.ics", parsed("a"), origin="caldav")
    assert cal.get_item(CAL, "a.ics") is None
    assert cal.get_collection(CAL).revision == revision  # type: ignore[union-attr]
    cal.hooks.remove_item_write("refuse")
    cal.put_item(CAL, "a.ics", parsed("a"), origin="caldav")
    assert cal.get_item(CAL, "a.ics") is not None


def test_hook_rows_commit_with_the_item(cal: SqlStore) -> None:
    def note(tx: WriteTx, write: ItemWrite) -> None:
        tx.conn.execute(insert(s.reminder_series).values(
            collection_id=write.collection_id, uid=write.uid, planned_until=1.0,
            updated_at=0.0))

    cal.hooks.on_item_write("note", note)
    cal.put_item(CAL, "a.ics", parsed("a"), origin="caldav")
    with cal.engine.connect() as conn:
        assert conn.execute(select(s.reminder_series.c.uid)).scalars().all() == ["a"]


def test_a_hook_replaces_the_one_of_its_name(cal: SqlStore) -> None:
    first, second = Recorder(), Recorder()
    cal.hooks.on_item_write("x", first)
    cal.hooks.on_item_write("x", second)
    assert cal.hooks.item_write_hook("x") is second
    cal.put_item(CAL, "a.ics", parsed("a"), origin="caldav")
    assert first.seen == [] and len(second.seen) == 1


def test_run_transaction_marks_imports_and_nested_calls_join(cal: SqlStore) -> None:
    hook = Recorder()
    cal.hooks.on_item_write("test", hook)
    fired: list[str] = []
    cal.hooks.add_listener(Signal.OUTBOX_QUEUED, lambda: fired.append("outbox"))

    def page() -> None:
        cal.put_item(CAL, "a.ics", parsed("a"), origin="google:1")
        cal.put_item(CAL, "b.ics", parsed("b"), origin="google:1")
        assert fired == []

    cal.run_transaction(page, importing=True)
    cal.run_transaction(lambda: cal.put_item(CAL, "c.ics", parsed("c"), origin="caldav"))
    assert [importing for importing, _ in hook.seen] == [True, True, False]
    assert fired == []  # no connection: no outbox rows, no signal


def _add_connection(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        coll = conn.execute(select(s.collections.c.id).where(s.collections.c.path == CAL)).one()
        conn.execute(insert(s.connections).values(collection_id=coll.id, active=True,
                                                  created_at=0.0, updated_at=0.0))


def test_commit_listeners_run_once_after_the_commit(cal: SqlStore) -> None:
    _add_connection(cal)
    seen: list[Any] = []

    def listener() -> None:
        # After the commit: a fresh read sees the item.
        seen.append(cal.get_item(CAL, "a.ics") is not None)

    def broken() -> None:
        raise RuntimeError("listener bug")

    cal.hooks.add_listener(Signal.OUTBOX_QUEUED, broken)
    cal.hooks.add_listener(Signal.OUTBOX_QUEUED, listener)

    def page() -> None:
        cal.put_item(CAL, "a.ics", parsed("a"), origin="caldav")
        cal.put_item(CAL, "b.ics", parsed("b"), origin="caldav")

    cal.run_transaction(page)
    assert seen == [True]  # one call for the whole transaction, the broken one did not stop it
    cal.hooks.remove_listener(Signal.OUTBOX_QUEUED, listener)
    cal.put_item(CAL, "c.ics", parsed("c"), origin="caldav")
    assert seen == [True]


def test_a_rolled_back_transaction_signals_nothing(cal: SqlStore) -> None:
    _add_connection(cal)
    fired: list[str] = []
    cal.hooks.add_listener(Signal.OUTBOX_QUEUED, lambda: fired.append("outbox"))

    def page() -> None:
        cal.put_item(CAL, "a.ics", parsed("a"), origin="caldav")
        raise KeyError("abort")

    with pytest.raises(KeyError):
        cal.run_transaction(page)
    assert fired == [] and cal.get_item(CAL, "a.ics") is None


def test_every_product_opening_installs_the_notification_hook(
    store: SqlStore, sqlite_url: str
) -> None:
    assert isinstance(notifier(store), Notifier)  # the fixture opens like the product

    class Configuration:
        def get_raw(self, _section: str, _option: str) -> str:
            return sqlite_url

    opened = store_for(Configuration())  # standalone Radicale: no settings, default policy
    try:
        assert isinstance(notifier(opened), Notifier)
    finally:
        unregister_store(sqlite_url)
        opened.close()


def test_the_store_imports_no_feature_package() -> None:
    root = Path(__file__).resolve().parents[2] / "bridge" / "store"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith(("bridge.notify", "bridge.sync", "bridge.google")), (
                    path.name, name)
