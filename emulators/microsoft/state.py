"""The Microsoft emulator's in-memory model: accounts, app registrations, calendars, events,
tokens, delta sync states and subscriptions.

One :class:`MsState` holds everything, with one controllable clock and a global monotonic change
counter (``counter``).  Every event write bumps the counter, stores it on the stored item
(``StoredEvent.seq``; the ``changeKey``/``@odata.etag`` derive from it) and calls the change
listeners (notification delivery).  Handlers mutate the state only from the event loop thread.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulators.microsoft.controls import Config, Counters, FaultRule, RateLimit
from emulators.shared.clock import Clock

__all__ = [
    "CONSUMERS_TENANT",
    "AccessToken",
    "Account",
    "AppClient",
    "AuthCode",
    "Calendar",
    "DeltaPage",
    "MsState",
    "RefreshToken",
    "StoredEvent",
    "Subscription",
    "SyncState",
    "new_id",
]

CONSUMERS_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
_MAX_PAGES = 500


def new_id(prefix: str = "AAMkAG") -> str:
    """An opaque Graph-style id (URL-safe, no padding)."""
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(45)).decode().rstrip("=")


@dataclass
class Account:
    """A work/school (``work``) or personal Microsoft account (``personal``) with a mailbox."""

    upn: str
    name: str = ""
    oid: str = field(default_factory=lambda: str(uuid.uuid4()))
    tenant_id: str = CONSUMERS_TENANT
    kind: str = "personal"
    time_zone: str = "UTC"


@dataclass
class AppClient:
    """An app registration: client id, one secret and its redirect URIs."""

    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)
    name: str = "termin-bridge"


@dataclass
class Calendar:
    """A calendar in ``owner``'s mailbox; ``shares`` maps other accounts to ``read``/``write``."""

    id: str
    owner: str
    name: str
    is_default: bool = False
    color: str = "auto"
    hex_color: str = ""
    shares: dict[str, str] = field(default_factory=dict)
    seq: int = 0


@dataclass
class StoredEvent:
    """A single event, series master or exception as stored (Graph JSON plus internals)."""

    calendar_id: str
    data: dict[str, Any]
    seq: int
    removed: bool = False

    @property
    def id(self) -> str:
        """The event id."""
        return str(self.data["id"])


@dataclass
class AuthCode:
    """An authorization code waiting to be redeemed."""

    code: str
    client_id: str
    redirect_uri: str
    account: str
    scopes: list[str]
    tenant: str
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    expires_at: dt.datetime
    used: bool = False


@dataclass
class RefreshToken:
    """A refresh token; rotation issues a new one and leaves this one valid until it expires."""

    token: str
    account: str
    client_id: str
    scopes: list[str]
    issued_at: dt.datetime
    expires_at: dt.datetime
    revoked: bool = False


@dataclass
class AccessToken:
    """A Graph bearer token."""

    token: str
    account: str
    client_id: str
    scopes: list[str]
    expires_at: dt.datetime
    revoked: bool = False


@dataclass
class SyncState:
    """What a ``$deltatoken`` stands for: calendar, window, cursor and the rows delivered."""

    id: str
    calendar_id: str
    start: str
    end: str
    cursor: int
    rows: dict[str, str]
    valid: bool = True


@dataclass
class DeltaPage:
    """The rest of a delta round, replayed by ``$skiptoken``."""

    items: list[dict[str, Any]]
    next_state: str


