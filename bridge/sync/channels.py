"""Push channels (Google: ``events.watch``): open, renew before expiry, stop, and check
notifications, for providers with the ``watch`` capability.

Notifications carry no body and are not fully reliable, so they only *wake* a pull;
polling every ``poll_interval`` stays on.  A channel is renewed with a **new id** before it
expires (``channel_renew_before``), and the old one is stopped afterwards (overlap is harmless:
both wake the same coalesced pull).

Channels that live by keepalives (:attr:`~bridge.providers.base.Channel.keepalive`, Exchange's
push subscriptions) have no expiry of their own: the receiver records when the last
notification arrived (:func:`channel_heard`, state ``channel_heard``), and a channel from which
nothing was heard for three keepalive periods is replaced at the next pull, as an expiring one.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
import uuid

from bridge.errors import RemoteError
from bridge.store import SqlStore
from bridge.store.sync import ConnectionRecord
from bridge.sync.context import ConnectionContext

__all__ = ["KEEPALIVE_MISSES", "channel_heard", "ensure_channel", "notification_matches",
           "renew_channel", "stop_channel"]

_LOGGER = logging.getLogger(__name__)
# Keepalive periods without any notification after which a channel counts as lost.
KEEPALIVE_MISSES = 3


def _silent(record: ConnectionRecord, now: float) -> bool:
    """True when the channel lives by keepalives and none arrived in time."""
    keepalive = record.state.get("channel_keepalive")
    if not keepalive:
        return False
    heard = float(record.state.get("channel_heard") or 0.0)
    return now - heard > KEEPALIVE_MISSES * float(keepalive)


async def ensure_channel(ctx: ConnectionContext, *, now: float | None = None) -> bool:
    """Open or renew the connection's channel when push is on; True when one was opened."""
    if (not ctx.options.push_channels or not ctx.options.public_url
            or not ctx.provider.capabilities.watch):
        return False
    record = ctx.reload()
    now = time.time() if now is None else now
    if (record.channel_id and not _silent(record, now)
            and (record.channel_expiry or 0) - now > ctx.options.channel_renew_before):
        return False
    channel_id = uuid.uuid4().hex
    token = secrets.token_urlsafe(24)
    address = f"{ctx.options.public_url}/{ctx.provider.name}/notifications"
    try:
        channel = await ctx.provider.watch(channel_id, address, token, ctx.options.channel_ttl)
    except RemoteError as exc:
        _LOGGER.warning("Push channel for connection %d refused: %s (polling continues)",
                        ctx.id, exc)
        return False
    expiry = channel.expiry or now + ctx.options.channel_ttl
    ctx.store.update_connection_state(
        ctx.id, {"channel_keepalive": channel.keepalive,
                 "channel_heard": now if channel.keepalive else None},
        channel_id=channel_id, channel_resource_id=channel.resource_id, channel_token=token,
        channel_expiry=expiry)
    _LOGGER.info("Push channel for connection %d open until %s", ctx.id,
                 time.strftime("%Y-%m-%d %H:%M", time.gmtime(expiry)))
    if record.channel_id and record.channel_resource_id:
        await ctx.provider.unwatch(record.channel_id, record.channel_resource_id)
    return True


async def stop_channel(ctx: ConnectionContext) -> None:
    """Stop the connection's channel (disconnect); errors are logged, not raised."""
    record = ctx.reload()
    if not record.channel_id or not record.channel_resource_id:
        return
    try:
        await ctx.provider.unwatch(record.channel_id, record.channel_resource_id)
    except RemoteError as exc:
        _LOGGER.warning("Stopping channel of connection %d failed: %s", ctx.id, exc)
    ctx.store.update_connection_state(
        ctx.id, {"channel_keepalive": None, "channel_heard": None}, channel_id=None,
        channel_resource_id=None, channel_token=None, channel_expiry=None)


async def renew_channel(ctx: ConnectionContext, *, gone: bool) -> bool:
    """Replace the connection's channel now (a provider asked for it); True when one opened.

    ``gone``: the provider removed the channel itself, so it is forgotten rather than stopped.
    """
    if gone:
        ctx.store.update_connection(ctx.id, channel_id=None, channel_resource_id=None,
                                    channel_token=None, channel_expiry=None)
    else:
        ctx.store.update_connection(ctx.id, channel_expiry=0)
    return await ensure_channel(ctx)


def notification_matches(record: ConnectionRecord | None, token: str | None) -> bool:
    """True when a notification's channel token is the one we issued (constant time)."""
    if record is None or not record.channel_token or token is None:
        return False
    return hmac.compare_digest(record.channel_token.encode(), token.encode())


def channel_heard(store: SqlStore, record: ConnectionRecord, *, now: float | None = None) -> None:
    """Record that the connection's channel just delivered a notification (keepalive channels
    only: the others have an expiry)."""
    if record.state.get("channel_keepalive"):
        store.update_connection_state(record.id, {"channel_heard": time.time()
                                                  if now is None else now})
