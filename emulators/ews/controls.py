"""Knobs and counters of the EWS emulator: config, fault rules, rate limit, counters.

:class:`Config` is what ``/_emulator/config`` (or a seed's ``config``) sets; :class:`FaultRule`
and :class:`RateLimit` are what ``/_emulator/faults`` and ``/_emulator/rate_limit`` schedule;
:class:`Counters` is what ``GET /_emulator/state`` reports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from emulators.shared.knobs import Knobs

__all__ = ["Config", "Counters", "FaultRule", "RateLimit"]


@dataclass
class FaultRule:
    """A scheduled fault for one EWS operation (``SyncFolderItems``, ``UpdateItem``, ``*``).

    ``code`` answers with that EWS error as a SOAP fault (HTTP 500), or with ``level="message"``
    inside the operation's response message; ``ErrorServerBusy`` carries ``back_off_ms`` as the
    ``BackOffMilliseconds`` value.  ``status`` without ``code`` answers that bare HTTP status
    (503 as the IIS/HTTP.sys page, 500 as the fault ``ErrorInternalServerError``).
    ``latency`` waits first; ``reset`` drops the connection; ``account`` limits the rule to one
    mailbox.
    """

    op: str = "*"
    code: str | None = None
    status: int | None = None
    message: str | None = None
    level: str = "fault"
    back_off_ms: int | None = None
    times: int | None = 1
    latency: float = 0.0
    reset: bool = False
    account: str | None = None


@dataclass
class RateLimit:
    """Sliding-window request budget per mailbox; over it: fault ``ErrorServerBusy``."""

    max: int
    per_seconds: float = 60.0
    back_off_ms: int = 1000


@dataclass
class Config(Knobs):
    """Knobs a test (or ``--seed``) may set through ``/_emulator/config``."""

    server_build: str = "15.1.2507.6"
    server_version: str = "Exchange2016"
    auth_schemes: list[str] = field(default_factory=lambda: ["NTLM", "Basic"])
    realm: str = "mail.contoso.example"
    max_changes_limit: int = 512
    max_occurrences: int = 2000
    expansion_horizon_days: int = 1100
    # Autodiscover: the EWS URL it names (empty: the host the request came to) and an address
    # it redirects every mailbox to (``RedirectAddress``, as a hybrid Exchange does for a
    # mailbox moved to Exchange Online).
    autodiscover_ews_url: str = ""
    autodiscover_redirect_address: str = ""
    # Push notifications: seconds between status events (0: the subscription's StatusFrequency
    # minutes), the first retry wait (doubling; Exchange starts at 30 s) and the POST timeout.
    push_status_seconds: float = 0.0
    push_retry_base: float = 30.0
    push_timeout: float = 10.0


@dataclass
class Counters:
    """What tests assert on: requests per operation, auth challenges, throttled, write log."""

    requests: Counter[str] = field(default_factory=Counter)
    challenges: int = 0
    auth_failures: int = 0
    throttled: int = 0
    writes: list[dict[str, Any]] = field(default_factory=list)
    mail: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    notification_attempts: int = 0
    subscriptions_ended: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Counters as a JSON object."""
        return {
            "requests": dict(self.requests),
            "requests_total": sum(self.requests.values()),
            "challenges": self.challenges,
            "auth_failures": self.auth_failures,
            "throttled": self.throttled,
            "writes": list(self.writes),
            "mail": list(self.mail),
            "notifications": list(self.notifications),
            "notification_attempts": self.notification_attempts,
            "subscriptions_ended": list(self.subscriptions_ended),
        }
