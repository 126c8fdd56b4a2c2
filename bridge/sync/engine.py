"""The sync engine: push workers, pull scheduler, imports and channels for every connection.

One :class:`SyncEngine` per sidecar process.  Several processes share the work through the
database only: outbox claims (``SKIP LOCKED`` / leases) for pushes and a per-connection ``pull``
lease for pulls and imports.  The push loop wakes on an in-process signal after each commit that
queued outbox rows, on ``LISTEN termin_bridge_outbox`` (PostgreSQL; other processes' commits),
and otherwise every ``idle_wait`` seconds (SQLite: the CalDAV process's commits).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from bridge.config import Settings
from bridge.errors import RemoteAuthError, RemoteError
from bridge.providers.base import ProviderFactory, ProviderUnavailable
from bridge.providers.http import ClientStats
from bridge.store import SqlStore
from bridge.store.engine import is_postgres
from bridge.store.hooks import Signal
from bridge.store.sync import NOTIFY_CHANNEL, ConnectionRecord, OutboxClaim
from bridge.sync.apply import PullResult, release_held
from bridge.sync.channels import ensure_channel
from bridge.sync.context import ConnectionContext, SyncMetrics, SyncOptions
from bridge.sync.pull import pull, run_import
from bridge.sync.push import push_claim
from bridge.sync.restore import restore_claims

__all__ = ["DEFAULT_PROVIDER", "SyncEngine"]

_LOGGER = logging.getLogger(__name__)
# The provider of the admin's connect flow while it offers only one.
DEFAULT_PROVIDER = "google"


class SyncEngine:
    """Runs pushes, pulls, imports and channel renewals for all active connections."""

    def __init__(
        self,
        store: SqlStore,
        options: SyncOptions,
        *,
        providers: Mapping[str, ProviderFactory],
        worker_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.clock = clock  # the pull scheduler's clock (tests drive it)
        self.options = options
        self.providers = dict(providers)
        self.worker = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.metrics = SyncMetrics()
        self._contexts: dict[int, tuple[bytes, str, str, ConnectionContext]] = {}
        self._push_wake: asyncio.Event | None = None
        self._tick_wake: asyncio.Event | None = None
        self._pull_requests: dict[int, str] = {}
        self._last_pull: dict[int, float] = {}
        self._running: dict[int, asyncio.Task[Any]] = {}
        self._restores: dict[int, asyncio.Task[Any]] = {}
        self._pull_locks: dict[int, asyncio.Lock] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listen_stop = threading.Event()
        self._listen_thread: threading.Thread | None = None
        self._claim_lock = threading.Lock()  # claims of this engine, one at a time
        self._flight_lock = threading.Lock()  # guards _in_flight (rows being pushed)
        self._in_flight: set[int] = set()

    @classmethod
    def from_settings(cls, store: SqlStore, settings: Settings, *,
                      providers: Mapping[str, ProviderFactory], **overrides: Any) -> SyncEngine:
        """An engine configured from ``[google]`` and ``[http]``, with the composition root's
        provider factories."""
        return cls(store, SyncOptions.from_settings(settings, **overrides), providers=providers)

    # -- contexts ----------------------------------------------------------------------------
    def _factory(self, record: ConnectionRecord) -> ProviderFactory | None:
        return self.providers.get(record.provider)

    def budget_available(self, record: ConnectionRecord) -> float | None:
        """Requests the budget of the connection's account allows now (``None``: unused)."""
        factory = self._factory(record)
        return factory.budget_available(record) if factory is not None else None

    def client_stats(self) -> list[tuple[str, ClientStats]]:
        """Request counters of every client the providers opened, with the provider's name
        (``/metrics``)."""
        return [(name, stats) for name, factory in self.providers.items()
                for stats in factory.stats()]

    def context(self, record: ConnectionRecord) -> ConnectionContext | None:
        """The (cached) context of a connection; ``None`` when its token cannot be used."""
        blob = self.store.get_refresh_token(record.id) or b""
        tz = str(record.state.get("calendar_tz") or "UTC")
        cached = self._contexts.get(record.id)
        if cached is not None and cached[:3] == (blob, record.remote_calendar_id, tz):
            cached[3].record = record
            return cached[3]
        factory = self._factory(record)
        try:
            if factory is None:
                raise ProviderUnavailable(record.id, "no such provider")
            provider = factory.open(record, blob, self.options)
        except ProviderUnavailable as exc:
            _LOGGER.error("Connection %d: %s", record.id, exc.reason)
            self.store.update_connection(record.id, status="error",
                                         last_error=f"refresh token unreadable ({exc.reason}); "
                                         "reconnect Google")
            return None
        ctx = ConnectionContext(self.store, record, provider, self.options, self.worker,
                                self.metrics)
        self._contexts[record.id] = (blob, record.remote_calendar_id, tz, ctx)
        return ctx

    def _needs_reconnect(self, ctx: ConnectionContext, exc: RemoteError) -> None:
        _LOGGER.warning("Connection %d needs a reconnect: %s", ctx.id, exc)
        self.store.update_connection(ctx.id, status="needs_reconnect", last_error=str(exc))
        self._contexts.pop(ctx.id, None)

    # -- push --------------------------------------------------------------------------------
    def _claim(self, connection_ids: list[int] | None, *, restores: bool = False
               ) -> list[OutboxClaim]:
        # One claimer at a time per engine, so a batch another push_once (drain) or the restore
        # job is pushing is in ``_in_flight`` before the next claim looks at this worker's own
        # rows.  ``restores``: the background restore job's rows, which the push loop leaves.
        with self._claim_lock:
            with self._flight_lock:
                pushing = frozenset(self._in_flight)
            claims = self.store.claim_outbox(
                self.worker, limit=self.options.claim_batch, connection_ids=connection_ids,
                in_flight=pushing, restores=restores)
            with self._flight_lock:
                for claim in claims:
                    self._in_flight.update(claim.row_ids)
        return claims

    async def push_once(self, connection_ids: list[int] | None = None) -> int:
        """Claim one batch and push it; returns how many UIDs were claimed."""
        claims = await asyncio.to_thread(self._claim, connection_ids)
        if not claims:
            return 0
        groups: dict[int, list[OutboxClaim]] = {}
        for claim in claims:
            groups.setdefault(claim.connection_id, []).append(claim)
        try:
            results = await asyncio.gather(
                *(self._push_group(cid, group) for cid, group in groups.items()),
                return_exceptions=True)
        finally:
            self._landed(claims)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return len(claims)

    def _landed(self, claims: list[OutboxClaim]) -> None:
        """The claims are finished or handed back: no longer in flight."""
        with self._flight_lock:
            for claim in claims:
                self._in_flight.difference_update(claim.row_ids)

    async def _push_group(self, connection_id: int, claims: list[OutboxClaim]) -> None:
        record = self.store.get_connection(connection_id)
        ctx = self.context(record)
        if ctx is None:
            self.store.release_outbox(claims, self.worker)
            return
        for i, claim in enumerate(claims):
            if not self.store.liveness.healthy(self.worker):
                # Our lock is gone (database connection lost): others may hold these rows now.
                self.store.release_outbox(claims[i:], self.worker)
                return
            try:
                outcome = await push_claim(ctx, claim)
            except asyncio.CancelledError:
                # Shutting down: hand the unfinished claims back at once, so the next worker
                # (a restarted process) need not wait for the lease to lapse.  The one in
                # flight is pushed again from its current state (deterministic id: no duplicate).
                self.store.release_outbox(claims[i:], self.worker)
                raise
            except RemoteAuthError as exc:
                self._needs_reconnect(ctx, exc)
                self.store.release_outbox(claims[i:], self.worker)
                return
            if outcome.status == "reconnect":
                self._needs_reconnect(ctx, RemoteAuthError(outcome.error or "invalid_grant"))
                self.store.release_outbox(claims[i + 1:], self.worker)
                return

    async def drain(self, timeout: float = 30.0, connection_ids: list[int] | None = None) -> None:
        """Push until nothing is claimable (``sync-now`` and tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not await self.push_once(connection_ids):
                return

    async def _push_loop(self) -> None:
        assert self._push_wake is not None
        while True:
            self._push_wake.clear()
            try:
                claimed = await self.push_once()
            except Exception:
                _LOGGER.exception("push loop error")
                claimed = 0
                await asyncio.sleep(self.options.idle_wait)
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._push_wake.wait(), self.options.idle_wait)

    def wake_push(self) -> None:
        """Wake the push loop (thread-safe)."""
        loop, event = self._loop, self._push_wake
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    # -- pull --------------------------------------------------------------------------------
    def request_pull(self, connection_id: int, trigger: str = "notification") -> None:
        """Ask for a pull of one connection soon (coalesced; safe from the loop thread)."""
        self._pull_requests.setdefault(connection_id, trigger)
        if self._tick_wake is not None:
            self._tick_wake.set()

    def _pull_lock(self, connection_id: int) -> asyncio.Lock:
        """One pull (or release) of a connection at a time in this process: the lease is per
        process, so it does not keep a manual pull from racing the scheduler's."""
        lock = self._pull_locks.get(connection_id)
        if lock is None:
            lock = self._pull_locks[connection_id] = asyncio.Lock()
        return lock

    async def pull_connection(
        self, connection_id: int, trigger: str = "poll", *, confirmed: bool = False,
        keep_local: bool = False,
    ) -> PullResult | None:
        """Pull (or continue the import of) one connection under the cross-process lease.

        ``confirmed`` runs a pull the safety valve paused; with ``keep_local`` Google's
        deletions are restored on Google instead of applied here.
        """
        async with self._pull_lock(connection_id):
            return await self._pull_leased(connection_id, trigger, confirmed=confirmed,
                                           keep_local=keep_local)

    async def _pull_leased(
        self, connection_id: int, trigger: str, *, confirmed: bool, keep_local: bool,
    ) -> PullResult | None:
        record = self.store.get_connection(connection_id)
        if not record.active or record.status != "ok":
            return None
        if record.paused_reason and not confirmed:
            return None
        ctx = self.context(record)
        if ctx is None:
            return None
        lease_ttl = self.options.pull_lease
        if not self.store.acquire_lease(connection_id, "pull", self.worker, lease_ttl):
            return None
        keeper = asyncio.create_task(self._keep_lease(connection_id, lease_ttl))
        try:
            phase = record.state.get("import", {}).get("phase")
            if phase == "running":
                result = await run_import(ctx)
                self.wake_push()  # queued local items wait for the import to finish
            else:
                await ensure_channel(ctx)
                result = await pull(ctx, trigger, confirmed=confirmed, keep_local=keep_local)
            if confirmed and result.paused is None:
                self.store.update_connection(connection_id, paused_reason=None)
            self.store.update_connection(connection_id, last_error=None)
            return result
        except RemoteAuthError as exc:
            self._needs_reconnect(ctx, exc)
            return None
        except RemoteError as exc:
            _LOGGER.warning("Pull of connection %d failed: %s", connection_id, exc)
            self.store.update_connection(connection_id, last_error=str(exc))
            return None
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            self.store.release_lease(connection_id, "pull", self.worker)

    async def _keep_lease(self, connection_id: int, ttl: float) -> None:
        """Renew the pull lease while a long pull or import runs (a crash lets it lapse)."""
        while True:
            await asyncio.sleep(ttl / 3)
            await asyncio.to_thread(self.store.acquire_lease, connection_id, "pull",
                                    self.worker, ttl)

    async def _scheduler(self) -> None:
        assert self._tick_wake is not None
        while True:
            self._tick_wake.clear()
            try:
                await self.schedule_once()
            except Exception:
                _LOGGER.exception("scheduler error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tick_wake.wait(), self.options.idle_wait)

    async def schedule_once(self) -> dict[int, asyncio.Task[Any]]:
        """Start the pulls that are due (one scheduler tick); returns them by connection.

        The interval is read from the connection on every tick (its own ``poll_interval`` or
        the default), so a new interval applies from the next tick on, in every process: a pull
        is due ``interval`` seconds after the previous one started.
        """
        started: dict[int, asyncio.Task[Any]] = {}
        now = self.clock()
        records = await asyncio.to_thread(self.store.list_connections, active_only=True)
        ripe: set[int] = set()  # connections with held deletions older than the window
        if self.options.safety_window > 0:
            ripe = set(await asyncio.to_thread(
                self.store.held_due, self.store.clock() - self.options.safety_window))
        for record in records:
            cid = record.id
            restore = record.state.get("restore") or {}
            if (restore.get("phase") == "running" and record.status == "ok"
                    and not record.paused_reason and cid not in self._restores):
                self.start_restore(cid, resume=True)  # a job another process left behind
            if cid in ripe and record.status == "ok" and not record.paused_reason \
                    and cid not in self._running:
                self._running[cid] = asyncio.create_task(self._run_release(cid))
                continue
            if record.status != "ok" or record.paused_reason or cid in self._running:
                continue
            phase = record.state.get("import", {}).get("phase")
            trigger = self._pull_requests.pop(cid, None)
            interval = float(record.poll_interval or self.options.poll_interval)
            last = self._last_pull.get(cid)
            due = last is None or now >= last + interval
            if phase != "running" and trigger is None and not due:
                continue
            if phase not in ("running", "done"):
                continue
            self._last_pull[cid] = now
            task = asyncio.create_task(self._run_pull(cid, trigger or "poll"))
            self._running[cid] = started[cid] = task
        return started

    def wake_scheduler(self) -> None:
        """Run the scheduler now, e.g. after a poll interval changed (thread-safe)."""
        loop, event = self._loop, self._tick_wake
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    async def _run_release(self, connection_id: int) -> None:
        try:
            await self.release_due(connection_id)
        except Exception:
            _LOGGER.exception("releasing held deletions of connection %d crashed",
                              connection_id)
        finally:
            self._running.pop(connection_id, None)

    async def release_due(self, connection_id: int) -> PullResult | None:
        """Apply the held deletions whose safety window has passed (under the pull lease).

        Needs no request to Google; a pull that trips the valve meanwhile pauses the connection
        and the held deletions wait for the admin.
        """
        async with self._pull_lock(connection_id):
            if not self.store.acquire_lease(connection_id, "pull", self.worker,
                                            self.options.pull_lease):
                return None
            try:
                record = self.store.get_connection(connection_id)
                if not record.active or record.status != "ok" or record.paused_reason:
                    return None
                ctx = self.context(record)
                if ctx is None:
                    return None
                return await asyncio.to_thread(release_held, ctx, "valve", "due")
            finally:
                self.store.release_lease(connection_id, "pull", self.worker)

    # -- restore (the admin kept the appointments of a paused pull) ----------------------------
    def start_restore(self, connection_id: int, *, resume: bool = False) -> asyncio.Task[Any]:
        """Run "cancel, keep appointments" as a background job; returns its task.

        The job pulls with Google's deletions turned into ``restore`` outbox rows (lifting the
        pause), then pushes those rows in batches (:func:`~bridge.sync.restore.restore_claims`)
        under a ``restore`` lease; progress is in the connection state (``restore``) and the
        outbox.  ``resume`` continues the pushes of a job a stopped process left behind.
        """
        task = self._restores.get(connection_id)
        if task is not None and not task.done():
            return task
        if not resume:
            self.store.update_connection_state(connection_id, {"restore": {
                "phase": "preparing", "started_at": self.store.clock(), "total": 0}})
        task = asyncio.create_task(self._restore_job(connection_id, resume),
                                   name=f"sync-restore-{connection_id}")
        self._restores[connection_id] = task
        task.add_done_callback(lambda _t: self._restores.pop(connection_id, None))
        return task

    def restore_task(self, connection_id: int) -> asyncio.Task[Any] | None:
        """The restore job this process runs for the connection, if any (tests, CLI)."""
        return self._restores.get(connection_id)

    def restoring(self, connection_id: int) -> bool:
        """True while this process runs the restore job of the connection."""
        task = self._restores.get(connection_id)
        return task is not None and not task.done()

    async def _restore_job(self, connection_id: int, resume: bool) -> None:
        state = dict(self.store.get_connection(connection_id).state.get("restore") or {})
        try:
            if not resume:
                result = await self.pull_connection(connection_id, "admin", confirmed=True,
                                                    keep_local=True)
                if result is None or result.paused:
                    record = self.store.get_connection(connection_id)
                    state |= {"phase": "failed", "error": record.last_error or
                              "Google could not be read now (reconnect needed, busy, or a "
                              "Google error); the connection stays paused"}
                    self.store.update_connection_state(connection_id, {"restore": state})
                    return
                state |= {"phase": "running", "total": result.restored}
                self.store.update_connection_state(connection_id, {"restore": state})
                _LOGGER.info("Paused pull of connection %d cancelled: %d appointments kept, "
                             "restoring them on Google", connection_id, result.restored)
                self.wake_push()
            if not await self._push_restores(connection_id):
                return  # lease held elsewhere, or a reconnect is needed: resumed later
            state = dict(self.store.get_connection(connection_id).state.get("restore") or {})
            state |= {"phase": "done", "finished_at": self.store.clock()}
            self.store.update_connection_state(connection_id, {"restore": state})
        except RemoteAuthError as exc:
            record = self.store.get_connection(connection_id)
            ctx = self.context(record)
            if ctx is not None:
                self._needs_reconnect(ctx, exc)
        except RemoteError as exc:  # the scheduler resumes the job (phase stays "running")
            _LOGGER.warning("Restore job of connection %d interrupted: %s", connection_id, exc)

    async def _push_restores(self, connection_id: int) -> bool:
        """Push the connection's ``restore`` rows in batches until none is left."""
        ttl = self.options.pull_lease
        if not self.store.acquire_lease(connection_id, "restore", self.worker, ttl):
            return False
        try:
            while True:
                self.store.acquire_lease(connection_id, "restore", self.worker, ttl)
                claims = await asyncio.to_thread(self._claim, [connection_id], restores=True)
                if not claims:
                    if not self.store.restore_counts(connection_id).get("pending"):
                        return True
                    await asyncio.sleep(self.options.idle_wait)  # retries not due yet
                    continue
                record = self.store.get_connection(connection_id)
                ctx = self.context(record)
                if ctx is None or record.status != "ok":
                    self.store.release_outbox(claims, self.worker)
                    self._landed(claims)
                    return False
                try:
                    outcomes = await restore_claims(ctx, claims)
                except BaseException:  # auth, a failed batch, shutdown: hand the claims back
                    self.store.release_outbox(claims, self.worker)
                    raise
                finally:
                    self._landed(claims)
                if any(o.status == "reconnect" for o in outcomes):
                    self._needs_reconnect(ctx, RemoteAuthError("invalid_grant"))
                    return False
        finally:
            self.store.release_lease(connection_id, "restore", self.worker)

    async def _run_pull(self, connection_id: int, trigger: str) -> None:
        try:
            await self.pull_connection(connection_id, trigger)
        except Exception:
            _LOGGER.exception("pull of connection %d crashed", connection_id)
        finally:
            self._running.pop(connection_id, None)

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the push loop, the scheduler and (PostgreSQL) the LISTEN thread."""
        self._loop = asyncio.get_running_loop()
        self._push_wake = asyncio.Event()
        self._tick_wake = asyncio.Event()
        self.store.hooks.add_listener(Signal.OUTBOX_QUEUED, self.wake_push)
        self._tasks = [asyncio.create_task(self._push_loop(), name="sync-push"),
                       asyncio.create_task(self._scheduler(), name="sync-scheduler")]
        if is_postgres(self.store.engine):
            self._listen_stop.clear()
            self._listen_thread = threading.Thread(target=self._listen, name="sync-listen",
                                                   daemon=True)
            self._listen_thread.start()
        _LOGGER.info("Sync engine %s started", self.worker)

    async def stop(self) -> None:
        """Cancel every task and wait for them."""
        self.store.hooks.remove_listener(Signal.OUTBOX_QUEUED, self.wake_push)
        self._listen_stop.set()
        tasks = self._tasks + list(self._running.values()) + list(self._restores.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        for factory in self.providers.values():
            await factory.close()
        await asyncio.to_thread(self.options.cpu.close)
        if not self._in_flight:  # every claim is finished or handed back
            await asyncio.to_thread(self.store.liveness.release, self.worker)
        if self._listen_thread is not None:
            await asyncio.to_thread(self._listen_thread.join, 5)
            self._listen_thread = None

    def _listen(self) -> None:
        import psycopg

        url = self.store.engine.url.set(drivername="postgresql")
        try:
            conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        except Exception as exc:  # polling still covers it
            _LOGGER.warning("LISTEN unavailable (%s); polling every %.1fs",
                            type(exc).__name__, self.options.idle_wait)
            return
        with conn:
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            while not self._listen_stop.is_set():
                for _ in conn.notifies(timeout=1.0, stop_after=1):
                    self.wake_push()
