"""Push one claimed outbox entry (one UID) to Google.

The item's *current* state is pushed (older queued revisions of the same UID are covered by
it).  The planner runs first with Google assumed as the link recorded it; when Google answers
409 (the deterministic id exists), 412 (the event changed) or 404/410 (it is gone), the series
is fetched and the planner runs again with what Google really holds — at most three rounds.
On success the link, the outbox rows and the ledger row commit in one transaction.

An outbox row with op ``restore`` (the admin cancelled a paused pull and kept the appointments)
starts from what Google holds: a deleted event is brought back under its id with an update
(ledger action ``restore``, trigger ``admin``).

After an update or undelete of a series, Google exceptions the resource no longer overrides are
set back to the series (an EXDATE'd one is cancelled).  Google's exceptions are read only when
the link's ``google_exceptions`` names one the resource dropped (or is unknown), or when the
series was fetched in this round anyway.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.errors import (
    RemoteAuthError,
    RemoteError,
    RemoteForbidden,
    RemoteNotFound,
    RemotePreconditionFailed,
    RemoteTransient,
)
from bridge.google.client import GoogleBadRequest, GoogleDuplicate
from bridge.google.mapping import (
    GoogleEventSet,
    MappingError,
    google_hash,
    ical_to_google,
    plain_instance_body,
    stale_exception,
)
from bridge.google.mapping_extra import exception_extra, merge_update_body, series_extra
from bridge.model import ItemRecord
from bridge.store.sync import LedgerEntry, LinkRecord, OutboxClaim
from bridge.sync.actions import (
    Action,
    Conflict,
    DeleteLocal,
    DeleteRemote,
    LocalState,
    Noop,
    PullFromGoogle,
    PushToGoogle,
    Relink,
    Unlink,
)
from bridge.sync.apply import apply_remote, conflict_entry
from bridge.sync.context import ConnectionContext, link_state, local_state
from bridge.sync.inherit import inherit_before_push
from bridge.sync.plan import plan_item
from bridge.sync.remote import RemoteSeries, build_series, fetch_series
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


class _Replan(Exception):
    """Google holds something else than the link says: plan again with ``series``."""

    def __init__(self, series: RemoteSeries) -> None:
        self.series = series
        super().__init__(series.event_id)


def _body_for_update(body: dict[str, Any]) -> dict[str, Any]:
    # Google keeps (and bumps) ``sequence`` itself; sending a lower one is refused.
    out = dict(body)
    out.pop("sequence", None)
    return out


async def _fetch(ctx: ConnectionContext, event_id: str) -> RemoteSeries:
    master, exceptions = await fetch_series(ctx.client, ctx.calendar_id, event_id)
    if master is None:
        master = {"id": event_id, "status": "cancelled"}
    return build_series(event_id, master, exceptions, calendar_tz=ctx.calendar_tz)


async def _write_exceptions(
    ctx: ConnectionContext, bodies: GoogleEventSet, base: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    written = []
    for body in bodies.exceptions:
        merged = merge_update_body(exception_extra(base, str(body["id"])), body)
        written.append(await ctx.client.update_event(
            ctx.calendar_id, str(body["id"]), _body_for_update(merged)))
    return written


def _google_base(series: RemoteSeries | None, link: LinkRecord | None, event_id: str
                 ) -> Mapping[str, Any] | None:
    """What only Google holds of ``event_id`` (fetched this round, else as the link saw it)."""
    if series is not None and series.event_id == event_id and series.master is not None:
        return series_extra(series.master, series.exceptions)
    if link is not None and link.google_event_id == event_id:
        return link.google_extra
    return None


async def _list_exceptions(
    ctx: ConnectionContext, master: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every exception Google holds for the series ``master`` (cancelled ones included)."""
    event_id = str(master["id"])
    ical_uid = str(master.get("iCalUID") or f"{event_id}@google.com")
    out: list[dict[str, Any]] = []
    page: str | None = None
    while True:
        data = await ctx.client.list_events(ctx.calendar_id, ical_uid=ical_uid, page_token=page)
        out += [e for e in data.get("items") or [] if e.get("recurringEventId") == event_id]
        page = data.get("nextPageToken")
        if not page:
            return out


def _needs_listing(bodies: GoogleEventSet, link: LinkRecord | None) -> bool:
    """Whether Google may hold exceptions the resource no longer has (bounded: see docs)."""
    if not bodies.master.get("recurrence") or link is None:
        return False
    if link.google_exceptions is None:  # not recorded (a link from before): look once
        return True
    return bool(set(link.google_exceptions) - bodies.exception_ids)


