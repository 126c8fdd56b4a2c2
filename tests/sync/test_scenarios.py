"""The core sync scenarios, run once per provider (``ph``: tests/sync/providers.py).

They speak only the provider-neutral harness and the provider's remote controls, so every
provider added to ``PROVIDER_NAMES`` must pass them unchanged: import, both directions,
recurring series with an override, all-day and DST, conflicts, delete against edit, an expired
cursor, faults with retries, a revoked grant, and echo suppression.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bridge.admin.views_ledger import _conflicts
from bridge.config import load
from bridge.cpu import CpuPool
from bridge.providers.base import PROVIDER_NAMES
from bridge.store import SqlStore, open_store
from bridge.sync.service import SyncService
from tests.sync.conftest import CAL, ics
from tests.sync.providers import ProviderKit, ScenarioHarness

WEEKLY = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
    "UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20300304T090000\r\nDTEND;TZID=Europe/Berlin:20300304T100000\r\n"
    "RRULE:FREQ=WEEKLY;COUNT=6\r\nSUMMARY:Weekly\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\n"
    "UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\n"
    "RECURRENCE-ID;TZID=Europe/Berlin:20300318T090000\r\n"
    "DTSTART;TZID=Europe/Berlin:20300318T140000\r\nDTEND;TZID=Europe/Berlin:20300318T150000\r\n"
    "SUMMARY:Moved\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
ALL_DAY_DST = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
    "UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART;VALUE=DATE:20300330\r\n"
    "DTEND;VALUE=DATE:20300401\r\nSUMMARY:Away\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


async def test_connect_and_import_what_the_provider_holds(
    provider: ProviderKit, sync_store: SqlStore
) -> None:
    uids = {provider.remote.create(f"Before {i}", day=1 + i) for i in range(3)}
    cid = provider.connect(sync_store)
    engine = provider.make_engine(sync_store)
    try:
        result = await engine.pull_connection(cid, "import")
        assert result is not None and result.created == 3
        assert {i.uid for i in sync_store.list_items(CAL)} == uids
        assert sync_store.get_connection(cid).import_done
    finally:
        await engine.stop()


async def test_import_maps_big_pages_in_worker_processes(
    provider: ProviderKit, sync_store: SqlStore, tmp_path: Path
) -> None:
    """A page of at least ``min_batch`` events is mapped in worker processes (bridge.cpu): the
    import stores exactly what mapping in the engine's own process stores."""
    for i in range(12):
        provider.remote.create(f"Worker {i}", day=1 + i, hour=8 + i % 8)
    stored: list[dict[str, str]] = []
    pools = [CpuPool(0), CpuPool(2, min_batch=2)]
    other = open_store(f"sqlite:///{tmp_path}/other.db")
    try:
        for store, pool in zip((sync_store, other), pools, strict=True):
            cid = provider.connect(store)
            engine = provider.make_engine(store)
            engine.options = replace(engine.options, cpu=pool)
            try:
                result = await engine.pull_connection(cid, "import")
            finally:
                await engine.stop()
            assert result is not None and result.created == 12 and not result.errors
            stored.append({i.uid: i.text for i in store.list_items(CAL)})
    finally:
        other.close()
    assert pools[0].batches == 0 and pools[1].batches >= 1
    assert stored[0] == stored[1] and len(stored[0]) == 12


async def test_local_to_remote_and_remote_to_local(ph: ScenarioHarness) -> None:
    ph.put("local@x", summary="Booked here")
    await ph.push()
    assert ph.remote.live() == {"local@x": "Booked here"}
    uid = ph.remote.create("Booked there", day=14)
    await ph.pull()
    assert "SUMMARY:Booked there" in ph.local()[uid].text
    ph.remote.edit(uid, "Renamed there")
    await ph.pull()
    assert "SUMMARY:Renamed there" in ph.local()[uid].text
    ph.remote.delete(uid)
    await ph.sync()
    assert set(ph.local()) == {"local@x"}
    ph.delete("local@x")
    await ph.push()
    assert ph.remote.live() == {}


async def test_recurring_series_with_an_override_both_ways(ph: ScenarioHarness) -> None:
    ph.put("weekly@x", WEEKLY.format(uid="weekly@x"))
    await ph.sync()
    assert ph.remote.live() == {"weekly@x": "Weekly"}
    ph.remote.edit("weekly@x", "Weekly renamed")
    await ph.sync()
    text = ph.local()["weekly@x"].text
    assert "SUMMARY:Weekly renamed" in text and "RECURRENCE-ID" in text
    assert "SUMMARY:Moved" in text  # the override keeps its own title
    await _assert_quiet(ph)


async def test_all_day_across_the_dst_change(ph: ScenarioHarness) -> None:
    ph.put("away@x", ALL_DAY_DST.format(uid="away@x"))
    await ph.sync()
    assert ph.remote.live() == {"away@x": "Away"}
    text = ph.local()["away@x"].text
    assert "DTSTART;VALUE=DATE:20300330" in text and "DTEND;VALUE=DATE:20300401" in text
    await _assert_quiet(ph)


