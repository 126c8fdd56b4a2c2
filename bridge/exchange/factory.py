"""Opens :class:`~bridge.exchange.provider.ExchangeProvider` s and tests logins (``discover``).

* The credential blob (:class:`~bridge.exchange.client.EwsLogin`: EWS URL, user, password,
  authentication, mailbox, server build) is kept where OAuth providers keep refresh tokens,
  sealed with the same token cipher (:class:`~bridge.providers.sealing.SealsTokens`).
* One exchangelib account per connection (its HTTP sessions are reused), one
  ``Semaphore(max_connections)`` per mailbox and event loop: exchangelib blocks, so its calls
  run in worker threads, never more than that many at once per mailbox.
* Untrusted URLs and TLS: :mod:`bridge.exchange.tls` (the ``[providers] allow_networks``
  guard on every connection, ``[exchange] ca_file``, ``pinned_certificates``).
* Exchange has no OAuth consent page here: ``consent_url``/``grant`` refuse; a login is
  tested by :meth:`ExchangeProviderFactory.discover` (:class:`~bridge.providers.base.LoginConnect`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import requests
from exchangelib import Account
from exchangelib import errors as ews_errors
from exchangelib.folders import Calendar, FolderCollection

from bridge.errors import BridgeError, FlowError
from bridge.exchange import tls
from bridge.exchange.autodiscover import Discovered, autodiscover
from bridge.exchange.client import EwsClient, EwsLogin, make_account
from bridge.exchange.mapping import ews_to_ical
from bridge.exchange.provider import ExchangeProvider
from bridge.providers.base import (
    Account as BridgeAccount,
)
from bridge.providers.base import (
    CalendarInfo,
    ClientSettings,
    ConnectionRecord,
    Grant,
    ProviderUnavailable,
    ServerDiscovery,
    ServerLogin,
)
from bridge.providers.flows import PendingFlow
from bridge.providers.http import ClientStats
from bridge.providers.netguard import NetGuard, UnsafeTarget
from bridge.providers.sealing import RefreshTokenCipher, SealsTokens

__all__ = ["ExchangeOptions", "ExchangeProviderFactory"]

_LOGGER = logging.getLogger(__name__)
SCOPE = "ews"
EMAIL = re.compile(r"[^@\s/:]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+")


@dataclass(frozen=True)
class ExchangeOptions:
    """``[exchange]`` as the factory uses it."""

    ca_file: str = ""
    pins: Mapping[str, str] | None = None
    max_connections: int = 2
    max_wait: int = 120
    time_zone: str = "Europe/Berlin"
    autodiscover_seconds: float = 60.0


def _flow_error(exc: BaseException) -> FlowError:
    """The reason the admin page explains for a failed login test."""
    text = str(exc)
    chain: list[BaseException] = [exc]
    while chain[-1].__cause__ is not None or chain[-1].__context__ is not None:
        nxt = chain[-1].__cause__ or chain[-1].__context__
        if nxt is None or nxt in chain:
            break
        chain.append(nxt)
    unsafe = next((e for e in chain if isinstance(e, UnsafeTarget)), None)
    if unsafe is not None:
        return FlowError(unsafe.flow_reason, text)
    if any(isinstance(e, ews_errors.UnauthorizedError | ews_errors.ErrorAccessDenied
                      | ews_errors.ErrorNonExistentMailbox) for e in chain):
        return FlowError("auth", "the server refused the user name or password")
    if any(isinstance(e, requests.exceptions.SSLError) for e in chain) or "CERTIFICATE" in text \
            or "SSL" in text:
        return FlowError("tls", "the server's certificate is not trusted (pin it in "
                                "[exchange] pinned_certificates)")
    if any(isinstance(e, requests.exceptions.ConnectionError | requests.exceptions.Timeout
                      | TimeoutError | ConnectionError) for e in chain):
        return FlowError("unreachable", "the server could not be reached")
    if any(isinstance(e, ews_errors.TransportError | ews_errors.ResponseMessageError)
           for e in chain):
        return FlowError("not_found", f"no Exchange Web Services at the URL ({text[:200]})")
    return FlowError("other", f"{type(exc).__name__}: {text[:200]}")


def _probe(login: EwsLogin, options: ExchangeOptions, timeout: float
           ) -> tuple[str, list[CalendarInfo]]:
    """Sign in, learn the server build and list the calendar folders (blocking)."""
    account = make_account(login, max_connections=1, max_wait=min(options.max_wait, 30),
                           timeout=timeout)
    try:
        build = account.version.build
        calendar = account.calendar
        infos = [CalendarInfo(str(calendar.id), str(calendar.name or "Calendar"), True,
                              options.time_zone, True, "owner")]
        for folder in FolderCollection(account=account, folders=[calendar]).find_folders(
                depth="Deep"):
            if isinstance(folder, Calendar) and folder.id and folder.id != calendar.id:
                infos.append(CalendarInfo(str(folder.id), str(folder.name or folder.id), True,
                                          options.time_zone, False, "owner"))
        return str(build), infos
    finally:
        account.protocol.close()


@dataclass
class _Opened:
    blob: bytes
    account: Account


class ExchangeProviderFactory(SealsTokens):
    """Opens Exchange providers and tests logins (see the module doc)."""

    name = "exchange"
    capabilities = ExchangeProvider.capabilities
    default_url = ""

    def __init__(self, *, cipher: RefreshTokenCipher | None,
                 options: ExchangeOptions | None = None, guard: NetGuard | None = None) -> None:
        self.cipher = cipher
        self.options = options or ExchangeOptions()
        self.guard = guard or NetGuard()
        self._accounts: dict[int, _Opened] = {}
        self._limiters: dict[tuple[int, str], asyncio.Semaphore] = {}
        self._stats: list[ClientStats] = []

    # -- plumbing --------------------------------------------------------------------------------
    def _policy(self, endpoint: str) -> None:
        tls.install(endpoint, self.options.ca_file or None, self.options.pins or {},
                    self.guard)

    def _limiter(self, mailbox: str) -> asyncio.Semaphore:
        key = (id(asyncio.get_running_loop()), mailbox)
        found = self._limiters.get(key)
        if found is None:
            found = self._limiters[key] = asyncio.Semaphore(self.options.max_connections)
        return found

    def login_of(self, record: ConnectionRecord, sealed: bytes) -> EwsLogin:
        """The connection's login (``ProviderUnavailable`` when it cannot be opened)."""
        if self.cipher is None or not sealed:
            raise ProviderUnavailable(record.id, "no usable key or credentials")
        try:
            return EwsLogin.load(self.cipher.decrypt(record.id, sealed))
        except (BridgeError, ValueError, KeyError) as exc:
            raise ProviderUnavailable(record.id, f"credentials unreadable: {exc}") from None

    def open(self, record: ConnectionRecord, sealed_token: bytes, options: ClientSettings
             ) -> ExchangeProvider:
        """The provider of ``record`` (its credentials unsealed)."""
        opened = self._accounts.get(record.id)
        if opened is None or opened.blob != sealed_token:
            login = self.login_of(record, sealed_token)
            try:
                self.guard.check_url(login.endpoint)
            except UnsafeTarget as exc:
                raise ProviderUnavailable(record.id, str(exc)) from None
            self._policy(login.endpoint)
            account = make_account(login, max_connections=self.options.max_connections,
                                   max_wait=self.options.max_wait,
                                   timeout=options.http_timeout)
            opened = self._accounts[record.id] = _Opened(sealed_token, account)
        stats = ClientStats()
        self._stats.append(stats)
        mailbox = str(opened.account.primary_smtp_address)
        client = EwsClient(opened.account, record.remote_calendar_id,
                           limiter=self._limiter(mailbox), stats=stats)
        tz = str(record.state.get("calendar_tz") or self.options.time_zone)
        return ExchangeProvider(client, calendar_tz=tz, pool=options.cpu)

    def budget_available(self, record: ConnectionRecord) -> float | None:
        """No request budget: Exchange throttles with ``ErrorServerBusy`` instead."""
        return None

    def stats(self) -> Sequence[ClientStats]:
        """Counters of every client opened so far."""
        return list(self._stats)

    def snapshot_text(self, snapshot: Mapping[str, Any], calendar_tz: str) -> str | None:
        """A ledger snapshot (master, modified, cancelled) as iCalendar text."""
        master = snapshot.get("master")
        if not master:
            return None
        return ews_to_ical(master, snapshot.get("modified") or [],
                           snapshot.get("cancelled") or [], calendar_tz=calendar_tz)

    async def close(self) -> None:
        """Close the HTTP sessions of every account."""
        opened, self._accounts = self._accounts, {}
        for item in opened.values():
            await asyncio.to_thread(item.account.protocol.close)

    # -- connecting ------------------------------------------------------------------------------
    def check_connect(self) -> None:
        """A login form needs no configuration."""

    def consent_url(self, flow: PendingFlow, *, login_hint: str | None) -> str:
        """Exchange signs in with a login form, not a consent page."""
        raise BridgeError("Exchange connects with a server login, not OAuth")

    async def grant(self, flow: PendingFlow, code: str, options: ClientSettings) -> Grant:
        """Exchange signs in with a login form, not a consent page."""
        raise BridgeError("Exchange connects with a server login, not OAuth")

    async def revoke(self, refresh_token: str) -> None:
        """Nothing to revoke: the stored login is deleted by the caller."""

    async def _autodiscover(self, email: str, login: ServerLogin) -> Discovered:
        """The EWS URL of ``email``'s mailbox (:mod:`bridge.exchange.autodiscover`)."""
        try:
            return await asyncio.to_thread(
                autodiscover, email, login.username, login.password, guard=self.guard,
                ca_file=self.options.ca_file or None, pins=self.options.pins or {},
                budget=self.options.autodiscover_seconds)
        except FlowError:
            raise
        except Exception as exc:  # exchangelib and requests raise many kinds
            _LOGGER.info("Exchange autodiscover failed: %s", type(exc).__name__)
            raise _flow_error(exc) from None

    async def discover(self, login: ServerLogin, options: ClientSettings) -> ServerDiscovery:
        """Sign in at the EWS URL (Basic or NTLM, ``options["auth"]``), read the server's
        version and its calendar folders (the default calendar first).  An e-mail address
        instead of the URL runs autodiscover first (fact ``autodiscover``: the URL found)."""
        url = login.url.strip()
        found_by: Discovered | None = None
        if "@" in url and "/" not in url and EMAIL.fullmatch(url):
            found_by = await self._autodiscover(url, login)
            url = found_by.ews_url
            if "email" not in login.options:
                login = replace(login, options={**login.options, "email": found_by.email})
        if not url.lower().startswith(("https://", "http://")):
            raise FlowError("not_found", "give the EWS URL, e.g. "
                                         "https://mail.example.com/EWS/Exchange.asmx")
        self._policy(url)
        try:
            tls.check_target(url)
        except UnsafeTarget as exc:
            raise FlowError(exc.flow_reason, str(exc)) from None
        except OSError:
            raise FlowError("unreachable", "the server's name could not be resolved") from None
        auth = (login.options.get("auth") or "ntlm").lower()
        if auth not in ("ntlm", "basic"):
            raise FlowError("other", f"unknown authentication {auth!r}")
        email = login.options.get("email") or (login.username if "@" in login.username
                                               else "")
        ews = EwsLogin(url, login.username, login.password, auth, email)
        try:
            build, calendars = await asyncio.to_thread(_probe, ews, self.options,
                                                       options.http_timeout)
        except FlowError:
            raise
        except Exception as exc:  # exchangelib and requests raise many kinds
            _LOGGER.info("Exchange login test at %s failed: %s", url, type(exc).__name__)
            raise _flow_error(exc) from None
        found = replace(ews, build=build)
        account = BridgeAccount(email or login.username, tuple(calendars))
        facts = (("autodiscover", url),) if found_by is not None else ()
        return ServerDiscovery(Grant(found.dump(), (SCOPE,), account), url,
                               (*facts, ("version", build), ("calendars", str(len(calendars))),
                                ("auth", auth)))
