"""The provider interface: what the provider-neutral sync core asks of a calendar provider.

The planner, outbox, links, ledger, conflicts, safety valve, notifications, import, dry run
and the admin status (``bridge/sync``) speak only this module; each provider (``bridge/google``
today) implements it, and the composition root hands the engine a registry of factories
(``{"google": GoogleProviderFactory(...)}``), so ``bridge/sync`` never imports a provider and no
provider imports ``bridge/sync``.  The contract each method must honour is in docs/sync.md
(*Providers*); in short:

* **Reading.** :meth:`Provider.list_page` lists one page of changes since a cursor (``None``:
  everything) and raises :class:`~bridge.errors.CursorExpired` when the cursor (or a stored page
  token) is no longer valid; :meth:`Provider.resolve` turns listed items into complete, mapped
  :class:`RemoteSeries` (a series with all its overrides); :meth:`Provider.get` reads one.
* **Writing.** :meth:`Provider.create` is idempotent under a deterministic key (a second
  create of the same key raises :class:`~bridge.errors.RemotePreconditionFailed`, never makes a
  second event); :meth:`Provider.update` and :meth:`Provider.delete` send the etag the link
  recorded as a precondition and raise ``RemotePreconditionFailed`` when the remote side
  changed since (the core then reads the series and plans again); ``delete`` of a gone event
  raises :class:`~bridge.errors.RemoteNotFound`, which the core counts as done.
* **Echo suppression.** What a write returns (:class:`WriteResult`: etag, normalised hash,
  updated stamp) is stored in the link, so the next listing of that version is recognised as
  our own write and changes nothing.
* **Errors.** Every failure is one of the kinds in :mod:`bridge.errors` (``Remote*``,
  ``CursorExpired``), translated in the provider's client only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from icalendar import Calendar

from bridge.cpu import CpuPool
from bridge.errors import BridgeError
from bridge.model import ParsedResource
from bridge.providers.flows import PendingFlow, Sealer
from bridge.providers.http import ClientStats, RetryPolicy
from bridge.providers.series import RemoteSeries
from bridge.store.sync import ConnectionRecord

__all__ = [
    "PROVIDER_NAMES",
    "Account",
    "CalendarInfo",
    "Capabilities",
    "ChangePage",
    "Channel",
    "ClientSettings",
    "ConnectionRecord",
    "Grant",
    "LinkedRemote",
    "LoginConnect",
    "Provider",
    "ProviderFactory",
    "ProviderUnavailable",
    "RemoteChanged",
    "RemoteSeries",
    "ServerDiscovery",
    "ServerLogin",
    "WholeOverrides",
    "WriteResult",
]

# Short names (brands, not translated) by provider name (``connections.provider``), for texts
# like "{provider}'s deletions would …" in the engine and "{provider} account" on the admin page.
PROVIDER_NAMES = {"google": "Google", "microsoft": "Microsoft", "icloud": "iCloud",
                  "caldav": "CalDAV", "exchange": "Exchange"}


class ProviderUnavailable(BridgeError):
    """A connection's provider cannot be opened (no factory, unreadable refresh token)."""

    def __init__(self, connection_id: int, reason: str) -> None:
        self.connection_id = connection_id
        self.reason = reason
        super().__init__(f"connection {connection_id}: {reason}")


class RemoteChanged(Exception):
    """A write met another version than the link recorded (the deterministic key exists,
    the etag precondition failed, the event is gone): ``series`` is what the provider holds
    now, and the core plans again with it."""

    def __init__(self, series: RemoteSeries) -> None:
        self.series = series
        super().__init__(series.event_id)


@dataclass(frozen=True)
class ChangePage:
    """One page of a listing: provider-private items, the next page, the new cursor.

    ``cursor`` is set on the last page only (``next_page`` is then ``None``); the core stores
    it with the applied changes in one transaction.  ``scope`` is what a full listing covers
    as ``(start, end)`` POSIX seconds, ``None`` for everything: a provider that lists only a
    time window (Microsoft Graph's ``calendarView/delta``) sets it on every page, and a re-list
    then counts a linked event missing from the listing as deleted only when its local item
    meets that window (see docs/sync.md, *Providers*).
    """

    items: Sequence[Any]
    next_page: str | None
    cursor: str | None
    scope: tuple[float, float] | None = None


@dataclass(frozen=True)
class LinkedRemote:
    """What the link recorded of the remote side at the last sync (the base of a write)."""

    event_id: str
    etag: str | None
    held: tuple[str, ...] | None
    extra: Mapping[str, Any] | None


@dataclass(frozen=True)
class WriteResult:
    """The remote version a create or update produced, as the link keeps it."""

    event_id: str
    etag: str | None
    hash: str | None
    updated: str | None
    held: frozenset[str] = frozenset()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Channel:
    """A change-notification subscription: its remote id and expiry (POSIX seconds).

    ``keepalive`` (seconds) is set by providers whose subscriptions have no expiry but live
    while the server reaches us (Exchange push: a status notification every ``keepalive``
    seconds); the engine then opens a new channel when none arrived for three of them.
    """

    resource_id: str
    expiry: float | None
    keepalive: float | None = None


