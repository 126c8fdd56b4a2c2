"""The facade the admin page and the CLI call: connect, import, status, conflicts, ledger.

Typical admin flow::

    url = service.start_connect("alice/work", session_ref=session.id)       # redirect there
    result = await service.finish_connect(session.id, state, code=code)      # /oauth2/callback
    await service.choose_calendar(result.connection_id, "primary")          # chooser form
    preview = await service.preview_import(result.connection_id)            # dry run counts
    service.start_import(result.connection_id, push_existing=True)          # engine runs it
    service.import_progress(result.connection_id)                           # poll for the bar

Every method raises :class:`~bridge.errors.BridgeError` subclasses with a clear message
(:class:`~bridge.errors.FlowError` for a refused sign-in, ``NotFound`` for unknown ids).  What
speaks to the provider (consent URL, code exchange, calendar list, revocation, token sealing)
goes through the engine's provider factory.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from bridge.config import Settings
from bridge.errors import BridgeError, FlowError, NotFound
from bridge.ical import parse_resource
from bridge.providers.base import (
    Grant,
    LoginConnect,
    ProviderFactory,
    ServerDiscovery,
    ServerLogin,
)
from bridge.providers.flows import PendingFlows
from bridge.store import SqlStore
from bridge.store.sync import ConnectionRecord, LedgerRecord
from bridge.sync.apply import PullResult
from bridge.sync.channels import stop_channel
from bridge.sync.engine import DEFAULT_PROVIDER, SyncEngine
from bridge.sync.pull import dry_run

__all__ = ["POLL_MAX", "POLL_MIN", "CalendarChoice", "ConnectResult", "SyncService",
           "callback_path", "provider_of_callback"]

_LOGGER = logging.getLogger(__name__)
POLL_MIN = 60
POLL_MAX = 86400


@dataclass(frozen=True)
class CalendarChoice:
    """A remote calendar the account may write to (for the chooser)."""

    id: str
    summary: str
    time_zone: str
    access_role: str
    primary: bool


@dataclass(frozen=True)
class ConnectResult:
    """The outcome of the OAuth callback: the connection and the calendars to choose from."""

    connection_id: int
    account_email: str
    calendars: tuple[CalendarChoice, ...]
    reconnected: bool


def callback_path(provider: str) -> str:
    """The OAuth redirect path of a provider: Google keeps ``/oauth2/callback`` (registered by
    existing installations), every other provider has ``/oauth2/<provider>/callback``."""
    return "/oauth2/callback" if provider == DEFAULT_PROVIDER else f"/oauth2/{provider}/callback"


def provider_of_callback(redirect_uri: str) -> str:
    """The provider whose :func:`callback_path` ``redirect_uri`` ends with."""
    path = urlsplit(redirect_uri).path
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "oauth2" and parts[2] == "callback":
        return parts[1]
    return DEFAULT_PROVIDER


class SyncService:
    """Admin and CLI operations on Google connections (thin over store and engine)."""

    def __init__(
        self,
        store: SqlStore,
        settings: Settings,
        engine: SyncEngine,
        *,
        flows: PendingFlows | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.engine = engine
        self.flows = flows or PendingFlows(store, lambda: self.factory().sealer())

    def factory(self, name: str = DEFAULT_PROVIDER) -> ProviderFactory:
        """The engine's factory of provider ``name``."""
        factory = self.engine.providers.get(name)
        if factory is None:
            raise BridgeError(f"the provider {name!r} is not offered")
        return factory

    def redirect_uri(self, provider: str = DEFAULT_PROVIDER) -> str:
        """``<public_url>/oauth2/callback`` (Google) or ``…/oauth2/<provider>/callback``
        (or the local sidecar address)."""
        return self.settings.base_url + callback_path(provider)

    # -- connect -----------------------------------------------------------------------------
    def start_connect(
        self,
        collection_path: str,
        session_ref: str,
        *,
        redirect_uri: str | None = None,
        login_hint: str | None = None,
        provider: str = DEFAULT_PROVIDER,
    ) -> str:
        """Start connecting a calendar: returns the provider's consent URL (state + PKCE kept
        here).  ``redirect_uri`` is the origin-relative callback's full URL; its path names the
        provider (:func:`callback_path`), which is how the callback finds the provider again."""
        if self.store.get_collection(collection_path) is None:
            raise NotFound(f"calendar /{collection_path.strip('/')}/")
        factory = self.factory(provider)
        factory.check_connect()
        uri = redirect_uri or self.redirect_uri(provider)
        if provider_of_callback(uri) != provider:
            raise BridgeError(f"the callback {uri!r} does not belong to {provider!r}")
        flow = self.flows.start(session_ref, uri, collection_path.strip("/"))
        return factory.consent_url(flow, login_hint=login_hint)

    async def finish_connect(
        self, session_ref: str, state: str, *, code: str | None = None, error: str | None = None
    ) -> ConnectResult:
        """Handle the callback: check state, exchange the code, store the sealed token.

        Creates the (inactive) connection or, for a calendar already connected, replaces its
        token and sets it back to ``ok`` (queued local changes then replay).  An account that
        may not write any calendar gets ``FlowError("no_writable")`` (with ``account_email``):
        nothing is stored and the fresh grant is revoked at Google.
        """
        flow = self.flows.take(state, session_ref)
        provider = provider_of_callback(flow.redirect_uri)
        if error:
            raise FlowError(error, "access was not granted on the consent page"
                            if error == "access_denied" else f"{provider} reported: {error}")
        if not code:
            raise FlowError("code", "the callback carries no authorisation code")
        factory = self.factory(provider)
        grant = await factory.grant(flow, code, self.engine.options)
        return await self._store_grant(factory, flow.collection_path, grant)

    async def connect_login(self, collection_path: str, provider: str, login: ServerLogin
                            ) -> tuple[ConnectResult, ServerDiscovery]:
        """Connect a calendar to a login provider (CalDAV, iCloud, Exchange): test the login,
        then keep the sealed credentials and the calendars found exactly as the OAuth callback
        keeps a grant (``FlowError`` as :meth:`LoginConnect.discover` raises it, or
        ``"no_writable"``); what was discovered is kept in the connection's state for the
        calendar choice page (server, facts, every calendar found with whether it is writable,
        and the URL, user and options typed, never the password)."""
        if self.store.get_collection(collection_path) is None:
            raise NotFound(f"calendar /{collection_path.strip('/')}/")
        factory = self.factory(provider)
        if not isinstance(factory, LoginConnect):
            raise BridgeError(f"{provider!r} does not sign in with a server login")
        existing = self.store.connection_for_collection(collection_path.strip("/"))
        if existing is not None and existing.provider == provider:
            login = replace(login, renews=existing.id)  # its own calendar is no loop
        found = await factory.discover(login, self.engine.options)
        result = await self._store_grant(factory, collection_path.strip("/"), found.grant)
        self.store.update_connection_state(result.connection_id, {"discovered": {
            "server": found.server, "facts": [list(f) for f in found.facts],
            "calendars": [{"id": c.id, "name": c.name, "writable": c.writable}
                          for c in found.grant.account.calendars],
            # What the admin typed (never the password), pre-filled when reconnecting.
            "url": login.url, "username": login.username, "options": dict(login.options)}})
        return result, found

    async def _store_grant(self, factory: ProviderFactory, collection_path: str, grant: Grant
                           ) -> ConnectResult:
        """Keep a finished connect flow's grant: a new (inactive) connection, or the new
        token of the calendar's existing connection to the same provider."""
        provider = factory.name
        account = grant.account.email
        choices = tuple(CalendarChoice(c.id, c.name, c.time_zone, c.access_role, c.primary)
                        for c in grant.account.calendars if c.writable)
        if not choices:
            # Nothing to sync with: keep nothing, and give the grant back to Google.
            await factory.revoke(grant.refresh_token)
            _LOGGER.info("%s account has no writable calendar; nothing stored", provider)
            raise FlowError("no_writable", f"the account {account or '(unknown)'} may "
                            "not change any calendar; use an account that owns a calendar or "
                            "has \"Make changes to events\" access", account_email=account)
        scopes = " ".join(grant.scopes)
        existing = self.store.connection_for_collection(collection_path)
        choice_state = {"choices": {c.id: {"summary": c.summary, "timeZone": c.time_zone}
                                    for c in choices}}
        if existing is not None and existing.provider != provider:
            await factory.revoke(grant.refresh_token)
            raise FlowError("provider", f"the calendar is connected to {existing.provider}; "
                            "disconnect it first")
        if existing is not None:
            self.store.set_refresh_token(existing.id,
                                         factory.seal(existing.id, grant.refresh_token))
            self.store.update_connection_state(existing.id, choice_state, status="ok",
                                               last_error=None, scopes=scopes,
                                               account_email=account or existing.account_email)
            _LOGGER.info("Connection %d reconnected", existing.id)
            self.engine.wake_push()
            return ConnectResult(existing.id, account, choices, True)
        record = self.store.create_connection(
            collection_path, account_email=account, scopes=scopes, provider=provider,
            seal_token=lambda cid: factory.seal(cid, grant.refresh_token))
        self.store.update_connection_state(record.id, choice_state)
        _LOGGER.info("Connection %d created for /%s/", record.id, collection_path)
        return ConnectResult(record.id, account, choices, False)

    def choose_calendar(self, connection_id: int, remote_calendar_id: str) -> ConnectionRecord:
        """Bind the connection to one of the offered Google calendars."""
        record = self.store.get_connection(connection_id)
        choices = record.state.get("choices") or {}
        if remote_calendar_id not in choices:
            raise BridgeError("that calendar was not offered (owner or writer access needed)")
        choice = choices[remote_calendar_id]
        return self.store.update_connection_state(
            connection_id, {"calendar_tz": choice.get("timeZone") or "UTC"},
            remote_calendar_id=remote_calendar_id,
            remote_calendar_name=str(choice.get("summary") or remote_calendar_id))

    # -- import ------------------------------------------------------------------------------
    async def preview_import(self, connection_id: int) -> dict[str, Any]:
        """Dry run: what the import and "push existing" would really write, both ways.

        Google's listing is matched with the local items by UID (our deterministic event ids
        and ``terminUid``) and content hash: ``created``/``updated`` are writes here,
        ``google_creates`` (local items Google lacks; pushed only with "push existing") and
        ``google_updates`` (first contact, contents differ: local wins) are writes on Google,
        ``in_sync`` are equal on both sides and cost nothing.
        """
        record = self.store.get_connection(connection_id)
        ctx = self.engine.context(record)
        if ctx is None:
            raise BridgeError("the connection's token is unusable; reconnect Google")
        result: PullResult = await dry_run(ctx)
        local = self.store.uids_of_collection(record.collection_id)
        matched = {action.uid for action in result.actions}
        out = result.as_dict() | {
            "local_items": len(local),
            "google_creates": sum(1 for uid in local if uid not in matched),
            "google_updates": result.pushed_back,
            "in_sync": result.relinked + result.unchanged,
        }
        self.store.update_connection_state(connection_id, {"preview": out})
        return out

    def start_import(self, connection_id: int, *, push_existing: bool) -> ConnectionRecord:
        """Activate the connection and let the engine import (with or without local pushes)."""
        record = self.store.get_connection(connection_id)
        if not record.remote_calendar_id:
            raise BridgeError("choose a Google calendar first")
        preview = record.state.get("preview") or {}
        progress = {"phase": "running", "started_at": time.time(), "pages": 0,
                    "push_existing": push_existing,
                    "total_estimate": preview.get("created", 0) + preview.get("updated", 0)
                    + preview.get("relinked", 0) or None}
        self.store.update_connection_state(connection_id, {"import": progress,
                                                           "phase": "importing"})
        queued = self.store.activate_connection(connection_id, push_existing=push_existing)
        _LOGGER.info("Import of connection %d started (%d local items queued)", connection_id,
                     queued)
        self.engine.request_pull(connection_id, "import")
        return self.store.get_connection(connection_id)

    def import_progress(self, connection_id: int) -> dict[str, Any]:
        """Phase, counts, rate (events/s) and ETA (seconds, when the total is known)."""
        record = self.store.get_connection(connection_id)
        progress = dict(record.state.get("import") or {})
        started = float(progress.get("started_at") or 0)
        seen = int(progress.get("seen") or 0)
        elapsed = max(1e-6, float(progress.get("updated_at") or time.time()) - started)
        rate = seen / elapsed if started and seen else 0.0
        total = progress.get("total_estimate")
        eta = (max(0.0, (int(total) - seen) / rate) if total and rate
               and progress.get("phase") == "running" else None)
        progress.pop("page_token", None)
        return progress | {"rate": round(rate, 1), "eta_seconds": eta}

    # -- status and actions --------------------------------------------------------------------
    def status(self, connection_id: int | None = None) -> list[dict[str, Any]]:
        """Health of each connection: status, pause, last pull/push, outbox, conflicts.

        ``poll_interval`` is the effective interval (seconds), ``poll_interval_configured`` the
        connection's own (``None``: ``[sync] poll_interval``); ``lag_seconds`` is the age of
        the oldest pending push (0 when nothing waits).
        """
        records = ([self.store.get_connection(connection_id)] if connection_id is not None
                   else self.store.list_connections())
        out = []
        now = time.time()
        default = int(self.engine.options.poll_interval)
        for r in records:
            stats = self.store.outbox_stats(r.id)
            conflicts = self.store.query_ledger(connection_id=r.id, action="conflict",
                                                outcome="open", limit=1000)
            out.append({
                "id": r.id, "provider": r.provider, "calendar": r.collection_path,
                "account": r.account_email,
                "google_calendar": r.remote_calendar_id, "name": r.remote_calendar_name,
                "status": r.status, "active": r.active, "paused": r.paused_reason,
                "last_error": r.last_error, "last_pull_at": r.last_pull_at,
                "last_push_at": r.last_push_at, "pending": stats.pending,
                "parked": stats.parked, "oldest_pending_at": stats.oldest_pending_at,
                "open_conflicts": len(conflicts),
                "import": (r.state.get("import") or {}).get("phase"),
                "channel_id": r.channel_id, "channel_expiry": r.channel_expiry,
                "poll_interval": int(r.poll_interval or default),
                "poll_interval_configured": r.poll_interval,
                "lag_seconds": (max(0.0, now - stats.oldest_pending_at)
                                if stats.oldest_pending_at else 0.0),
                "held_deletions": self.store.held_count(r.id),
                "restore": self.restore_progress(r.id),
            })
        return out

    def set_poll_interval(self, connection_id: int, seconds: int | None) -> ConnectionRecord:
        """Poll this connection every ``seconds`` (60 … 86400), or ``None`` for the default."""
        if seconds is not None and (
                isinstance(seconds, bool) or not isinstance(seconds, int)
                or not POLL_MIN <= seconds <= POLL_MAX):
            raise BridgeError(f"the poll interval must be between {POLL_MIN} seconds and "
                              f"{POLL_MAX // 3600} hours")
        record = self.store.update_connection(connection_id, poll_interval=seconds)
        self.engine.wake_scheduler()  # applies from now (other sidecars: at their next tick)
        _LOGGER.info("Poll interval of connection %d set to %s", connection_id,
                     seconds if seconds is not None else "the default")
        return record

    async def sync_now(self, connection_id: int | None = None) -> dict[int, dict[str, Any]]:
        """Pull every (or one) connection now and push what is queued; returns pull counts."""
        ids = ([connection_id] if connection_id is not None
               else [r.id for r in self.store.list_connections(active_only=True)])
        results: dict[int, dict[str, Any]] = {}
        for cid in ids:
            result = await self.engine.pull_connection(cid, "manual")
            results[cid] = result.as_dict() if result else {"skipped": True}
        await self.engine.drain(connection_ids=ids)
        return results

    async def confirm_pause(self, connection_id: int) -> dict[str, Any]:
        """The admin confirms a paused pull (safety valve): run it and resume the connection."""
        result = await self.engine.pull_connection(connection_id, "confirmed", confirmed=True)
        self.store.update_connection(connection_id, paused_reason=None)
        return result.as_dict() if result else {"skipped": True}

    async def cancel_pause(self, connection_id: int) -> dict[str, Any]:
        """The admin cancels a paused pull and keeps the appointments; answers at once.

        The work runs as a background job of the engine
        (:meth:`~bridge.sync.engine.SyncEngine.start_restore`): Google's pending and held
        deletions count as local wins — the pull turns them into ``restore`` outbox rows
        (committed with the new sync token, so the token moves past the deletions and a crash
        loses nothing), every other change from Google is applied, the pause is lifted, and the
        restore rows are pushed in batches, bringing the deleted events back on Google under
        their ids (ledger: ``keep`` on the pull, ``restore`` on the push, trigger ``admin``).
        Progress: :meth:`restore_progress`.  Returns ``{"started": True}``, or ``skipped``
        when nothing is paused (``running`` when a job runs already).
        """
        record = self.store.get_connection(connection_id)
        if (record.state.get("restore") or {}).get("phase") in ("preparing", "running") \
                and self.engine.restoring(connection_id):
            return {"skipped": True, "running": True}
        if not record.paused_reason:
            return {"skipped": True}
        if not record.active or record.status != "ok":
            raise BridgeError("Google cannot be read for this connection now (reconnect "
                              "needed); the connection stays paused, try again afterwards")
        self.engine.start_restore(connection_id)
        _LOGGER.info("Admin cancelled the paused pull of connection %d: restoring in the "
                     "background", connection_id)
        return {"started": True}

    def restore_progress(self, connection_id: int) -> dict[str, Any] | None:
        """The "keep appointments" job: phase, total, done, failed (parked), rate, error.

        ``None`` when no job ever ran.  ``done`` counts the restore pushes finished since the
        job started (from the outbox), so every sidecar process sees the same figures.
        """
        record = self.store.get_connection(connection_id)
        job = dict(record.state.get("restore") or {})
        if not job:
            return None
        started = float(job.get("started_at") or 0.0)
        counts = self.store.restore_counts(connection_id, since=started)
        total = int(job.get("total") or 0)
        pending, parked = counts.get("pending", 0), counts.get("parked", 0)
        done = max(0, total - pending - parked) if job.get("phase") != "preparing" else 0
        end = float(job.get("finished_at") or self.store.clock())
        rate = done / max(1e-6, end - started) if done and started else 0.0
        return {"phase": str(job.get("phase") or ""), "total": total, "done": done,
                "failed": parked, "pending": pending, "rate": round(rate, 1),
                "error": job.get("error"), "started_at": started or None,
                "finished_at": job.get("finished_at")}

    async def disconnect(self, connection_id: int) -> None:
        """Stop the channel, revoke the token at the provider (where it can be) and delete the
        connection."""
        record = self.store.get_connection(connection_id)
        ctx = self.engine.context(record)
        if ctx is not None:
            await stop_channel(ctx)
        blob = self.store.get_refresh_token(connection_id)
        if blob:
            factory = self.factory(record.provider)
            try:
                token = factory.unseal(connection_id, blob)
            except BridgeError:
                token = ""
            if token:
                await factory.revoke(token)
        self.store.delete_connection(connection_id)
        _LOGGER.info("Connection %d disconnected", connection_id)

    def parked(self, connection_id: int) -> list[dict[str, Any]]:
        """Pushes that failed permanently, with their error."""
        return self.store.parked_outbox(connection_id)

    def retry_parked(self, connection_id: int) -> int:
        """Queue parked pushes again; returns how many."""
        count = self.store.requeue_parked(connection_id)
        self.engine.wake_push()
        return count

    # -- conflicts and ledger ----------------------------------------------------------------
    def conflicts(self, connection_id: int, *, open_only: bool = True) -> list[LedgerRecord]:
        """Conflict decisions; each ``detail`` holds the reason, the winner and the loser."""
        return self.store.query_ledger(connection_id=connection_id, action="conflict",
                                       outcome="open" if open_only else None, limit=500)

    def losing_text(self, row: LedgerRecord, record: ConnectionRecord) -> str | None:
        """The losing version of a conflict as iCalendar text (``None``: it was a deletion).

        The provider's side was stored as its own snapshot; its factory reads it.
        """
        loser = row.detail.get("loser") or {}
        if loser.get("side") == "local":
            text = loser.get("text")
            return str(text) if text else None
        factory = self.engine.providers.get(str(loser.get("side")))
        if factory is None:
            raise BridgeError(f"no provider {loser.get('side')!r} to read the loser")
        return factory.snapshot_text(loser.get("event") or {},
                                     str(record.state.get("calendar_tz") or "UTC"))

    def resolve_conflict(self, ledger_id: int, keep: Literal["winner", "loser"]) -> None:
        """Accept the decision, or bring the losing version back (it is then pushed)."""
        row = self.store.get_ledger(ledger_id)
        if row.action != "conflict" or row.connection_id is None:
            raise BridgeError("that ledger row is not a conflict")
        if keep == "loser":
            record = self.store.get_connection(row.connection_id)
            text = self.losing_text(row, record)
            if not text:
                raise BridgeError("the losing version was a deletion; nothing to restore")
            parsed = parse_resource(text)
            current = self.store.items_by_uid(record.collection_id, [parsed.uid]).get(parsed.uid)
            from bridge.store.items import href_for_uid

            href = current.href if current else href_for_uid(parsed.uid)
            self.store.put_item(record.collection_path, href, parsed, origin="admin")
        self.store.set_ledger_outcome(ledger_id, "resolved")

    def ledger(self, **filters: Any) -> list[LedgerRecord]:
        """Ledger rows (filters: connection_id, collection_path, uid, action, outcome, since)."""
        return self.store.query_ledger(**filters)
