"""Exchange (EWS) specifics beyond the scenario suite, against the EWS emulator with exchangelib
unmodified: ChangeKey conflicts, throttling back-off, an invalid SyncState, recurring series with
moved and deleted occurrences both ways, the idle poll, idempotent creates, and the login test
(discover) with its refusals."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bridge.errors import CursorExpired, FlowError, RemoteTransient
from bridge.exchange.client import EwsClient, make_account
from bridge.exchange.factory import ExchangeOptions, ExchangeProviderFactory
from bridge.exchange.provider import ExchangeProvider
from bridge.google.crypto import TokenCipher
from bridge.providers import netguard
from bridge.providers.base import RemoteChanged, ServerLogin
from bridge.providers.netguard import NetGuard, parse_networks
from bridge.store import SqlStore
from emulators.ews.server import ADELE, ADELE_PASSWORD, EwsEmulatorServer, basic_seed
from tests.sync.conftest import SECRET, TZ, fast_options, ics
from tests.sync.providers import ExchangeControls, ProviderKit, ScenarioHarness, exchange_kit
from tests.sync.test_scenarios import WEEKLY

SERIES = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
    "UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20300304T090000\r\nDTEND;TZID=Europe/Berlin:20300304T100000\r\n"
    "RRULE:FREQ=WEEKLY;COUNT=6\r\nEXDATE;TZID=Europe/Berlin:20300311T090000\r\n"
    "SUMMARY:Weekly\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\n"
    "UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\n"
    "RECURRENCE-ID;TZID=Europe/Berlin:20300318T090000\r\n"
    "DTSTART;TZID=Europe/Berlin:20300318T140000\r\nDTEND;TZID=Europe/Berlin:20300318T150000\r\n"
    "SUMMARY:Moved\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
async def xh(request: pytest.FixtureRequest, sync_store: SqlStore
             ) -> AsyncIterator[ScenarioHarness]:
    """A connected, imported harness on Adele's "Praxis" calendar."""
    kit: ProviderKit = exchange_kit(request)
    cid = kit.connect(sync_store)
    engine = kit.make_engine(sync_store)
    harness = ScenarioHarness(getattr(kit.remote, "emu", None), sync_store, engine, cid, kit=kit)
    await harness.pull("import")
    yield harness
    await engine.stop()


def controls(xh: ScenarioHarness) -> ExchangeControls:
    remote = xh.remote
    assert isinstance(remote, ExchangeControls)
    return remote


def provider(remote: ExchangeControls, max_wait: int = 5) -> ExchangeProvider:
    import asyncio

    account = make_account(remote.login(), max_connections=2, max_wait=max_wait)
    return ExchangeProvider(EwsClient(account, remote.folder_id(),
                                      limiter=asyncio.Semaphore(2)), calendar_tz=TZ)


def stored(remote: ExchangeControls) -> list[dict[str, Any]]:
    return remote.emu.hooks.items(remote.folder_id())


async def test_a_stale_changekey_is_a_conflict_not_an_overwrite(xh: ScenarioHarness) -> None:
    xh.put("p@x", summary="Original")
    await xh.push()
    xh.remote.edit("p@x", "Remote edit", later=3600)  # newer than the local edit below
    xh.put("p@x", ics("p@x", summary="Local edit"))
    await xh.push()  # UpdateItem NeverOverwrite with the linked ChangeKey: a conflict
    assert sum(s.by_status["412"] for _, s in xh.engine.client_stats()) == 1
    await xh.sync()
    assert xh.remote.live() == {"p@x": "Remote edit"}
    assert "SUMMARY:Remote edit" in xh.local()["p@x"].text
    assert len(xh.store.query_ledger(connection_id=xh.connection_id, action="conflict")) == 1


async def test_update_with_an_old_changekey_raises_remote_changed(ews_emu: EwsEmulatorServer
                                                                   ) -> None:
    remote = ExchangeControls(ews_emu)
    prov = provider(remote)
    written = await prov.create(ics("k@x", summary="One"), key=None, gone=None, link=None)
    await prov.update(written.event_id, ics("k@x", summary="Two"), etag=written.etag,
                      fetched=None, link=None)
    with pytest.raises(RemoteChanged) as caught:
        await prov.update(written.event_id, ics("k@x", summary="Three"), etag=written.etag,
                          fetched=None, link=None)
    assert caught.value.series.etag != written.etag
    assert remote.live() == {"k@x": "Two"}
    # The same UID again is no second item: the first one is handed back.
    with pytest.raises(RemoteChanged):
        await prov.create(ics("k@x", summary="One"), key=None, gone=None, link=None)
    assert len(stored(remote)) == 1


