"""Pull remote changes: incremental from the stored cursor, full re-list when it expired,
first import.  Everything remote goes through the connection's provider.

* :func:`pull_changes` lists from the stored cursor (Google: sync token), pages to the end, and
  applies every page's changes together with the new cursor in one transaction (crash → the
  old cursor is still stored and the re-applied changes are recognised as unchanged).
* :func:`relist` (cursor expired, or a new ``SYNC_STATE_VERSION``) lists everything and
  reconciles by event id:
  events missing from the list are deletions made in the gap; unchanged events are not touched.
* :func:`run_import` is the first connection's full import: one transaction per page with the
  next page token and counts, so a restart resumes where it stopped; notifications stay off
  (``phase: importing``); the cursor commits with the last page.  ``dry_run`` only counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from bridge.errors import CursorExpired
from bridge.providers.base import ChangePage
from bridge.sync.apply import PullResult, apply_remote, release_held
from bridge.sync.context import SYNC_STATE_VERSION, ConnectionContext
from bridge.sync.plan import empty_calendar_reason

__all__ = ["dry_run", "pull", "pull_changes", "relist", "run_import"]

_LOGGER = logging.getLogger(__name__)


async def pull(ctx: ConnectionContext, trigger: str = "poll", *, confirmed: bool = False,
               keep_local: bool = False) -> PullResult:
    """One pull: incremental when a valid token is stored, else a full re-list.

    ``keep_local``: Google's deletions are not applied but restored on Google (see
    :func:`~bridge.sync.apply.apply_remote`).
    """
    record = ctx.reload()
    if record.sync_token is None or record.sync_state_version != SYNC_STATE_VERSION:
        result = await relist(ctx, trigger, confirmed=confirmed, keep_local=keep_local)
    else:
        try:
            result = await pull_changes(ctx, trigger, confirmed=confirmed,
                                        keep_local=keep_local)
        except CursorExpired:
            _LOGGER.info("Sync token of connection %d expired: full re-list", ctx.id)
            ctx.store.update_connection(ctx.id, sync_token=None)
            result = await relist(ctx, "relist", confirmed=confirmed, keep_local=keep_local)
    if result.paused is None:
        # The safety valve's held deletions: the admin's decision settles all of them,
        # otherwise those whose window has passed are applied now.
        mode = "restore" if keep_local else "all" if confirmed else "due"
        result.add(await asyncio.to_thread(release_held, ctx, trigger, mode))
    return result


async def pull_changes(ctx: ConnectionContext, trigger: str, *, confirmed: bool = False,
                       keep_local: bool = False) -> PullResult:
    """Incremental listing from the stored cursor, applied with the new cursor."""
    token = ctx.record.sync_token
    items: list[Any] = []
    page: str | None = None
    while True:
        data = await ctx.provider.list_page(token, page, ctx.options.page_size)
        items += data.items
        page = data.next_page
        if not page:
            next_token = data.cursor
            break
    if not items and next_token == token:
        ctx.store.save_sync_token(ctx.id, token)  # only last_pull_at moves
        return PullResult()
    series = await ctx.provider.resolve(items)
    result = await asyncio.to_thread(apply_remote, ctx, series, trigger, sync_token=next_token,
                                     confirmed=confirmed, keep_local=keep_local)
    _log_result(ctx, trigger, result)
    return result


async def _list_all(ctx: ConnectionContext
                    ) -> tuple[list[Any], str | None, tuple[float, float] | None]:
    items: list[Any] = []
    page: str | None = None
    while True:
        data = await ctx.provider.list_page(None, page, ctx.options.page_size)
        items += data.items
        page = data.next_page
        if not page:
            return items, data.cursor, data.scope


def _in_scope(ctx: ConnectionContext, missing: list[str], links: dict[str, Any],
              scope: tuple[float, float] | None) -> list[str]:
    """The missing event ids whose local item meets ``scope`` (a listing of a time window says
    nothing about events outside it); all of them when the listing covered everything."""
    if scope is None or not missing:
        return missing
    coll = ctx.store.get_collection(ctx.record.collection_path)
    if coll is None:
        return missing
    items = ctx.store.items_by_uid(coll.id, [links[eid].uid for eid in missing])
    start, end = scope
    kept = []
    for eid in missing:
        item = items.get(links[eid].uid)
        if item is None or (item.start_ts < end and max(item.end_ts, item.start_ts + 1) > start):
            kept.append(eid)
    return kept


async def relist(ctx: ConnectionContext, trigger: str = "relist", *, confirmed: bool = False,
                 keep_local: bool = False) -> PullResult:
    """Full listing reconciled by event id (deletions in the gap applied, no churn)."""
    ctx.store.update_connection_state(ctx.id, {"phase": "resyncing"})
    try:
        items, token, scope = await _list_all(ctx)
        series = await ctx.provider.resolve(items)
        listed = {s.event_id for s in series}
        linked = ctx.store.links_by_event(ctx.id)
        missing = _in_scope(ctx, [eid for eid in linked if eid not in listed], linked, scope)
        live = sum(1 for s in series if not s.deleted)
        if not confirmed and live == 0 and _in_scope(ctx, list(linked), linked, scope):
            reason = empty_calendar_reason(ctx.provider_name, len(linked))
            ctx.store.update_connection(ctx.id, paused_reason=reason)
            _LOGGER.warning("Connection %d paused: %s", ctx.id, reason)
            return PullResult(paused=reason)
        result = await asyncio.to_thread(apply_remote, ctx, series, trigger, sync_token=token,
                                         missing_event_ids=missing, confirmed=confirmed,
                                         keep_local=keep_local)
        if result.paused is None:
            ctx.store.update_connection(ctx.id, sync_state_version=SYNC_STATE_VERSION)
        _log_result(ctx, trigger, result)
        return result
    finally:
        ctx.store.update_connection_state(ctx.id, {"phase": "idle"})


async def dry_run(ctx: ConnectionContext) -> PullResult:
    """What a full import would do now: counts only, nothing written."""
    items, _, _ = await _list_all(ctx)
    series = await ctx.provider.resolve(items, render=False)  # counts need the hashes only
    return await asyncio.to_thread(apply_remote, ctx, [s for s in series if not s.deleted],
                                   "dry-run", dry_run=True, confirmed=True)


async def run_import(ctx: ConnectionContext) -> PullResult:
    """Run (or resume) the first full import, one committed page at a time.

    Pages commit strictly in order, but the next page is listed while the current one is
    resolved and mapped, and mapped while the previous one commits (two pages in flight at
    most).
    """
    record = ctx.reload()
    progress: dict[str, Any] = dict(record.state.get("import") or {})
    page: str | None = progress.get("page_token")
    totals = PullResult()
    for key in ("created", "updated", "unchanged", "errors", "seen", "conflicts", "relinked"):
        setattr(totals, key, int(progress.get(key, 0)))
    started = float(progress.get("started_at") or time.time())
    pages = int(progress.get("pages", 0))
    _LOGGER.info("Importing the %s calendar of connection %d%s", ctx.provider.name, ctx.id,
                 " (resuming)" if page else "")
    committing: asyncio.Task[PullResult] | None = None
    listing: asyncio.Task[ChangePage] | None = None  # the page ``page`` names, listed ahead
    try:
        while True:
            try:
                data = await (listing or ctx.provider.list_page(None, page,
                                                                 ctx.options.page_size))
            except CursorExpired:
                if page is None:
                    raise
                _LOGGER.info("Stored page token refused: restarting the import listing")
                page = None
                continue
            finally:
                listing = None
            if data.next_page:
                listing = asyncio.create_task(ctx.provider.list_page(
                    None, data.next_page, ctx.options.page_size))
            series = await ctx.provider.resolve(data.items)
            if committing is not None:
                progress = _page_done(ctx, progress, totals, await committing)
                committing = None
            next_page = data.next_page
            pages += 1
            live = [s for s in series if not s.deleted]
            done = not next_page
            progress = {
                "phase": "done" if done else "running", "page_token": next_page,
                "pages": pages, "started_at": started, "updated_at": time.time(),
                "push_existing": bool(progress.get("push_existing")),
                "total_estimate": progress.get("total_estimate"),
            }
            token = data.cursor if done else None
            patch: dict[str, Any] = {"import": progress}
            if done:
                patch["phase"] = "idle"
            extra: dict[str, Any] = {"sync_token": token} if done else {}
            committing = asyncio.create_task(asyncio.to_thread(
                apply_remote, ctx, live, "import", state_patch=patch, confirmed=True,
                importing=True, **extra))
            if done:
                progress = _page_done(ctx, progress, totals, await committing)
                committing = None
                ctx.store.update_connection(ctx.id, sync_state_version=SYNC_STATE_VERSION)
                return totals
            page = next_page
    finally:
        if listing is not None:
            listing.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await listing
        if committing is not None:
            # Listing or mapping the next page failed: still finish (and count) the commit.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                _page_done(ctx, progress, totals, await committing)


def _page_done(ctx: ConnectionContext, progress: dict[str, Any], totals: PullResult,
               result: PullResult) -> dict[str, Any]:
    """Count a committed import page and record the counts in the progress."""
    totals.add(result)
    progress.update(totals.as_dict())
    ctx.store.update_connection_state(ctx.id, {"import": progress})
    _LOGGER.info("Import of connection %d: page %d, %d events so far", ctx.id,
                 int(progress.get("pages", 0)), totals.seen)
    return progress


def _log_result(ctx: ConnectionContext, trigger: str, result: PullResult) -> None:
    ctx.metrics.pulls[trigger] += 1
    for name in ("created", "updated", "deleted", "conflicts"):
        if getattr(result, name):
            ctx.metrics.actions["pull_" + name] += getattr(result, name)
    if result.created or result.updated or result.deleted or result.conflicts or result.paused:
        _LOGGER.info("Pull of connection %d (%s): %s", ctx.id, trigger, result.as_dict())
