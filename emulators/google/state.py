"""The emulator's in-memory model: accounts, OAuth clients, calendars, events, tokens, channels.

One :class:`EmulatorState` holds everything, with one controllable :class:`~.timeutil.Clock` and a
global monotonic change counter (``counter``).  Every event write bumps the counter, stores the
new value on the event (``StoredEvent.seq``) and calls the change listeners (push delivery).
Handlers mutate the state only from the event loop thread, so no locking is needed.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from emulators.google.controls import Config, Counters, FaultRule, RateLimit
from emulators.google.timeutil import Clock, format_ts

__all__ = [
    "ROLE_RANK",
    "AccessToken",
    "Account",
    "AuthCode",
    "Calendar",
    "Channel",
    "EmulatorState",
    "ListPrefs",
    "OAuthClient",
    "PageSnapshot",
    "RefreshToken",
    "StoredEvent",
    "SyncTokenInfo",
]

ROLE_RANK: dict[str, int] = {
    "none": 0,
    "freeBusyReader": 1,
    "reader": 2,
    "writer": 3,
    "owner": 4,
}


@dataclass
class Account:
    """A Google account that can sign in."""

    email: str
    name: str = ""
    time_zone: str = "UTC"


@dataclass
class OAuthClient:
    """An OAuth client registered in the (emulated) Cloud project."""

    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)
    name: str = "termin-bridge"
    project_number: str = "123456789012"
    trusted: bool = False
    kind: str = "web"

    def accepts_redirect(self, uri: str) -> bool:
        """Registered URIs; "installed" (desktop) clients also take any loopback URI."""
        if uri in self.redirect_uris:
            return True
        if self.kind != "installed":
            return False
        parsed = urlsplit(uri)
        return parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1")


@dataclass
class Calendar:
    """A calendar, its owner and its sharing (``acl``: account → role)."""

    id: str
    owner: str
    summary: str
    time_zone: str = "UTC"
    description: str = ""
    location: str = ""
    acl: dict[str, str] = field(default_factory=dict)
    color_id: str = "14"
    background_color: str = "#039be5"
    foreground_color: str = "#000000"
    seq: int = 0
    etag: str = '"0"'


@dataclass
class ListPrefs:
    """Per-account calendarList entry settings."""

    hidden: bool = False
    selected: bool = True
    summary_override: str | None = None
    default_reminders: list[dict[str, Any]] = field(
        default_factory=lambda: [{"method": "popup", "minutes": 10}]
    )


@dataclass
class StoredEvent:
    """One event (or recurring exception) as stored: Google's JSON plus its change number."""

    calendar_id: str
    data: dict[str, Any]
    seq: int

    @property
    def id(self) -> str:
        """The event id."""
        return str(self.data["id"])

    @property
    def cancelled(self) -> bool:
        """True when the event is deleted (or a cancelled exception)."""
        return self.data.get("status") == "cancelled"


@dataclass
class RefreshToken:
    """A refresh token and the grant it carries."""

    token: str
    account: str
    client_id: str
    scopes: list[str]
    issued_at: dt.datetime
    last_used: dt.datetime
    revoked: bool = False


@dataclass
class AccessToken:
    """A bearer token for the API."""

    token: str
    account: str
    client_id: str
    scopes: list[str]
    expires_at: dt.datetime
    refresh_token: str | None = None
    revoked: bool = False


@dataclass
class AuthCode:
    """An authorization code waiting to be exchanged."""

    code: str
    client_id: str
    redirect_uri: str
    account: str
    scopes: list[str]
    code_challenge: str | None
    code_challenge_method: str | None
    issue_refresh_token: bool
    expires_at: dt.datetime
    used: bool = False


@dataclass
class SyncTokenInfo:
    """What a sync token stands for: a list kind, its key and the change number."""

    token: str
    kind: str
    key: str
    seq: int
    issued_at: dt.datetime
    valid: bool = True


@dataclass
class PageSnapshot:
    """The rest of a list result, replayed by ``pageToken``."""

    kind: str
    key: str
    items: list[dict[str, Any]]
    header: dict[str, Any]
    sync_seq: int | None
    sync_key: str


@dataclass
class Channel:
    """A push notification channel created by ``events.watch``."""

    id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    address: str
    token: str | None
    expiration: dt.datetime
    account: str
    client_id: str
    message_number: int = 0
    stopped: bool = False


_MAX_PAGE_SNAPSHOTS = 500


