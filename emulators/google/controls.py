"""Knobs and counters of the emulator: config, fault rules, rate limit, request counters.

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
    """A scheduled fault for one method id (``calendar.events.insert``, ``oauth2.token``, ``*``).

    ``after`` runs the request first (the write happens) and then fails or drops the answer;
    ``truncate`` runs it and cuts the JSON body in half; ``retry_after`` adds that header.
    """

    method: str = "*"
    status: int | None = None
    reason: str | None = None
    message: str | None = None
    times: int | None = 1
    latency: float = 0.0
    reset: bool = False
    account: str | None = None
    after: bool = False
    truncate: bool = False
    retry_after: int | None = None


@dataclass
class RateLimit:
    """Sliding-window request limit per account."""

    max: int
    per_seconds: float = 60.0
    status: int = 403
    reason: str = "userRateLimitExceeded"


@dataclass
class Config(Knobs):
    """Knobs a test (or ``--seed``) may set through ``/_emulator/config``."""

    access_token_ttl: int = 3599
    refresh_token_ttl: int | None = None
    refresh_token_idle_ttl: int = 180 * 86400
    max_refresh_tokens: int = 100
    auth_code_ttl: int = 600
    sync_token_ttl: int = 28 * 86400
    updated_min_max_age: int = 28 * 86400
    auto_consent: bool = False
    auto_consent_account: str | None = None
    consent_decision: str = "allow"
    grant_subset_scopes: list[str] | None = None
    admin_policy_enforced: list[str] = field(default_factory=list)
    strict_https_webhooks: bool = False
    channel_default_ttl: int = 604800
    channel_max_ttl: int = 30 * 86400
    push_retry_base: float = 1.0
    push_max_attempts: int = 5
    push_timeout: float = 10.0
    push_drop: int = 0
    push_delay: float = 0.0
    push_duplicate: int = 0
    push_gap: int = 0
    expansion_horizon_days: int = 730
    max_instances: int = 1000
    invitation_quota: int | None = None
    page_size_cap: int | None = None
    empty_pages: int = 0


@dataclass
class Counters:
    """What tests assert on: request counts, deliveries and the write log."""

    token_requests: Counter[str] = field(default_factory=Counter)
    api_requests: Counter[str] = field(default_factory=Counter)
    notifications_delivered: int = 0
    notifications_failed: int = 0
    notification_attempts: int = 0
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    writes: list[dict[str, Any]] = field(default_factory=list)
    invitations: int = 0

    def as_json(self) -> dict[str, Any]:
        """Counters as a JSON object."""
        return {
            "token_requests": dict(self.token_requests),
            "api_requests": dict(self.api_requests),
            "api_requests_total": sum(self.api_requests.values()),
            "notifications_delivered": self.notifications_delivered,
            "notifications_failed": self.notifications_failed,
            "notification_attempts": self.notification_attempts,
            "deliveries": list(self.deliveries),
            "writes": list(self.writes),
        }
