"""The CalDAV provider against stock Radicale (its own process) behind the test proxy:
discovery and the login connect flow, iCloud's shape, the URL policy, loop protection, and a
hostile upstream.  The scenario suite (test_scenarios.py) covers sync itself."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bridge.caldav.factory import CaldavProviderFactory
from bridge.errors import FlowError, RemoteError
from bridge.providers.base import ServerLogin
from bridge.providers.netguard import NetGuard
from bridge.store import SqlStore
from bridge.sync.engine import SyncEngine
from tests.sync.conftest import fast_options, ics
from tests.sync.davpeer import PASSWORD, USER, DavProxy, RadicaleServer, dav
from tests.sync.providers import (
    KITS,
    CaldavControls,
    ScenarioHarness,
    caldav_connect,
    caldav_factory,
    icloud_preset,
    icloud_sessions,
)

OPTIONS = fast_options()
VTODO_CALENDAR = (
    '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
    "<d:set><d:prop><d:displayname>Tasks</d:displayname><c:supported-calendar-component-set>"
    '<c:comp name="VTODO"/></c:supported-calendar-component-set></d:prop></d:set>'
    "</c:mkcalendar>")


@pytest.fixture
def peer(radicale_peer: tuple[RadicaleServer, DavProxy]) -> tuple[RadicaleServer, DavProxy]:
    """Stock Radicale and a reset proxy."""
    server, proxy = radicale_peer
    proxy.reset()
    proxy.password = PASSWORD
    server.set_password(PASSWORD)
    return server, proxy


async def _discover(factory: CaldavProviderFactory, url: str, password: str = PASSWORD) -> Any:
    try:
        return await factory.discover(ServerLogin(url, USER, password), OPTIONS)
    finally:
        await factory.close()


async def test_discovery_offers_the_event_calendars(peer: tuple[RadicaleServer, DavProxy],
                                                    sync_store: SqlStore) -> None:
    server, proxy = peer
    events = server.new_calendar()
    tasks = f"/{USER}/tasks-{time.time_ns()}/"
    status, _, _ = dav("MKCALENDAR", server.base + tasks, VTODO_CALENDAR)
    assert status == 201
    found = await _discover(caldav_factory(sync_store), proxy.base + "/")
    urls = {c.id for c in found.grant.account.calendars}
    assert proxy.base + events in urls
    assert proxy.base + tasks not in urls  # only calendars holding VEVENTs
    facts = dict(found.facts)
    assert facts["sync"] == "sync-collection" and facts["principal"].endswith(f"/{USER}/")
    blob = found.grant.refresh_token
    assert json.loads(blob)["home"] == found.server
    sealed = caldav_factory(sync_store).seal(7, blob)
    assert PASSWORD.encode() not in sealed  # sealed at rest like a refresh token


async def test_digest_auth(peer: tuple[RadicaleServer, DavProxy], sync_store: SqlStore) -> None:
    server, proxy = peer
    proxy.digest = True
    path = server.new_calendar()
    found = await _discover(caldav_factory(sync_store), proxy.base + "/")
    assert proxy.base + path in {c.id for c in found.grant.account.calendars}
    with pytest.raises(FlowError) as err:
        await _discover(caldav_factory(sync_store), proxy.base + "/", password="wrong")
    assert err.value.reason == "auth"


async def test_a_wrong_password_is_reported_as_auth(peer: tuple[RadicaleServer, DavProxy],
                                                    sync_store: SqlStore) -> None:
    _, proxy = peer
    with pytest.raises(FlowError) as err:
        await _discover(caldav_factory(sync_store), proxy.base + "/", password="wrong")
    assert err.value.reason == "auth"


async def test_icloud_discovery_crosses_to_the_calendar_host(
        peer: tuple[RadicaleServer, DavProxy], sync_store: SqlStore) -> None:
    server, proxy = peer
    proxy.icloud = True
    path = server.new_calendar()
    factory = caldav_factory(sync_store, "icloud", preset=icloud_preset(proxy),
                             session_factory=icloud_sessions)
    found = await _discover(factory, "")  # the preset's URL
    assert found.server.startswith(f"http://p42-caldav.icloud.test:{proxy.port}/")
    assert f"http://p42-caldav.icloud.test:{proxy.port}{path}" in {
        c.id for c in found.grant.account.calendars}
    with pytest.raises(FlowError) as err:
        await _discover(factory, "", password="not-the-app-password")
    assert err.value.reason == "auth"
    assert "app-specific password" in str(err.value)


async def test_icloud_refuses_a_task_and_it_is_parked(radicale_peer: Any, sync_store: SqlStore,
                                                      request: pytest.FixtureRequest) -> None:
    kit = KITS["icloud"](request)
    cid = kit.connect(sync_store)
    engine = kit.make_engine(sync_store)
    h = ScenarioHarness(None, sync_store, engine, cid, kit=kit)  # type: ignore[arg-type]
    try:
        await h.pull("import")
        h.put("todo@x", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\n"
              "UID:todo@x\r\nDTSTAMP:20300101T000000Z\r\nSUMMARY:Task\r\nEND:VTODO\r\n"
              "END:VCALENDAR\r\n")
        h.put("event@x", summary="Event")
        await h.push()
        assert kit.remote.live() == {"event@x": "Event"}
        assert sync_store.outbox_stats(cid).pending == 0  # the task is parked, not retried
    finally:
        await engine.stop()


async def test_icloud_never_writes_one_uid_into_two_calendars(
        radicale_peer: Any, sync_store: SqlStore, request: pytest.FixtureRequest) -> None:
    kit = KITS["icloud"](request)
    cid = kit.connect(sync_store)
    engine = kit.make_engine(sync_store)
    h = ScenarioHarness(None, sync_store, engine, cid, kit=kit)  # type: ignore[arg-type]
    try:
        await h.pull("import")
        h.put("same@x", summary="In the first calendar")
        await h.push()
        assert kit.remote.live() == {"same@x": "In the first calendar"}
    finally:
        await engine.stop()
    server, proxy = radicale_peer
    second = server.new_calendar()
    other = caldav_connect(sync_store, f"http://caldav.icloud.test:{proxy.port}",
                           f"http://p42-caldav.icloud.test:{proxy.port}{second}", name="icloud",
                           collection="alice/other")
    factory = caldav_factory(sync_store, "icloud", preset=icloud_preset(proxy),
                             session_factory=icloud_sessions)
    record = sync_store.get_connection(other)
    provider = factory.open(record, sync_store.get_refresh_token(other) or b"", OPTIONS)
    try:
        with pytest.raises(RemoteError) as err:
            await provider.create(ics("same@x"), key=None, gone=None, link=None)
        assert err.value.reason == "uid_elsewhere"
        assert CaldavControls(server, proxy, second).live() == {}
    finally:
        await factory.close()


async def test_private_targets_are_refused_unless_allowed(
        peer: tuple[RadicaleServer, DavProxy], sync_store: SqlStore) -> None:
    _, proxy = peer
    strict = CaldavProviderFactory(cipher=None, guard=NetGuard())
    for url in (proxy.base + "/", f"http://localhost:{proxy.port}/", "http://[::1]/",
                "http://169.254.169.254/latest/", "file:///etc/passwd"):
        with pytest.raises(FlowError) as err:
            await _discover(strict, url)
        assert err.value.reason == "unsafe_url", url
    # A name that resolves to loopback is refused at connect time (DNS rebinding included).
    named = CaldavProviderFactory(cipher=None, guard=NetGuard(),
                                  session_factory=icloud_sessions)
    with pytest.raises(FlowError) as err:
        await _discover(named, f"http://caldav.icloud.test:{proxy.port}/")
    assert err.value.reason == "unsafe_url"
    assert proxy.log == []  # nothing reached the server


async def test_credentials_do_not_follow_a_redirect_to_another_host(
        peer: tuple[RadicaleServer, DavProxy], sync_store: SqlStore) -> None:
    _, proxy = peer
    proxy.redirect_to = "http://elsewhere.example:1/collect"
    with pytest.raises(FlowError) as err:
        await _discover(caldav_factory(sync_store), proxy.base + "/")
    assert err.value.reason == "unsafe_url"
    assert len(proxy.log) <= 2  # the entered URL (and its well-known), never the other host


async def test_loop_own_server_and_a_calendar_already_connected(
        peer: tuple[RadicaleServer, DavProxy], sync_store: SqlStore) -> None:
    server, proxy = peer
    own = caldav_factory(sync_store, own_urls=[proxy.base + "/"])
    with pytest.raises(FlowError) as err:
        await _discover(own, proxy.base + "/dav/")
    assert err.value.reason == "loop"
    path = server.new_calendar()
    caldav_connect(sync_store, proxy.base, proxy.base + path)
    with pytest.raises(FlowError) as err:
        await _discover(caldav_factory(sync_store), proxy.base + path)
    assert err.value.reason == "loop"


@pytest.fixture
async def rh(peer: tuple[RadicaleServer, DavProxy], sync_store: SqlStore
             ) -> AsyncIterator[ScenarioHarness]:
    """A connected, imported harness against Radicale with a 2-second request timeout."""
    server, proxy = peer
    path = server.new_calendar()
    cid = caldav_connect(sync_store, proxy.base, proxy.base + path)
    engine = SyncEngine(sync_store, fast_options(http_timeout=2.0), providers={
        "caldav": caldav_factory(sync_store)})
    h = ScenarioHarness(None, sync_store, engine, cid)  # type: ignore[arg-type]
    h.controls = CaldavControls(server, proxy, path)  # type: ignore[attr-defined]
    await h.pull("import")
    yield h
    await engine.stop()


@pytest.mark.parametrize(("mode", "status"), [
    ("huge", "oversized"), ("bomb", "XML"), ("slow", "Timeout"), ("storm", "503")])
async def test_a_hostile_upstream_is_bounded_and_stores_nothing(
        rh: ScenarioHarness, mode: str, status: str) -> None:
    controls: CaldavControls = rh.controls  # type: ignore[attr-defined]
    rh.put("here@x", summary="Here")
    await rh.push()
    uid = controls.create("There")
    token = rh.store.get_connection(rh.connection_id).sync_token
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    controls.proxy.hostile = mode
    started = time.monotonic()
    assert await rh.pull() is None
    assert time.monotonic() - started < 90
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 400 * 1024  # KiB
    record = rh.store.get_connection(rh.connection_id)
    assert status in str(record.last_error)  # the connection shows why it fails
    assert record.sync_token == token and set(rh.local()) == {"here@x"}  # nothing half
    controls.proxy.hostile = ""
    await rh.pull()
    assert set(rh.local()) == {"here@x", uid}
    assert rh.store.get_connection(rh.connection_id).last_error is None
