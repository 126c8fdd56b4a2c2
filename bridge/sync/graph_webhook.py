"""Receiver of Microsoft Graph change and lifecycle notifications (subscriptions).

Graph POSTs ``<public_url>/sync/microsoft/notify`` (changes) and
``<public_url>/sync/microsoft/lifecycle`` (lifecycle events).  Both first receive the
*validation handshake*: ``?validationToken=…`` must be echoed within 10 s as ``text/plain``.
Notifications must be acknowledged within 3 s, so the handler only parses and checks the body,
answers ``202`` and does the work (store look-ups, pulls, subscription renewals) in a background
task.  Like Google's push, a notification only *wakes* a coalesced pull; polling stays on.

Each item names its subscription (stored as the connection's ``channel_resource_id``) and carries
the ``clientState`` we issued (the connection's ``channel_token``), compared in constant time;
a mismatch is ignored and counted.  Answers are never 5xx: a malformed body is 400, an oversized
one 413.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from bridge.errors import RemoteError
from bridge.providers.http import read_bounded
from bridge.sync.channels import notification_matches, renew_channel
from bridge.sync.engine import SyncEngine

__all__ = [
    "LIFECYCLE_PATH",
    "MAX_BODY",
    "MAX_VALIDATION_TOKEN",
    "NOTIFY_PATH",
    "GraphNotice",
    "parse_notices",
    "setup_graph_webhook",
]

_LOGGER = logging.getLogger(__name__)

NOTIFY_PATH = "/sync/microsoft/notify"
LIFECYCLE_PATH = "/sync/microsoft/lifecycle"
# Graph batches at most a few hundred small items per POST; anything far larger is not Graph.
MAX_BODY = 1024 * 1024
# Graph's validation tokens are a few hundred characters; bound what we echo.
MAX_VALIDATION_TOKEN = 2048
_LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})

_ENGINE = web.AppKey("graph_webhook_engine", SyncEngine)
_TASKS = web.AppKey("graph_webhook_tasks", set[asyncio.Task[None]])


@dataclass(frozen=True, slots=True)
class GraphNotice:
    """One item of a notification POST: its subscription, client state and event kind."""

    subscription_id: str
    client_state: str | None
    kind: str  # changeType ("created", "updated", "deleted") or the lifecycleEvent


def parse_notices(body: bytes) -> list[GraphNotice]:
    """The items of a Graph notification body; raises ``ValueError`` when it is malformed."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("value"), list):
        raise ValueError("no value array")
    notices = []
    for item in data["value"]:
        if not isinstance(item, dict):
            raise ValueError("an item is not an object")
        subscription = item.get("subscriptionId")
        state = item.get("clientState")
        kind = item.get("lifecycleEvent") or item.get("changeType") or ""
        if (not isinstance(subscription, str) or not isinstance(kind, str)
                or not (state is None or isinstance(state, str))):
            raise ValueError("an item has fields of the wrong type")
        notices.append(GraphNotice(subscription, state, kind))
    return notices


def _validation(request: web.Request) -> web.Response | None:
    """The handshake answer when the request is one (the token echoed as plain text)."""
    if "validationToken" not in request.query:
        return None
    token = request.query["validationToken"]  # aiohttp has URL-decoded it
    if not token or len(token) > MAX_VALIDATION_TOKEN:
        return web.Response(status=400, text="bad validation token")
    return web.Response(status=200, text=token, content_type="text/plain",
                        headers={"X-Content-Type-Options": "nosniff"})


async def _read_notices(request: web.Request) -> list[GraphNotice] | web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY:
        return web.Response(status=413, text="body too large")
    body = await read_bounded(request.content, MAX_BODY)
    if body is None:
        return web.Response(status=413, text="body too large")
    try:
        return parse_notices(body)
    except ValueError as exc:
        return web.Response(status=400, text=f"malformed notification: {exc}")


def _in_background(request: web.Request, notices: list[GraphNotice], lifecycle: bool) -> None:
    tasks = request.app[_TASKS]
    task = asyncio.create_task(_handle(request.app[_ENGINE], notices, lifecycle))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def notify(request: web.Request) -> web.Response:
    """``POST /sync/microsoft/notify``: validation handshake, or change notifications."""
    return await _receive(request, lifecycle=False)


async def lifecycle(request: web.Request) -> web.Response:
    """``POST /sync/microsoft/lifecycle``: validation handshake, or lifecycle notifications."""
    return await _receive(request, lifecycle=True)


async def _receive(request: web.Request, *, lifecycle: bool) -> web.Response:
    try:
        answer = _validation(request)
        if answer is not None:
            return answer
        notices = await _read_notices(request)
        if isinstance(notices, web.Response):
            return notices
        _in_background(request, notices, lifecycle)
        return web.Response(status=202)
    except Exception:  # never 5xx: Graph would retry for hours and then drop the endpoint
        _LOGGER.exception("Graph notification could not be read")
        return web.Response(status=400, text="unreadable notification")


async def _handle(engine: SyncEngine, notices: list[GraphNotice], lifecycle: bool) -> None:
    """Check each item against its connection, then pull (coalesced) or renew."""
    counts = engine.metrics.notifications
    for notice in notices:
        try:
            record = (await asyncio.to_thread(engine.store.connection_by_channel_resource,
                                              notice.subscription_id)
                      if notice.subscription_id else None)
            if not notification_matches(record, notice.client_state):
                counts["ignored"] += 1
                _LOGGER.debug("ignored a Graph notification for an unknown subscription")
                continue
            assert record is not None
            if lifecycle and notice.kind not in _LIFECYCLE_EVENTS:
                counts["ignored"] += 1
                continue
            counts[notice.kind or "unknown"] += 1
            if notice.kind in ("reauthorizationRequired", "subscriptionRemoved"):
                ctx = await asyncio.to_thread(engine.context, record)
                if ctx is not None:
                    await renew_channel(ctx, gone=notice.kind == "subscriptionRemoved")
                if notice.kind == "reauthorizationRequired":
                    continue
            engine.request_pull(record.id, "notification")
        except RemoteError as exc:
            _LOGGER.warning("Graph lifecycle event %s not handled: %s (polling continues)",
                            notice.kind, exc)
        except Exception:
            _LOGGER.exception("Graph notification handling failed")


async def _tasks_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    pending: set[asyncio.Task[None]] = app[_TASKS]
    tasks = list(pending)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def setup_graph_webhook(app: web.Application, engine: SyncEngine) -> None:
    """Mount both Graph receivers on the sidecar."""
    app[_ENGINE] = engine
    app[_TASKS] = set()
    app.cleanup_ctx.append(_tasks_ctx)
    app.router.add_post(NOTIFY_PATH, notify)
    app.router.add_post(LIFECYCLE_PATH, lifecycle)
