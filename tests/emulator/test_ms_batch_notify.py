"""JSON batching, change-notification subscriptions (validation handshake, batched
notifications, lifecycle events) and throttling in the Graph emulator."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from emulators.microsoft.server import MsEmulatorServer
from tests.emulator.conftest import Graph, ms_event


async def test_batch_runs_members_with_depends_on(graph: Graph) -> None:
    created = await graph.post("/me/events", ms_event("a", "2030-01-01T09:00:00",
                                                      "2030-01-01T10:00:00"))
    body = {"requests": [
        {"id": "1", "method": "GET", "url": f"/me/events/{created.body['id']}"},
        {"id": "2", "method": "POST", "url": "/me/events",
         "headers": {"Content-Type": "application/json"},
         "body": ms_event("b", "2030-01-02T09:00:00", "2030-01-02T10:00:00")},
        {"id": "3", "method": "GET", "url": "/me/events/missing", "dependsOn": ["2"]},
        {"id": "4", "method": "GET", "url": "/me", "dependsOn": ["3"]},
        {"id": "5", "method": "POST", "url": "/me/events", "body": {"subject": "no type"}},
    ]}
    reply = await graph.post("/$batch", body)
    assert reply.status == 200
    by_id = {r["id"]: r for r in reply.body["responses"]}
    assert by_id["1"]["status"] == 200 and by_id["1"]["body"]["subject"] == "a"
    assert by_id["2"]["status"] == 201
    assert by_id["3"]["status"] == 404
    assert by_id["4"]["status"] == 424
    assert by_id["5"]["status"] == 400
    assert "Content-Type" in by_id["5"]["body"]["error"]["message"]
    listed = (await graph.get("/me/events")).body["value"]
    assert sorted(e["subject"] for e in listed) == ["a", "b"]


async def test_batch_limits_and_member_throttling(graph: Graph, ms_emu: MsEmulatorServer) -> None:
    too_many = {"requests": [{"id": str(i), "method": "GET", "url": "/me"} for i in range(21)]}
    reply = await graph.post("/$batch", too_many)
    assert reply.status == 400 and reply.body["error"]["code"] == "BadRequest"
    ms_emu.hooks.fault("me.get", status=429, retry_after=2, times=1)
    reply = await graph.post("/$batch", {"requests": [
        {"id": str(i), "method": "GET", "url": "/me"} for i in range(20)]})
    assert reply.status == 200
    statuses = sorted(r["status"] for r in reply.body["responses"])
    assert statuses == [200] * 19 + [429]
    throttled = next(r for r in reply.body["responses"] if r["status"] == 429)
    assert throttled["headers"]["Retry-After"] == "2"
    assert (await graph.post("/$batch", too_many, token="bad")).status == 401


async def test_mailbox_concurrency_limit(graph: Graph, ms_emu: MsEmulatorServer) -> None:
    ms_emu.hooks.fault("me.get", latency=0.5, times=None)
    replies = await asyncio.gather(*(graph.get("/me") for _ in range(8)))
    statuses = sorted(r.status for r in replies)
    assert statuses.count(200) >= 4 and 429 in statuses
    throttled = next(r for r in replies if r.status == 429)
    assert throttled.body["error"]["code"] == "ApplicationThrottled"
    assert "MailboxConcurrency" in throttled.body["error"]["message"]
    assert "Retry-After" in throttled.headers
    assert ms_emu.hooks.state()["max_inflight"] == 4


async def test_rate_limit(graph: Graph, ms_emu: MsEmulatorServer) -> None:
    ms_emu.hooks.call("POST", "rate_limit", {"max": 2, "per_seconds": 600, "retry_after": 5})
    assert (await graph.get("/me")).status == 200
    assert (await graph.get("/me")).status == 200
    third = await graph.get("/me")
    assert third.status == 429 and third.body["error"]["code"] == "TooManyRequests"
    assert third.headers["Retry-After"] == "5"
    ms_emu.hooks.call("POST", "clock", {"advance_seconds": 601})
    assert (await graph.get("/me")).status == 200


@dataclass
class Receiver:
    """A local webhook receiver: answers validation, records notifications."""

    url: str = ""
    echo: bool = True
    delay: float = 0.0
    validations: list[str] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        """Validation (echo the token as text/plain) or a notification POST."""
        token = request.query.get("validationToken")
        if token is not None:
            self.validations.append(token)
            await asyncio.sleep(self.delay)
            return web.Response(text=token if self.echo else "nope", content_type="text/plain")
        self.posts.append(await request.json())
        return web.Response(status=202)

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The notification items, once ``count`` have arrived."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            items = [i for p in self.posts for i in p["value"]]
            if len(items) >= count:
                return items
            await asyncio.sleep(0.05)
        raise AssertionError(f"only {self.posts} arrived")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver on a free loopback port."""
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    app.router.add_post("/lifecycle", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield rec
    await runner.cleanup()


def _expiry(minutes: int) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    return when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _subscription(receiver: Receiver, **extra: Any) -> dict[str, Any]:
    return {"changeType": "created,updated,deleted", "notificationUrl": receiver.url + "/hook",
            "resource": "/me/events", "expirationDateTime": _expiry(60),
            "clientState": "secret-state", **extra}


async def test_subscription_handshake_and_notifications(graph: Graph, ms_emu: MsEmulatorServer,
                                                        receiver: Receiver) -> None:
    created = await graph.post("/subscriptions", _subscription(
        receiver, lifecycleNotificationUrl=receiver.url + "/lifecycle"))
    assert created.status == 201, created.body
    sub = created.body
    assert len(receiver.validations) == 2
    assert receiver.validations[0].startswith("Validation: Testing client application")
    assert sub["clientState"] == "secret-state" and sub["changeType"] == "created,updated,deleted"
    ms_emu.hooks.config(notification_batch_delay=0.3)
    event = (await graph.post("/me/events", ms_event("n", "2030-01-01T09:00:00",
                                                     "2030-01-01T10:00:00"))).body
    await graph.patch(f"/me/events/{event['id']}", {"subject": "m"})
    items = await receiver.wait_for(2)
    assert len(receiver.posts) == 1  # both in one POST
    assert [i["changeType"] for i in items] == ["created", "updated"]
    first = items[0]
    assert first["subscriptionId"] == sub["id"] and first["clientState"] == "secret-state"
    assert first["resourceData"]["id"] == event["id"]
    assert first["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"
    assert first["resource"].endswith(f"/Events/{event['id']}")
    listed = await graph.get("/subscriptions")
    assert [s["id"] for s in listed.body["value"]] == [sub["id"]]
    # Lifecycle events on demand.
    ms_emu.hooks.call("POST", "lifecycle", {"subscriptionId": sub["id"],
                                            "event": "reauthorizationRequired"})
    items = await receiver.wait_for(3)
    assert items[-1]["lifecycleEvent"] == "reauthorizationRequired"
    assert (await graph.post(f"/subscriptions/{sub['id']}/reauthorize", None)).status == 204
    renewed = await graph.patch(f"/subscriptions/{sub['id']}",
                                {"expirationDateTime": _expiry(3000)})
    assert renewed.status == 200 and renewed.body["expirationDateTime"][:13] == _expiry(3000)[:13]
    ms_emu.hooks.call("POST", "lifecycle", {"subscriptionId": sub["id"],
                                            "event": "subscriptionRemoved"})
    items = await receiver.wait_for(4)
    assert items[-1]["lifecycleEvent"] == "subscriptionRemoved"
    assert (await graph.get(f"/subscriptions/{sub['id']}")).status == 404


async def test_subscription_on_one_calendar_only(graph: Graph, ms_emu: MsEmulatorServer,
                                                 receiver: Receiver) -> None:
    created = await graph.post("/subscriptions", _subscription(
        receiver, resource="/me/calendars/AAMkAGCalPraxis/events", changeType="created"))
    assert created.status == 201
    await graph.post("/me/events", ms_event("default", "2030-01-01T09:00:00",
                                            "2030-01-01T10:00:00"))
    praxis = await graph.post("/me/calendars/AAMkAGCalPraxis/events", ms_event(
        "praxis", "2030-01-01T09:00:00", "2030-01-01T10:00:00"))
    items = await receiver.wait_for(1)
    assert [i["resourceData"]["id"] for i in items] == [praxis.body["id"]]
    assert (await graph.delete(f"/subscriptions/{created.body['id']}")).status == 204


async def test_subscription_validation_failures(graph: Graph, ms_emu: MsEmulatorServer,
                                                receiver: Receiver) -> None:
    receiver.echo = False
    wrong = await graph.post("/subscriptions", _subscription(receiver))
    assert wrong.status == 400 and wrong.body["error"]["code"] == "ValidationError"
    receiver.echo, receiver.delay = True, 1.0
    ms_emu.hooks.config(validation_timeout=0.3)
    slow = await graph.post("/subscriptions", _subscription(receiver))
    assert slow.status == 400 and "timed out" in slow.body["error"]["message"]
    receiver.delay = 0.0
    too_long = await graph.post("/subscriptions", _subscription(
        receiver, expirationDateTime=_expiry(10081)))
    assert too_long.status == 400 and "10080 minutes" in too_long.body["error"]["message"]
    short = await graph.post("/subscriptions", _subscription(
        receiver, expirationDateTime=_expiry(5)))
    assert short.status == 201
    expires = dt.datetime.fromisoformat(short.body["expirationDateTime"][:19] + "+00:00")
    assert expires > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=44)
    assert (await graph.get("/subscriptions")).body["value"][0]["id"] == short.body["id"]
