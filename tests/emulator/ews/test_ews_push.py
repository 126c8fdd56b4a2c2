"""EWS push subscriptions: exchangelib's own ``subscribe_to_push`` against the emulator, real
``SendNotification`` POSTs to a local receiver, parsed with exchangelib's own parser."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from exchangelib import Account, CalendarItem, EWSDateTime
from exchangelib.errors import ErrorInvalidSubscription
from exchangelib.properties import CreatedEvent, DeletedEvent, ModifiedEvent, StatusEvent
from exchangelib.services import SendNotification

from emulators.ews.server import EwsEmulatorServer
from tests.emulator.ews.conftest import TZ, raw

_ANSWER = ('<?xml version="1.0" encoding="utf-8"?><s:Envelope '
           'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
           '<SendNotificationResult xmlns="http://schemas.microsoft.com/exchange/services/2006/'
           'messages"><SubscriptionStatus>{status}</SubscriptionStatus>'
           '</SendNotificationResult></s:Body></s:Envelope>')


@dataclass
class Receiver:
    """Collects notification bodies; answers with queued replies (status, subscription
    status), then ``200 OK``."""

    url: str = ""
    bodies: list[bytes] = field(default_factory=list)
    replies: list[tuple[int, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        status, answer = self.replies.pop(0) if self.replies else (200, "OK")
        return web.Response(status=status, text=_ANSWER.replace("{status}", answer),
                            content_type="text/xml")

    def events(self) -> list[Any]:
        """Every event received, parsed by exchangelib."""
        found = []
        for body in self.bodies:
            for note in SendNotification(protocol=None).parse(body):
                found.extend(note.events)
        return found

    async def wait(self, predicate: Any, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            assert time.monotonic() < deadline, f"no notification: {self.bodies!r}"
            await asyncio.sleep(0.05)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/sync/exchange/notify", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/sync/exchange/notify?c=1"
    yield rec
    await runner.cleanup()


def _item(account: Account, subject: str) -> CalendarItem:
    return CalendarItem(account=account, folder=account.calendar, subject=subject,
                        start=EWSDateTime(2030, 3, 4, 9, tzinfo=TZ),
                        end=EWSDateTime(2030, 3, 4, 10, tzinfo=TZ))


async def test_changes_are_pushed_in_order_and_parse(account: Account, receiver: Receiver,
                                                     ews_emu: EwsEmulatorServer) -> None:
    sid, watermark = await asyncio.to_thread(
        account.calendar.subscribe_to_push, receiver.url, status_frequency=30)
    assert sid and watermark
    item = _item(account, "Pushed")
    await asyncio.to_thread(item.save)
    await receiver.wait(lambda r: len(r.events()) >= 1)
    item.subject = "Renamed"
    await asyncio.to_thread(item.save, update_fields=["subject"])
    await receiver.wait(lambda r: len(r.events()) >= 2)
    item_id = item.id
    await asyncio.to_thread(item.delete)
    await receiver.wait(lambda r: len(r.events()) >= 3)
    events = receiver.events()
    assert [type(e) for e in events] == [CreatedEvent, ModifiedEvent, DeletedEvent]
    assert {e.item_id.id for e in events} == {item_id}
    notes = [n for b in receiver.bodies for n in SendNotification(protocol=None).parse(b)]
    assert {n.subscription_id for n in notes} == {sid}
    assert notes[0].previous_watermark == watermark  # each notification continues the last


async def test_status_events_keep_coming_when_nothing_changes(
        account: Account, receiver: Receiver, ews_emu: EwsEmulatorServer) -> None:
    ews_emu.hooks.config(push_status_seconds=0.2)
    await asyncio.to_thread(account.calendar.subscribe_to_push, receiver.url,
                            status_frequency=1)
    await receiver.wait(lambda r: len(r.events()) >= 2)
    assert all(isinstance(e, StatusEvent) for e in receiver.events())


async def test_other_folders_and_unwanted_kinds_are_not_pushed(
        account: Account, receiver: Receiver, ews_emu: EwsEmulatorServer) -> None:
    await asyncio.to_thread(account.calendar.subscribe_to_push, receiver.url,
                            event_types=["DeletedEvent"], status_frequency=30)
    item = _item(account, "Quiet")
    await asyncio.to_thread(item.save)
    await asyncio.to_thread(item.delete)
    await receiver.wait(lambda r: len(r.events()) >= 1)
    assert [type(e) for e in receiver.events()] == [DeletedEvent]


async def test_unsubscribe_answer_ends_the_subscription(
        account: Account, receiver: Receiver, ews_emu: EwsEmulatorServer) -> None:
    sid, _ = await asyncio.to_thread(account.calendar.subscribe_to_push, receiver.url,
                                     status_frequency=30)
    receiver.replies.append((200, "Unsubscribe"))
    await asyncio.to_thread(_item(account, "First").save)
    await receiver.wait(lambda r: len(r.bodies) >= 1)
    await _ended(ews_emu, sid, "unsubscribe answered")
    await asyncio.to_thread(_item(account, "Second").save)
    await asyncio.sleep(0.5)
    assert len(receiver.bodies) == 1
    with pytest.raises(ErrorInvalidSubscription):
        await asyncio.to_thread(account.calendar.unsubscribe, sid)


async def test_failing_callback_is_retried_then_dropped(
        account: Account, receiver: Receiver, ews_emu: EwsEmulatorServer) -> None:
    ews_emu.hooks.config(push_retry_base=0.05, push_status_seconds=600.0)
    sid, _ = await asyncio.to_thread(account.calendar.subscribe_to_push, receiver.url,
                                     status_frequency=30)
    receiver.replies.extend([(500, "OK"), (200, "OK")])  # one failure, then delivered
    await asyncio.to_thread(_item(account, "Retried").save)
    await receiver.wait(lambda r: len(r.bodies) >= 2)
    assert receiver.bodies[0] == receiver.bodies[1]  # the same notification again
    receiver.replies.extend([(503, "OK")] * 50)  # never answers OK again
    ews_emu.hooks.config(push_status_seconds=1.0)  # retries stop once they add up to 1 s
    await asyncio.to_thread(_item(account, "Lost").save)
    await _ended(ews_emu, sid, "undeliverable: http 503")
    outcomes = [n["outcome"] for n in ews_emu.hooks.state()["notifications"]]
    assert outcomes[:2] == ["http 500", "OK"] and outcomes.count("http 503") >= 3


async def test_unsubscribe_operation_and_errors(account: Account, receiver: Receiver,
                                                ews_emu: EwsEmulatorServer) -> None:
    sid, _ = await asyncio.to_thread(account.calendar.subscribe_to_push, receiver.url,
                                     status_frequency=30)
    assert await asyncio.to_thread(account.calendar.unsubscribe, sid) is True
    await _ended(ews_emu, sid, "unsubscribed")
    await asyncio.to_thread(_item(account, "Unheard").save)
    await asyncio.sleep(0.3)
    assert receiver.bodies == []
    with pytest.raises(ErrorInvalidSubscription):
        await asyncio.to_thread(account.calendar.unsubscribe, "bm90LWEtc3Vic2NyaXB0aW9u")


def test_subscribe_validation(ews_emu: EwsEmulatorServer) -> None:
    folder = '<t:FolderIds><t:DistinguishedFolderId Id="calendar"/></t:FolderIds>'
    events = "<t:EventTypes><t:EventType>CreatedEvent</t:EventType></t:EventTypes>"

    def push(inner: str) -> str:
        return raw(ews_emu, f"<m:Subscribe><m:PushSubscriptionRequest>{inner}"
                   "</m:PushSubscriptionRequest></m:Subscribe>").text

    ok = f"{folder}{events}<t:StatusFrequency>5</t:StatusFrequency><t:URL>http://x.test/</t:URL>"
    assert "NoError" in push(ok) and "SubscriptionId" in push(ok)
    assert "ErrorInvalidPushSubscriptionUrl" in push(
        f"{folder}{events}<t:StatusFrequency>5</t:StatusFrequency><t:URL>ftp:x</t:URL>")
    assert "ErrorSchemaValidation" in push(
        f"{folder}{events}<t:StatusFrequency>0</t:StatusFrequency><t:URL>http://x.test/</t:URL>")
    assert "ErrorInvalidWatermark" in push(
        f"{folder}{events}<m:Watermark>AAAA</m:Watermark><t:StatusFrequency>5"
        "</t:StatusFrequency><t:URL>http://x.test/</t:URL>")
    pull = raw(ews_emu, f"<m:Subscribe><m:PullSubscriptionRequest>{folder}{events}"
               "<t:Timeout>5</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>").text
    assert "ErrorInvalidSubscriptionRequest" in pull


async def _ended(emu: EwsEmulatorServer, sid: str, reason: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while {"subscription": sid, "reason": reason} not in emu.hooks.state()[
            "subscriptions_ended"]:
        assert time.monotonic() < deadline, emu.hooks.state()["subscriptions_ended"]
        await asyncio.sleep(0.05)
