"""Google Calendar as a provider (:class:`bridge.providers.base.Provider`).

Everything the sync core needs from Google, behind the neutral interface: listing with sync and
page tokens, complete series (:mod:`bridge.google.series`), inserts under the deterministic id
(409 → :class:`~bridge.providers.base.RemoteChanged` with what Google holds), updates merged
onto what only Google holds (``remote_extra``) with ``If-Match``, the settling of exceptions the
resource no longer overrides, undeletes, batch restores, push channels, and the pure iCalendar
rules the mapping gives (hash, what a pull keeps, ranged overrides, renamed series).  The
push-side rules are described in docs/sync.md (*Push*).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from icalendar import Calendar

from bridge.config import Settings
from bridge.cpu import THREAD, CpuPool
from bridge.errors import (
    BridgeError,
    CursorExpired,
    InvalidICalendar,
    RemoteAuthError,
    RemoteNotFound,
    RemotePreconditionFailed,
)
from bridge.google.auth import (
    DEFAULT_SCOPES,
    OAuthEndpoints,
    RefreshTokenProvider,
    StaticTokenProvider,
    TokenProvider,
    authorization_url,
    exchange_code,
    revoke,
)
from bridge.google.client import GoogleBadRequest, GoogleClient, GoogleDuplicate
from bridge.google.crypto import TokenCipher, TokenDecryptError, cipher_from_settings
from bridge.google.mapping import (
    GoogleEventSet,
    MappingError,
    google_hash,
    google_to_ical,
    ical_hash,
    ical_to_google,
    plain_instance_body,
    stale_exception,
)
from bridge.google.mapping_extra import (
    exception_extra,
    google_only,
    merge_update_body,
    series_extra,
)
from bridge.google.mapping_google_parse import event_from_google
from bridge.google.mapping_inherit import (
    differs_from_master,
    ical_master,
    inherit_master_changes,
)
from bridge.google.mapping_preserve import preserve_local_only
from bridge.google.mapping_range import has_range, split_this_and_future
from bridge.google.series import GoogleSeries, build_series, fetch_series, resolve_items
from bridge.ical import parse_resource
from bridge.model import ParsedResource
from bridge.providers.base import (
    Account,
    CalendarInfo,
    Capabilities,
    ChangePage,
    Channel,
    ClientSettings,
    Grant,
    LinkedRemote,
    ProviderUnavailable,
    RemoteChanged,
    RemoteSeries,
    WriteResult,
)
from bridge.providers.flows import PendingFlow
from bridge.providers.http import ClientStats, RequestBudget
from bridge.providers.sealing import SealsTokens
from bridge.store.sync import ConnectionRecord

__all__ = ["GoogleProvider", "GoogleProviderFactory", "TokenFactory"]

_LOGGER = logging.getLogger(__name__)

# Tests hand the factory a token provider per connection instead of sealed refresh tokens.
TokenFactory = Callable[[ConnectionRecord, str], TokenProvider]


def _body_for_update(body: dict[str, Any]) -> dict[str, Any]:
    # Google keeps (and bumps) ``sequence`` itself; sending a lower one is refused.
    out = dict(body)
    out.pop("sequence", None)
    return out


def _newest(master: dict[str, Any], exceptions: list[dict[str, Any]]) -> str | None:
    stamps = [str(e["updated"]) for e in [master, *exceptions] if e.get("updated")]
    return max(stamps) if stamps else None


def _needs_listing(bodies: GoogleEventSet, link: LinkedRemote | None) -> bool:
    """Whether Google may hold exceptions the resource no longer has (bounded: see docs)."""
    if not bodies.master.get("recurrence") or link is None:
        return False
    if link.held is None:  # not recorded (a link from before): look once
        return True
    return bool(set(link.held) - bodies.exception_ids)


def _google_base(series: RemoteSeries | None, link: LinkedRemote | None, event_id: str
                 ) -> Mapping[str, Any] | None:
    """What only Google holds of ``event_id`` (fetched this round, else as the link saw it)."""
    if isinstance(series, GoogleSeries) and series.event_id == event_id \
            and series.master is not None:
        return series_extra(series.master, series.exceptions)
    if link is not None and link.event_id == event_id:
        return link.extra
    return None


class GoogleProvider:
    """One connection's Google calendar."""

    name = "google"
    capabilities = Capabilities(watch=True, batch_restore=True)

    def __init__(self, client: GoogleClient, calendar_id: str, *, calendar_tz: str,
                 calendar_key: str, pool: CpuPool = THREAD) -> None:
        self.client = client
        self.pool = pool  # where big pages are mapped
        self.calendar_id = calendar_id
        self.calendar_tz = calendar_tz
        self.calendar_key = calendar_key  # the key of deterministic ids: the local path

    # -- reading -------------------------------------------------------------------------------
    async def list_page(self, cursor: str | None, page_token: str | None, page_size: int
                        ) -> ChangePage:
        """``events.list`` (``syncToken`` = ``cursor``); a refused page token of a full
        listing (a resumed import) raises ``CursorExpired``."""
        try:
            data = await self.client.list_events(self.calendar_id, sync_token=cursor,
                                                 page_token=page_token, max_results=page_size)
        except GoogleBadRequest as exc:
            if cursor is not None or page_token is None:
                raise
            raise CursorExpired(f"page token refused: {exc}", status=exc.status,
                                reason=exc.reason) from None
        return ChangePage(data.get("items") or [], data.get("nextPageToken"),
                          data.get("nextSyncToken"))

    async def resolve(self, items: Sequence[Any], *, render: bool = True) -> list[RemoteSeries]:
        """Group listed events into complete series and map them."""
        return list(await resolve_items(self.client, self.calendar_id, items,
                                        calendar_tz=self.calendar_tz, render=render,
                                        pool=self.pool))

    async def get(self, event_id: str) -> GoogleSeries:
        """The series with every exception (``events.get`` + ``events.list(iCalUID)``)."""
        master, exceptions = await fetch_series(self.client, self.calendar_id, event_id)
        if master is None:
            master = {"id": event_id, "status": "cancelled"}
        return build_series(event_id, master, exceptions, calendar_tz=self.calendar_tz)

    # -- writing -------------------------------------------------------------------------------
    def _bodies(self, text: str, event_id: str | None) -> GoogleEventSet:
        return ical_to_google(text, calendar_key=self.calendar_key,
                              calendar_tz=self.calendar_tz, event_id=event_id)

    async def _write_exceptions(self, bodies: GoogleEventSet, base: Mapping[str, Any] | None
                                ) -> list[dict[str, Any]]:
        written = []
        for body in bodies.exceptions:
            merged = merge_update_body(exception_extra(base, str(body["id"])), body)
            written.append(await self.client.update_event(
                self.calendar_id, str(body["id"]), _body_for_update(merged)))
        return written

    async def create(self, text: str, *, key: str | None, gone: RemoteSeries | None,
                     link: LinkedRemote | None) -> WriteResult:
        """Insert under the deterministic id; a deleted id is brought back by an update."""
        undelete = (isinstance(gone, GoogleSeries) and gone.deleted
                    and gone.master is not None and len(gone.master) > 2)
        base = _google_base(gone, link, gone.event_id) if undelete and gone else None
        bodies = self._bodies(text, key)
        if bodies.cancelled:
            raise MappingError("a cancelled event is not created on Google")
        if undelete:
            # Deleted ids stay reserved on Google: bring the event back with an update.
            master = await self.client.update_event(
                self.calendar_id, bodies.event_id,
                _body_for_update(merge_update_body((base or {}).get("master"),
                                                   bodies.master)))
        else:
            try:
                master = await self.client.insert_event(self.calendar_id, bodies.master)
            except GoogleDuplicate:
                # A retried insert (or a crash after Google's answer): see what is there.
                raise RemoteChanged(await self.get(bodies.event_id)) from None
        written = await self._write_exceptions(bodies, base)
        return await self._settled(bodies, master, written, gone, link, fresh=not undelete)

    async def update(self, event_id: str, text: str, *, etag: str | None,
                     fetched: RemoteSeries | None, link: LinkedRemote | None) -> WriteResult:
        """A full update merged onto what only Google holds (read first when unknown)."""
        base = _google_base(fetched, link, event_id)
        if base is None:  # a link from before Google's extra fields were kept: read them once
            raise RemoteChanged(await self.get(event_id))
        bodies = self._bodies(text, event_id)
        body = merge_update_body(base.get("master"), bodies.master)
        try:
            master = await self.client.update_event(self.calendar_id, event_id,
                                                    _body_for_update(body), etag=etag)
        except (RemotePreconditionFailed, RemoteNotFound):
            raise RemoteChanged(await self.get(event_id)) from None
        written = await self._write_exceptions(bodies, base)
        return await self._settled(bodies, master, written, fetched, link, fresh=False)

    async def delete(self, event_id: str, *, etag: str | None) -> None:
        """``events.delete`` with ``If-Match`` (404/410: done)."""
        try:
            await self.client.delete_event(self.calendar_id, event_id, etag=etag)
        except RemoteNotFound:
            return  # 404 never there / 410 already deleted: done either way
        except RemotePreconditionFailed:
            raise RemoteChanged(await self.get(event_id)) from None

    async def _settled(
        self, bodies: GoogleEventSet, master: dict[str, Any], written: list[dict[str, Any]],
        fetched: RemoteSeries | None, link: LinkedRemote | None, *, fresh: bool,
    ) -> WriteResult:
        """Settle exceptions the resource dropped, then the version to link."""
        extra: list[dict[str, Any]] = []
        held = set(bodies.exception_ids)
        if isinstance(fetched, GoogleSeries) and fetched.event_id == bodies.event_id \
                and not fresh:
            # Google's series was fetched in this round: its exceptions are known already.
            extra, kept = await self._settle_exceptions(bodies, master, fetched.exceptions)
            held |= kept
        elif not fresh and _needs_listing(bodies, link):
            extra, kept = await self._settle_exceptions(bodies, master, None)
            held |= kept
        exceptions = written + extra
        try:
            h_google: str | None = google_hash((master, exceptions),
                                               calendar_tz=self.calendar_tz)
        except (MappingError, ValueError):
            h_google = None
        return WriteResult(str(master["id"]), master.get("etag"), h_google,
                           _newest(master, exceptions), frozenset(held),
                           series_extra(master, exceptions))

    async def _list_exceptions(self, master: dict[str, Any]) -> list[dict[str, Any]]:
        """Every exception Google holds for the series ``master`` (cancelled ones included)."""
        event_id = str(master["id"])
        ical_uid = str(master.get("iCalUID") or f"{event_id}@google.com")
        out: list[dict[str, Any]] = []
        page: str | None = None
        while True:
            data = await self.client.list_events(self.calendar_id, ical_uid=ical_uid,
                                                 page_token=page)
            out += [e for e in data.get("items") or [] if e.get("recurringEventId") == event_id]
            page = data.get("nextPageToken")
            if not page:
                return out

    async def _settle_exceptions(
        self, bodies: GoogleEventSet, master: dict[str, Any], held: list[dict[str, Any]] | None,
    ) -> tuple[list[dict[str, Any]], set[str]]:
        """Revert Google exceptions the resource no longer overrides; cancel excluded ones.

        ``held`` is what Google held before our writes (``None``: list it now).  A confirmed
        exception whose instance is neither overridden nor excluded locally is set back to the
        series (master's fields, original start, master's length); one at an EXDATE is
        deleted, which cancels the instance.  Returns the confirmed exceptions that stay
        besides ours (plain ones, and any that could not be mapped) and their ids.
        """
        if held is None:
            held = await self._list_exceptions(master)
        extra: list[dict[str, Any]] = []
        ids: set[str] = set()
        for exc in held:
            exc_id = str(exc.get("id") or "")
            if (not exc_id or exc.get("status") == "cancelled"
                    or exc.get("recurringEventId") != bodies.event_id
                    or exc_id in bodies.exception_ids):
                continue
            if exc_id in bodies.excluded_instance_ids or stale_exception(
                    bodies, exc, calendar_tz=self.calendar_tz):
                _LOGGER.info("Cancelling instance %s of %s on Google (EXDATE or after the end)",
                             exc_id, bodies.uid)
                with contextlib.suppress(RemoteNotFound):
                    await self.client.delete_event(self.calendar_id, exc_id)
                continue
            try:
                body = plain_instance_body(bodies, exc, calendar_tz=self.calendar_tz)
            except (MappingError, ValueError) as err:
                _LOGGER.warning("Exception %s of %s left as it is: %s", exc_id, bodies.uid, err)
                body = None
            if body is not None:
                _LOGGER.info("Reverting instance %s of %s to the series on Google", exc_id,
                             bodies.uid)
                exc = await self.client.update_event(
                    self.calendar_id, exc_id, _body_for_update(merge_update_body(exc, body)))
            extra.append(exc)
            ids.add(exc_id)
        return extra, ids

    async def restore_batch(self, kept: Sequence[tuple[str, str]]
                            ) -> list[WriteResult | None]:
        """Two batch requests: ``events.get`` of each event, then ``events.update`` of those
        Google holds as deleted (an undelete under the same id), at background priority."""
        out: list[WriteResult | None] = [None] * len(kept)
        if not kept:
            return out
        fetched = await self.client.batch_get_events(
            self.calendar_id, [event_id for event_id, _ in kept], background=True)
        todo: list[tuple[int, str, dict[str, Any]]] = []
        for i, ((event_id, text), (event, err)) in enumerate(zip(kept, fetched, strict=True)):
            if isinstance(err, RemoteAuthError):
                raise err
            if err is not None or not event or event.get("status") != "cancelled":
                continue  # live again, gone, or an error: the ordinary push plans it
            try:
                bodies = self._bodies(text, event_id)
            except (MappingError, ValueError):
                continue
            if bodies.cancelled or bodies.exceptions:
                continue
            # Merged onto what only Google holds of the deleted event (colour, Meet link, ...).
            todo.append((i, event_id, _body_for_update(merge_update_body(google_only(event),
                                                                         bodies.master))))
        written = await self.client.batch_update_events(
            self.calendar_id, [(event_id, body) for _, event_id, body in todo],
            background=True) if todo else []
        for (i, _, _), (master, err) in zip(todo, written, strict=True):
            if isinstance(err, RemoteAuthError):
                raise err
            if err is not None or not master:
                continue
            try:
                h_google: str | None = google_hash((master, []), calendar_tz=self.calendar_tz)
            except (MappingError, ValueError):
                h_google = None
            out[i] = WriteResult(str(master["id"]), master.get("etag"), h_google,
                                 master.get("updated"), frozenset(), series_extra(master, []))
        return out

    # -- push channels -------------------------------------------------------------------------
    async def watch(self, channel_id: str, address: str, token: str, ttl: int) -> Channel:
        """``events.watch`` of the calendar."""
        answer = await self.client.watch(self.calendar_id, channel_id=channel_id,
                                         address=address, token=token, ttl=ttl)
        expiry = int(answer.get("expiration") or 0) / 1000
        return Channel(str(answer.get("resourceId") or ""), expiry or None)

    async def unwatch(self, channel_id: str, resource_id: str) -> None:
        """``channels.stop``."""
        await self.client.stop_channel(channel_id, resource_id)

    # -- the iCalendar side --------------------------------------------------------------------
    def local_hash(self, cal: Calendar) -> str:
        """:func:`~bridge.google.mapping.ical_hash` in the calendar's zone."""
        return ical_hash(cal, calendar_tz=self.calendar_tz)

    def preserve_local(self, text: str, old_text: str) -> str:
        """:func:`~bridge.google.mapping_preserve.preserve_local_only`."""
        return preserve_local_only(text, old_text, calendar_tz=self.calendar_tz)

    def split(self, text: str) -> list[str] | None:
        """Google has no ranged overrides: its "this and following" is two series."""
        if not has_range(text):
            return None
        texts = split_this_and_future(text)
        return None if texts == [text] else texts

    def follows_master(self, text: str) -> bool:
        """:func:`~bridge.google.mapping_inherit.differs_from_master`."""
        return differs_from_master(text)

    async def renamed(self, text: str, link: LinkedRemote) -> str | None:
        """Overrides follow the renames of Google's master (one ``events.get``)."""
        try:
            master = await self.client.get_event(self.calendar_id, link.event_id)
        except RemoteNotFound:
            return None
        if master.get("etag") != link.etag or master.get("status") == "cancelled":
            return None  # Google changed too: no agreed base; the planner decides
        base = event_from_google(master, calendar_tz=self.calendar_tz)
        new = inherit_master_changes(text, base)
        return None if new == text else new

    def renamed_after_pull(self, parsed: ParsedResource, old_text: str) -> ParsedResource:
        """Google's edit with overrides following its master's renames (base: ``old_text``)."""
        base = ical_master(old_text)
        if base is None or not differs_from_master(parsed.text):
            return parsed
        text = inherit_master_changes(parsed.text, base)
        if text == parsed.text:
            return parsed
        try:
            return parse_resource(text)
        except InvalidICalendar:
            return parsed


