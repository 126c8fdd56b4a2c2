"""Push subscriptions: ``Subscribe`` (``m:PushSubscriptionRequest``), ``Unsubscribe`` and the
delivery worker that POSTs ``SendNotification`` to the subscriber's URL.

As Exchange 2016/2019 does (docs/emulator-ews.md, *Push notifications*): the subscription id and
watermark are opaque base64; every change of an item in a subscribed folder becomes one event
(``CreatedEvent``, ``ModifiedEvent``, ``DeletedEvent``) of the subscribed ``EventTypes``, sent
in order per subscription; a ``StatusEvent`` goes out every ``StatusFrequency`` minutes
(``Config.push_status_seconds`` shortens it for tests).  The answer must be HTTP 200 with
``m:SendNotificationResult/m:SubscriptionStatus``: ``OK`` keeps the subscription,
``Unsubscribe`` ends it.  Any other answer (or no answer) is retried with doubling waits from
``Config.push_retry_base``; once the waits add up to the status frequency the subscription is
dropped (the events are lost; a new ``Subscribe`` starts over).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp

from emulators.ews.context import Ctx
from emulators.ews.folders import resolve_folder
from emulators.ews.soap import (
    SOAPNS,
    EwsError,
    envelope,
    local,
    m,
    response_message,
    sub,
    t,
    to_bytes,
)
from emulators.ews.state import EwsState, Subscription, change_key

__all__ = ["EVENT_TYPES", "Notifier", "subscribe", "unsubscribe"]

_LOGGER = logging.getLogger(__name__)

EVENT_TYPES = frozenset({"CopiedEvent", "CreatedEvent", "DeletedEvent", "ModifiedEvent",
                         "MovedEvent", "NewMailEvent", "FreeBusyChangedEvent"})
MAX_STATUS_FREQUENCY = 1440  # minutes (PushSubscriptionRequest: 1..1440)
_INVALID = ("ErrorInvalidSubscription", "The subscription is invalid.")


def _watermark() -> str:
    return base64.b64encode(b"\x00\x01" + secrets.token_bytes(26)).decode()


def _text(elem: ET.Element, tag: str) -> str | None:
    found = elem.find(tag)
    return found.text.strip() if found is not None and found.text else None


def subscribe(ctx: Ctx, body: ET.Element) -> list[ET.Element]:
    """``m:Subscribe``: push subscriptions only (pull and streaming are not emulated)."""
    request = body.find(m("PushSubscriptionRequest"))
    if request is None:
        kinds = [local(c.tag) for c in body]
        raise EwsError("ErrorInvalidSubscriptionRequest",
                       f"Only push subscriptions are emulated (got {', '.join(kinds)}).")
    folder_ids = request.find(t("FolderIds"))
    if folder_ids is None or len(folder_ids) == 0:
        raise EwsError("ErrorInvalidSubscriptionRequest",
                       "Subscriptions to all folders are not emulated; name FolderIds.")
    folders = tuple(resolve_folder(ctx, elem).id for elem in folder_ids)
    events_elem = request.find(t("EventTypes"))
    events = [e.text or "" for e in (events_elem if events_elem is not None else [])]
    if not events or set(events) - EVENT_TYPES:
        raise EwsError("ErrorSchemaValidation", "EventTypes must name known event types.",
                       fault=True)
    try:
        frequency = int(_text(request, t("StatusFrequency")) or "")
    except ValueError:
        frequency = 0
    if not 1 <= frequency <= MAX_STATUS_FREQUENCY:
        raise EwsError("ErrorSchemaValidation", "StatusFrequency must be 1 to 1440 minutes.",
                       fault=True)
    url = _text(request, t("URL")) or ""
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise EwsError("ErrorInvalidPushSubscriptionUrl", "The push subscription URL is "
                       "invalid.")
    watermark = _text(request, m("Watermark"))
    if watermark is not None and watermark not in ctx.state.watermarks:
        raise EwsError("ErrorInvalidWatermark", "The watermark used for creating this "
                       "subscription was not recognized.")
    sid = base64.b64encode(b"\x1a\x00" + secrets.token_bytes(30)).decode()
    subscription = Subscription(sid, ctx.owner, folders, frozenset(events), frequency, url,
                                _watermark())
    ctx.state.watermarks.add(subscription.watermark)
    ctx.state.subscriptions[sid] = subscription
    ctx.state.on_subscription(subscription)
    msg = response_message("Subscribe")
    sub(msg, m("SubscriptionId"), sid)
    sub(msg, m("Watermark"), subscription.watermark)
    return [msg]


def unsubscribe(ctx: Ctx, body: ET.Element) -> list[ET.Element]:
    """``m:Unsubscribe``: end a subscription of the signed-in mailbox."""
    sid = _text(body, m("SubscriptionId")) or ""
    found = ctx.state.subscriptions.get(sid)
    if found is None or found.owner != ctx.owner:
        return [response_message("Unsubscribe", EwsError(*_INVALID))]
    ctx.state.end_subscription(sid, "unsubscribed")
    return [response_message("Unsubscribe")]


@dataclass
class _Queued:
    """One notification waiting for delivery: its events (``(kind, item id, change key,
    folder id)``; an empty list is a status event)."""

    events: list[tuple[str, str, str, str]] = field(default_factory=list)


def notification(state: EwsState, subscription: Subscription,
                 events: list[tuple[str, str, str, str]]) -> bytes:
    """The ``SendNotification`` request Exchange POSTs (events, or one ``StatusEvent``)."""
    env = envelope(None, None)
    header = ET.Element(f"{{{SOAPNS}}}Header")
    sub(header, t("RequestServerVersion"), Version="Exchange2010_SP1")
    env.insert(0, header)
    body = env.find(f"{{{SOAPNS}}}Body")
    assert body is not None
    send = sub(body, m("SendNotification"))
    msg = sub(sub(send, m("ResponseMessages")), m("SendNotificationResponseMessage"),
              ResponseClass="Success")
    sub(msg, m("ResponseCode"), "NoError")
    note = sub(msg, m("Notification"))
    sub(note, t("SubscriptionId"), subscription.id)
    sub(note, t("PreviousWatermark"), subscription.watermark)
    sub(note, t("MoreEvents"), "false")
    stamp = state.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    if not events:
        subscription.watermark = _watermark()
        sub(sub(note, t("StatusEvent")), t("Watermark"), subscription.watermark)
    for kind, item_id, key, folder_id in events:
        subscription.watermark = _watermark()
        event = sub(note, t(kind))
        sub(event, t("Watermark"), subscription.watermark)
        sub(event, t("TimeStamp"), stamp)
        sub(event, t("ItemId"), Id=item_id, ChangeKey=key)
        folder = state.folders.get(folder_id)
        sub(event, t("ParentFolderId"), Id=folder_id,
            ChangeKey=change_key(folder.seq if folder else 0))
    state.watermarks.add(subscription.watermark)
    return to_bytes(env)


def subscription_status(body: bytes) -> str | None:
    """``OK``/``Unsubscribe`` from a subscriber's answer, ``None`` when it is not one."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        return None
    try:
        root = ET.fromstring(body)  # noqa: S314 - no DTD (checked above)
    except ET.ParseError:
        return None
    found = root.find(f".//{m('SendNotificationResult')}/{m('SubscriptionStatus')}")
    text = found.text.strip() if found is not None and found.text else None
    return text if text in ("OK", "Unsubscribe") else None


