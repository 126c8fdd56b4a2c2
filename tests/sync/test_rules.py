"""One test per rule of design-brief §4, through the real client against the emulator."""

from __future__ import annotations

import asyncio

from bridge.google.crypto import TokenCipher
from bridge.google.ids import event_id
from emulators.google.server import ALICE
from tests.sync.conftest import CAL, SECRET, Harness, connect, gevent, ics, make_engine


async def test_rule1_no_duplicates_deterministic_id_and_409(h: Harness) -> None:
    h.put("booking-1@termin")
    # Crash simulation: the event already exists on Google (a push whose answer got lost).
    h.emu.hooks.fault("calendar.events.insert", status=503, times=1)
    await h.push()
    await h.push()
    eid = event_id(CAL, "booking-1@termin")
    assert set(h.google_masters()) == {eid}
    # Forget the link as if we crashed after Google's answer, then push again: 409 → linked.
    h.store.delete_link(h.connection_id, "booking-1@termin")
    h.put("booking-1@termin", summary="Haircut")  # same content re-queued
    await h.push()
    assert set(h.google_masters()) == {eid}
    assert h.store.get_link(h.connection_id, "booking-1@termin") is not None
    # Items from Google keep Google's iCalUID.
    created = h.emu.hooks.external_change(ALICE, "insert", event=gevent("From Google"))
    await h.pull()
    ical_uid = created.get("iCalUID") or h.google()[created["id"]]["iCalUID"]
    assert ical_uid in h.local()


async def test_rule2_no_loss_outbox_and_token_in_one_transaction(h: Harness) -> None:
    # The outbox row is written with the item, in the same commit.
    h.put("a@x")
    assert h.store.outbox_stats(h.connection_id).pending == 1
    # A pull that fails mid-way stores no token and no changes; the retry converges.
    for i in range(3):
        h.emu.hooks.external_change(ALICE, "insert", event=gevent(f"G{i}", day=3 + i))
    token_before = h.store.get_connection(h.connection_id).sync_token
    h.emu.hooks.fault("calendar.events.list", status=500, times=20)
    assert await h.pull() is None
    assert h.store.get_connection(h.connection_id).sync_token == token_before
    assert len(h.local()) == 1
    h.emu.hooks.clear_faults()
    await h.sync()
    assert len(h.local()) == 4
    assert len(h.google_masters()) == 4


async def test_rule3_no_echo_no_ping_pong(h: Harness) -> None:
    h.put("echo@x")
    await h.push()
    h.emu.hooks.reset_counters()
    writes_before = h.store.list_items(CAL)[0].etag
    await h.sync(rounds=3)
    state = h.emu.hooks.state()
    # Our own write came back in the pull and was recognised: no writes either way.
    assert state["writes"] == []
    assert h.store.list_items(CAL)[0].etag == writes_before
    # A formatting-only local rewrite (property order, DTSTAMP) is not a change.
    text = ics("echo@x").replace("DTSTAMP:20300101T000000Z", "DTSTAMP:20310101T000000Z")
    h.put("echo@x", text)
    h.emu.hooks.reset_counters()
    await h.push()
    assert h.emu.hooks.state()["api_requests_total"] == 0


async def test_rule4_conflict_policy_newest_edit_wins_and_ledger(h: Harness) -> None:
    h.put("c@x", summary="Original")
    await h.push()
    eid = event_id(CAL, "c@x")
    # Local edit now; the Google edit an hour later on Google's clock → Google wins.
    h.put("c@x", summary="Local edit")
    h.emu.hooks.advance_clock(3600)
    h.emu.hooks.external_change(ALICE, "patch", event_id=eid, event={"summary": "Google edit"})
    await h.sync()
    assert "SUMMARY:Google edit" in h.local()["c@x"].text
    assert h.google()[eid]["summary"] == "Google edit"
    conflicts = h.store.query_ledger(connection_id=h.connection_id, action="conflict")
    assert conflicts and conflicts[0].detail["winner"] == "remote"
    assert "Local edit" in conflicts[0].detail["loser"]["text"]
    # Google edit first (no clock move), local edit later → local wins.
    h.emu.hooks.external_change(ALICE, "patch", event_id=eid, event={"summary": "G2"})
    # Each side's edit is measured from its own last sync, taken at slightly different moments:
    # a margin well above a busy machine's scheduling delays keeps "later" unambiguous.
    await asyncio.sleep(1.0)
    h.put("c@x", summary="L2")
    await h.sync()
    assert h.google()[eid]["summary"] == "L2"
    assert "SUMMARY:L2" in h.local()["c@x"].text
    latest = h.store.query_ledger(connection_id=h.connection_id, action="conflict")[0]
    assert latest.detail["winner"] == "local"
    assert latest.detail["loser"]["side"] == "google"


async def test_rule5_cancelled_is_deleted_and_410_relists_without_churn(h: Harness) -> None:
    for i in range(4):
        h.emu.hooks.external_change(ALICE, "insert", event=gevent(f"G{i}", day=3 + i))
    await h.pull()
    assert len(h.local()) == 4
    victim = next(iter(h.google_masters()))
    h.emu.hooks.external_change(ALICE, "delete", event_id=victim)
    await h.pull()
    assert len(h.local()) == 3
    # Sync token dies; one event deleted in the gap; the rest must not be rewritten.
    revision = h.store.get_collection(CAL).revision  # type: ignore[union-attr]
    second = next(iter(h.google_masters()))
    h.emu.hooks.external_change(ALICE, "delete", event_id=second)
    h.emu.hooks.expire_sync_tokens(ALICE)
    await h.pull()
    assert len(h.local()) == 2
    change = h.store.changes_since(CAL, revision)
    assert len(change.hrefs) == 1  # only the deletion, no churn for phones


