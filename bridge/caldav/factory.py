"""Opens :class:`~bridge.caldav.provider.CaldavProvider` s and runs the login connect flow.

One factory class serves any CalDAV server (``caldav``) and iCloud (``icloud``): a
:class:`Preset` holds what differs — the pre-filled URL, the host pattern credentials may
follow a redirect to (iCloud's principal is on ``caldav.icloud.com``, the calendars on
``pNN-caldav.icloud.com``), how a 401 is explained, and whether a UID may live in two
calendars of one account (iCloud: never).

* The credential blob (entered URL, user, password, calendar home) is JSON sealed like a
  refresh token (:class:`~bridge.providers.sealing.SealsTokens`) and never logged.
* One aiohttp session per event loop, its connector resolving through the
  :class:`~bridge.providers.netguard.NetGuard` (DNS rebinding included); one request budget and
  one ``Semaphore(4)`` per account.
* :meth:`CaldavProviderFactory.discover` refuses this bridge's own CalDAV URL and calendars that
  are already the remote side of another connection (``FlowError("loop")``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from bridge.caldav.client import DavClient, DavLogin
from bridge.caldav.davxml import same_path
from bridge.caldav.discovery import Discovery, discover, normalise_url
from bridge.caldav.provider import CaldavProvider, ListingMemory
from bridge.errors import (
    BridgeError,
    FlowError,
    RemoteAuthError,
    RemoteError,
    RemoteNotFound,
    RemoteTransient,
)
from bridge.providers.base import (
    Account,
    CalendarInfo,
    ClientSettings,
    ConnectionRecord,
    Grant,
    ProviderUnavailable,
    ServerDiscovery,
    ServerLogin,
)
from bridge.providers.flows import PendingFlow
from bridge.providers.http import ClientStats, RequestBudget
from bridge.providers.netguard import NetGuard, UnsafeTarget, guarded_connector
from bridge.providers.sealing import RefreshTokenCipher, SealsTokens

__all__ = ["CALDAV", "ICLOUD", "CaldavProviderFactory", "ConnectionLookup", "Preset"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preset:
    """What one provider name of the CalDAV factory means (see the module doc)."""

    name: str
    default_url: str = ""
    credential_hosts: tuple[str, ...] = ()
    auth_message: str = "the server refused the user name or password"
    unique_uids: bool = False


CALDAV = Preset("caldav")
ICLOUD = Preset("icloud", "https://caldav.icloud.com/", ("*.icloud.com",),
                "wrong Apple ID or app-specific password", unique_uids=True)


class ConnectionLookup(Protocol):
    """The connections of this bridge (the store), for loop protection and iCloud's UIDs."""

    def list_connections(self, *, active_only: bool = False) -> list[ConnectionRecord]:
        """Every connection."""

    def links_by_uid(self, connection_id: int, uids: Iterable[str]) -> Mapping[str, Any]:
        """The links of ``uids`` in a connection."""


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return ((parts.hostname or "").lower().rstrip("."),
            parts.port or (443 if parts.scheme == "https" else 80))


