"""The first import lists and maps the next page while the previous one commits: pages still
commit in order, and a failure on the next page neither loses nor miscounts the committed one."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.errors import RemoteTransient
from bridge.google.provider import GoogleProvider
from bridge.store import SqlStore
from bridge.sync.apply import apply_remote
from emulators.google.server import ALICE, EmulatorServer
from tests.sync.conftest import Harness, connect, gevent, make_engine


def _seed(emu: EmulatorServer, count: int) -> None:
    for i in range(count):
        emu.hooks.external_change(ALICE, "insert", event=gevent(f"G{i}", day=1 + i % 28))


async def test_failure_on_the_next_page_keeps_the_committed_page_counted(
    emu: EmulatorServer, sync_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(emu, 10)
    cid = connect(sync_store, emu)
    engine = make_engine(sync_store, emu, page_size=4)
    h = Harness(emu, sync_store, engine, cid)
    calls = 0

    resolve = GoogleProvider.resolve

    async def flaky(self: GoogleProvider, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:  # page 2 fails while page 1 is committing
            raise RemoteTransient("listing broke")
        return await resolve(self, *args, **kwargs)

    monkeypatch.setattr(GoogleProvider, "resolve", flaky)
    assert await h.pull("import") is None  # the engine reports the error and stops
    progress = sync_store.get_connection(cid).state["import"]
    assert progress["phase"] == "running" and progress["pages"] == 1
    assert (progress["seen"], progress["created"]) == (4, 4)
    assert len(h.local()) == 4

    result = await h.pull("import")  # resumes after page 1
    assert result is not None and result.seen == 10 and result.created == 10
    progress = sync_store.get_connection(cid).state["import"]
    assert progress["phase"] == "done" and progress["pages"] == 3 and progress["seen"] == 10
    assert len(h.local()) == 10
    assert sync_store.get_connection(cid).sync_token is not None
    await engine.stop()


async def test_pages_commit_in_order_with_their_page_tokens(
    emu: EmulatorServer, sync_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(emu, 9)
    cid = connect(sync_store, emu)
    engine = make_engine(sync_store, emu, page_size=4)
    h = Harness(emu, sync_store, engine, cid)
    committed: list[tuple[int, int]] = []

    def recording(ctx: Any, batch: Any, trigger: str, **kwargs: Any) -> Any:
        result = apply_remote(ctx, batch, trigger, **kwargs)
        committed.append((kwargs["state_patch"]["import"]["pages"], len(h.local())))
        return result

    monkeypatch.setattr("bridge.sync.pull.apply_remote", recording)
    result = await h.pull("import")
    assert result is not None and result.created == 9
    assert committed == [(1, 4), (2, 8), (3, 9)]
    progress = sync_store.get_connection(cid).state["import"]
    assert progress["phase"] == "done" and progress["page_token"] is None
    await engine.stop()
