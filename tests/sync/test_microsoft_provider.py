"""The Microsoft Graph provider against its emulator: delta paging, the moving window,
``@removed`` confirmation, ``$batch`` reads, idempotent creates, preconditions, attendees,
rotating refresh tokens, throttling and echo suppression."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from bridge.google.crypto import TokenCipher
from bridge.microsoft.client import GraphClient, ssl_context
from bridge.microsoft.delta import window_for
from bridge.microsoft.factory import MicrosoftProviderFactory, StaticTokens
from bridge.microsoft.mapping_graph import PROP_UID
from bridge.microsoft.reader import INDEX_MIN, SeriesReader
from bridge.providers.http import RetryPolicy
from bridge.store import SqlStore
from emulators.microsoft.server import ADELE, MsEmulatorServer
from tests.sync.conftest import SECRET, ics
from tests.sync.providers import (
    PRAXIS,
    MicrosoftControls,
    MsClock,
    ProviderKit,
    ScenarioHarness,
    ms_connect,
    ms_engine,
)

ATTENDEES = ("ORGANIZER:mailto:alice@example.com\r\n"
             "ATTENDEE;CN=Customer;RSVP=TRUE:mailto:customer@example.com\r\n")


@pytest.fixture
def clock() -> MsClock:
    return MsClock()


@pytest.fixture
def remote(ms_emu: MsEmulatorServer, monkeypatch: pytest.MonkeyPatch) -> MicrosoftControls:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    return MicrosoftControls(ms_emu)


async def _harness(store: SqlStore, remote: MicrosoftControls, clock: MsClock, **options: object
                   ) -> ScenarioHarness:
    kit = ProviderKit("microsoft", lambda s: ms_engine(s, remote.emu, clock, **options),
                      lambda s: ms_connect(s, remote.emu), remote)
    cid = kit.connect(store)
    harness = ScenarioHarness(None, store, kit.make_engine(store), cid,  # type: ignore[arg-type]
                              kit=kit)
    await harness.pull("import")
    return harness


@pytest.fixture
async def mh(sync_store: SqlStore, remote: MicrosoftControls, clock: MsClock
             ) -> AsyncIterator[ScenarioHarness]:
    harness = await _harness(sync_store, remote, clock)
    yield harness
    await harness.engine.stop()
    await asyncio.sleep(0)


async def test_delta_pages_follow_the_next_link(sync_store: SqlStore, remote: MicrosoftControls,
                                                clock: MsClock) -> None:
    uids = {remote.create(f"Paged {i}", day=1 + i) for i in range(5)}
    remote.reset_counters()
    harness = await _harness(sync_store, remote, clock, page_size=2)
    try:
        assert set(harness.local()) == uids
        assert remote.requests()["calendarView.delta"] >= 3  # 2 + 2 + 1 rows
        uid = remote.create("After paging", day=20)
        await harness.pull()
        assert set(harness.local()) == uids | {uid}
    finally:
        await harness.engine.stop()


async def test_the_window_moves_without_deleting_or_rewriting(mh: ScenarioHarness,
                                                              clock: MsClock) -> None:
    mh.put("march@x", summary="March 2030")
    await mh.push()
    uid = mh.remote.create("Also March", day=20)
    await mh.pull()
    before = {u: i.etag for u, i in mh.local().items()}
    ledger = len(mh.store.query_ledger(connection_id=mh.connection_id))
    clock.now = datetime(2031, 6, 15, tzinfo=UTC)  # the window now starts in June 2030
    await mh.sync()
    assert {u: i.etag for u, i in mh.local().items()} == before
    assert set(mh.remote.live()) == {"march@x", uid}
    entries = mh.store.query_ledger(connection_id=mh.connection_id)
    assert len(entries) == ledger  # nothing applied, nothing notified twice
    # A full re-list over the new window does not delete what lies before it either.
    mh.remote.expire_cursor()
    await mh.pull()
    assert {u: i.etag for u, i in mh.local().items()} == before
    assert mh.store.get_connection(mh.connection_id).paused_reason is None
    assert len(mh.store.links_by_event(mh.connection_id)) == 2
    # An event created in the new window arrives.
    created = mh.remote.emu.hooks.external_change(PRAXIS, "create", event={
        "subject": "Next year", "start": {"dateTime": "2031-07-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2031-07-01T10:00:00", "timeZone": "UTC"}})
    await mh.pull()
    assert "SUMMARY:Next year" in mh.local()[str(created["iCalUId"])].text


async def test_removed_rows_are_confirmed_before_deleting(mh: ScenarioHarness) -> None:
    mh.put("moved@x", summary="Moves away")
    await mh.push()
    event_id = mh.remote._event_id("moved@x")
    # Moved far outside the window: delta reports it @removed, but it still exists.
    mh.remote.emu.hooks.external_change(PRAXIS, "patch", event_id=event_id, event={
        "start": {"dateTime": "2040-03-10T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2040-03-10T10:00:00", "timeZone": "UTC"}})
    await mh.pull()
    moved = mh.local()["moved@x"]  # kept, and moved (the read found it changed)
    assert moved.start_ts == int(datetime(2040, 3, 10, 9, tzinfo=UTC).timestamp())
    mh.put("other@x", summary="In the window")
    await mh.push()
    # A real deletion in the window is confirmed by a 404 and applied.
    mh.remote.delete("other@x")
    await mh.pull()
    assert "other@x" not in mh.local()


async def test_follow_up_reads_go_in_one_batch(mh: ScenarioHarness) -> None:
    uids = {mh.remote.create(f"Batch {i}", day=2 + i) for i in range(3)}
    mh.remote.reset_counters()
    await mh.pull()
    assert uids <= set(mh.local())
    counts = mh.remote.requests()
    assert counts.get("batch") == 1
    assert counts.get("events.get") == 3


def _seed_many(remote: MicrosoftControls, count: int) -> set[str]:
    """``count`` Outlook events and one holding our UID property; their UIDs."""
    uids = {remote.create(f"Many {i}", day=1 + i % 28, hour=6 + i % 12) for i in range(count)}
    remote.emu.hooks.external_change(remote.calendar, "create", event={
        "subject": "Ours", "singleValueExtendedProperties": [{"id": PROP_UID,
                                                              "value": "ours@x"}],
        "start": {"dateTime": "2030-03-05T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2030-03-05T11:00:00", "timeZone": "UTC"}})
    return uids | {"ours@x"}


async def test_a_large_page_lists_the_uid_properties_instead_of_reading_each(
        sync_store: SqlStore, remote: MicrosoftControls, clock: MsClock) -> None:
    uids = _seed_many(remote, INDEX_MIN)
    remote.reset_counters()
    harness = await _harness(sync_store, remote, clock)
    try:
        assert set(harness.local()) == uids
        assert "SUMMARY:Ours" in harness.local()["ours@x"].text
        counts = remote.requests()
        assert counts.get("events.list", 0) >= 1
        assert "batch" not in counts and "events.get" not in counts
        # The next poll recognises every event as unchanged.
        before = {uid: item.etag for uid, item in harness.local().items()}
        await harness.pull()
        assert {uid: item.etag for uid, item in harness.local().items()} == before
    finally:
        await harness.engine.stop()


async def test_a_single_changed_since_its_delta_row_is_read(ms_emu: MsEmulatorServer,
                                                           remote: MicrosoftControls) -> None:
    uids = _seed_many(remote, INDEX_MIN)
    access = str(ms_emu.hooks.tokens(ADELE)["access_token"])
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            ssl=ssl_context(ms_emu.ca_path))) as session:
        client = GraphClient(graph_endpoint=ms_emu.graph_url, tokens=StaticTokens(access),
                             session=session)
        window = window_for(MsClock()())
        page = await client.delta_page(client.delta_start(PRAXIS, *window.iso()),
                                       page_size=1000)
        ours = next(r for r in page.items if r["subject"] == "Ours")
        remote.emu.hooks.external_change(PRAXIS, "patch", event_id=ours["id"],
                                         event={"subject": "Ours, edited"})
        remote.reset_counters()
        reader = SeriesReader(client, PRAXIS, calendar_tz="Europe/Berlin",
                              write_attendees=False)
        series = await reader.resolve(page.items, window)
    assert {s.uid for s in series} == uids
    assert remote.requests().get("events.get") == 1  # only the changed one
    edited = next(s for s in series if s.uid == "ours@x")
    assert edited.parsed is not None and edited.parsed.summary == "Ours, edited"


async def test_a_lost_create_answer_makes_no_second_event(mh: ScenarioHarness) -> None:
    # The first POST is stored, then answered 503; the retry carries the same transactionId.
    mh.remote.emu.hooks.fault("events.create", status=503, after=True, times=1)
    mh.put("once@x", summary="Only once")
    await mh.push()
    await mh.sync()
    assert mh.remote.live() == {"once@x": "Only once"}
    creates = [w for w in mh.remote.emu.hooks.state()["writes"] if w["op"] == "create"]
    assert len(creates) == 1


async def test_a_stale_etag_is_a_conflict_not_an_overwrite(mh: ScenarioHarness) -> None:
    mh.put("p@x", summary="Original")
    await mh.push()
    mh.remote.edit("p@x", "Remote edit", later=3600)  # newer than the local edit below
    mh.put("p@x", ics("p@x", summary="Local edit"))
    await mh.push()  # PATCH with the linked etag: 412, the series is read and planned again
    assert sum(s.by_status["412"] for _, s in mh.engine.client_stats()) == 1
    await mh.sync()
    assert mh.remote.live() == {"p@x": "Remote edit"}
    assert "SUMMARY:Remote edit" in mh.local()["p@x"].text
    rows = mh.store.query_ledger(connection_id=mh.connection_id, action="conflict")
    assert len(rows) == 1


async def test_attendees_are_never_written_by_default(mh: ScenarioHarness) -> None:
    mh.remote.emu.hooks.call("DELETE", "mail")
    mh.put("meet@x", ics("meet@x", summary="Meeting", extra=ATTENDEES))
    await mh.push()
    assert mh.remote.live() == {"meet@x": "Meeting"}
    stored = [e for e in mh.remote.masters() if e.get("subject") == "Meeting"]
    assert stored and stored[0].get("attendees") in ([], None)
    assert mh.remote.emu.hooks.mail() == []
    await mh.sync()
    assert "customer@example.com" in mh.local()["meet@x"].text  # kept locally


async def test_rotated_refresh_tokens_are_stored_sealed(
        mh: ScenarioHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cipher = TokenCipher(SECRET)
    first = mh.store.get_refresh_token(mh.connection_id)
    assert first is not None
    mh.remote.emu.hooks.call("POST", "expire_tokens", {"account": ADELE, "kind": "access"})
    mh.put("r@x", summary="After a refresh")
    await mh.push()
    newest = mh.store.get_refresh_token(mh.connection_id)
    assert newest is not None and newest != first
    token = cipher.decrypt(mh.connection_id, newest)
    assert token != cipher.decrypt(mh.connection_id, first)
    assert token.encode() not in newest
    assert token not in caplog.text
    # The stored token is the one that works: a fresh engine signs in with it.
    await mh.engine.stop()
    mh.engine = mh.kit.make_engine(mh.store) if mh.kit else mh.engine
    uid = mh.remote.create("Seen by a new process")
    await mh.pull()
    assert uid in mh.local()
    assert mh.store.get_connection(mh.connection_id).status == "ok"


async def test_throttling_waits_retry_after(ms_emu: MsEmulatorServer,
                                            remote: MicrosoftControls) -> None:
    access = str(ms_emu.hooks.tokens(ADELE)["access_token"])
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    ms_emu.hooks.fault("calendarView.delta", status=429, retry_after=3, times=1)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            ssl=ssl_context(ms_emu.ca_path))) as session:
        client = GraphClient(graph_endpoint=ms_emu.graph_url, tokens=StaticTokens(access),
                             session=session, retry=RetryPolicy(base=0.001, cap=0.002),
                             sleep=sleep)
        page = await client.delta_page(client.delta_start(PRAXIS, "2030-01-01T00:00:00Z",
                                                          "2031-01-01T00:00:00Z"))
    assert page.delta_link
    assert slept and slept[0] >= 3.0
    assert client.stats.by_status["429"] == 1


async def test_echo_suppression_and_an_idle_poll(mh: ScenarioHarness) -> None:
    mh.put("e@x", summary="Once")
    await mh.push()
    await mh.sync()
    mh.remote.reset_counters()
    mh.put("e@x", ics("e@x", summary="Twice"))
    await mh.push()
    assert mh.remote.writes() == 1
    before = {u: i.etag for u, i in mh.local().items()}
    await mh.pull()  # our own write comes back: recognised, nothing changes
    assert {u: i.etag for u, i in mh.local().items()} == before
    mh.remote.reset_counters()
    await mh.pull()
    assert mh.remote.requests() == {"calendarView.delta": 1}
    assert mh.store.get_connection(mh.connection_id).status == "ok"


async def test_a_cancelled_occurrence_becomes_an_exdate(mh: ScenarioHarness) -> None:
    from tests.sync.test_scenarios import WEEKLY

    mh.put("weekly@x", WEEKLY.format(uid="weekly@x"))
    await mh.sync()
    master = mh.remote._event_id("weekly@x")
    rows = mh.remote.graph(f"/me/events/{master}/instances?startDateTime=2030-03-01T00:00:00Z"
                           "&endDateTime=2030-05-01T00:00:00Z")["value"]
    assert len(rows) == 6
    assert [r["subject"] for r in rows if r["type"] == "exception"] == ["Moved"]
    third = next(r for r in rows if r["type"] == "occurrence"
                 and r["originalStart"].startswith("2030-03-25"))
    mh.remote.emu.hooks.external_change(PRAXIS, "delete", event_id=str(third["id"]))
    await mh.sync()
    text = mh.local()["weekly@x"].text
    assert "EXDATE;TZID=Europe/Berlin:20300325T090000" in text
    assert "SUMMARY:Moved" in text


async def test_a_cancelled_occurrence_after_a_restart_becomes_an_exdate(
        mh: ScenarioHarness) -> None:
    """After a restart the provider has not listed the series: the unknown removed id makes it
    read every series master once (and only once), which finds the cancellation."""
    from tests.sync.test_scenarios import WEEKLY

    mh.put("weekly@x", WEEKLY.format(uid="weekly@x"))
    mh.put("single@x", ics("single@x", summary="Single"))
    await mh.sync()
    master = mh.remote._event_id("weekly@x")
    rows = mh.remote.graph(f"/me/events/{master}/instances?startDateTime=2030-03-01T00:00:00Z"
                           "&endDateTime=2030-05-01T00:00:00Z")["value"]
    fourth = next(r for r in rows if r["type"] == "occurrence"
                  and r["originalStart"].startswith("2030-04-01"))
    factory = mh.engine.providers["microsoft"]
    assert isinstance(factory, MicrosoftProviderFactory)
    for index in factory._occurrences.values():  # what a restarted process knows
        index.clear()
    mh.remote.emu.hooks.external_change(PRAXIS, "delete", event_id=str(fourth["id"]))
    mh.remote.reset_counters()
    await mh.pull()
    assert "EXDATE;TZID=Europe/Berlin:20300401T090000" in mh.local()["weekly@x"].text
    assert mh.remote.requests().get("events.list") == 1
    assert mh.local()["single@x"].text.count("Single") == 1
    single = mh.remote._event_id("single@x")
    mh.remote.emu.hooks.external_change(PRAXIS, "delete", event_id=single)
    mh.remote.reset_counters()
    await mh.pull()  # an unknown removal again: the index is complete, no second read
    assert "single@x" not in mh.local()
    assert "events.list" not in mh.remote.requests()


async def test_what_outlook_cannot_hold_is_parked_not_flattened(mh: ScenarioHarness) -> None:
    rdate = ics("rdate@x", summary="Extra dates",
                extra="RRULE:FREQ=WEEKLY;COUNT=3\r\nRDATE:20300320T090000Z\r\n")
    mh.put("rdate@x", rdate)
    await mh.push()
    assert mh.remote.live() == {}
    (parked,) = mh.store.parked_outbox(mh.connection_id)
    assert "rdate" in str(parked)


async def test_watch_subscribes_below_the_public_url(mh: ScenarioHarness) -> None:
    from aiohttp import web

    received: list[dict[str, object]] = []

    async def endpoint(request: web.Request) -> web.Response:
        if "validationToken" in request.query:
            return web.Response(text=request.query["validationToken"],
                                content_type="text/plain")
        received.extend((await request.json())["value"])
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/sync/microsoft/notify", endpoint)
    app.router.add_post("/sync/microsoft/lifecycle", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        ctx = mh.engine.context(mh.store.get_connection(mh.connection_id))
        assert ctx is not None and ctx.provider.capabilities.watch
        channel = await ctx.provider.watch("chan-1", f"http://127.0.0.1:{port}/microsoft/"
                                           "notifications", "secret-state", 30 * 86400)
        (sub,) = mh.remote.emu.hooks.state()["subscriptions"]
        assert sub["id"] == channel.resource_id
        assert sub["resource"] == f"/me/calendars/{PRAXIS}/events"
        assert channel.expiry is not None
        mh.remote.create("Notified")
        for _ in range(200):
            if received:
                break
            await asyncio.sleep(0.05)
        assert received and received[0]["clientState"] == "secret-state"
        await ctx.provider.unwatch("chan-1", channel.resource_id)
        assert mh.remote.emu.hooks.state()["subscriptions"] == []
    finally:
        await runner.cleanup()
