"""The admin page's view of the sync engine: the service, URLs, and per-calendar status rows.

Everything Google-related goes through :class:`bridge.sync.service.SyncService` (created by the
``bridge.sync.web`` feature), including the status figures (interval, channel, outbox, lag);
this module reads the connection record and the detail lists (parked pushes, recent errors)
from the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bridge.admin.providers_ui import is_login
from bridge.model import Collection
from bridge.store import SqlStore
from bridge.store.sync import ConnectionRecord, LedgerRecord, OutboxStats
from bridge.sync.service import SyncService
from bridge.sync.web import SYNC_ENGINE, SYNC_SERVICE

__all__ = ["CalendarStatus", "calendar_status", "calendar_url", "login_flow", "service_of"]

# A push channel counts as healthy until this close to its expiry (the engine renews a day ahead).
_CHANNEL_WARN = 6 * 3600.0
# Pull lag above this many poll intervals is shown as a warning.
_LAG_FACTOR = 3


def service_of(request: web.Request) -> SyncService:
    """The sync service (set up by ``bridge.sync.web``)."""
    return request.config_dict[SYNC_SERVICE]


def login_flow(request: web.Request, provider: str) -> bool:
    """Whether ``provider`` signs in with a server login (a form and a *test connection* step
    instead of a consent page; see :mod:`bridge.admin.views_login`)."""
    return is_login(service_of(request).engine.providers.get(provider))


def push_channels_enabled(request: web.Request) -> bool:
    """True when the engine opens Google push channels (https public URL)."""
    return request.config_dict[SYNC_ENGINE].options.push_channels


def default_interval(request: web.Request) -> int:
    """The configured poll interval in seconds."""
    return int(request.config_dict[SYNC_ENGINE].options.poll_interval)


def calendar_url(path: str, action: str = "") -> str:
    """``/admin/sync/<owner>/<slug>[/<action>]`` (path parts are checked names)."""
    url = f"/admin/sync/{path.strip('/')}"
    return f"{url}/{action}" if action else url


@dataclass(frozen=True)
class CalendarStatus:
    """Everything the status page shows about one calendar's Google connection."""

    calendar: Collection
    record: ConnectionRecord | None
    stage: str  # none, choose, preview, importing, active
    outbox: OutboxStats | None = None
    lag: float | None = None
    lag_warning: bool = False
    channel: str = "off"  # off (polling only), none (the provider has none), ok, expiring, missing
    open_conflicts: int = 0
    parked: tuple[dict[str, Any], ...] = ()
    errors: tuple[LedgerRecord, ...] = ()
    interval: int = 300
    push_lag: float = 0.0  # age of the oldest pending push (seconds)
    held: int = 0  # deletions from Google the safety valve holds
    restore: dict[str, Any] | None = None  # the "keep appointments" job (SyncService)

    @property
    def badge(self) -> tuple[str, str]:
        """(css class, English label) for the overview."""
        record = self.record
        if record is None:
            return "muted", "not connected"
        if record.status == "needs_reconnect":
            return "error", "reconnect needed"
        if record.paused_reason:
            return "warn", "paused"
        if self.stage in ("choose", "preview"):
            return "warn", "set-up not finished"
        if self.stage == "importing":
            return "warn", "importing"
        if record.status != "ok" or record.last_error:
            return "error", "error"
        return "ok", "connected"


def _stage(record: ConnectionRecord | None) -> str:
    if record is None:
        return "none"
    if not record.active:
        return "preview" if record.remote_calendar_id else "choose"
    if (record.state.get("import") or {}).get("phase") == "running":
        return "importing"
    return "active"


def calendar_status(
    store: SqlStore, calendar: Collection, *, detail: bool, channels: bool, interval: int,
    now: float | None = None, service: SyncService | None = None,
) -> CalendarStatus:
    """The status of ``calendar`` (blocking; run it in a thread).

    With ``service`` the figures come from :meth:`SyncService.status` (effective interval,
    channel, outbox, push lag, conflicts); the store is read only for the connection record and
    the detail lists.
    """
    now = time.time() if now is None else now
    record = store.connection_for_collection(calendar.path)
    stage = _stage(record)
    if record is None or (stage != "active" and not detail):
        return CalendarStatus(calendar, record, stage, interval=interval)
    if service is not None:
        info = service.status(record.id)[0]
        effective = int(info["poll_interval"])
        channel_id, channel_expiry = info["channel_id"], info["channel_expiry"]
        outbox = OutboxStats(int(info["pending"]), int(info["parked"]),
                             info["oldest_pending_at"])
        open_conflicts = int(info["open_conflicts"])
        push_lag = float(info["lag_seconds"])
        held, restore = int(info["held_deletions"]), info["restore"]
    else:
        effective = int(record.poll_interval or interval)
        channel_id, channel_expiry = record.channel_id, record.channel_expiry
        outbox = store.outbox_stats(record.id)
        open_conflicts = len(store.query_ledger(connection_id=record.id, action="conflict",
                                                outcome="open", limit=500))
        push_lag = now - outbox.oldest_pending_at if outbox.oldest_pending_at else 0.0
        held, restore = store.held_count(record.id), None
    lag = now - record.last_pull_at if record.last_pull_at else None
    channel = "off"
    factory = service.engine.providers.get(record.provider) if service is not None else None
    if factory is not None and not factory.capabilities.watch:
        channel = "none"  # the provider offers no notifications: polling is all there is
    elif channels:
        if not channel_id or not channel_expiry:
            channel = "missing"
        elif channel_expiry - now < _CHANNEL_WARN:
            channel = "expiring"
        else:
            channel = "ok"
    parked: tuple[dict[str, Any], ...] = ()
    errors: tuple[LedgerRecord, ...] = ()
    if detail:
        parked = tuple(store.parked_outbox(record.id)[:20])
        quiet = ("ok", "open", "resolved", "superseded")
        errors = tuple(r for r in store.query_ledger(connection_id=record.id, limit=200)
                       if r.error or r.outcome not in quiet)[:10]
    return CalendarStatus(
        calendar, record, stage, outbox=outbox, lag=lag,
        lag_warning=lag is not None and lag > _LAG_FACTOR * effective,
        channel=channel, open_conflicts=open_conflicts, parked=parked, errors=errors,
        interval=effective, push_lag=push_lag, held=held, restore=restore,
    )
