"""Push one claimed outbox entry (one UID) to the connection's provider.

The item's *current* state is pushed (older queued revisions of the same UID are covered by
it).  The planner runs first with the remote side assumed as the link recorded it; when the
provider answers that it holds something else (Google: 409, the deterministic id exists; 412,
the event changed; 404/410, it is gone) it raises :class:`~bridge.providers.base.RemoteChanged`
with the series it holds, and the planner runs again with that — at most three rounds.
On success the link, the outbox rows and the ledger row commit in one transaction.

An outbox row with op ``restore`` (the admin cancelled a paused pull and kept the appointments)
starts from what the provider holds: a deleted event is brought back under its id (ledger
action ``restore``, trigger ``admin``).

What a write involves beyond one request (Google: what only Google holds merged into every
update, exceptions the resource no longer overrides set back to the series) is the provider's
business (:mod:`bridge.google.provider`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bridge.errors import (
    MappingError,
    RemoteAuthError,
    RemoteError,
    RemoteForbidden,
    RemotePreconditionFailed,
    RemoteTransient,
)
from bridge.model import ItemRecord
from bridge.providers.base import RemoteChanged, RemoteSeries, WriteResult
from bridge.store.sync import LedgerEntry, OutboxClaim
from bridge.sync.actions import (
    Action,
    Conflict,
    DeleteLocal,
    DeleteRemote,
    LocalState,
    Noop,
    PullFromRemote,
    PushToRemote,
    Relink,
    Unlink,
)
from bridge.sync.apply import apply_remote, conflict_entry
from bridge.sync.context import (
    ConnectionContext,
    link_state,
    linked_remote,
    local_state,
    remote_state,
)
from bridge.sync.inherit import inherit_before_push
from bridge.sync.plan import plan_item
from bridge.sync.split import split_ranges

__all__ = ["PushOutcome", "push_claim"]

_LOGGER = logging.getLogger(__name__)
MAX_ROUNDS = 3


@dataclass(frozen=True)
class PushOutcome:
    """How a claim ended: ``done``, ``retry``, ``parked`` or ``reconnect``."""

    status: str
    action: str
    error: str | None = None


def _finish(ctx: ConnectionContext, claim: OutboxClaim, entry: LedgerEntry,
            link: tuple[WriteResult, ItemRecord, LocalState] | None, drop_link: bool) -> None:
    """Link (the written version), outbox rows done and the ledger row in one transaction."""
    store = ctx.store

    def tx() -> None:
        if link is not None:
            written, item, local = link
            store.put_link(ctx.id, claim.uid, written.event_id, remote_etag=written.etag,
                           local_etag=item.etag, hash_local=local.hash,
                           hash_remote=written.hash or local.hash,
                           remote_updated=written.updated, remote_held=written.held,
                           remote_extra=written.extra)
        elif drop_link:
            store.delete_link(ctx.id, claim.uid)
        store.finish_outbox(claim, ctx.worker)
        store.add_ledger([entry])

    store.run_transaction(tx)


async def _execute(
    ctx: ConnectionContext,
    claim: OutboxClaim,
    item: ItemRecord | None,
    local: LocalState | None,
    action: Action,
    series: RemoteSeries | None,
    trigger: str,
    restore: bool = False,
) -> str:
    """Carry out one planned action; returns the ledger action name."""
    link = ctx.store.get_link(ctx.id, claim.uid)
    step: Action = action
    if isinstance(action, Conflict):
        ctx.metrics.conflicts += 1
        ctx.store.record_conflict(conflict_entry(ctx, trigger, action, series,
                                                 item.text if item else None))
        step = action.then
    if isinstance(step, PullFromRemote | DeleteLocal) or (
            isinstance(step, Relink) and series is not None):
        assert series is not None
        # Google's side wins (or already matches): apply it like a pull, then we are done.
        apply_remote(ctx, [series], trigger, confirmed=True)
        _finish(ctx, claim, LedgerEntry("pull", trigger, "resolve", "ok", ctx.id,
                                        claim.collection_id, claim.uid,
                                        remote_id=series.event_id), None, False)
        return "pull"
    if isinstance(step, Noop):
        _finish(ctx, claim, LedgerEntry("push", trigger, "noop", "ok", ctx.id,
                                        claim.collection_id, claim.uid,
                                        detail={"reason": step.reason}), None, False)
        return "noop"
    if isinstance(step, Unlink):
        _finish(ctx, claim, LedgerEntry("push", trigger, "unlink", "ok", ctx.id,
                                        claim.collection_id, claim.uid,
                                        remote_id=step.event_id), None, True)
        return "unlink"
    if isinstance(step, DeleteRemote):
        etag = series.etag if series is not None else (link.remote_etag if link else None)
        _LOGGER.info("Deleting appointment %s on %s", claim.uid, ctx.provider.name)
        await ctx.provider.delete(step.event_id, etag=etag)
        _finish(ctx, claim, LedgerEntry("push", trigger, "delete", "ok", ctx.id,
                                        claim.collection_id, claim.uid,
                                        remote_id=step.event_id), None, True)
        return "delete"
    assert isinstance(step, PushToRemote) and item is not None and local is not None
    linked = linked_remote(link) if link is not None else None
    if step.create:
        _LOGGER.info("Pushing appointment %s to %s (create)", claim.uid, ctx.provider.name)
        written = await ctx.provider.create(item.text, key=step.event_id, gone=series,
                                            link=linked)
        name = "restore" if restore else "create"
    else:
        event_id = step.event_id or (link.remote_id if link else None)
        assert event_id is not None
        etag = series.etag if series is not None else (link.remote_etag if link else None)
        _LOGGER.info("Pushing appointment %s to %s (update)", claim.uid, ctx.provider.name)
        written = await ctx.provider.update(event_id, item.text, etag=etag, fetched=series,
                                            link=linked)
        name = "update"
    _finish(ctx, claim, LedgerEntry("push", trigger, name, "ok", ctx.id, claim.collection_id,
                                    claim.uid, remote_id=written.event_id),
            (written, item, local), False)
    return name


async def push_claim(ctx: ConnectionContext, claim: OutboxClaim, trigger: str = "outbox"
                     ) -> PushOutcome:
    """Push the current state of ``claim.uid``; schedules retries and parks on its own."""
    store = ctx.store
    started = time.monotonic()
    items = store.items_by_uid(claim.collection_id, [claim.uid])
    item = items.get(claim.uid)
    series_uids = split_ranges(ctx, item) if item is not None else None
    if series_uids is not None:
        # Now separate series, each queued for its own push (Google has no ranged overrides).
        _finish(ctx, claim, LedgerEntry("push", trigger, "split", "ok", ctx.id,
                                        claim.collection_id, claim.uid,
                                        detail={"series": series_uids}), None, False)
        return PushOutcome("done", "split")
    link = store.get_link(ctx.id, claim.uid)
    local = local_state(item, ctx.provider) if item is not None else None
    if item is not None and local is None:
        _finish(ctx, claim, LedgerEntry("push", trigger, "skip", "unsupported", ctx.id,
                                        claim.collection_id, claim.uid,
                                        error=f"{ctx.provider_name} cannot hold this item "
                                        "(no VEVENT)"),
                None, False)
        return PushOutcome("done", "skip")
    action = plan_item(local, None, link_state(link), remote_known=False,
                       provider=ctx.provider_name)
    series: RemoteSeries | None = None
    restore = claim.op == "restore" and local is not None and link is not None
    if restore:
        trigger = "admin"
    try:
        if item is not None and local is not None and not restore:
            renamed = await inherit_before_push(ctx, item, link)
            if renamed is not item:
                item, local = renamed, local_state(renamed, ctx.provider)
        if restore:
            assert link is not None and local is not None
            # The admin kept an appointment Google deleted: bring the event back under its
            # id (deleted ids stay reserved on Google, so this is an undelete by update).
            series = await ctx.provider.get(link.remote_id)
            if series.error:
                raise MappingError(series.error)
            action = (PushToRemote(claim.uid, link.remote_id, create=True)
                      if series.deleted
                      else plan_item(local, remote_state(series, claim.uid), link_state(link),
                                     provider=ctx.provider_name))
        for _ in range(MAX_ROUNDS):
            try:
                name = await _execute(ctx, claim, item, local, action, series, trigger,
                                      restore)
            except RemoteChanged as changed:
                series = changed.series
                if series.error:
                    raise MappingError(series.error) from None
                action = plan_item(local, remote_state(series, claim.uid),
                                   link_state(store.get_link(ctx.id, claim.uid)),
                                   provider=ctx.provider_name)
                continue
            ctx.metrics.actions["push_" + name] += 1
            ctx.metrics.push_latency_sum += time.monotonic() - started
            ctx.metrics.push_count += 1
            return PushOutcome("done", name)
        raise RemotePreconditionFailed("the event kept changing while we wrote it",
                                       status=412, reason="conditionNotMet")
    except RemoteAuthError as exc:
        store.release_outbox([claim], ctx.worker)
        return PushOutcome("reconnect", type(action).__name__, str(exc))
    except (RemoteTransient, RemotePreconditionFailed) as exc:
        return _retry_or_park(ctx, claim, exc, trigger)
    except (RemoteForbidden, MappingError, RemoteError) as exc:
        _park(ctx, claim, exc, trigger)
        return PushOutcome("parked", type(action).__name__, str(exc))


def _retry_or_park(ctx: ConnectionContext, claim: OutboxClaim, exc: RemoteError, trigger: str
                   ) -> PushOutcome:
    if claim.attempts >= ctx.options.max_push_attempts:
        _park(ctx, claim, exc, trigger)
        return PushOutcome("parked", "retry", str(exc))
    delay = min(ctx.options.push_retry_cap,
                ctx.options.push_retry_base * 2 ** (claim.attempts - 1))
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        delay = max(delay, float(retry_after))
    _LOGGER.info("Push of %s failed (%s), retry %d in %.0fs", claim.uid, exc.reason or exc,
                 claim.attempts, delay)
    ctx.store.retry_outbox(claim, ctx.worker, str(exc), delay)
    return PushOutcome("retry", "retry", str(exc))


def _park(ctx: ConnectionContext, claim: OutboxClaim, exc: Exception, trigger: str) -> None:
    _LOGGER.warning("Push of %s parked: %s", claim.uid, exc)
    ctx.store.park_outbox(claim, ctx.worker, f"{type(exc).__name__}: {exc}")
    ctx.store.add_ledger([LedgerEntry("push", trigger, "park", "error", ctx.id,
                                      claim.collection_id, claim.uid, error=str(exc))])
    ctx.metrics.actions["push_parked"] += 1
