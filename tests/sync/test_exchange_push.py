"""Exchange push subscriptions end to end: exchangelib unmodified subscribes at the EWS emulator,
the emulator POSTs ``SendNotification`` to the sidecar's real ``/sync/exchange/notify`` route, and
the notification (not the poll: the interval is an hour) brings the change into the store."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bridge.store import SqlStore
from bridge.sync.channels import KEEPALIVE_MISSES, ensure_channel, stop_channel
from bridge.sync.ews_webhook import MAX_BODY, NOTIFY_PATH, setup_ews_webhook
from tests.sync.providers import ExchangeControls, ScenarioHarness, exchange_kit

_FRAME = ('<?xml version="1.0" encoding="utf-8"?><s:Envelope '
          'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
          'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
          'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Body>'
          '<m:SendNotification><m:ResponseMessages><m:SendNotificationResponseMessage '
          'ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Notification>'
          '<t:SubscriptionId>{sid}</t:SubscriptionId><t:PreviousWatermark>AA</t:PreviousWatermark>'
          '<t:MoreEvents>false</t:MoreEvents>{events}</m:Notification>'
          '</m:SendNotificationResponseMessage></m:ResponseMessages></m:SendNotification>'
          '</s:Body></s:Envelope>')
_MODIFIED = ('<t:ModifiedEvent><t:Watermark>AB</t:Watermark><t:TimeStamp>2030-01-01T00:00:00Z'
             '</t:TimeStamp><t:ItemId Id="x" ChangeKey="y"/><t:ParentFolderId Id="f" '
             'ChangeKey="z"/></t:ModifiedEvent>')


class Pushed:
    """A connected, imported Exchange harness whose engine runs with push on and whose sidecar
    route listens at its public URL."""

    def __init__(self, harness: ScenarioHarness, base: str) -> None:
        self.h = harness
        self.base = base

    @property
    def remote(self) -> ExchangeControls:
        remote = self.h.remote
        assert isinstance(remote, ExchangeControls)
        return remote

    def record(self) -> Any:
        return self.h.store.get_connection(self.h.connection_id)

    def emu_state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.remote.emu.hooks.state()
        return state

    async def post(self, body: bytes | str, **query: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.post(
                self.base + NOTIFY_PATH, params=query, data=body,
                headers={"Content-Type": "text/xml; charset=utf-8"}) as resp:
            return resp.status, await resp.text()


async def until(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll ``check`` (in a thread) until it is truthy; generous for a busy machine."""
    deadline = time.monotonic() + timeout
    while True:
        found = await asyncio.to_thread(check)
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


@pytest.fixture
async def pushed(request: pytest.FixtureRequest, sync_store: SqlStore
                 ) -> AsyncIterator[Pushed]:
    kit = exchange_kit(request)
    cid = kit.connect(sync_store)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    # An hour between polls: only a notification can explain a quick pull.
    engine = kit.make_engine(sync_store, push_channels=True, public_url=base,
                             poll_interval=3600.0)
    harness = ScenarioHarness(None, sync_store, engine, cid, kit=kit)
    await harness.pull("import")
    app = web.Application()
    setup_ews_webhook(app, engine)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    await engine.start()  # the first scheduled pull opens the channel
    try:
        pushed = Pushed(harness, base)
        await until(lambda: pushed.record().channel_resource_id, "the subscription")
        yield pushed
    finally:
        await engine.stop()
        await runner.cleanup()


def _summaries(p: Pushed) -> set[str]:
    return {r.summary or "" for r in p.h.local().values()}


async def test_a_change_in_outlook_arrives_through_a_notification(pushed: Pushed) -> None:
    record = pushed.record()
    (sub_id,) = [s for s in [record.channel_resource_id] if s]
    assert record.state.get("channel_keepalive") == 1800.0
    polls = pushed.h.engine.metrics.pulls["poll"]
    await asyncio.to_thread(pushed.remote.create, "Notified")
    await until(lambda: "Notified" in _summaries(pushed), "the pulled appointment")
    assert pushed.h.engine.metrics.pulls["notification"] >= 1
    assert pushed.h.engine.metrics.pulls["poll"] == polls  # no poll explains it
    assert pushed.h.engine.metrics.notifications["CreatedEvent"] >= 1
    notes = pushed.emu_state()["notifications"]
    assert notes and all(n["outcome"] == "OK" for n in notes)
    assert {n["subscription"] for n in notes} == {sub_id}


async def test_forged_or_unknown_channels_get_unsubscribe_and_no_pull(pushed: Pushed) -> None:
    record = pushed.record()
    body = _FRAME.replace("{sid}", str(record.channel_resource_id)).replace("{events}",
                                                                           _MODIFIED)
    requested = dict(pushed.h.engine._pull_requests)
    for query in ({"channel": str(record.channel_id), "token": "forged"},
                  {"channel": "unknown", "token": str(record.channel_token)},
                  {"channel": str(record.channel_id)}):
        status, text = await pushed.post(body, **query)
        assert status == 200 and "<m:SubscriptionStatus>Unsubscribe<" in text
    other = _FRAME.replace("{sid}", "another").replace("{events}", _MODIFIED)
    status, text = await pushed.post(other, channel=str(record.channel_id),
                                     token=str(record.channel_token))
    assert status == 200 and "Unsubscribe" in text  # the right channel, but not its subscription
    assert pushed.h.engine._pull_requests == requested
    assert pushed.h.engine.metrics.notifications["ignored"] == 4
    status, text = await pushed.post(body, channel=str(record.channel_id),
                                     token=str(record.channel_token))
    assert status == 200 and "<m:SubscriptionStatus>OK<" in text


