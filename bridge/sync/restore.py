"""Put appointments the admin kept back into Google: ``restore`` outbox rows, in batches.

After "cancel, keep appointments" every kept appointment has a ``restore`` outbox row.  The
background restore job (:meth:`bridge.sync.engine.SyncEngine.run_restore`) claims them in groups
and :func:`restore_claims` handles a group with two batch requests: ``events.get`` of every event,
then ``events.update`` of those Google holds as deleted (deleted ids stay reserved, so the update
undeletes under the same id; ledger ``restore``, trigger ``admin``).  Everything else — a series,
an event Google holds live again, an item that cannot be mapped, a part that failed — goes
through the ordinary :func:`~bridge.sync.push.push_claim`, which plans, retries and parks.
The requests draw on the Google user's budget as background work, so ordinary pushes of the
same account do not wait behind a large restore.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from bridge.errors import RemoteAuthError
from bridge.google.mapping import MappingError, google_hash, ical_to_google
from bridge.google.mapping_extra import google_only, merge_update_body, series_extra
from bridge.model import ItemRecord
from bridge.store.sync import LedgerEntry, LinkRecord, OutboxClaim
from bridge.sync.actions import LocalState
from bridge.sync.context import ConnectionContext, local_state
from bridge.sync.push import PushOutcome, _body_for_update, _finish, push_claim

__all__ = ["restore_claims"]

_LOGGER = logging.getLogger(__name__)


@dataclass
class _Kept:
    claim: OutboxClaim
    item: ItemRecord
    link: LinkRecord
    local: LocalState
    body: dict[str, Any] | None = None


def _batchable(ctx: ConnectionContext, claims: list[OutboxClaim]
               ) -> tuple[list[_Kept], list[OutboxClaim]]:
    """Single appointments with a link (two batch requests restore them), and the rest."""
    uids = [c.uid for c in claims]
    items = ctx.store.items_by_uid(ctx.record.collection_id, uids)
    links = ctx.store.links_by_uid(ctx.id, uids)
    kept: list[_Kept] = []
    rest: list[OutboxClaim] = []
    for claim in claims:
        item, link = items.get(claim.uid), links.get(claim.uid)
        local = local_state(item, ctx.calendar_tz, link) if item is not None else None
        if (claim.op != "restore" or item is None or link is None or local is None
                or item.recurring):
            rest.append(claim)
        else:
            kept.append(_Kept(claim, item, link, local))
    return kept, rest


async def restore_claims(ctx: ConnectionContext, claims: list[OutboxClaim]) -> list[PushOutcome]:
    """Restore a group of claimed ``restore`` rows on Google (batches; see the module doc)."""
    kept, rest = await asyncio.to_thread(_batchable, ctx, claims)
    outcomes: list[PushOutcome] = []
    if kept:
        fetched = await ctx.client.batch_get_events(
            ctx.calendar_id, [k.link.google_event_id for k in kept], background=True)
        deleted: list[_Kept] = []
        for k, (event, err) in zip(kept, fetched, strict=True):
            if isinstance(err, RemoteAuthError):
                raise err
            if err is not None or not event or event.get("status") != "cancelled":
                rest.append(k.claim)  # live again, gone, or an error: plan it one by one
                continue
            try:
                bodies = ical_to_google(k.item.text, calendar_key=ctx.calendar_key,
                                        calendar_tz=ctx.calendar_tz,
                                        event_id=k.link.google_event_id)
            except (MappingError, ValueError):
                rest.append(k.claim)
                continue
            if bodies.cancelled or bodies.exceptions:
                rest.append(k.claim)
                continue
            # Merged onto what only Google holds of the deleted event (colour, Meet link, ...).
            k.body = _body_for_update(merge_update_body(google_only(event), bodies.master))
            deleted.append(k)
        written = await ctx.client.batch_update_events(
            ctx.calendar_id, [(k.link.google_event_id, k.body or {}) for k in deleted],
            background=True) if deleted else []
        for k, (master, err) in zip(deleted, written, strict=True):
            if isinstance(err, RemoteAuthError):
                raise err
            if err is not None or not master:
                rest.append(k.claim)
                continue
            await asyncio.to_thread(_done, ctx, k, master)
            outcomes.append(PushOutcome("done", "restore"))
    for claim in rest:
        outcomes.append(await push_claim(ctx, claim))
    return outcomes


def _done(ctx: ConnectionContext, k: _Kept, master: dict[str, Any]) -> None:
    try:
        h_google: str | None = google_hash((master, []), calendar_tz=ctx.calendar_tz)
    except (MappingError, ValueError):
        h_google = k.local.hash
    _LOGGER.info("Restored appointment %s on Google (batch)", k.claim.uid)
    _finish(ctx, k.claim, LedgerEntry("push", "admin", "restore", "ok", ctx.id,
                                      k.claim.collection_id, k.claim.uid,
                                      google_event_id=str(master["id"])),
            (str(master["id"]), master.get("etag"), k.item.etag, k.local.hash, h_google,
             master.get("updated"), set(), series_extra(master, [])), False)
    ctx.metrics.actions["push_restore"] += 1
