"""Push notifications: real POSTs from the emulator to a local aiohttp receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from googleapiclient.errors import HttpError

from emulators.google.server import ALICE, EmulatorServer
from tests.emulator.conftest import timed


@dataclass
class Receiver:
    """Collects notifications; answers with queued statuses, then 200."""

    url: str = ""
    received: list[dict[str, str]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        status = self.statuses.pop(0) if self.statuses else 200
        self.received.append({k: v for k, v in request.headers.items()
                              if k.lower().startswith("x-goog-")} | {"_status": str(status)})
        self.arrived.set()
        return web.Response(status=status)

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, str]]:
        async def loop() -> None:
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(loop(), timeout)
        return self.received


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/google/notifications", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/google/notifications"
    yield rec
    await runner.cleanup()


def _watch(svc: Any, url: str, channel_id: str = "chan-1", **extra: Any) -> dict[str, Any]:
    body = {"id": channel_id, "type": "web_hook", "address": url, **extra}
    result: dict[str, Any] = svc.events().watch(calendarId="primary", body=body).execute()
    return result


async def test_sync_then_exists_with_headers(svc: Any, emu: EmulatorServer,
                                             receiver: Receiver) -> None:
    channel = await asyncio.to_thread(_watch, svc, receiver.url, token="target=abc")
    assert channel["kind"] == "api#channel" and channel["id"] == "chan-1"
    assert int(channel["expiration"]) > 0
    first = (await receiver.wait_for(1))[0]
    assert first["X-Goog-Resource-State"] == "sync"
    assert first["X-Goog-Message-Number"] == "1"
    assert first["X-Goog-Channel-ID"] == "chan-1"
    assert first["X-Goog-Channel-Token"] == "target=abc"
    assert first["X-Goog-Resource-ID"] == channel["resourceId"]
    assert first["X-Goog-Channel-Expiration"].endswith("GMT")
    await asyncio.to_thread(emu.hooks.external_change, ALICE, "insert",
                            event=timed("2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z"))
    await asyncio.to_thread(lambda: svc.events().insert(calendarId="primary", body=timed(
        "2030-01-02T09:00:00Z", "2030-01-02T10:00:00Z")).execute())
    got = await receiver.wait_for(3)
    assert [g["X-Goog-Resource-State"] for g in got] == ["sync", "exists", "exists"]
    assert [int(g["X-Goog-Message-Number"]) for g in got] == [1, 2, 3]
    assert receiver.bodies == [b"", b"", b""]
    # Changes to another calendar do not notify this channel.
    await asyncio.to_thread(emu.hooks.external_change, "bob@example.com", "insert",
                            event=timed("2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z"))
    await asyncio.sleep(0.1)
    assert len(receiver.received) == 3
    state = await asyncio.to_thread(emu.hooks.state)
    assert state["notifications_delivered"] == 3


async def test_receiver_5xx_is_retried_4xx_dropped(svc: Any, emu: EmulatorServer,
                                                   receiver: Receiver) -> None:
    await asyncio.to_thread(emu.hooks.config, push_retry_base=0.01)
    receiver.statuses = [503, 500, 200, 404]
    await asyncio.to_thread(_watch, svc, receiver.url)
    got = await receiver.wait_for(3)
    assert [g["_status"] for g in got] == ["503", "500", "200"]
    assert {g["X-Goog-Message-Number"] for g in got} == {"1"}
    await asyncio.to_thread(emu.hooks.external_change, ALICE, "insert",
                            event=timed("2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z"))
    await receiver.wait_for(4)
    await asyncio.sleep(0.1)
    assert [g["_status"] for g in receiver.received] == ["503", "500", "200", "404"]
    state = await asyncio.to_thread(emu.hooks.state)
    assert state["notifications_delivered"] == 1
    assert state["notifications_failed"] == 1


async def test_stop_channel(svc: Any, emu: EmulatorServer, receiver: Receiver) -> None:
    channel = await asyncio.to_thread(_watch, svc, receiver.url)
    await receiver.wait_for(1)
    stop = {"id": channel["id"], "resourceId": channel["resourceId"]}
    assert await asyncio.to_thread(lambda: svc.channels().stop(body=stop).execute()) == ""
    await asyncio.to_thread(emu.hooks.external_change, ALICE, "insert",
                            event=timed("2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z"))
    await asyncio.sleep(0.2)
    assert len(receiver.received) == 1
    with pytest.raises(HttpError) as info:
        await asyncio.to_thread(lambda: svc.channels().stop(body=stop).execute())
    assert info.value.status_code == 404
    assert "Channel 'chan-1' not found for project" in str(info.value)


async def test_expired_channel_stops_notifying(svc: Any, emu: EmulatorServer,
                                               receiver: Receiver) -> None:
    await asyncio.to_thread(_watch, svc, receiver.url, params={"ttl": "60"})
    await receiver.wait_for(1)
    await asyncio.to_thread(emu.hooks.advance_clock, 61)
    await asyncio.to_thread(emu.hooks.external_change, ALICE, "insert",
                            event=timed("2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z"))
    await asyncio.sleep(0.2)
    assert len(receiver.received) == 1


async def test_drop_and_gap_knobs(svc: Any, emu: EmulatorServer, receiver: Receiver) -> None:
    await asyncio.to_thread(emu.hooks.config, push_drop=1, push_gap=3)
    await asyncio.to_thread(_watch, svc, receiver.url)
    await asyncio.to_thread(emu.hooks.external_change, ALICE, "insert",
                            event=timed("2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z"))
    got = await receiver.wait_for(1)
    # The sync message (1) was dropped; the next one skips 3 numbers.
    assert [(g["X-Goog-Resource-State"], g["X-Goog-Message-Number"]) for g in got] == [
        ("exists", "5")]


async def test_duplicate_knob(svc: Any, emu: EmulatorServer, receiver: Receiver) -> None:
    await asyncio.to_thread(emu.hooks.config, push_duplicate=1)
    await asyncio.to_thread(_watch, svc, receiver.url)
    got = await receiver.wait_for(2)
    assert [g["X-Goog-Message-Number"] for g in got] == ["1", "1"]


def test_watch_validation(svc: Any, emu: EmulatorServer) -> None:
    emu.hooks.config(strict_https_webhooks=True)
    with pytest.raises(HttpError) as info:
        _watch(svc, "http://127.0.0.1:9/hook")
    assert info.value.status_code == 400
    assert info.value.error_details[0]["reason"] == "push.webhookUrlNotHttps"
    assert "WebHook callback must be HTTPS: http://127.0.0.1:9/hook" in str(info.value)
    emu.hooks.config(strict_https_webhooks=False)
    _watch(svc, "http://127.0.0.1:9/hook", channel_id="dup")
    with pytest.raises(HttpError) as info:
        _watch(svc, "http://127.0.0.1:9/hook", channel_id="dup")
    assert info.value.status_code == 400