@dataclass(frozen=True)
class CalendarInfo:
    """A calendar the account may see: id, name, writable, time zone, primary."""

    id: str
    name: str
    writable: bool
    time_zone: str
    primary: bool
    access_role: str = ""


@dataclass(frozen=True)
class Account:
    """The signed-in account: its address and its calendars."""

    email: str
    calendars: tuple[CalendarInfo, ...]


@dataclass(frozen=True)
class Grant:
    """What a finished connect flow gave: the refresh token (secret: never log it), the
    granted scopes and the account with its calendars."""

    refresh_token: str = field(repr=False)
    scopes: tuple[str, ...]
    account: Account


@dataclass(frozen=True)
class ServerLogin:
    """What the admin typed into a login provider's form (CalDAV, iCloud, Exchange): the
    server's URL (or an address for autodiscovery), the user name and the password (secret:
    never log it); ``options`` are provider-specific choices (e.g. ``{"auth": "ntlm"}``);
    ``renews`` is the connection a reconnect gives a new password (the service sets it): its own
    calendar is no loop."""

    url: str
    username: str
    password: str = field(repr=False)
    options: Mapping[str, str] = field(default_factory=dict)
    renews: int | None = None


@dataclass(frozen=True)
class ServerDiscovery:
    """What a login provider found when it tested a login: the grant to store and what the
    admin's *test connection* step shows.

    ``grant.refresh_token`` holds the provider's credential blob (the login and what discovery
    found, e.g. the calendar home), sealed like an OAuth refresh token; ``server`` is where
    the calendars were found (after discovery and redirects); ``facts`` are ``(code, value)``
    pairs the admin page translates by code (``"version"``, ``"sync"``, ``"principal"``, …).
    """

    grant: Grant
    server: str
    facts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Capabilities:
    """Optional parts of the interface a provider offers."""

    watch: bool = False  # watch/unwatch (push notifications)
    batch_restore: bool = False  # restore_batch (the valve's "keep appointments" job)


class ClientSettings(Protocol):
    """The engine options a provider's client reads (``SyncOptions`` satisfies it)."""

    @property
    def requests_per_minute(self) -> int:
        """Request budget per remote account."""

    @property
    def http_timeout(self) -> float:
        """Seconds per request."""

    @property
    def retry(self) -> RetryPolicy:
        """Backoff of transient failures."""

    @property
    def api_endpoint(self) -> str:
        """The API base URL (``[google] api_endpoint``; the emulator in tests)."""

    @property
    def cpu(self) -> CpuPool:
        """Where a provider maps a big page of events (:mod:`bridge.cpu`)."""


class Provider(Protocol):
    """One connection's calendar at its provider (see the module doc for the contract)."""

    name: str
    capabilities: Capabilities

    # -- reading -------------------------------------------------------------------------------
    async def list_page(self, cursor: str | None, page_token: str | None, page_size: int
                        ) -> ChangePage:
        """One page of changes since ``cursor`` (``None``: a full listing)."""

    async def resolve(self, items: Sequence[Any], *, render: bool = True) -> list[RemoteSeries]:
        """Listed items as complete, mapped series (``render=False``: hashes only)."""

    async def get(self, event_id: str) -> RemoteSeries:
        """The series ``event_id`` as the provider holds it now (deleted when gone)."""

    # -- writing -------------------------------------------------------------------------------
    async def create(self, text: str, *, key: str | None, gone: RemoteSeries | None,
                     link: LinkedRemote | None) -> WriteResult:
        """Create the resource ``text`` under its deterministic key (``key``: the id the link
        or the planner names, else derived from the UID; ``gone``: the deleted event under
        that key, read this round, which is brought back instead)."""

    async def update(self, event_id: str, text: str, *, etag: str | None,
                     fetched: RemoteSeries | None, link: LinkedRemote | None) -> WriteResult:
        """Replace the event with ``text`` if it still has ``etag`` (``fetched``: the series
        read this round; ``link``: what the link recorded)."""

    async def delete(self, event_id: str, *, etag: str | None) -> None:
        """Delete the event if it still has ``etag``."""

    async def restore_batch(self, kept: Sequence[tuple[str, str]]
                            ) -> list[WriteResult | None]:
        """Bring deleted events back: ``(event_id, text)`` pairs; ``None`` for each one that
        must go through the ordinary push instead (capability ``batch_restore``)."""

    # -- notifications (capability ``watch``) ----------------------------------------------------
    async def watch(self, channel_id: str, address: str, token: str, ttl: int) -> Channel:
        """Subscribe ``address`` to changes of the calendar."""

    async def unwatch(self, channel_id: str, resource_id: str) -> None:
        """End a subscription."""

    # -- the iCalendar side (pure) -------------------------------------------------------------
    def local_hash(self, cal: Calendar) -> str:
        """The normalised hash of a local resource, in the same space as remote hashes."""

    def preserve_local(self, text: str, old_text: str) -> str:
        """A pulled text with what the provider cannot hold kept from the stored text."""

    def split(self, text: str) -> list[str] | None:
        """The resources a local item becomes before it is pushed (ranged overrides the
        provider cannot hold), or ``None`` when it is pushed as it is."""

    def follows_master(self, text: str) -> bool:
        """Whether overrides of ``text`` hold values of their own that may follow a rename
        of the series (only then is :meth:`renamed` worth a request)."""

    async def renamed(self, text: str, link: LinkedRemote) -> str | None:
        """``text`` with overrides following the series' renames made since the last sync
        (the base is the remote master while it still has the link's etag), or ``None``."""

    def renamed_after_pull(self, parsed: ParsedResource, old_text: str) -> ParsedResource:
        """A pulled series with overrides following its renames, judged against the stored
        text (the base)."""


