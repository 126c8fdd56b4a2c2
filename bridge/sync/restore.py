"""Put appointments the admin kept back on the provider: ``restore`` outbox rows, in batches.

After "cancel, keep appointments" every kept appointment has a ``restore`` outbox row.  The
background restore job (:meth:`bridge.sync.engine.SyncEngine.start_restore`) claims them in
groups and :func:`restore_claims` hands single linked appointments to the provider's
``restore_batch`` (capability ``batch_restore``; Google: two batch requests, ``events.get`` of
every event, then ``events.update`` of those Google holds as deleted, which undeletes them
under the same id; ledger ``restore``, trigger ``admin``).  Everything else — a series, an
event the provider holds live again, an item that cannot be mapped, a part that failed — goes
through the ordinary :func:`~bridge.sync.push.push_claim`, which plans, retries and parks.
The requests draw on the account's budget as background work, so ordinary pushes of the
same account do not wait behind a large restore.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bridge.model import ItemRecord
from bridge.providers.base import WriteResult
from bridge.store.sync import LedgerEntry, LinkRecord, OutboxClaim
from bridge.sync.actions import LocalState
from bridge.sync.context import ConnectionContext, local_state
from bridge.sync.push import PushOutcome, _finish, push_claim

__all__ = ["restore_claims"]

_LOGGER = logging.getLogger(__name__)


@dataclass
class _Kept:
    claim: OutboxClaim
    item: ItemRecord
    link: LinkRecord
    local: LocalState


def _batchable(ctx: ConnectionContext, claims: list[OutboxClaim]
               ) -> tuple[list[_Kept], list[OutboxClaim]]:
    """Single appointments with a link (restored in a batch), and the rest."""
    uids = [c.uid for c in claims]
    items = ctx.store.items_by_uid(ctx.record.collection_id, uids)
    links = ctx.store.links_by_uid(ctx.id, uids)
    kept: list[_Kept] = []
    rest: list[OutboxClaim] = []
    for claim in claims:
        item, link = items.get(claim.uid), links.get(claim.uid)
        local = local_state(item, ctx.provider, link) if item is not None else None
        if (claim.op != "restore" or item is None or link is None or local is None
                or item.recurring or not ctx.provider.capabilities.batch_restore):
            rest.append(claim)
        else:
            kept.append(_Kept(claim, item, link, local))
    return kept, rest


async def restore_claims(ctx: ConnectionContext, claims: list[OutboxClaim]) -> list[PushOutcome]:
    """Restore a group of claimed ``restore`` rows (batches; see the module doc)."""
    kept, rest = await asyncio.to_thread(_batchable, ctx, claims)
    outcomes: list[PushOutcome] = []
    if kept:
        written = await ctx.provider.restore_batch(
            [(k.link.remote_id, k.item.text) for k in kept])
        for k, result in zip(kept, written, strict=True):
            if result is None:
                rest.append(k.claim)  # live again, gone, or an error: plan it one by one
                continue
            await asyncio.to_thread(_done, ctx, k, result)
            outcomes.append(PushOutcome("done", "restore"))
    for claim in rest:
        outcomes.append(await push_claim(ctx, claim))
    return outcomes


def _done(ctx: ConnectionContext, k: _Kept, written: WriteResult) -> None:
    _LOGGER.info("Restored appointment %s on %s (batch)", k.claim.uid, ctx.provider.name)
    _finish(ctx, k.claim, LedgerEntry("push", "admin", "restore", "ok", ctx.id,
                                      k.claim.collection_id, k.claim.uid,
                                      remote_id=written.event_id),
            (written, k.item, k.local), False)
    ctx.metrics.actions["push_restore"] += 1