class CaldavProviderFactory(SealsTokens):
    """CalDAV (or iCloud, by preset) providers and their connect flow."""

    capabilities = CaldavProvider.capabilities

    def __init__(self, *, cipher: RefreshTokenCipher | None, preset: Preset = CALDAV,
                 guard: NetGuard | None = None, own_urls: Sequence[str] = (),
                 store: ConnectionLookup | None = None, requests_per_minute: int | None = None,
                 session_factory: Callable[[NetGuard], aiohttp.ClientSession] | None = None
                 ) -> None:
        self.cipher = cipher
        self.preset = preset
        self.name = preset.name
        self.default_url = preset.default_url
        self.guard = (guard or NetGuard()).with_hosts(preset.credential_hosts)
        self.own = {_host_port(normalise_url(u)) for u in own_urls if u}
        self.store = store
        self.requests_per_minute = requests_per_minute
        self.session_factory = session_factory
        self.memory = ListingMemory()
        self._accounts: dict[str, tuple[asyncio.Semaphore, RequestBudget]] = {}
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                  aiohttp.ClientSession] = \
            weakref.WeakKeyDictionary()
        self._stats: list[ClientStats] = []

    # -- plumbing --------------------------------------------------------------------------------
    def _new_session(self) -> aiohttp.ClientSession:
        if self.session_factory is not None:
            return self.session_factory(self.guard)
        return aiohttp.ClientSession(connector=guarded_connector(self.guard, limit=64),
                                     trust_env=False)

    def session(self) -> aiohttp.ClientSession:
        """The shared session of the running event loop."""
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            session = self._sessions[loop] = self._new_session()
        return session

    async def close(self) -> None:
        """Close the session of the running loop."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def budget_available(self, record: ConnectionRecord) -> float | None:
        """Requests the account's budget allows now."""
        for account, (_, budget) in self._accounts.items():
            if account.startswith(record.account_email + "@"):
                return budget.available
        return None

    def stats(self) -> Sequence[ClientStats]:
        """Counters of every client opened so far."""
        return list(self._stats)

    def snapshot_text(self, snapshot: Mapping[str, Any], calendar_tz: str) -> str | None:
        """The resource text the ledger kept."""
        text = snapshot.get("text")
        return str(text) if text else None

    def _client(self, session: aiohttp.ClientSession, creds: Mapping[str, str],
                options: ClientSettings, *, stats: ClientStats | None = None,
                account: str | None = None) -> DavClient:
        login = DavLogin(creds["user"], creds["password"],
                         urlsplit(normalise_url(creds["url"])).hostname or "")
        limiter: asyncio.Semaphore | None = None
        budget: RequestBudget | None = None
        if account is not None:
            entry = self._accounts.get(account)
            if entry is None:
                entry = self._accounts[account] = (asyncio.Semaphore(4), RequestBudget(
                    self.requests_per_minute or options.requests_per_minute))
            limiter, budget = entry
        return DavClient(session=session, login=login, guard=self.guard, retry=options.retry,
                         timeout=options.http_timeout, stats=stats, budget=budget,
                         limiter=limiter, auth_message=self.preset.auth_message)

    def _uid_elsewhere(self, record: ConnectionRecord) -> Callable[[str], bool] | None:
        """iCloud: whether another connection of the account holds ``uid`` already."""
        store = self.store
        if not self.preset.unique_uids or store is None:
            return None

        def elsewhere(uid: str) -> bool:
            others = [c for c in store.list_connections() if c.id != record.id
                      and c.provider == self.name and c.account_email == record.account_email
                      and c.remote_calendar_id != record.remote_calendar_id]
            return any(store.links_by_uid(c.id, [uid]) for c in others)

        return elsewhere

    def open(self, record: ConnectionRecord, sealed_token: bytes, options: ClientSettings
             ) -> CaldavProvider:
        """The provider of ``record`` (its credentials unsealed)."""
        if self.cipher is None or not sealed_token:
            raise ProviderUnavailable(record.id, "no usable key or credentials")
        try:
            creds = json.loads(self.cipher.decrypt(record.id, sealed_token))
        except (BridgeError, ValueError) as exc:
            raise ProviderUnavailable(record.id, f"credentials unreadable: {exc}") from None
        stats = ClientStats()
        self._stats.append(stats)
        client = self._client(self.session(), creds, options, stats=stats,
                              account=f"{creds['user']}@{creds['url']}")
        return CaldavProvider(client, record.remote_calendar_id, name=self.name,
                              memory=self.memory, uid_elsewhere=self._uid_elsewhere(record),
                              pool=options.cpu)

    # -- connecting --------------------------------------------------------------------------------
    def check_connect(self) -> None:
        """A token key must be configured (the credentials are sealed with it)."""
        self._cipher()

    def consent_url(self, flow: PendingFlow, *, login_hint: str | None) -> str:
        """Not an OAuth provider."""
        raise BridgeError(f"{self.name} signs in with a server login, not OAuth")

    async def grant(self, flow: PendingFlow, code: str, options: ClientSettings) -> Grant:
        """Not an OAuth provider."""
        raise BridgeError(f"{self.name} signs in with a server login, not OAuth")

    async def revoke(self, refresh_token: str) -> None:
        """A password cannot be revoked from here: it is only forgotten (the user removes an
        app-specific password at appleid.apple.com)."""
        _LOGGER.info("%s credentials are forgotten (nothing to revoke remotely)", self.name)

    def _in_use(self) -> dict[str, int]:
        """Remote calendar URLs of the existing connections of this provider kind."""
        if self.store is None:
            return {}
        return {c.remote_calendar_id: c.id for c in self.store.list_connections()
                if c.provider in (CALDAV.name, ICLOUD.name) and c.remote_calendar_id}

    def _check_loop(self, url: str) -> None:
        if _host_port(url) in self.own:
            raise FlowError("loop", "the URL is this bridge's own calendar server")

    async def discover(self, login: ServerLogin, options: ClientSettings) -> ServerDiscovery:
        """Sign in, find the calendars and seal nothing yet (see ``LoginConnect``)."""
        url = normalise_url(login.url or self.default_url)
        self._check_loop(url)
        creds = {"url": url, "user": login.username, "password": login.password}
        try:
            self.guard.check_url(url)
            session = self._new_session()
            async with session:
                client = self._client(session, creds, options)
                found = await discover(client, url)
        except UnsafeTarget as exc:
            raise FlowError(exc.flow_reason, str(exc)) from None
        except RemoteAuthError:
            raise FlowError("auth", self.preset.auth_message,
                            account_email=login.username) from None
        except RemoteNotFound as exc:
            raise FlowError("not_found", f"no CalDAV calendars found: {exc}") from None
        except RemoteTransient as exc:
            raise FlowError("unreachable", f"the server could not be reached: {exc}") from None
        except RemoteError as exc:
            reason = exc.reason if exc.reason in ("tls", "unsafe_url", "too_large") else "other"
            raise FlowError(reason, f"the server's answer was refused: {exc}") from None
        return self._discovery(found, creds, login.username, login.renews)

    def _discovery(self, found: Discovery, creds: dict[str, str], user: str,
                   renews: int | None = None) -> ServerDiscovery:
        for seen in (found.principal, found.home, *(c.url for c in found.calendars)):
            self._check_loop(seen)
        # A reconnect (``renews``) keeps its own calendar.
        in_use = [url for url, cid in self._in_use().items() if cid != renews]
        calendars = [c for c in found.calendars
                     if not any(same_path(c.url, u) and _host_port(c.url) == _host_port(u)
                                for u in in_use)]
        if found.calendars and not calendars:
            raise FlowError("loop", "every calendar found is already connected to a calendar "
                            "of this bridge", account_email=user)
        creds = {**creds, "home": found.home}
        infos = tuple(CalendarInfo(c.url, c.name, c.writable, c.time_zone, i == 0,
                                   "writer" if c.writable else "reader")
                      for i, c in enumerate(calendars))
        sync = "sync-collection" if any(c.sync_collection for c in calendars) else "ctag"
        facts = (("principal", found.principal), ("home", found.home), ("sync", sync),
                 ("calendars", str(len(infos))), ("version", found.server))
        grant = Grant(json.dumps(creds), ("caldav",), Account(user, infos))
        return ServerDiscovery(grant, found.home, tuple(f for f in facts if f[1]))