class WholeOverrides:
    """The optional parts of :class:`Provider` for a provider that writes every override in
    full on each update and holds no ranged overrides (Microsoft Graph, Exchange): nothing to
    split, no renames to follow, no batch restore (every event goes the push way)."""

    def split(self, text: str) -> list[str] | None:
        """Ranged overrides are refused, not split (the mapping reports ``range-override``)."""
        return None

    def follows_master(self, text: str) -> bool:
        """Overrides are written in full on every update: no rename tracking needed."""
        return False

    async def renamed(self, text: str, link: LinkedRemote) -> str | None:
        """Nothing to follow (see :meth:`follows_master`)."""
        return None

    def renamed_after_pull(self, parsed: ParsedResource, old_text: str) -> ParsedResource:
        """A pulled series as it is."""
        return parsed

    async def restore_batch(self, kept: Sequence[tuple[str, str]]
                            ) -> list[WriteResult | None]:
        """Not offered (capability ``batch_restore`` is off)."""
        return [None] * len(kept)


class ProviderFactory(Protocol):
    """Opens providers for connections; one per provider kind in the engine's registry."""

    name: str
    capabilities: Capabilities  # what every provider it opens offers

    def open(self, record: ConnectionRecord, sealed_token: bytes, options: ClientSettings
             ) -> Provider:
        """The provider of ``record`` (raises :class:`ProviderUnavailable`)."""

    def budget_available(self, record: ConnectionRecord) -> float | None:
        """Requests the budget of the connection's account allows now (``None``: unused)."""

    def stats(self) -> Sequence[ClientStats]:
        """Request counters of every client opened so far (``/metrics``)."""

    def snapshot_text(self, snapshot: Mapping[str, Any], calendar_tz: str) -> str | None:
        """A ledger snapshot (:meth:`RemoteSeries.snapshot`) as iCalendar text."""

    async def close(self) -> None:
        """Release what the opened clients share (HTTP sessions of the running loop)."""

    # -- connecting (the admin's connect flow and disconnect) ----------------------------------
    def check_connect(self) -> None:
        """Raise ``BridgeError`` when the connect flow is not configured (no client id)."""

    def consent_url(self, flow: PendingFlow, *, login_hint: str | None) -> str:
        """Where the admin signs in and consents (state and PKCE from ``flow``)."""

    async def grant(self, flow: PendingFlow, code: str, options: ClientSettings) -> Grant:
        """Trade the callback's code for tokens and read the account and its calendars (the
        grant is revoked again when the calendars cannot be read); ``FlowError`` when the
        provider refused."""

    async def revoke(self, refresh_token: str) -> None:
        """Revoke a grant (errors are logged, not raised)."""

    def sealer(self) -> Sealer:
        """The cipher pending flows are sealed with (``BridgeError`` without a key)."""

    def seal(self, connection_id: int, refresh_token: str) -> bytes:
        """The refresh token encrypted for the connection's row."""

    def unseal(self, connection_id: int, sealed: bytes) -> str:
        """The refresh token from the connection's row (``BridgeError`` if it cannot)."""


@runtime_checkable
class LoginConnect(Protocol):
    """A factory whose provider signs in with a server URL, a user and a password instead of an
    OAuth consent page (CalDAV, iCloud, Exchange).  The admin's connect flow for such a factory
    is a form, a *test connection* step (:meth:`discover`) and then the same calendar choice,
    confirm, preview and import steps as for the OAuth providers; its OAuth methods
    (``consent_url``, ``grant``) raise ``BridgeError``."""

    default_url: str  # pre-filled in the form ("" for none)

    async def discover(self, login: ServerLogin, options: ClientSettings) -> ServerDiscovery:
        """Sign in and find the account's calendars.  Raises ``FlowError`` whose ``reason``
        the admin page explains: ``"auth"`` (wrong user or password), ``"unsafe_url"`` (the
        URL points where the operator does not allow), ``"too_large"`` (an answer over the size
        bound), ``"not_found"`` (no calendar server at the URL), ``"unreachable"`` (DNS,
        connect, timeout), ``"tls"`` (certificate refused), ``"loop"`` (the URL is this
        bridge's own calendar), ``"other"``."""