async def _settle_exceptions(
    ctx: ConnectionContext,
    bodies: GoogleEventSet,
    master: dict[str, Any],
    held: list[dict[str, Any]] | None,
) -> tuple[list[dict[str, Any]], set[str]]:
    """Revert Google exceptions the resource no longer overrides; cancel excluded ones.

    ``held`` is what Google held before our writes (``None``: list it now).  A confirmed
    exception whose instance is neither overridden nor excluded locally is set back to the
    series (master's fields, original start, master's length); one at an EXDATE is deleted,
    which cancels the instance.  Returns the confirmed exceptions that stay besides ours
    (plain ones, and any that could not be mapped) and their ids.
    """
    if held is None:
        held = await _list_exceptions(ctx, master)
    extra: list[dict[str, Any]] = []
    ids: set[str] = set()
    for exc in held:
        exc_id = str(exc.get("id") or "")
        if (not exc_id or exc.get("status") == "cancelled"
                or exc.get("recurringEventId") != bodies.event_id
                or exc_id in bodies.exception_ids):
            continue
        if exc_id in bodies.excluded_instance_ids or stale_exception(
                bodies, exc, calendar_tz=ctx.calendar_tz):
            _LOGGER.info("Cancelling instance %s of %s on Google (EXDATE or after the end)",
                         exc_id, bodies.uid)
            with contextlib.suppress(RemoteNotFound):
                await ctx.client.delete_event(ctx.calendar_id, exc_id)
            continue
        try:
            body = plain_instance_body(bodies, exc, calendar_tz=ctx.calendar_tz)
        except (MappingError, ValueError) as err:
            _LOGGER.warning("Exception %s of %s left as it is: %s", exc_id, bodies.uid, err)
            body = None
        if body is not None:
            _LOGGER.info("Reverting instance %s of %s to the series on Google", exc_id,
                         bodies.uid)
            exc = await ctx.client.update_event(ctx.calendar_id, exc_id,
                                                _body_for_update(merge_update_body(exc, body)))
        extra.append(exc)
        ids.add(exc_id)
    return extra, ids


async def _create(
    ctx: ConnectionContext, item: ItemRecord, event_id: str | None, undelete: bool,
    base: Mapping[str, Any] | None,
) -> tuple[GoogleEventSet, dict[str, Any], list[dict[str, Any]]]:
    bodies = ical_to_google(item.text, calendar_key=ctx.calendar_key,
                            calendar_tz=ctx.calendar_tz, event_id=event_id)
    if bodies.cancelled:
        raise MappingError("a cancelled event is not created on Google")
    if undelete:
        # Deleted ids stay reserved on Google: bring the event back with an update.
        master = await ctx.client.update_event(
            ctx.calendar_id, bodies.event_id,
            _body_for_update(merge_update_body((base or {}).get("master"), bodies.master)))
    else:
        try:
            master = await ctx.client.insert_event(ctx.calendar_id, bodies.master)
        except GoogleDuplicate:
            # A retried insert (or a crash after Google's answer): see what is there.
            raise _Replan(await _fetch(ctx, bodies.event_id)) from None
    return bodies, master, await _write_exceptions(ctx, bodies, base)


async def _update(
    ctx: ConnectionContext, item: ItemRecord, event_id: str, etag: str | None,
    base: Mapping[str, Any] | None,
) -> tuple[GoogleEventSet, dict[str, Any], list[dict[str, Any]]]:
    """A full update merged onto what only Google holds (``base``; ``None``: fetch first)."""
    if base is None:  # a link from before Google's extra fields were kept: read them once
        raise _Replan(await _fetch(ctx, event_id))
    bodies = ical_to_google(item.text, calendar_key=ctx.calendar_key,
                            calendar_tz=ctx.calendar_tz, event_id=event_id)
    body = merge_update_body(base.get("master"), bodies.master)
    try:
        master = await ctx.client.update_event(ctx.calendar_id, event_id,
                                               _body_for_update(body), etag=etag)
    except (RemotePreconditionFailed, RemoteNotFound):
        raise _Replan(await _fetch(ctx, event_id)) from None
    return bodies, master, await _write_exceptions(ctx, bodies, base)


async def _delete(ctx: ConnectionContext, event_id: str, etag: str | None) -> None:
    try:
        await ctx.client.delete_event(ctx.calendar_id, event_id, etag=etag)
    except RemoteNotFound:
        return  # 404 never there / 410 already deleted: done either way
    except RemotePreconditionFailed:
        raise _Replan(await _fetch(ctx, event_id)) from None


_NewLink = tuple[str, str | None, str | None, str | None, str | None, str | None, set[str],
                 dict[str, Any]]


def _finish(ctx: ConnectionContext, claim: OutboxClaim, entry: LedgerEntry,
            link: _NewLink | None, drop_link: bool) -> None:
    store = ctx.store

    def tx() -> None:
        if link is not None:
            event_id, g_etag, l_etag, h_local, h_google, updated, held, extra = link
            store.put_link(ctx.id, claim.uid, event_id, google_etag=g_etag, local_etag=l_etag,
                           hash_local=h_local, hash_google=h_google, google_updated=updated,
                           google_exceptions=held, google_extra=extra)
        elif drop_link:
            store.delete_link(ctx.id, claim.uid)
        store.finish_outbox(claim, ctx.worker)
        store.add_ledger([entry])

    store.run_transaction(tx)