async def test_conflict_the_newest_edit_wins_and_the_loser_is_kept(ph: ScenarioHarness) -> None:
    ph.put("c@x", summary="Original")
    await ph.push()
    ph.put("c@x", summary="Local edit")
    ph.remote.edit("c@x", "Remote edit", later=3600)
    await ph.sync()
    assert "SUMMARY:Remote edit" in ph.local()["c@x"].text
    assert ph.remote.live()["c@x"] == "Remote edit"
    (row,) = ph.store.query_ledger(connection_id=ph.connection_id, action="conflict")
    assert row.detail["winner"] == "remote"
    assert row.detail["loser"]["side"] == "local"
    name = PROVIDER_NAMES[ph.remote_name]
    assert row.detail["reason"] == f"edited on both sides; {name} edit is newer"


async def test_a_conflict_won_here_shows_the_providers_version(ph: ScenarioHarness) -> None:
    """The losing side is the provider's own snapshot: the conflict page reads it through the
    provider's factory and names the provider (it used to read every snapshot as Google's)."""
    ph.put("w@x", summary="Original")
    await ph.push()
    ph.put("w@x", summary="Local edit")
    ph.remote.edit("w@x", "Remote edit")  # at the same moment: a tie goes to the local side
    await ph.sync()
    assert ph.remote.live()["w@x"] == "Local edit"
    (row,) = ph.store.query_ledger(connection_id=ph.connection_id, action="conflict")
    assert row.detail["winner"] == "local"
    assert row.detail["loser"]["side"] == ph.remote_name
    service = SyncService(ph.store, load("/nonexistent.toml", env={}), ph.engine)
    (view,) = _conflicts(ph.store, service, "de")
    assert (view.winner.side, view.winner.summary) == ("local", "Local edit")
    assert (view.loser.side, view.loser.summary) == (ph.remote_name, "Remote edit")
    assert view.loser.start.endswith(" Europe/Berlin")


async def test_an_edit_beats_a_delete(ph: ScenarioHarness) -> None:
    ph.put("d@x", summary="Kept")
    await ph.push()
    ph.delete("d@x")
    ph.remote.edit("d@x", "Edited there", later=60)
    await ph.sync()
    assert "SUMMARY:Edited there" in ph.local()["d@x"].text
    assert ph.remote.live() == {"d@x": "Edited there"}
    (row,) = ph.store.query_ledger(connection_id=ph.connection_id, action="conflict")
    assert row.detail["reason"] == f"deleted locally, edited on {PROVIDER_NAMES[ph.remote_name]}"


async def test_expired_cursor_relists_without_churn(ph: ScenarioHarness) -> None:
    ph.put("kept@x", summary="Kept")
    await ph.push()
    uid = ph.remote.create("New there")
    etag = ph.local()["kept@x"].etag
    ph.remote.expire_cursor()
    result = await ph.pull()
    assert result is not None and result.created == 1
    assert set(ph.local()) == {"kept@x", uid}
    assert ph.local()["kept@x"].etag == etag  # unchanged appointments are not rewritten
    await _assert_quiet(ph)


async def test_faults_are_retried_and_nothing_is_doubled(ph: ScenarioHarness) -> None:
    ph.put("f@x", summary="Despite faults")
    ph.remote.fail("insert", 503, times=1)
    await ph.push()
    await ph.push()
    assert ph.remote.live() == {"f@x": "Despite faults"}
    ph.remote.fail("list", 500, times=20)
    assert await ph.pull() is None  # the pull gives up and keeps its cursor
    ph.remote.heal()
    uid = ph.remote.create("After the outage")
    await ph.sync()
    assert set(ph.local()) == {"f@x", uid}
    assert len(ph.remote.live()) == 2


async def test_revoked_grant_needs_reconnect_and_keeps_the_queue(ph: ScenarioHarness) -> None:
    ph.remote.revoke_grant()
    ph.engine._contexts.clear()  # forget cached access tokens
    ph.put("q@x")
    await ph.push()
    record = ph.store.get_connection(ph.connection_id)
    assert record.status == "needs_reconnect"
    assert ph.store.outbox_stats(ph.connection_id).pending == 1
    assert ph.remote.live() == {}


async def test_echo_suppression_one_edit_one_write(ph: ScenarioHarness) -> None:
    ph.put("e@x", summary="Once")
    await ph.push()
    ph.remote.reset_counters()
    ph.put("e@x", ics("e@x", summary="Twice"))
    await ph.push()
    assert ph.remote.writes() == 1
    await _assert_quiet(ph)


async def _assert_quiet(ph: ScenarioHarness) -> None:
    """Another pull/push round writes nothing on either side."""
    before = {uid: item.etag for uid, item in ph.local().items()}
    ph.remote.reset_counters()
    await ph.sync(rounds=2)
    assert ph.remote.writes() == 0
    assert {uid: item.etag for uid, item in ph.local().items()} == before
    assert ph.store.outbox_stats(ph.connection_id).pending == 0