async def test_server_busy_back_off_is_honoured_and_bounded(ews_emu: EwsEmulatorServer) -> None:
    remote = ExchangeControls(ews_emu)
    prov = provider(remote, max_wait=5)
    ews_emu.hooks.fault("SyncFolderItems", code="ErrorServerBusy", back_off_ms=1500, times=1)
    began = time.monotonic()
    page = await prov.list_page(None, None, 100)
    assert time.monotonic() - began >= 1.4  # waited what the server asked
    assert page.cursor is not None
    assert ews_emu.hooks.state()["throttled"] == 1
    # A back-off beyond max_wait is not waited for: the call fails as transient at once.
    ews_emu.hooks.fault("SyncFolderItems", code="ErrorServerBusy", back_off_ms=600_000,
                        times=None)
    began = time.monotonic()
    with pytest.raises(RemoteTransient):
        await prov.list_page(page.cursor, None, 100)
    assert time.monotonic() - began < 60


async def test_an_invalid_sync_state_relists_without_duplicates(xh: ScenarioHarness) -> None:
    remote = controls(xh)
    for i in range(3):
        xh.put(f"mine{i}@x", summary=f"Mine {i}")
    await xh.push()
    theirs = remote.create("Theirs", day=20)
    await xh.sync()
    assert len(stored(remote)) == 4 and len(xh.local()) == 4
    etags = {uid: item.etag for uid, item in xh.local().items()}
    remote.expire_cursor()
    with pytest.raises(CursorExpired):
        cursor = xh.store.get_connection(xh.connection_id).sync_token
        await provider(remote).list_page(cursor, None, 100)
    await xh.sync()
    assert len(stored(remote)) == 4
    assert {uid: item.etag for uid, item in xh.local().items()} == etags
    assert theirs in xh.local()


async def test_a_series_with_moved_and_deleted_occurrences_local_to_remote(
        xh: ScenarioHarness) -> None:
    remote = controls(xh)
    xh.put("s@x", SERIES.format(uid="s@x"))
    await xh.sync()
    (item,) = stored(remote)
    assert item["recurring"]
    assert len(item["modified_occurrences"]) == 1 and len(item["deleted_occurrences"]) == 1
    assert remote.live() == {"s@x": "Weekly"}
    etag = xh.local()["s@x"].etag
    remote.reset_counters()
    await xh.sync(rounds=2)
    assert remote.writes() == 0 and xh.local()["s@x"].etag == etag  # echo, no churn
    # The series renamed here keeps its moved and deleted occurrences there.
    xh.put("s@x", SERIES.format(uid="s@x").replace("SUMMARY:Weekly", "SUMMARY:Renamed"))
    await xh.sync()
    (item,) = stored(remote)
    assert item["subject"] == "Renamed"
    assert len(item["modified_occurrences"]) == 1 and len(item["deleted_occurrences"]) == 1


async def test_a_series_with_moved_and_deleted_occurrences_remote_to_local(
        xh: ScenarioHarness) -> None:
    from exchangelib import CalendarItem
    from exchangelib.ewsdatetime import EWSDateTime, EWSTimeZone
    from exchangelib.recurrence import Recurrence, WeeklyPattern

    remote = controls(xh)
    folder = remote.folder()
    berlin = EWSTimeZone("Europe/Berlin")
    start = EWSDateTime(2030, 3, 4, 9, tzinfo=berlin)
    master = CalendarItem(account=folder.account, folder=folder, subject="Outlook series",
                          start=start, end=start + timedelta(hours=1),
                          recurrence=Recurrence(pattern=WeeklyPattern(interval=1,
                                                                      weekdays=["Monday"]),
                                                start=start.date(), number=5))
    master.save()
    moved = master.occurrence(3)
    moved.refresh()
    moved.start = moved.start + timedelta(hours=5)
    moved.end = moved.end + timedelta(hours=5)
    moved.subject = "Moved in Outlook"
    moved.save(update_fields=["start", "end", "subject"])
    gone = master.occurrence(2)
    gone.refresh()
    gone.delete()
    await xh.sync()
    (uid,) = [u for u in xh.local()]
    text = xh.local()[uid].text
    assert "RRULE:FREQ=WEEKLY;COUNT=5;BYDAY=MO" in text
    assert "EXDATE;TZID=Europe/Berlin:20300311T090000" in text
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20300318T090000" in text
    assert "SUMMARY:Moved in Outlook" in text
    # A local rename of the series goes back without losing Outlook's changes.
    xh.put(uid, text.replace("SUMMARY:Outlook series", "SUMMARY:Renamed here"))
    await xh.sync()
    (item,) = stored(remote)
    assert item["subject"] == "Renamed here"
    assert len(item["modified_occurrences"]) == 1 and len(item["deleted_occurrences"]) == 1
    assert "SUMMARY:Moved in Outlook" in xh.local()[uid].text