def _newest(master: dict[str, Any], exceptions: list[dict[str, Any]]) -> str | None:
    stamps = [str(e["updated"]) for e in [master, *exceptions] if e.get("updated")]
    return max(stamps) if stamps else None


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
    if isinstance(step, PullFromGoogle | DeleteLocal) or (
            isinstance(step, Relink) and series is not None):
        assert series is not None
        # Google's side wins (or already matches): apply it like a pull, then we are done.
        apply_remote(ctx, [series], trigger, confirmed=True)
        _finish(ctx, claim, LedgerEntry("pull", trigger, "resolve", "ok", ctx.id,
                                        claim.collection_id, claim.uid,
                                        google_event_id=series.event_id), None, False)
        return "pull"
    if isinstance(step, Noop):
        _finish(ctx, claim, LedgerEntry("push", trigger, "noop", "ok", ctx.id,
                                        claim.collection_id, claim.uid,
                                        detail={"reason": step.reason}), None, False)
        return "noop"
    if isinstance(step, Unlink):
        _finish(ctx, claim, LedgerEntry("push", trigger, "unlink", "ok", ctx.id,
                                        claim.collection_id, claim.uid,
                                        google_event_id=step.event_id), None, True)
        return "unlink"
    if isinstance(step, DeleteRemote):
        etag = series.etag if series is not None else (link.google_etag if link else None)
        _LOGGER.info("Deleting appointment %s on Google", claim.uid)
        await _delete(ctx, step.event_id, etag)
        _finish(ctx, claim, LedgerEntry("push", trigger, "delete", "ok", ctx.id,
                                        claim.collection_id, claim.uid,
                                        google_event_id=step.event_id), None, True)
        return "delete"
    assert isinstance(step, PushToGoogle) and item is not None and local is not None
    if step.create:
        undelete = series is not None and series.deleted and series.master is not None \
            and len(series.master) > 2
        _LOGGER.info("Pushing appointment %s to Google (create)", claim.uid)
        bodies, master, exceptions = await _create(
            ctx, item, step.event_id, undelete,
            _google_base(series, link, series.event_id) if undelete and series else None)
        name = "restore" if restore else "create"
        fresh = not undelete
    else:
        event_id = step.event_id or (link.google_event_id if link else None)
        assert event_id is not None
        etag = series.etag if series is not None else (link.google_etag if link else None)
        _LOGGER.info("Pushing appointment %s to Google (update)", claim.uid)
        bodies, master, exceptions = await _update(ctx, item, event_id, etag,
                                                   _google_base(series, link, event_id))
        name = "update"
        fresh = False
    extra: list[dict[str, Any]] = []
    held = set(bodies.exception_ids)
    if series is not None and series.event_id == bodies.event_id and not fresh:
        # Google's series was fetched in this round: its exceptions are known already.
        extra, kept = await _settle_exceptions(ctx, bodies, master, series.exceptions)
        held |= kept
    elif not fresh and _needs_listing(bodies, link):
        extra, kept = await _settle_exceptions(ctx, bodies, master, None)
        held |= kept
    exceptions = exceptions + extra
    try:
        h_google: str | None = google_hash((master, exceptions), calendar_tz=ctx.calendar_tz)
    except (MappingError, ValueError):
        h_google = local.hash
    _finish(ctx, claim, LedgerEntry("push", trigger, name, "ok", ctx.id, claim.collection_id,
                                    claim.uid, google_event_id=str(master["id"])),
            (str(master["id"]), master.get("etag"), item.etag, local.hash, h_google,
             _newest(master, exceptions), held, series_extra(master, exceptions)), False)
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
    local = local_state(item, ctx.calendar_tz) if item is not None else None
    if item is not None and local is None:
        _finish(ctx, claim, LedgerEntry("push", trigger, "skip", "unsupported", ctx.id,
                                        claim.collection_id, claim.uid,
                                        error="Google cannot hold this item (no VEVENT)"),
                None, False)
        return PushOutcome("done", "skip")
    action = plan_item(local, None, link_state(link), remote_known=False)
    series: RemoteSeries | None = None
    restore = claim.op == "restore" and local is not None and link is not None
    if restore:
        trigger = "admin"
    try:
        if item is not None and local is not None and not restore:
            renamed = await inherit_before_push(ctx, item, link)
            if renamed is not item:
                item, local = renamed, local_state(renamed, ctx.calendar_tz)
        if restore:
            assert link is not None and local is not None
            # The admin kept an appointment Google deleted: bring the event back under its
            # id (deleted ids stay reserved on Google, so this is an undelete by update).
            series = await _fetch(ctx, link.google_event_id)
            if series.error:
                raise MappingError(series.error)
            action = (PushToGoogle(claim.uid, link.google_event_id, create=True)
                      if series.deleted
                      else plan_item(local, series.state(claim.uid), link_state(link)))
        for _ in range(MAX_ROUNDS):
            try:
                name = await _execute(ctx, claim, item, local, action, series, trigger,
                                      restore)
            except _Replan as replan:
                series = replan.series
                if series.error:
                    raise MappingError(series.error) from None
                action = plan_item(local, series.state(claim.uid),
                                   link_state(store.get_link(ctx.id, claim.uid)))
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
    except (GoogleBadRequest, RemoteForbidden, MappingError, RemoteError) as exc:
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