class GoogleProviderFactory(SealsTokens):
    """Opens :class:`GoogleProvider` s: unseals refresh tokens, keeps one request budget per
    Google user and the clients' counters."""

    name = "google"
    capabilities = GoogleProvider.capabilities

    def __init__(self, *, cipher: TokenCipher | None, endpoints: OAuthEndpoints | None,
                 token_factory: TokenFactory | None = None) -> None:
        self.cipher = cipher
        self.endpoints = endpoints
        self.token_factory = token_factory
        self._budgets: dict[str, RequestBudget] = {}
        self._stats: list[ClientStats] = []

    @classmethod
    def from_settings(cls, settings: Settings) -> GoogleProviderFactory:
        """A factory configured from ``[google]`` and ``[security]``."""
        try:
            cipher: TokenCipher | None = cipher_from_settings(settings)
        except BridgeError:  # no key: connections will show "error", nothing crashes
            cipher = None
        return cls(cipher=cipher, endpoints=OAuthEndpoints.from_settings(settings))

    def _budget(self, account: str, per_minute: int) -> RequestBudget:
        budget = self._budgets.get(account)
        if budget is None:
            budget = self._budgets[account] = RequestBudget(per_minute)
        return budget

    def budget_available(self, record: ConnectionRecord) -> float | None:
        """Requests the budget of the connection's Google user allows now (``None``: unused)."""
        budget = self._budgets.get(record.account_email or str(record.id))
        return budget.available if budget is not None else None

    def stats(self) -> Sequence[ClientStats]:
        """Counters of every client opened so far."""
        return list(self._stats)

    def open(self, record: ConnectionRecord, sealed_token: bytes, options: ClientSettings
             ) -> GoogleProvider:
        """The provider of ``record`` (its refresh token unsealed)."""
        try:
            if self.token_factory is not None:
                tokens: TokenProvider = self.token_factory(record, "")
            else:
                if self.cipher is None or self.endpoints is None or not sealed_token:
                    raise TokenDecryptError(record.id, "no usable key or token")
                refresh = self.cipher.decrypt(record.id, sealed_token)
                tokens = RefreshTokenProvider(self.endpoints, refresh)
        except TokenDecryptError as exc:
            raise ProviderUnavailable(record.id, exc.reason) from None
        stats = ClientStats()
        self._stats.append(stats)
        client = GoogleClient(
            api_endpoint=options.api_endpoint, tokens=tokens,
            budget=self._budget(record.account_email or str(record.id),
                                options.requests_per_minute),
            retry=options.retry, timeout=options.http_timeout, stats=stats)
        return GoogleProvider(client, record.remote_calendar_id,
                              calendar_tz=str(record.state.get("calendar_tz") or "UTC"),
                              calendar_key=record.collection_path, pool=options.cpu)

    def snapshot_text(self, snapshot: Mapping[str, Any], calendar_tz: str) -> str | None:
        """A ledger snapshot (master and exceptions) as iCalendar text."""
        return google_to_ical(snapshot.get("master"), snapshot.get("exceptions") or [],
                              calendar_tz=calendar_tz)

    async def close(self) -> None:
        """Nothing shared to release (each Google client has its own connections)."""

    # -- connecting ------------------------------------------------------------------------------
    def _endpoints(self) -> OAuthEndpoints:
        if self.endpoints is None or not self.endpoints.client_id:
            raise BridgeError("[google] client_id is not configured")
        return self.endpoints

    def check_connect(self) -> None:
        """``[google] client_id`` must be set."""
        self._endpoints()

    def consent_url(self, flow: PendingFlow, *, login_hint: str | None) -> str:
        """Google's consent URL (offline access, forced consent, PKCE S256)."""
        return authorization_url(self._endpoints(), flow, scopes=DEFAULT_SCOPES,
                                 login_hint=login_hint)

    async def grant(self, flow: PendingFlow, code: str, options: ClientSettings) -> Grant:
        """Exchange the code, then list every calendar of the account: the primary one names
        the account even when it may not be written (``calendars.get`` needs a scope we do not
        ask for)."""
        endpoints = self._endpoints()
        tokens = await asyncio.to_thread(exchange_code, endpoints, flow, code)
        client = GoogleClient(api_endpoint=options.api_endpoint,
                              tokens=StaticTokenProvider(tokens.access_token))
        try:
            entries = await client.calendar_list(min_access_role="freeBusyReader")
        except Exception:
            await self.revoke(tokens.refresh_token)
            raise
        email = next((str(e["id"]) for e in entries if e.get("primary")), "")
        calendars = tuple(
            CalendarInfo(str(e["id"]), str(e.get("summaryOverride") or e.get("summary")
                                           or e["id"]),
                         e.get("accessRole") in ("owner", "writer"),
                         str(e.get("timeZone") or "UTC"), bool(e.get("primary")),
                         str(e.get("accessRole") or ""))
            for e in entries)
        return Grant(tokens.refresh_token, tokens.scopes, Account(email, calendars))

    async def revoke(self, refresh_token: str) -> None:
        """Revoke the token at Google (blocking call in a thread)."""
        if self.endpoints is not None:
            await asyncio.to_thread(revoke, self.endpoints, refresh_token)