async def test_an_idle_poll_is_one_sync_folder_items(xh: ScenarioHarness) -> None:
    xh.put("i@x", WEEKLY.format(uid="i@x"))
    await xh.sync()
    controls(xh).reset_counters()
    await xh.pull()
    assert controls(xh).requests() == {"SyncFolderItems": 1}


async def test_invitations_are_never_sent(xh: ScenarioHarness) -> None:
    xh.put("a@x", ics("a@x", summary="With guest",
                      extra="ATTENDEE;CN=Guest:mailto:guest@example.org\r\n"))
    await xh.sync()
    assert controls(xh).live() == {"a@x": "With guest"}
    assert controls(xh).emu.hooks.state()["mail"] == []
    assert "ATTENDEE" in xh.local()["a@x"].text  # kept here, never written there


# -- the login test (discover) ---------------------------------------------------------------


def factory(allow: str = "127.0.0.0/8", **options: Any) -> ExchangeProviderFactory:
    return ExchangeProviderFactory(cipher=TokenCipher(SECRET),
                                   guard=NetGuard(parse_networks(allow)),
                                   options=ExchangeOptions(**{"max_wait": 5, **options}))


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
async def test_discover_finds_version_and_calendars(ews_emu: EwsEmulatorServer,
                                                    auth: str) -> None:
    found = await factory().discover(ServerLogin(ews_emu.ews_url, ADELE, ADELE_PASSWORD,
                                                 {"auth": auth}), fast_options())
    assert dict(found.facts)["version"] == "15.1.2507.6"
    names = [(c.name, c.primary) for c in found.grant.account.calendars]
    assert names[0][1] and ("Praxis", False) in names
    assert ADELE_PASSWORD in found.grant.refresh_token  # the blob the factory seals
    assert ADELE_PASSWORD not in repr(found)


@pytest.mark.parametrize(("allow", "url", "password", "reason"), [
    ("127.0.0.0/8", "{ews}", "wrong", "auth"),
    ("", "{ews}", ADELE_PASSWORD, "unsafe_url"),
    ("127.0.0.0/8", "{base}/nothing/here", ADELE_PASSWORD, "not_found"),
    ("127.0.0.0/8", "http://127.0.0.1:9/EWS/Exchange.asmx", ADELE_PASSWORD, "unreachable"),
])
async def test_discover_refusals(ews_emu: EwsEmulatorServer, allow: str, url: str,
                                 password: str, reason: str) -> None:
    target = url.format(ews=ews_emu.ews_url, base=ews_emu.base_url)
    with pytest.raises(FlowError) as caught:
        await factory(allow).discover(ServerLogin(target, ADELE, password, {"auth": "basic"}),
                                      fast_options())
    assert caught.value.reason == reason


async def test_an_oversized_answer_is_named(ews_emu: EwsEmulatorServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netguard, "MAX_BODY_BYTES", 600)  # read at each answer
    with pytest.raises(FlowError) as caught:
        await factory().discover(ServerLogin(ews_emu.ews_url, ADELE, ADELE_PASSWORD,
                                             {"auth": "basic"}), fast_options())
    assert caught.value.reason == "too_large" and "600" in str(caught.value)


async def test_bad_tls_is_refused_unless_trusted_or_pinned() -> None:
    import hashlib
    import ssl
    from urllib.parse import urlsplit

    from bridge.exchange.tls import install

    with EwsEmulatorServer(basic_seed(), tls=True) as emu:
        login = ServerLogin(emu.ews_url, ADELE, ADELE_PASSWORD, {"auth": "basic"})
        with pytest.raises(FlowError) as caught:
            await factory().discover(login, fast_options())
        assert caught.value.reason == "tls"
        found = await factory(ca_file=str(emu.ca_path)).discover(login, fast_options())
        assert found.grant.account.calendars
        parts = urlsplit(emu.ews_url)
        pem = ssl.get_server_certificate((str(parts.hostname), int(parts.port or 443)))
        digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
        found = await factory(pins={str(parts.hostname): digest}).discover(login,
                                                                           fast_options())
        assert found.grant.account.calendars
        with pytest.raises(FlowError):
            await factory(pins={str(parts.hostname): "0" * 64}).discover(login, fast_options())
    install(emu.ews_url, None, {}, None)