async def test_rule5_if_match_412_replans(h: Harness) -> None:
    h.put("m@x", summary="One")
    await h.push()
    eid = event_id(CAL, "m@x")
    h.emu.hooks.external_change(ALICE, "patch", event_id=eid, event={"description": "note"})
    h.put("m@x", summary="Two")  # the link's etag is now stale → 412 → fetch → plan again
    await h.push()
    assert h.google()[eid]["summary"] == "Two"
    assert len(h.google_masters()) == 1


async def test_rule5_invalid_grant_needs_reconnect_and_replays(h: Harness) -> None:
    h.emu.hooks.config(refresh_token_ttl=1)
    h.emu.hooks.advance_clock(7200)
    h.engine._contexts.clear()  # forget cached access tokens
    h.put("q@x")
    await h.push()
    record = h.store.get_connection(h.connection_id)
    assert record.status == "needs_reconnect"
    assert h.store.outbox_stats(h.connection_id).pending >= 1
    h.put("q2@x")  # local edits keep queueing
    # Reconnect: a new token, status ok, the queue replays.
    h.emu.hooks.config(refresh_token_ttl=None)
    tokens = h.emu.hooks.issue_tokens(ALICE)
    h.store.set_refresh_token(h.connection_id, TokenCipher(SECRET).encrypt(
        h.connection_id, tokens["refresh_token"]))
    h.store.update_connection(h.connection_id, status="ok", last_error=None)
    await h.push()
    assert {event_id(CAL, "q@x"), event_id(CAL, "q2@x")} <= set(h.google_masters())


async def test_rule6_safety_valve_pauses_mass_deletion(h: Harness) -> None:
    for i in range(10):
        h.emu.hooks.external_change(ALICE, "insert", event=gevent(f"G{i}", day=1 + i))
    await h.pull()
    assert len(h.local()) == 10
    for eid in list(h.google_masters())[:8]:
        h.emu.hooks.external_change(ALICE, "delete", event_id=eid)
    await h.pull()
    record = h.store.get_connection(h.connection_id)
    assert record.paused_reason and "delete 8 of 10" in record.paused_reason
    assert len(h.local()) == 10  # nothing deleted yet
    await h.engine.pull_connection(h.connection_id, "confirmed", confirmed=True)
    h.store.update_connection(h.connection_id, paused_reason=None)
    assert len(h.local()) == 2


async def test_rule6_empty_google_list_pauses(h: Harness) -> None:
    for i in range(3):
        h.emu.hooks.external_change(ALICE, "insert", event=gevent(f"G{i}", day=1 + i))
    await h.pull()
    for eid in list(h.google_masters()):
        h.emu.hooks.external_change(ALICE, "delete", event_id=eid)
    h.emu.hooks.expire_sync_tokens(ALICE)
    h.emu.hooks.advance_clock(40 * 86400)  # tombstones gone from a full list
    await h.pull()
    assert h.store.get_connection(h.connection_id).paused_reason
    assert len(h.local()) == 3


async def test_rule7_first_import_with_and_without_local_push(emu, sync_store) -> None:  # type: ignore[no-untyped-def]
    sync_store.create_user("alice", "x")
    sync_store.create_collection(CAL, tag="VCALENDAR", timezone="Europe/Berlin")
    from tests.sync.conftest import Harness as H

    for i in range(30):
        emu.hooks.external_change(ALICE, "insert", event=gevent(f"G{i}", day=1 + i % 28))
    cid = connect(sync_store, emu, import_now=False)
    engine = make_engine(sync_store, emu, page_size=7)
    h = H(emu, sync_store, engine, cid)
    h.put("pre-existing@x")  # before activation: not queued
    from bridge.sync.service import SyncService
    from tests.sync.conftest import endpoints_for

    del endpoints_for
    preview = await SyncService(sync_store, _settings(emu), engine).preview_import(cid)
    assert preview["created"] == 30 and preview["local_items"] == 1
    assert len(h.local()) == 1  # dry run wrote nothing
    service = SyncService(sync_store, _settings(emu), engine)
    service.start_import(cid, push_existing=True)
    await h.pull("import")
    progress = service.import_progress(cid)
    assert progress["phase"] == "done" and progress["seen"] == 30 and progress["pages"] == 5
    await h.push()
    assert len(h.local()) == 31
    assert event_id(CAL, "pre-existing@x") in h.google_masters()
    assert len(h.google_masters()) == 31
    await engine.stop()


def _settings(emu):  # type: ignore[no-untyped-def]
    from bridge.config import load

    return load("/nonexistent.toml", env={}).with_overrides(
        google={"client_id": "test-client.apps.googleusercontent.com",
                "client_secret": "test-secret", "token_uri": emu.token_uri,
                "auth_uri": emu.base_url + "/o/oauth2/v2/auth",
                "revoke_uri": emu.base_url + "/revoke", "api_endpoint": emu.api_endpoint},
        security={"secret_key": "test-secret-key-for-sync"})


async def test_rule8_real_time_push_wakes_on_commit(h: Harness) -> None:
    await h.engine.start()
    try:
        h.put("rt@x")
        for _ in range(100):
            if event_id(CAL, "rt@x") in h.google_masters():
                break
            await asyncio.sleep(0.02)
        assert event_id(CAL, "rt@x") in h.google_masters()
    finally:
        await h.engine.stop()
