"""Pending connect flows in the store: single use, TTL, clean-up (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time

from bridge.store import SqlStore


def _add(store: SqlStore, key: str, ttl: float = 600.0) -> None:
    store.add_oauth_flow(key, session_ref="s", collection_path="alice/work",
                         redirect_uri="http://127.0.0.1/oauth2/callback",
                         verifier_enc=b"\x00sealed\xff", ttl=ttl)


def test_take_is_single_use_and_returns_the_row(store: SqlStore) -> None:
    _add(store, "a" * 64)
    row = store.take_oauth_flow("a" * 64)
    assert row is not None and row.verifier_enc == b"\x00sealed\xff"
    assert row.session_ref == "s" and row.collection_path == "alice/work"
    assert "sealed" not in repr(row)
    assert store.take_oauth_flow("a" * 64) is None
    assert store.count_oauth_flows() == 0


def test_concurrent_takes_hand_the_flow_out_once(store: SqlStore) -> None:
    for i in range(5):
        _add(store, f"{i:064d}")
    got: list[object] = []

    def take(key: str) -> None:
        got.append(store.take_oauth_flow(key))

    threads = [threading.Thread(target=take, args=(f"{i % 5:064d}",)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for g in got if g is not None) == 5
    assert store.count_oauth_flows() == 0


def test_expired_flows_are_refused_and_purged(store: SqlStore) -> None:
    _add(store, "b" * 64, ttl=600)
    _add(store, "c" * 64, ttl=600)
    now = time.time()
    store.clock = lambda: now + 601
    assert store.take_oauth_flow("b" * 64) is None
    assert store.count_oauth_flows() == 0  # the other expired row went with it
    store.clock = time.time
    _add(store, "d" * 64, ttl=-1)
    assert store.purge_oauth_flows() == 1