class EmulatorState:
    """All emulator data plus the clock and the change counter."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.config = Config()
        self.accounts: dict[str, Account] = {}
        self.clients: dict[str, OAuthClient] = {}
        self.calendars: dict[str, Calendar] = {}
        self.list_prefs: dict[tuple[str, str], ListPrefs] = {}
        self.events: dict[str, dict[str, StoredEvent]] = {}
        self.grants: dict[tuple[str, str], list[str]] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.pending_auth: dict[str, dict[str, str]] = {}
        self.sync_tokens: dict[str, SyncTokenInfo] = {}
        self.pages: OrderedDict[str, PageSnapshot] = OrderedDict()
        self.channels: dict[str, Channel] = {}
        self.counter = 0
        self.counters = Counters()
        self.faults: list[FaultRule] = []
        self.rate_limit: RateLimit | None = None
        self.rate_hits: dict[str, deque[float]] = {}
        self.listeners: list[Callable[[str], None]] = []
        self.channel_listeners: list[Callable[[Channel], None]] = []
        self.etag_base = int(self.clock.now().timestamp() * 1000) * 1000

    def reset(self) -> None:
        """Forget everything (data, tokens, faults, counters, knobs, clock offset).

        The change and channel listeners (push delivery) stay attached.
        """
        listeners, channel_listeners = self.listeners, self.channel_listeners
        self.__init__(Clock())  # type: ignore[misc]
        self.listeners, self.channel_listeners = listeners, channel_listeners

    # -- change counter ------------------------------------------------------------------

    def bump(self) -> int:
        """Advance the global change counter and return the new value."""
        self.counter += 1
        return self.counter

    def etag(self, seq: int) -> str:
        """A quoted etag that is unique for change number ``seq``."""
        return f'"{self.etag_base + seq}"'

    def changed(self, calendar_id: str) -> None:
        """Tell the listeners (push delivery) that ``calendar_id`` changed."""
        for listener in list(self.listeners):
            listener(calendar_id)

    def record_write(
        self, op: str, calendar_id: str, event: dict[str, Any], account: str, source: str
    ) -> None:
        """Append one entry to the write log (``GET /_emulator/state``)."""
        self.counters.writes.append(
            {
                "seq": self.counter,
                "op": op,
                "source": source,
                "calendarId": calendar_id,
                "eventId": event.get("id"),
                "iCalUID": event.get("iCalUID"),
                "summary": event.get("summary"),
                "account": account,
                "time": format_ts(self.clock.now()),
            }
        )

    # -- calendars and roles -------------------------------------------------------------

    def role(self, account: str, calendar_id: str) -> str:
        """The access role ``account`` has on ``calendar_id`` (``none`` if unknown)."""
        cal = self.calendars.get(calendar_id)
        if cal is None:
            return "none"
        if cal.owner == account:
            return "owner"
        return cal.acl.get(account, "none")

    def calendar_events(self, calendar_id: str) -> dict[str, StoredEvent]:
        """The event table of one calendar (created on demand)."""
        return self.events.setdefault(calendar_id, {})

    def touch_calendar(self, cal: Calendar) -> None:
        """Record a change of the calendar resource itself (etag, calendarList sync)."""
        cal.seq = self.bump()
        cal.etag = self.etag(cal.seq)

    # -- sync tokens and page snapshots --------------------------------------------------

    def issue_sync_token(self, kind: str, key: str, seq: int) -> str:
        """Return the sync token for (kind, key, seq), reusing a still valid one."""
        now = self.clock.now()
        for info in self.sync_tokens.values():
            if (info.kind, info.key, info.seq) == (kind, key, seq) and self.sync_token_alive(info):
                return info.token
        token = base64.b64encode(b"\x08" + secrets.token_bytes(18)).decode()
        self.sync_tokens[token] = SyncTokenInfo(token, kind, key, seq, now)
        return token

    def sync_token_alive(self, info: SyncTokenInfo) -> bool:
        """True while the token is valid and younger than the configured lifetime."""
        age = (self.clock.now() - info.issued_at).total_seconds()
        return info.valid and age < self.config.sync_token_ttl

    def expire_sync_tokens(self, key: str | None = None) -> int:
        """Invalidate every sync token (or those of one calendar/account key)."""
        count = 0
        for info in self.sync_tokens.values():
            if info.valid and (key is None or info.key == key):
                info.valid = False
                count += 1
        return count

    def store_page(self, snapshot: PageSnapshot) -> str:
        """Keep the remaining items of a list and return the page token for them."""
        token = secrets.token_urlsafe(24)
        self.pages[token] = snapshot
        while len(self.pages) > _MAX_PAGE_SNAPSHOTS:
            self.pages.popitem(last=False)
        return token

    # -- tokens --------------------------------------------------------------------------

    def revoke_refresh_token(self, token: str) -> None:
        """Revoke a refresh token, its access tokens and the grant behind it."""
        rt = self.refresh_tokens.get(token)
        if rt is None:
            return
        rt.revoked = True
        for at in self.access_tokens.values():
            if at.refresh_token == token:
                at.revoked = True
        self.grants.pop((rt.account, rt.client_id), None)

    def policy_blocks(self, account: str, client_id: str) -> bool:
        """True when a Workspace admin policy blocks ``client_id`` for ``account``."""
        client = self.clients.get(client_id)
        if client is not None and client.trusted:
            return False
        domain = "@" + account.rsplit("@", 1)[-1]
        rules = self.config.admin_policy_enforced
        return "*" in rules or account in rules or domain in rules