class Notifier:
    """Delivers the notifications of one :class:`EwsState` (the app's background worker)."""

    def __init__(self, state: EwsState) -> None:
        self.state = state
        self.session: aiohttp.ClientSession | None = None
        self._queues: dict[str, asyncio.Queue[_Queued]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        """Open the HTTP session and listen for changes and new subscriptions."""
        self.session = aiohttp.ClientSession(headers={"User-Agent": "ExchangeServicesClient"})
        self.state.change_listeners.append(self.on_change)
        self.state.subscription_listeners.append(self.on_subscription)
        for subscription in self.state.subscriptions.values():
            self.on_subscription(subscription)

    async def close(self) -> None:
        """Stop every worker and close the session."""
        with contextlib.suppress(ValueError):
            self.state.change_listeners.remove(self.on_change)
        with contextlib.suppress(ValueError):
            self.state.subscription_listeners.remove(self.on_subscription)
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._queues.clear()
        if self.session is not None:
            await self.session.close()
            self.session = None

    def on_subscription(self, subscription: Subscription) -> None:
        """Start the subscription's delivery worker."""
        if self.session is None or subscription.id in self._tasks:
            return
        queue: asyncio.Queue[_Queued] = asyncio.Queue()
        self._queues[subscription.id] = queue
        self._tasks[subscription.id] = asyncio.get_running_loop().create_task(
            self._worker(subscription.id, queue))

    def on_change(self, folder_id: str, kind: str, item_id: str, key: str) -> None:
        """Queue the event for every live subscription of ``folder_id`` that wants it."""
        for subscription in self.state.subscriptions.values():
            if folder_id in subscription.folders and kind in subscription.events:
                queue = self._queues.get(subscription.id)
                if queue is not None:
                    queue.put_nowait(_Queued([(kind, item_id, key, folder_id)]))

    def _status_seconds(self, subscription: Subscription) -> float:
        return float(self.state.config.push_status_seconds or subscription.frequency * 60)

    async def _worker(self, sid: str, queue: asyncio.Queue[_Queued]) -> None:
        while True:
            subscription = self.state.subscriptions.get(sid)
            if subscription is None:
                return
            try:
                queued = await asyncio.wait_for(queue.get(),
                                                self._status_seconds(subscription))
            except TimeoutError:
                queued = _Queued()  # nothing happened: a status event
            while not queue.empty() and queued.events:  # batch what is waiting
                more = queue.get_nowait()
                queued.events.extend(more.events)
            if self.state.subscriptions.get(sid) is not subscription:
                return
            if not await self._deliver(subscription, queued):
                return

    async def _deliver(self, subscription: Subscription, queued: _Queued) -> bool:
        """POST one notification with retries; False when the subscription ended."""
        assert self.session is not None
        config = self.state.config
        body = notification(self.state, subscription, queued.events)
        kinds = [e[0] for e in queued.events] or ["StatusEvent"]
        waited, attempt = 0.0, 0
        outcome: str = "none"
        while True:
            if self.state.subscriptions.get(subscription.id) is not subscription:
                return False
            self.state.counters.notification_attempts += 1
            try:
                async with self.session.post(
                        subscription.url, data=body,
                        headers={"Content-Type": "text/xml; charset=utf-8"},
                        timeout=aiohttp.ClientTimeout(total=config.push_timeout)) as resp:
                    answer = await resp.content.read(64 * 1024)
                    status = subscription_status(answer) if resp.status == 200 else None
                    outcome = status or f"http {resp.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, outcome = None, type(exc).__name__
            self._log(subscription, kinds, outcome)
            if status == "OK":
                return True
            if status == "Unsubscribe":
                self.state.end_subscription(subscription.id, "unsubscribe answered")
                return False
            wait = config.push_retry_base * (2 ** attempt)
            attempt += 1
            if waited + wait > self._status_seconds(subscription):
                self.state.end_subscription(subscription.id, f"undeliverable: {outcome}")
                return False
            waited += wait
            await asyncio.sleep(wait)

    def _log(self, subscription: Subscription, kinds: list[str], outcome: str) -> None:
        self.state.counters.notifications.append(
            {"subscription": subscription.id, "events": kinds, "outcome": outcome})
