"""Apply remote changes to the local store: plan inside one transaction, then write.

:func:`apply_remote` reads links and local items *inside* the write transaction, asks the pure
planner, and writes through the ordinary item write path (origin ``google:<id>``, so no echo
into this connection's outbox; change log and other connections' outbox rows as usual), the
link rows, the ledger and, when given, the new sync token or import progress: all in one commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.errors import DuplicateUid, InvalidICalendar, NotFound
from bridge.ical import parse_resource
from bridge.model import ItemRecord, ParsedResource
from bridge.providers.base import RemoteSeries
from bridge.store.items import href_for_uid
from bridge.store.sync import LedgerEntry, LinkRecord
from bridge.store.valve import HeldDeletion
from bridge.sync.actions import (
    Action,
    Conflict,
    DeleteLocal,
    DeleteRemote,
    Noop,
    PullFromRemote,
    PushToRemote,
    Relink,
    Unlink,
)
from bridge.sync.context import ConnectionContext, link_state, local_state, remote_state
from bridge.sync.inherit import inherit_after_pull
from bridge.sync.plan import plan_item, valve_check

__all__ = ["PullResult", "apply_remote", "changed_fields", "conflict_entry", "release_held"]

_LOGGER = logging.getLogger(__name__)
_KEEP = object()


@dataclass
class PullResult:
    """What one pull (or import page) did."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    relinked: int = 0
    conflicts: int = 0
    pushed_back: int = 0
    restored: int = 0
    held: int = 0
    errors: int = 0
    paused: str | None = None
    seen: int = 0
    actions: list[Action] = field(default_factory=list)

    def add(self, other: PullResult) -> None:
        """Accumulate another result's counts."""
        for name in ("created", "updated", "deleted", "unchanged", "relinked", "conflicts",
                     "pushed_back", "restored", "held", "errors", "seen"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.paused = self.paused or other.paused

    def as_dict(self) -> dict[str, Any]:
        """Counts as a plain dict (progress, CLI, admin page)."""
        return {k: getattr(self, k) for k in ("created", "updated", "deleted", "unchanged",
                                              "relinked", "conflicts", "pushed_back",
                                              "restored", "held", "errors", "seen")} | {
            "paused": self.paused}


def changed_fields(old: ItemRecord | None, new: ParsedResource | None) -> list[str]:
    """Which appointment fields differ (for the ledger)."""
    if old is None or new is None:
        return []
    names = ("summary", "start_ts", "end_ts", "status", "recurring", "customer_name",
             "customer_email", "customer_phone", "service")
    out = [n.replace("_ts", "") for n in names if getattr(old, n) != getattr(new, n)]
    if not out and old.content_hash != new.content_hash:
        out.append("details")
    return out


def conflict_entry(ctx: ConnectionContext, trigger: str, action: Conflict,
                   series: RemoteSeries | None, local_text: str | None) -> LedgerEntry:
    """The ledger row of a conflict decision: reason, winner, the full losing version, and
    ``version`` naming it (the provider's version key, or the local text's digest), so the
    store records
    the same decision once however many triggers meet it (``record_conflict``)."""
    loser: dict[str, Any]
    if action.winner == "local" and series is not None:
        loser = {"side": ctx.provider.name, "event": series.snapshot()}
        version = f"{ctx.provider.name}:{series.version}"
    else:
        loser = {"side": "local", "text": local_text}
        version = "local:" + (hashlib.sha256(local_text.encode()).hexdigest()
                              if local_text is not None else "deleted")
    _LOGGER.info("Conflict on %s: %s, %s wins", action.uid, action.reason, action.winner)
    return LedgerEntry(
        "both", trigger, "conflict", "open", ctx.id, ctx.record.collection_id, action.uid,
        remote_id=series.event_id if series is not None else action.event_id,
        detail={"reason": action.reason, "winner": action.winner, "loser": loser,
                "version": version})


def _link_for(ctx: ConnectionContext, series: RemoteSeries, uid: str,
              written: ParsedResource | None = None) -> LinkRecord:
    local = written or series.parsed
    return LinkRecord(ctx.id, uid, series.event_id, series.etag,
                      local.etag if local else None, series.hash, series.hash,
                      series.updated, 0.0, series.held, series.extra)


def _keep_local_only(ctx: ConnectionContext, parsed: ParsedResource, old: ItemRecord | None
                     ) -> ParsedResource:
    """``parsed`` (what the provider holds) with what only the stored text can hold (Google:
    PRIORITY, GEO, ATTACH, client X- properties, alarm details, …): an update never drops
    them.  The result has the same content hash as ``parsed``, so the next sync sees no
    change."""
    if old is None:
        return parsed
    text = ctx.provider.preserve_local(parsed.text, old.text)
    if text == parsed.text:
        return parsed
    try:
        return parse_resource(text)
    except InvalidICalendar as exc:
        _LOGGER.warning("Appointment %s: properties Google cannot hold are dropped, the "
                        "merged resource is invalid (%s)", old.uid, exc)
        return parsed


def apply_remote(
    ctx: ConnectionContext,
    batch: Sequence[RemoteSeries],
    trigger: str,
    *,
    sync_token: Any = _KEEP,
    state_patch: Mapping[str, Any] | None = None,
    missing_event_ids: Sequence[str] = (),
    dry_run: bool = False,
    confirmed: bool = False,
    importing: bool = False,
    keep_local: bool = False,
) -> PullResult:
    """Plan and apply ``batch`` in one transaction (``missing_event_ids``: gone from a re-list).

    Returns the counts; ``paused`` is set (and nothing applied) when the safety valve trips.
    The valve counts this batch's deletions together with the deletions held in its window
    (:func:`~bridge.sync.plan.valve_check`); below the threshold, a pull's deletions are *held*
    (``[sync] safety_window`` > 0): item and link stay, a held row records the deletion, and
    :func:`release_held` applies it once the window has passed.  With ``confirmed`` (the admin,
    the push path, the import) deletions apply at once.  With ``keep_local`` (the admin
    cancelled a paused pull) Google's deletions are not applied: each kept item gets a
    ``restore`` outbox row in the same transaction as the new sync token, and the push brings
    the event back on Google (a local win).  Any other outcome for an appointment whose deletion
    was held (the event came back, a local edit wins) drops the held row.
    """
    store = ctx.store
    path = ctx.record.collection_path
    collection_id = ctx.record.collection_id

    def tx() -> PullResult:
        result = PullResult(seen=len(batch))
        wanted = [s.event_id for s in batch] + list(missing_event_ids)
        by_event = store.links_by_event(ctx.id, wanted)
        entries = list(batch) + [
            RemoteSeries(eid, by_event[eid].uid, deleted=True)
            for eid in missing_event_ids if eid in by_event
        ]
        uids: dict[str, str] = {}
        for series in entries:
            link = by_event.get(series.event_id)
            uid = link.uid if link is not None else series.uid
            if uid:
                uids[series.event_id] = uid
        by_uid = store.links_by_uid(ctx.id, uids.values())
        items = store.items_by_uid(collection_id, uids.values())
        planned: list[tuple[RemoteSeries, str, Action]] = []
        ledger: list[LedgerEntry] = []
        for series in entries:
            uid = uids.get(series.event_id)
            if uid is None:
                continue  # a tombstone of an event we never had
            if series.error:
                result.errors += 1
                ledger.append(LedgerEntry("pull", trigger, "skip", "error", ctx.id, collection_id,
                                          uid, remote_id=series.event_id,
                                          error=series.error))
                continue
            link = by_event.get(series.event_id) or by_uid.get(uid)
            item = items.get(uid)
            local = local_state(item, ctx.provider, link) if item is not None else None
            if item is not None and local is None:
                result.errors += 1
                ledger.append(LedgerEntry("pull", trigger, "skip", "error", ctx.id,
                                          collection_id, uid, remote_id=series.event_id,
                                          error="the local item cannot be mapped to "
                                                + ctx.provider_name))
                continue
            action = plan_item(local, remote_state(series, uid), link_state(link),
                               provider=ctx.provider_name)
            planned.append((series, uid, action))
        result.actions = [a for _, _, a in planned]
        held = store.held_deletions(ctx.id) if not dry_run else {}
        window = ctx.options.safety_window
        now = store.clock()
        holding = window > 0 and not confirmed and not keep_local
        if not confirmed:
            in_window = sum(1 for d in held.values() if d.seen_at > now - window)
            new = sum(1 for _, uid, a in planned if isinstance(a, DeleteLocal) and uid not in held)
            verdict = valve_check(in_window if window > 0 else 0, new, store.count_links(ctx.id),
                                  provider=ctx.provider_name, share=ctx.options.safety_share,
                                  min_deletes=ctx.options.safety_min_deletes)
            if not verdict.ok:
                result.paused = verdict.reason
                if not dry_run:
                    store.update_connection(ctx.id, paused_reason=verdict.reason)
                return result
        if dry_run:
            for _, _, action in planned:
                _count(result, action, items)
            return result
        pulls: list[tuple[RemoteSeries, str, Action]] = []
        based: set[str] = set()
        links: list[LinkRecord] = []
        in_sync: list[str] = []  # equal on both sides: a queued "push existing" is redundant
        holds: list[HeldDeletion] = []
        settled: list[str] = []
        for series, uid, action in planned:
            step: Action = action
            if holding and isinstance(action, DeleteLocal):
                if uid not in held:
                    link = by_event.get(series.event_id) or by_uid.get(uid)
                    holds.append(HeldDeletion(uid, action.event_id,
                                              link.remote_etag if link else None, now))
                    result.held += 1
                    ledger.append(LedgerEntry(
                        "pull", trigger, "hold", "ok", ctx.id, collection_id, uid,
                        remote_id=series.event_id,
                        detail={"reason": f"deleted on {ctx.provider_name}; held by the safety "
                                f"valve for {window:g} s before it is applied here"}))
                continue
            if uid in held:
                settled.append(uid)
            if isinstance(action, Conflict):
                result.conflicts += 1
                ctx.metrics.conflicts += 1
                old = items.get(uid)
                store.record_conflict(conflict_entry(ctx, trigger, action, series,
                                                     old.text if old else None))
                step = action.then
            if isinstance(step, PullFromRemote):
                pulls.append((series, uid, step))
                link = by_event.get(series.event_id) or by_uid.get(uid)
                if step is action and link is not None and uid in items \
                        and items[uid].etag == link.local_etag:
                    based.add(uid)  # the stored text is the last agreed version
            elif isinstance(step, DeleteLocal) and keep_local:
                item = items[uid]
                store.enqueue_push(ctx.id, uid, item.href, "restore")
                result.restored += 1
                ledger.append(LedgerEntry(
                    "pull", trigger, "keep", "ok", ctx.id, collection_id, uid,
                    remote_id=series.event_id,
                    detail={"reason": f"deleted on {ctx.provider_name}; the admin kept the "
                            f"appointment, so it is restored on {ctx.provider_name}"}))
            elif isinstance(step, DeleteLocal):
                item = items.get(uid)
                if item is not None:
                    with contextlib.suppress(NotFound):
                        store.delete_item(path, item.href, origin=ctx.origin)
                store.delete_link(ctx.id, uid)
                result.deleted += 1
                _LOGGER.info("Deleting appointment %s (deleted on %s)", uid, ctx.provider_name)
                ledger.append(LedgerEntry("pull", trigger, "delete", "ok", ctx.id,
                                          collection_id, uid, remote_id=series.event_id))
            elif isinstance(step, Relink):
                links.append(_link_for(ctx, series, uid))
                item = items.get(uid)
                if item is not None:
                    links[-1] = replace(links[-1], local_etag=item.etag)
                result.relinked += 1
                in_sync.append(uid)
            elif isinstance(step, Unlink):
                store.delete_link(ctx.id, uid)
            elif isinstance(step, PushToRemote | DeleteRemote):
                # The local side is newer: make sure the push worker handles it.
                item = items.get(uid)
                store.enqueue_push(ctx.id, uid, item.href if item else href_for_uid(uid),
                                   "delete" if isinstance(step, DeleteRemote) else "upsert")
                result.pushed_back += 1
            elif isinstance(step, Noop):
                result.unchanged += 1
                in_sync.append(uid)
        if importing:
            store.drop_queued_pushes(ctx.id, in_sync)
        _write_pulls(ctx, pulls, items, trigger, result, links, ledger, based)
        store.put_links(ctx.id, links)
        store.add_ledger(ledger)
        store.hold_deletions(ctx.id, holds)
        store.drop_held(ctx.id, settled)
        if sync_token is not _KEEP:
            store.save_sync_token(ctx.id, sync_token)
        if state_patch:
            store.update_connection_state(ctx.id, state_patch)
        return result

    if dry_run:
        return tx()
    return store.run_transaction(tx, importing=importing)


def release_held(ctx: ConnectionContext, trigger: str, mode: str = "due") -> PullResult:
    """Settle held deletions in one transaction: ``due`` (their window has passed) or ``all``
    are applied, ``restore`` turns them into ``restore`` outbox rows (the admin kept them).

    A held deletion whose link changed since (the event came back, our push undeleted it) is
    dropped; one whose item was edited here since is a conflict the edit wins (it is pushed
    back), exactly as :func:`apply_remote` plans a deletion.
    """
    store = ctx.store

    def tx() -> PullResult:
        held = store.held_deletions(ctx.id)
        if mode == "due":
            cutoff = store.clock() - ctx.options.safety_window
            held = {uid: d for uid, d in held.items() if d.seen_at <= cutoff}
        if not held:
            return PullResult()
        links = store.links_by_uid(ctx.id, held)
        gone = [d.remote_id for uid, d in held.items()
                if (link := links.get(uid)) is not None and link.remote_etag == d.remote_etag
                and link.remote_id == d.remote_id]
        store.drop_held(ctx.id, held)
        return apply_remote(ctx, [], trigger, missing_event_ids=gone, confirmed=True,
                            keep_local=mode == "restore")

    result = store.run_transaction(tx)
    if result.deleted or result.restored or result.pushed_back:
        _LOGGER.info("Held deletions of connection %d settled (%s): %d deleted, %d kept for "
                     "%s, %d pushed back", ctx.id, mode, result.deleted, result.restored,
                     ctx.provider_name, result.pushed_back)
    return result


def _count(result: PullResult, action: Action, items: Mapping[str, ItemRecord]) -> None:
    step = action.then if isinstance(action, Conflict) else action
    if isinstance(action, Conflict):
        result.conflicts += 1
    if isinstance(step, PullFromRemote):
        if step.uid in items:
            result.updated += 1
        else:
            result.created += 1
    elif isinstance(step, DeleteLocal):
        result.deleted += 1
    elif isinstance(step, Relink):
        result.relinked += 1
    elif isinstance(step, PushToRemote | DeleteRemote):
        result.pushed_back += 1
    else:
        result.unchanged += 1


def _write_pulls(
    ctx: ConnectionContext,
    pulls: list[tuple[RemoteSeries, str, Action]],
    items: Mapping[str, ItemRecord],
    trigger: str,
    result: PullResult,
    links: list[LinkRecord],
    ledger: list[LedgerEntry],
    based: Set[str] = frozenset(),
) -> None:
    if not pulls:
        return
    store = ctx.store
    path = ctx.record.collection_path
    resources: list[ParsedResource] = []
    push_back: set[str] = set()
    for series, uid, _ in pulls:
        assert series.parsed is not None
        parsed = series.parsed
        if parsed.uid != uid:
            # Google's iCalUID differs from the UID we know the item by: keep ours.
            _LOGGER.debug("event %s maps to UID %s, kept as %s", series.event_id, parsed.uid, uid)
        old = items.get(uid)
        if old is not None and uid in based:
            renamed = inherit_after_pull(ctx, parsed, old)
            if renamed is not parsed:
                push_back.add(uid)  # Google keeps the old values in its exceptions
                parsed = renamed
        resources.append(_keep_local_only(ctx, parsed, old))
    try:
        store.bulk_put(path, resources, origin=ctx.origin)
    except DuplicateUid:
        # An href is taken by another UID: fall back to one write each with a fresh href.
        for res in resources:
            existing = items.get(res.uid)
            href = existing.href if existing else href_for_uid(res.uid + "-g")
            store.put_item(path, href, res, origin=ctx.origin)
    for (series, uid, _), written in zip(pulls, resources, strict=True):
        assert series.parsed is not None
        old = items.get(uid)
        action = "update" if old is not None else "create"
        if old is None:
            result.created += 1
        else:
            result.updated += 1
        if trigger != "import":
            _LOGGER.info("Pulling appointment %s from %s (%s)", uid, ctx.provider_name, action)
        links.append(_link_for(ctx, series, uid, written))
        if uid in push_back:
            # Overrides followed the series locally: Google's exceptions must follow too.
            links[-1] = replace(links[-1], local_etag=None)
            store.enqueue_push(ctx.id, uid, old.href if old else href_for_uid(uid), "upsert")
        ledger.append(LedgerEntry("pull", trigger, action, "ok", ctx.id,
                                  ctx.record.collection_id, uid,
                                  fields=changed_fields(old, written),
                                  remote_id=series.event_id))
