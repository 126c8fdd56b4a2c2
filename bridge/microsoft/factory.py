"""Opens :class:`~bridge.microsoft.provider.MicrosoftProvider` s and runs the connect flow.

* One aiohttp session (per event loop) serves every Graph client; each mailbox has one
  ``Semaphore(4)`` (Graph's concurrency limit) and one :class:`RequestBudget`.
* Refresh tokens are sealed with the cipher the composition root hands in (the same token
  cipher as Google's, bound to the connection id).  Microsoft rotates refresh tokens: every new
  one is sealed and stored at once through the store (``set_refresh_token``), before the access
  token it came with is used, and never logged.  The token source of a connection is kept while
  the stored token is one it wrote, so a rotation does not cost another refresh.
* The connect flow is msal's auth-code flow rebuilt from the pending flow: ``state`` and the
  PKCE verifier are the pending flow's (sealed in the database), the nonce is derived from the
  verifier, so nothing else has to be kept server-side between the consent page and the
  callback.
* Microsoft has no endpoint to revoke a refresh token: :meth:`revoke` only logs; a disconnect
  deletes the stored token and the subscription, and the admin is told where to remove the app
  (:data:`REMOVE_APP_URLS`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import urllib.parse
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp
import msal

from bridge.errors import BridgeError, RemoteError
from bridge.microsoft.auth import (
    SCOPES,
    MicrosoftEndpoints,
    MsalTokenProvider,
    finish_flow,
    msal_app,
)
from bridge.microsoft.client import MAILBOX_CONCURRENCY, GraphClient, ssl_context
from bridge.microsoft.mapping import graph_to_ical
from bridge.microsoft.provider import MicrosoftProvider
from bridge.microsoft.reader import OccurrenceIndex
from bridge.providers.base import (
    Account,
    CalendarInfo,
    ClientSettings,
    ConnectionRecord,
    Grant,
    ProviderUnavailable,
)
from bridge.providers.flows import PendingFlow
from bridge.providers.http import ClientStats, RequestBudget, TokenSource
from bridge.providers.sealing import RefreshTokenCipher, SealsTokens

__all__ = ["REMOVE_APP_URLS", "MicrosoftProviderFactory", "TokenSink"]

_LOGGER = logging.getLogger(__name__)

# Where a user removes the app's access (no revocation endpoint exists): work or school
# accounts, personal accounts.
REMOVE_APP_URLS = ("https://myapps.microsoft.com", "https://account.live.com/consent/Manage")
_RESERVED = ("openid", "profile", "offline_access")


class TokenSink(Protocol):
    """Where rotated refresh tokens go (the store)."""

    def set_refresh_token(self, connection_id: int, blob: bytes | None) -> None:
        """Store the sealed refresh token of a connection."""


class StaticTokens:
    """One access token (the connect flow's)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def access_token(self) -> str:
        """The token."""
        return self._token

    def invalidate(self) -> None:
        """Nothing to refresh."""


@dataclass
class _Mailbox:
    limiter: asyncio.Semaphore
    budget: RequestBudget


@dataclass
class _Tokens:
    source: TokenSource
    blobs: set[bytes] = field(default_factory=set)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _nonce(flow: PendingFlow) -> str:
    """The flow's nonce, derived from its (sealed) PKCE verifier."""
    return _b64(hmac.new(flow.code_verifier.encode(), b"nonce", hashlib.sha256).digest())


def msal_flow(flow: PendingFlow) -> dict[str, Any]:
    """msal's auth-code flow dict for a pending flow (what ``initiate_auth_code_flow`` would
    have returned, with our state, verifier and derived nonce)."""
    return {"state": flow.state, "redirect_uri": flow.redirect_uri,
            "scope": sorted({*SCOPES, *_RESERVED}), "code_verifier": flow.code_verifier,
            "nonce": _nonce(flow)}


class MicrosoftProviderFactory(SealsTokens):
    """Opens Microsoft providers: unseals and rotates refresh tokens, one session, one
    limiter and budget per mailbox, the clients' counters."""

    name = "microsoft"
    capabilities = MicrosoftProvider.capabilities

    def __init__(self, *, cipher: RefreshTokenCipher | None, endpoints: MicrosoftEndpoints | None,
                 store: TokenSink | None = None, write_attendees: bool = False,
                 requests_per_minute: int | None = None,
                 token_factory: Callable[[ConnectionRecord, str], TokenSource] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.cipher = cipher
        self.endpoints = endpoints
        self.store = store
        self.write_attendees = write_attendees
        self.requests_per_minute = requests_per_minute
        self.token_factory = token_factory
        self.clock = clock
        self._app: msal.ConfidentialClientApplication | None = None
        self._mailboxes: dict[str, _Mailbox] = {}
        self._tokens: dict[int, _Tokens] = {}
        self._occurrences: dict[int, OccurrenceIndex] = {}  # per connection, see series.py
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                  aiohttp.ClientSession] = \
            weakref.WeakKeyDictionary()
        self._stats: list[ClientStats] = []

    # -- plumbing ------------------------------------------------------------------------------
    def _endpoints(self) -> MicrosoftEndpoints:
        if self.endpoints is None or not self.endpoints.client_id:
            raise BridgeError("[microsoft] client_id is not configured")
        return self.endpoints

    def _msal(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            self._app = msal_app(self._endpoints())
        return self._app

    def session(self) -> aiohttp.ClientSession:
        """The shared session of the running event loop."""
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            ca = self.endpoints.ca_file if self.endpoints is not None else None
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_context(ca), limit=64))
            self._sessions[loop] = session
        return session

    async def close(self) -> None:
        """Close the session of the running loop."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def _mailbox(self, account: str, per_minute: int) -> _Mailbox:
        box = self._mailboxes.get(account)
        if box is None:
            box = self._mailboxes[account] = _Mailbox(
                asyncio.Semaphore(MAILBOX_CONCURRENCY), RequestBudget(per_minute))
        return box

    def budget_available(self, record: ConnectionRecord) -> float | None:
        """Requests the mailbox's budget allows now (``None``: unused)."""
        box = self._mailboxes.get(record.account_email or str(record.id))
        return box.budget.available if box is not None else None

    def stats(self) -> Sequence[ClientStats]:
        """Counters of every client opened so far."""
        return list(self._stats)

    def _rotated(self, connection_id: int, refresh_token: str) -> None:
        """Seal and store a rotated refresh token at once (called from msal's thread)."""
        blob = self.seal(connection_id, refresh_token)
        if self.store is not None:
            self.store.set_refresh_token(connection_id, blob)
        entry = self._tokens.get(connection_id)
        if entry is not None:
            entry.blobs.add(blob)
        _LOGGER.debug("Connection %d: refresh token rotated and stored", connection_id)

    def _token_source(self, record: ConnectionRecord, sealed: bytes) -> TokenSource:
        if self.token_factory is not None:
            return self.token_factory(record, "")
        entry = self._tokens.get(record.id)
        if entry is not None and sealed in entry.blobs:
            return entry.source
        if self.cipher is None or not sealed:
            raise ProviderUnavailable(record.id, "no usable key or token")
        try:
            refresh = self.cipher.decrypt(record.id, sealed)
            app = self._msal()
        except BridgeError as exc:
            raise ProviderUnavailable(record.id, str(exc)) from None
        connection_id = record.id
        source = MsalTokenProvider(app, refresh,
                                   on_rotate=lambda new: self._rotated(connection_id, new))
        self._tokens[record.id] = _Tokens(source, {sealed})
        return source

    def open(self, record: ConnectionRecord, sealed_token: bytes, options: ClientSettings
             ) -> MicrosoftProvider:
        """The provider of ``record`` (its refresh token unsealed)."""
        tokens = self._token_source(record, sealed_token)
        stats = ClientStats()
        self._stats.append(stats)
        box = self._mailbox(record.account_email or str(record.id),
                            self.requests_per_minute or options.requests_per_minute)
        graph = self.endpoints.graph_endpoint if self.endpoints is not None \
            else options.api_endpoint
        client = GraphClient(graph_endpoint=graph, tokens=tokens, session=self.session(),
                             limiter=box.limiter, retry=options.retry,
                             timeout=options.http_timeout, stats=stats, budget=box.budget)
        index = self._occurrences.setdefault(record.id, OccurrenceIndex())
        return MicrosoftProvider(client, record.remote_calendar_id,
                                 calendar_tz=str(record.state.get("calendar_tz") or "UTC"),
                                 write_attendees=self.write_attendees, clock=self.clock,
                                 occurrence_of=index, pool=options.cpu)

    def snapshot_text(self, snapshot: Mapping[str, Any], calendar_tz: str) -> str | None:
        """A ledger snapshot (master, exceptions, cancelled) as iCalendar text."""
        master = snapshot.get("master")
        if not master:
            return None
        return graph_to_ical(master, snapshot.get("exceptions") or [],
                             snapshot.get("cancelled") or [], calendar_tz=calendar_tz)

    # -- connecting ------------------------------------------------------------------------------
    def check_connect(self) -> None:
        """``[microsoft] client_id`` must be set."""
        self._endpoints()

    def consent_url(self, flow: PendingFlow, *, login_hint: str | None) -> str:
        """The authorize URL (PKCE S256, state and nonce of ``flow``, account chooser)."""
        endpoints = self._endpoints()
        challenge = _b64(hashlib.sha256(flow.code_verifier.encode("ascii")).digest())
        params = {
            "client_id": endpoints.client_id, "response_type": "code",
            "redirect_uri": flow.redirect_uri, "scope": " ".join(msal_flow(flow)["scope"]),
            "state": flow.state, "code_challenge": challenge, "code_challenge_method": "S256",
            "nonce": hashlib.sha256(_nonce(flow).encode("ascii")).hexdigest(),
            "prompt": "select_account", "client_info": "1", "response_mode": "query",
        }
        if login_hint:
            params["login_hint"] = login_hint
        return (endpoints.authority.rstrip("/") + "/oauth2/v2.0/authorize?"
                + urllib.parse.urlencode(params))

    async def grant(self, flow: PendingFlow, code: str, options: ClientSettings) -> Grant:
        """Redeem the code with msal, then read ``/me`` and the calendars (only ``canEdit``
        ones are writable)."""
        endpoints = self._endpoints()
        tokens = await asyncio.to_thread(finish_flow, self._msal(), msal_flow(flow),
                                         {"code": code, "state": flow.state})
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                ssl=ssl_context(endpoints.ca_file))) as session:
            client = GraphClient(graph_endpoint=endpoints.graph_endpoint,
                                 tokens=StaticTokens(tokens.access_token), session=session,
                                 retry=options.retry, timeout=options.http_timeout)
            me = await client.me()
            calendars = await client.calendars()
            zone = "UTC"
            try:
                settings = await client.get_json("/me/mailboxSettings")
                zone = str(settings.get("timeZone") or "UTC")
            except RemoteError:
                pass
        email = str(me.get("mail") or me.get("userPrincipalName") or tokens.account)
        infos = tuple(
            CalendarInfo(str(c["id"]), str(c.get("name") or c["id"]), bool(c.get("canEdit")),
                         zone, bool(c.get("isDefaultCalendar")),
                         "writer" if c.get("canEdit") else "reader")
            for c in calendars if c.get("id"))
        return Grant(tokens.refresh_token, tokens.scopes, Account(email, infos))

    async def revoke(self, refresh_token: str) -> None:
        """Microsoft offers no token revocation: the stored token is deleted by the caller and
        the user removes the app's access at :data:`REMOVE_APP_URLS`."""
        _LOGGER.info("Microsoft has no token revocation endpoint: the token is only forgotten")
