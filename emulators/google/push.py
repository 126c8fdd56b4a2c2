"""Push notifications: ``events.watch``, ``channels.stop`` and the delivery worker.

Each channel gets its own ordered queue and worker task, so message numbers reach the receiver in
order: ``sync`` (number 1) right after the watch, then ``exists`` for every change of the watched
calendar.  Deliveries are real HTTP POSTs with an empty body and Google's ``X-Goog-*`` headers;
receiver answers 500/502/503/504 (and connection errors) are retried with exponential backoff,
anything else except 200/201/202/204/102 is dropped.  Knobs in :class:`~.state.Config` drop,
delay, duplicate or gap messages.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import logging
from typing import Any

import aiohttp

from emulators.google.api import HANDLERS, ApiResponse, Ctx, json_response
from emulators.google.errors import ApiError, bad_request, int_value
from emulators.google.eventlogic import require_role
from emulators.google.state import Channel, EmulatorState
from emulators.google.timeutil import format_rfc1123

__all__ = ["Notifier", "channels_stop", "events_watch", "resource_id"]

_LOGGER = logging.getLogger(__name__)
_OK = frozenset({102, 200, 201, 202, 204})
_RETRY = frozenset({500, 502, 503, 504})
_BASE_URI = "https://www.googleapis.com/calendar/v3"


def resource_id(calendar_id: str) -> str:
    """The stable opaque resource id of a calendar's event collection."""
    digest = hashlib.sha256(("events:" + calendar_id).encode()).digest()[:20]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class Notifier:
    """Delivers notifications for the channels of one :class:`EmulatorState`."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.session: aiohttp.ClientSession | None = None
        self._queues: dict[str, asyncio.Queue[str]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        """Open the HTTP session and listen for changes."""
        self.session = aiohttp.ClientSession(
            headers={"User-Agent": "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"}
        )
        self.state.listeners.append(self.on_change)
        self.state.channel_listeners.append(self.on_channel)

    async def close(self) -> None:
        """Stop the workers and close the session."""
        if self.on_change in self.state.listeners:
            self.state.listeners.remove(self.on_change)
        if self.on_channel in self.state.channel_listeners:
            self.state.channel_listeners.remove(self.on_channel)
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

    def enqueue(self, channel: Channel, resource_state: str) -> None:
        """Queue one message for ``channel``, starting its worker if needed."""
        if self.session is None:
            return
        queue = self._queues.get(channel.id)
        if queue is None:
            queue = self._queues[channel.id] = asyncio.Queue()
            self._tasks[channel.id] = asyncio.get_running_loop().create_task(
                self._worker(channel.id, queue)
            )
        queue.put_nowait(resource_state)

    def on_channel(self, channel: Channel) -> None:
        """Channel listener: queue the ``sync`` message of a new channel."""
        self.enqueue(channel, "sync")

    def on_change(self, calendar_id: str) -> None:
        """Change listener: queue ``exists`` for every live channel of ``calendar_id``."""
        now = self.state.clock.now()
        for channel in self.state.channels.values():
            if channel.calendar_id == calendar_id and not channel.stopped and (
                channel.expiration > now
            ):
                self.enqueue(channel, "exists")

    async def _worker(self, channel_id: str, queue: asyncio.Queue[str]) -> None:
        while True:
            resource_state = await queue.get()
            channel = self.state.channels.get(channel_id)
            if channel is None or channel.stopped:
                continue
            if channel.expiration <= self.state.clock.now():
                _LOGGER.debug("Channel %s expired; dropping message", channel_id)
                continue
            config = self.state.config
            channel.message_number += 1 + (config.push_gap if channel.message_number else 0)
            number = channel.message_number
            if config.push_drop > 0:
                config.push_drop -= 1
                self._log(channel, number, resource_state, "dropped")
                continue
            if config.push_delay:
                await asyncio.sleep(config.push_delay)
            copies = 1
            if config.push_duplicate > 0:
                config.push_duplicate -= 1
                copies = 2
            for _ in range(copies):
                await self._deliver(channel, number, resource_state)

    def _log(self, channel: Channel, number: int, resource_state: str, outcome: Any) -> None:
        self.state.counters.deliveries.append({
            "channelId": channel.id, "messageNumber": number, "state": resource_state,
            "outcome": outcome,
        })

    async def _deliver(self, channel: Channel, number: int, resource_state: str) -> None:
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Message-Number": str(number),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-State": resource_state,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Channel-Expiration": format_rfc1123(channel.expiration),
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        config = self.state.config
        assert self.session is not None
        status: int | str = "stopped"
        for attempt in range(max(1, config.push_max_attempts)):
            if self.state.channels.get(channel.id) is not channel or channel.stopped:
                return  # reset or stopped while retrying
            self.state.counters.notification_attempts += 1
            try:
                async with self.session.post(
                    channel.address, data=b"", headers=headers,
                    timeout=aiohttp.ClientTimeout(total=config.push_timeout),
                ) as resp:
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = type(exc).__name__
            if status in _OK:
                self.state.counters.notifications_delivered += 1
                self._log(channel, number, resource_state, status)
                return
            if isinstance(status, int) and status not in _RETRY:
                break
            _LOGGER.debug("Notification %s/%d failed (%s), attempt %d",
                          channel.id, number, status, attempt + 1)
            await asyncio.sleep(config.push_retry_base * (2 ** attempt))
        self.state.counters.notifications_failed += 1
        self._log(channel, number, resource_state, f"failed:{status}")


async def events_watch(ctx: Ctx) -> ApiResponse:
    """``events.watch``: create a channel and queue its ``sync`` message."""
    state = ctx.state
    cal = require_role(state, ctx.account, ctx.calendar_id(), "freeBusyReader")
    body = ctx.json_body()
    channel_id = str(body.get("id") or "")
    address = str(body.get("address") or "")
    if not channel_id:
        raise bad_request("Required", reason="required", location="id")
    if len(channel_id) > 64:
        raise bad_request("Channel id must be at most 64 characters.", reason="invalid")
    if body.get("type") not in ("web_hook", "webhook"):
        raise bad_request(f"Unknown channel type: {body.get('type')}", reason="invalid")
    if not address:
        raise bad_request("Required", reason="required", location="address")
    if state.config.strict_https_webhooks and not address.startswith("https://"):
        raise ApiError(400, "push.webhookUrlNotHttps", f"WebHook callback must be HTTPS: {address}")
    token = body.get("token")
    if token is not None and len(str(token)) > 256:
        raise bad_request("Channel token must be at most 256 characters.", reason="invalid")
    existing = state.channels.get(channel_id)
    if existing is not None and not existing.stopped:
        raise bad_request(f"Channel id {channel_id} not unique", reason="channelIdNotUnique")
    now = state.clock.now()
    ttl = state.config.channel_default_ttl
    params = body.get("params") or {}
    if isinstance(params, dict) and params.get("ttl"):
        ttl = int_value(params["ttl"], "params.ttl")
    expiration = now + dt.timedelta(seconds=min(ttl, state.config.channel_max_ttl))
    if body.get("expiration"):
        millis = int_value(body["expiration"], "expiration")
        asked = dt.datetime.fromtimestamp(max(0, millis) / 1000, dt.UTC)
        expiration = min(expiration, asked)
    channel = Channel(
        id=channel_id,
        resource_id=resource_id(cal.id),
        resource_uri=f"{_BASE_URI}/calendars/{cal.id}/events?alt=json",
        calendar_id=cal.id,
        address=address,
        token=None if token is None else str(token),
        expiration=expiration,
        account=ctx.account,
        client_id=ctx.token.client_id,
    )
    state.channels[channel_id] = channel
    for listener in list(state.channel_listeners):
        listener(channel)
    out: dict[str, Any] = {
        "kind": "api#channel",
        "id": channel.id,
        "resourceId": channel.resource_id,
        "resourceUri": channel.resource_uri,
    }
    if channel.token is not None:
        out["token"] = channel.token
    out["expiration"] = str(int(expiration.timestamp() * 1000))
    return json_response(out)


async def channels_stop(ctx: Ctx) -> ApiResponse:
    """``channels.stop``: 204, or 404 for an unknown/stopped/foreign channel."""
    state = ctx.state
    body = ctx.json_body()
    channel_id = str(body.get("id") or "")
    channel = state.channels.get(channel_id)
    client = state.clients.get(ctx.token.client_id)
    project = client.project_number if client else "0"
    if (
        channel is None or channel.stopped or channel.resource_id != body.get("resourceId")
        or channel.account != ctx.account or channel.client_id != ctx.token.client_id
    ):
        raise ApiError(404, "notFound",
                       f"Channel '{channel_id}' not found for project '{project}'")
    channel.stopped = True
    return ApiResponse(204)


HANDLERS.update({
    "calendar.events.watch": events_watch,
    "calendar.channels.stop": channels_stop,
})
