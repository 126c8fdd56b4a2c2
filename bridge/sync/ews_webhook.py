"""Receiver of Exchange (EWS) push notifications: ``POST /sync/exchange/notify``.

Exchange POSTs a SOAP ``SendNotification`` request to the URL of a push subscription
(``<public_url>/sync/exchange/notify?channel=<id>&token=<token>``, see
:meth:`bridge.exchange.provider.ExchangeProvider.watch`) on item changes and, as a keepalive,
a ``StatusEvent`` every few minutes.  It expects a SOAP ``SendNotificationResult`` whose
``SubscriptionStatus`` is ``OK`` (keep sending) or ``Unsubscribe`` (end the subscription).

The channel id and token in the query are checked against the connection (token compared in
constant time) and the body's ``SubscriptionId`` against the channel's subscription; anything
unknown (a renewed or stopped channel, a disconnected calendar, a forged token) is answered
``Unsubscribe`` and pulls nothing.  Item events wake one coalesced pull, like Google's and
Microsoft's notifications; every notification (the keepalive too) records that the channel is
alive (:func:`~bridge.sync.channels.channel_heard`).  A body that is not such a request, or is
larger than :data:`MAX_BODY`, is 400 with a short reason; the receiver never answers 5xx.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from aiohttp import web
from defusedxml import DefusedXmlException

from bridge.providers.http import read_bounded
from bridge.sync.channels import channel_heard, notification_matches
from bridge.sync.engine import SyncEngine

__all__ = ["MAX_BODY", "NOTIFY_PATH", "EwsNotice", "answer", "parse_notification",
           "setup_ews_webhook"]

_LOGGER = logging.getLogger(__name__)

NOTIFY_PATH = "/sync/exchange/notify"
# A notification holds at most a few hundred small events; far larger is not Exchange.
MAX_BODY = 1024 * 1024
_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
_M = "{http://schemas.microsoft.com/exchange/services/2006/messages}"
_T = "{http://schemas.microsoft.com/exchange/services/2006/types}"
# The events that mean an item of the calendar changed (the rest, StatusEvent, are keepalives).
PULL_EVENTS = frozenset({"CreatedEvent", "ModifiedEvent", "DeletedEvent", "MovedEvent",
                         "CopiedEvent"})
_ENGINE = web.AppKey("ews_webhook_engine", SyncEngine)


@dataclass(frozen=True, slots=True)
class EwsNotice:
    """One ``m:Notification``: its subscription and the kinds of its events."""

    subscription_id: str
    events: tuple[str, ...]


def parse_notification(body: bytes) -> list[EwsNotice]:
    """The notifications of a ``SendNotification`` request; ``ValueError`` when malformed."""
    try:
        root: Element = SafeET.fromstring(body, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, UnicodeDecodeError) as exc:
        raise ValueError("not XML") from exc
    if root.tag != f"{{{_SOAP}}}Envelope":
        raise ValueError("not a SOAP envelope")
    send = root.find(f"{{{_SOAP}}}Body/{_M}SendNotification")
    if send is None:
        raise ValueError("no SendNotification")
    messages = send.findall(f"{_M}ResponseMessages/{_M}SendNotificationResponseMessage")
    if not messages:
        raise ValueError("no response messages")
    notices = []
    for message in messages:
        for note in message.findall(f"{_M}Notification"):
            sid = note.findtext(f"{_T}SubscriptionId")
            if not sid or not sid.strip():
                raise ValueError("a notification names no subscription")
            events = tuple(child.tag.removeprefix(_T) for child in note
                           if child.tag.startswith(_T) and child.tag.endswith("Event"))
            notices.append(EwsNotice(sid.strip(), events))
    if not notices:
        raise ValueError("no notification")
    return notices


def answer(status: str) -> web.Response:
    """The ``SendNotificationResult`` with ``status`` (``OK`` or ``Unsubscribe``)."""
    text = ('<?xml version="1.0" encoding="utf-8"?>'
            f'<s:Envelope xmlns:s="{_SOAP}"><s:Body>'
            '<m:SendNotificationResult xmlns:m="http://schemas.microsoft.com/exchange/services/'
            f'2006/messages"><m:SubscriptionStatus>{status}</m:SubscriptionStatus>'
            '</m:SendNotificationResult></s:Body></s:Envelope>')
    return web.Response(status=200, text=text, content_type="text/xml", charset="utf-8")


async def notify(request: web.Request) -> web.Response:
    """``POST /sync/exchange/notify``: check, record liveness, wake a pull, answer."""
    try:
        return await _receive(request)
    except Exception:  # never 5xx: Exchange would retry and then drop the subscription
        _LOGGER.exception("Exchange notification could not be read")
        return web.Response(status=400, text="unreadable notification")


async def _receive(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY:
        return web.Response(status=400, text="body too large")
    body = await read_bounded(request.content, MAX_BODY)
    if body is None:
        return web.Response(status=400, text="body too large")
    try:
        notices = parse_notification(body)
    except ValueError as exc:
        return web.Response(status=400, text=f"malformed notification: {exc}")
    engine = request.app[_ENGINE]
    counts = engine.metrics.notifications
    channel = request.query.get("channel", "")
    record = (await asyncio.to_thread(engine.store.connection_by_channel, channel)
              if channel and len(channel) <= 64 else None)
    if (not notification_matches(record, request.query.get("token"))
            or record is None or not record.active
            or any(n.subscription_id != record.channel_resource_id for n in notices)):
        counts["ignored"] += 1
        _LOGGER.debug("answered Unsubscribe to an Exchange notification for an unknown channel")
        return answer("Unsubscribe")
    await asyncio.to_thread(channel_heard, engine.store, record)
    kinds = [kind for notice in notices for kind in notice.events]
    for kind in kinds:
        counts[kind] += 1
    if PULL_EVENTS.intersection(kinds):
        engine.request_pull(record.id, "notification")
    return answer("OK")


def setup_ews_webhook(app: web.Application, engine: SyncEngine) -> None:
    """Mount the Exchange receiver on the sidecar."""
    app[_ENGINE] = engine
    app.router.add_post(NOTIFY_PATH, notify)
