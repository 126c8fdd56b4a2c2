"""Feed rows on SQLite and PostgreSQL: hashed tokens, lookup, rotate, revoke, migration."""

from __future__ import annotations

import secrets

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, select, text

from bridge.errors import NotFound
from bridge.store import SqlStore
from bridge.store import schema as s
from bridge.store.feeds import FEED_TOKEN_RE, InvalidFeedSettings, hash_feed_token
from tests.feeds.conftest import CAL, fill


def test_create_lookup_list(store: SqlStore) -> None:
    fill(store, texts=[])
    feed, token = store.create_feed(CAL, privacy="busy", past_days=7, future_days=90,
                                    label="front desk")
    assert FEED_TOKEN_RE.fullmatch(token)
    assert (feed.privacy, feed.past_days, feed.future_days, feed.label) == (
        "busy", 7, 90, "front desk")
    assert feed.active and feed.last_used_at is None and feed.collection_path == CAL
    found = store.feed_for_token_hash(hash_feed_token(token))
    assert found is not None
    assert found[0] == feed
    assert found[1].path == CAL and found[1].display_name == "Alice's Work"
    assert store.feed_for_token_hash(hash_feed_token(token + "x")) is None
    _other, _ = store.create_feed(CAL)
    assert [f.id for f in store.list_feeds()] == [feed.id, _other.id]
    assert [f.id for f in store.list_feeds(CAL)] == [feed.id, _other.id]
    assert store.list_feeds("alice/other") == []


def test_only_the_hash_is_stored(store: SqlStore) -> None:
    fill(store, texts=[])
    _feed, token = store.create_feed(CAL)
    with store.engine.connect() as conn:
        rows = conn.execute(select(s.feeds)).all()
    dump = repr(rows)
    assert token not in dump and hash_feed_token(token) in dump


def test_revoke_rotate_touch_update(store: SqlStore) -> None:
    fill(store, texts=[])
    feed, token = store.create_feed(CAL)
    store.touch_feed(feed.id, at=1234.0)
    assert store.get_feed(feed.id).last_used_at == 1234.0  # type: ignore[union-attr]
    revoked = store.revoke_feed(feed.id)
    assert not revoked.active and revoked.version > feed.version
    assert store.feed_for_token_hash(hash_feed_token(token)) is None
    rotated, new_token = store.rotate_feed(feed.id)
    assert rotated.active and new_token != token
    assert store.feed_for_token_hash(hash_feed_token(token)) is None
    assert store.feed_for_token_hash(hash_feed_token(new_token)) is not None
    updated = store.update_feed(feed.id, privacy="full", future_days=10)
    assert (updated.privacy, updated.future_days) == ("full", 10)
    assert updated.version > rotated.version
    with pytest.raises(InvalidFeedSettings):
        store.update_feed(feed.id, privacy="everything")  # type: ignore[arg-type]
    with pytest.raises(InvalidFeedSettings):
        store.create_feed(CAL, past_days=-1)
    with pytest.raises(NotFound):
        store.revoke_feed(9999)
    with pytest.raises(NotFound):
        store.create_feed("alice/nope")
    assert store.get_feed(9999) is None


def test_feeds_go_with_their_calendar(store: SqlStore) -> None:
    fill(store, texts=[])
    _feed, token = store.create_feed(CAL)
    store.delete_collection(CAL)
    assert store.list_feeds() == []
    assert store.feed_for_token_hash(hash_feed_token(token)) is None


def test_migration_matches_metadata(store: SqlStore) -> None:
    only_feeds = MetaData()
    s.feeds.to_metadata(only_feeds)
    s.collections.to_metadata(only_feeds)
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(context, only_feeds)
                if "feeds" in repr(d) and d[0] != "remove_table"]
        assert diff == []
        assert conn.execute(text("SELECT count(*) FROM feeds")).scalar_one() == 0


def test_random_tokens_never_hit(sqlite_url: str) -> None:
    from bridge.store import open_store

    store = open_store(sqlite_url)
    fill(store, texts=[])
    issued = {hash_feed_token(store.create_feed(CAL)[1]) for _ in range(20)}
    with store.engine.connect() as conn:
        stored = {r.token_hash for r in conn.execute(select(s.feeds.c.token_hash))}
    assert stored == issued
    # 10^6 guesses of well-formed tokens: none hashes to a live feed.
    assert not any(hash_feed_token(secrets.token_urlsafe(32)) in stored
                   for _ in range(1_000_000))
    store.close()
