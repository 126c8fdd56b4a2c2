"""Issue 12 item 7: one conflict, one open conflict row, whichever trigger (the poll or the
outbox push) sees it first, and the admin can still resolve it."""

from __future__ import annotations

import pytest

from bridge.admin.views_ledger import _conflicts
from bridge.config import load
from bridge.google.ids import event_id
from bridge.sync.service import SyncService
from emulators.google.server import ALICE, CLIENT_ID, CLIENT_SECRET
from tests.sync.conftest import CAL, SECRET, Harness


def open_conflicts(h: Harness, uid: str) -> list[object]:
    return h.store.query_ledger(connection_id=h.connection_id, action="conflict",
                                outcome="open", uid=uid)


async def linked(h: Harness, uid: str) -> str:
    h.put(uid, summary="Original")
    await h.push()
    return event_id(CAL, uid)


async def _meet_twice(h: Harness, first: str) -> None:
    """Let the poll and the push both meet the conflict, ``first`` first, then settle."""
    if first == "poll":
        await h.pull()
        await h.push()
    else:
        await h.push()
        await h.pull()
    await h.sync()


@pytest.mark.parametrize("first", ["poll", "outbox"])
async def test_google_edit_then_phone_edit_gives_one_conflict_row(h: Harness, first: str
                                                                  ) -> None:
    eid = await linked(h, "both@x")
    h.emu.hooks.external_change(ALICE, "patch", event_id=eid, event={"summary": "Google"})
    h.put("both@x", summary="Phone")  # not 2 s older than the Google edit: local wins
    await _meet_twice(h, first)
    rows = open_conflicts(h, "both@x")
    assert len(rows) == 1, [(r.trigger, r.detail.get("reason")) for r in rows]
    assert h.google()[eid]["summary"] == "Phone"


@pytest.mark.parametrize("first", ["poll", "outbox"])
async def test_google_delete_vs_phone_edit_gives_one_conflict_row(h: Harness, first: str
                                                                   ) -> None:
    eid = await linked(h, "gone@x")
    h.emu.hooks.external_change(ALICE, "delete", event_id=eid)
    h.put("gone@x", summary="Still on")
    await _meet_twice(h, first)
    rows = open_conflicts(h, "gone@x")
    assert len(rows) == 1, [(r.trigger, r.detail.get("reason")) for r in rows]
    assert h.google()[eid]["summary"] == "Still on"


@pytest.mark.parametrize("first", ["poll", "outbox"])
async def test_phone_delete_vs_google_edit_gives_one_conflict_row(h: Harness, first: str
                                                                   ) -> None:
    eid = await linked(h, "back@x")
    h.delete("back@x")
    h.emu.hooks.external_change(ALICE, "patch", event_id=eid, event={"summary": "Kept"})
    await _meet_twice(h, first)
    rows = open_conflicts(h, "back@x")
    assert len(rows) == 1, [(r.trigger, r.detail.get("reason")) for r in rows]
    assert "SUMMARY:Kept" in h.local()["back@x"].text


async def test_admin_sees_and_resolves_the_one_conflict(h: Harness) -> None:
    eid = await linked(h, "admin@x")
    h.emu.hooks.external_change(ALICE, "patch", event_id=eid, event={"summary": "Google"})
    h.put("admin@x", summary="Phone")
    await h.pull()
    await h.push()
    service = _service(h)
    views = _conflicts(h.store, service)
    assert [(v.record.uid, v.winner.summary, v.loser.summary) for v in views] == [
        ("admin@x", "Phone", "Google")]
    service.resolve_conflict(views[0].record.id, "loser")  # bring Google's version back
    await h.push()
    assert h.google()[eid]["summary"] == "Google"
    assert "SUMMARY:Google" in h.local()["admin@x"].text
    assert _conflicts(h.store, service) == []
    assert h.store.get_ledger(views[0].record.id).outcome == "resolved"


async def test_a_later_conflict_supersedes_the_open_one(h: Harness) -> None:
    eid = await linked(h, "twice@x")
    for n in (1, 2):
        h.emu.hooks.external_change(ALICE, "patch", event_id=eid,
                                    event={"summary": f"Google {n}"})
        h.put("twice@x", summary=f"Phone {n}")
        await h.pull()
        await h.push()
    rows = h.store.query_ledger(connection_id=h.connection_id, action="conflict",
                                uid="twice@x")
    assert [r.outcome for r in rows] == ["open", "superseded"]
    assert rows[0].detail["supersedes"] == [rows[1].id]
    # Both losing versions stay in the ledger.
    assert rows[0].detail["loser"]["event"]["master"]["summary"] == "Google 2"
    assert rows[1].detail["loser"]["event"]["master"]["summary"] == "Google 1"
    assert h.google()[eid]["summary"] == "Phone 2"


def _service(h: Harness) -> SyncService:
    settings = load("/nonexistent.toml", env={}).with_overrides(
        google={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "token_uri": h.emu.token_uri, "api_endpoint": h.emu.api_endpoint},
        security={"secret_key": SECRET})
    return SyncService(h.store, settings, h.engine)