@pytest.mark.parametrize("body", [b"", b"not xml", b"<a/>",
                                  b'<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>',
                                  _FRAME.replace("{sid}", "").replace("{events}", "").encode(),
                                  b"<" + b"x" * (MAX_BODY + 10) + b"/>"])
async def test_malformed_or_oversized_bodies_are_400(pushed: Pushed, body: bytes) -> None:
    record = pushed.record()
    status, text = await pushed.post(body, channel=str(record.channel_id),
                                     token=str(record.channel_token))
    assert status == 400 and text and "Traceback" not in text


async def test_a_forgotten_channel_is_dropped_by_the_server(pushed: Pushed) -> None:
    sub_id = pushed.record().channel_resource_id
    # The bridge forgot the channel (renewed elsewhere): the next notification is answered
    # Unsubscribe and Exchange ends the subscription.
    pushed.h.store.update_connection(pushed.h.connection_id, channel_id="gone",
                                     channel_token="x" * 32)
    await asyncio.to_thread(pushed.remote.create, "Unheard")
    await until(lambda: {"subscription": sub_id, "reason": "unsubscribe answered"}
                in pushed.emu_state()["subscriptions_ended"], "the dropped subscription")
    assert pushed.h.engine.metrics.pulls["notification"] == 0


async def test_keepalives_keep_the_channel_and_silence_replaces_it(pushed: Pushed) -> None:
    record = pushed.record()
    body = _FRAME.replace("{sid}", str(record.channel_resource_id)).replace(
        "{events}", "<t:StatusEvent><t:Watermark>AC</t:Watermark></t:StatusEvent>")
    heard = record.state["channel_heard"]
    await asyncio.sleep(0.05)
    status, text = await pushed.post(body, channel=str(record.channel_id),
                                     token=str(record.channel_token))
    assert status == 200 and "OK" in text
    assert pushed.record().state["channel_heard"] > heard  # a keepalive refreshes liveness
    assert pushed.h.engine.metrics.pulls["notification"] == 0  # and pulls nothing
    ctx = pushed.h.engine.context(pushed.record())
    assert ctx is not None
    assert not await ensure_channel(ctx)  # heard recently: kept
    silent = time.time() + KEEPALIVE_MISSES * 1800.0 + 60
    assert await ensure_channel(ctx, now=silent)  # nothing heard for too long: a new one
    renewed = pushed.record()
    assert renewed.channel_resource_id != record.channel_resource_id
    await until(lambda: {"subscription": record.channel_resource_id, "reason": "unsubscribed"}
                in pushed.emu_state()["subscriptions_ended"], "the old subscription ended")


async def test_disconnect_unsubscribes(pushed: Pushed) -> None:
    sub_id = pushed.record().channel_resource_id
    ctx = pushed.h.engine.context(pushed.record())
    assert ctx is not None
    await stop_channel(ctx)  # what SyncService.disconnect does first
    assert pushed.record().channel_id is None
    assert "channel_keepalive" not in pushed.record().state
    assert {"subscription": sub_id, "reason": "unsubscribed"} in pushed.emu_state()[
        "subscriptions_ended"]


async def test_the_status_page_says_notifications_are_on(pushed: Pushed) -> None:
    from bridge.admin.syncapi import calendar_status
    from bridge.config import load
    from bridge.sync.service import SyncService
    from tests.sync.conftest import CAL, SECRET

    store = pushed.h.store
    service = SyncService(store, load("/nonexistent.toml", env={}).with_overrides(
        security={"secret_key": SECRET}), pushed.h.engine)
    calendar = store.get_collection(CAL)
    assert calendar is not None
    on = await asyncio.to_thread(calendar_status, store, calendar, detail=False, channels=True,
                                 interval=300, service=service)
    assert on.channel == "ok"  # "active until …", not "not offered by Exchange"
    off = await asyncio.to_thread(calendar_status, store, calendar, detail=False,
                                  channels=False, interval=300, service=service)
    assert off.channel == "off"  # push off: "polling only; needs an https public URL"


def test_the_callback_token_never_reaches_a_log() -> None:
    from bridge.logging_setup import redact
    from bridge.web.accesslog import redact_path

    secret = "s3cr3t-" + "A" * 25
    url = f"https://bridge.example{NOTIFY_PATH}?channel=abc&token={secret}"
    assert secret not in redact_path(url.removeprefix("https://bridge.example"))
    # exchangelib logs a failed request's XML (the Subscribe's t:URL) at ERROR.
    assert secret not in redact(f"<t:URL>{url.replace('&', '&amp;')}</t:URL>")
    assert secret not in redact(url)