@dataclass
class Subscription:
    """A change-notification subscription."""

    id: str
    resource: str
    change_types: list[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: dt.datetime
    account: str
    client_id: str
    calendar_id: str | None
    needs_reauth: bool = False


class MsState:
    """All emulator data plus the clock and the change counter."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.config = Config()
        self.accounts: dict[str, Account] = {}
        self.clients: dict[str, AppClient] = {}
        self.calendars: dict[str, Calendar] = {}
        self.events: dict[str, dict[str, StoredEvent]] = {}
        self.grants: dict[tuple[str, str], list[str]] = {}
        self.tokens_valid_from: dict[str, dt.datetime] = {}
        self.admin_grants: set[tuple[str, str]] = set()
        self.codes: dict[str, AuthCode] = {}
        self.pending_auth: dict[str, dict[str, str]] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.sync_states: dict[str, SyncState] = {}
        self.pages: OrderedDict[str, DeltaPage] = OrderedDict()
        self.subscriptions: dict[str, Subscription] = {}
        self.counter = 0
        self.counters = Counters()
        self.faults: list[FaultRule] = []
        self.rate_limit: RateLimit | None = None
        self.rate_hits: dict[str, deque[float]] = {}
        self.inflight: Counter[str] = Counter()
        self.mail: list[dict[str, Any]] = []
        self.listeners: list[Callable[[str, str, str], None]] = []
        self.lifecycle_listeners: list[Callable[[Subscription, str], None]] = []

    def reset(self) -> None:
        """Forget everything; the listeners (notification delivery) stay attached."""
        listeners, lifecycle = self.listeners, self.lifecycle_listeners
        self.__init__(Clock())  # type: ignore[misc]
        self.listeners, self.lifecycle_listeners = listeners, lifecycle

    # -- changes -------------------------------------------------------------------------

    def bump(self) -> int:
        """Advance the global change counter and return the new value."""
        self.counter += 1
        return self.counter

    def changed(self, calendar_id: str, event_id: str, change_type: str) -> None:
        """Tell the listeners that an event was ``created``/``updated``/``deleted``."""
        for listener in list(self.listeners):
            listener(calendar_id, event_id, change_type)

    def record_write(self, op: str, stored: StoredEvent, account: str, source: str) -> None:
        """Append one entry to the write log (``GET /_emulator/state``)."""
        self.counters.writes.append({
            "seq": self.counter, "op": op, "source": source, "calendarId": stored.calendar_id,
            "eventId": stored.id, "subject": stored.data.get("subject"), "account": account,
        })

    # -- lookups -------------------------------------------------------------------------

    def default_calendar(self, account: str) -> Calendar | None:
        """The account's default calendar."""
        for cal in self.calendars.values():
            if cal.owner == account and cal.is_default:
                return cal
        return None

    def access(self, account: str, calendar_id: str) -> str:
        """``owner``, ``write``, ``read`` or ``none``: what ``account`` may do in a calendar."""
        cal = self.calendars.get(calendar_id)
        if cal is None:
            return "none"
        if cal.owner == account:
            return "owner"
        return cal.shares.get(account, "none")

    def visible_calendars(self, account: str) -> list[Calendar]:
        """The calendars ``account`` sees: its own, then those shared with it."""
        own = [c for c in self.calendars.values() if c.owner == account]
        shared = [c for c in self.calendars.values() if account in c.shares]
        return own + shared

    def table(self, calendar_id: str) -> dict[str, StoredEvent]:
        """The event table of one calendar (created on demand)."""
        return self.events.setdefault(calendar_id, {})

    def find_event(self, event_id: str) -> StoredEvent | None:
        """A stored item (live or removed) by id, in any calendar."""
        for table in self.events.values():
            found = table.get(event_id)
            if found is not None:
                return found
        return None

    # -- delta ---------------------------------------------------------------------------

    def store_page(self, page: DeltaPage) -> str:
        """Keep the rest of a delta round and return its key."""
        key = secrets.token_urlsafe(18)
        self.pages[key] = page
        while len(self.pages) > _MAX_PAGES:
            self.pages.popitem(last=False)
        return key

    def invalidate_sync_states(self, calendar_id: str | None = None) -> int:
        """Make delta tokens (all, or one calendar's) answer 410 ``SyncStateNotFound``."""
        count = 0
        for sync in self.sync_states.values():
            if sync.valid and (calendar_id is None or sync.calendar_id == calendar_id):
                sync.valid = False
                count += 1
        self.pages.clear()
        return count

    # -- grants --------------------------------------------------------------------------

    def needs_admin(self, account: str, client_id: str) -> bool:
        """True when the account's tenant requires admin consent the app does not have."""
        acc = self.accounts[account]
        rules = self.config.admin_consent_tenants
        domain = acc.upn.rsplit("@", 1)[-1].lower()
        if not ("*" in rules or acc.tenant_id in rules or domain in rules):
            return False
        return (acc.tenant_id, client_id) not in self.admin_grants

    def revoke_sessions(self, account: str, *, access_tokens: bool = False) -> None:
        """``revokeSignInSessions``: every refresh token of ``account`` issued so far dies
        (access tokens live on until they expire, unless ``access_tokens``)."""
        self.tokens_valid_from[account] = self.clock.now()
        if access_tokens:
            for at in self.access_tokens.values():
                if at.account == account:
                    at.revoked = True
