"""Knobs and counters of the Microsoft emulator: config, fault rules, rate limit, counters.

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
    """A scheduled fault for one operation id (``events.create``, ``token``, ``*`` …).

    ``status`` 429/503/504 answers with the Graph error of that status (``retry_after`` adds
    the header); ``latency`` waits first (while the request counts as in flight); ``reset``
    drops the connection; ``after`` lets the request happen (the write is stored) and then fails.
    """

    op: str = "*"
    status: int | None = None
    code: str | None = None
    message: str | None = None
    times: int | None = 1
    latency: float = 0.0
    reset: bool = False
    account: str | None = None
    after: bool = False
    retry_after: int | None = None


@dataclass
class RateLimit:
    """Sliding-window request limit per mailbox (429 ``TooManyRequests``)."""

    max: int
    per_seconds: float = 600.0
    retry_after: int = 1


@dataclass
class Config(Knobs):
    """Knobs a test (or ``--seed``) may set through ``/_emulator/config``."""

    access_token_ttl: int = 3599
    refresh_token_ttl: int = 90 * 86400
    auth_code_ttl: int = 600
    auto_consent: bool = False
    auto_consent_account: str | None = None
    consent_decision: str = "allow"
    admin_consent_tenants: list[str] = field(default_factory=list)
    max_concurrency: int = 4
    concurrency_retry_after: int = 1
    page_size: int = 10
    delta_page_size: int = 10
    delta_replay: int = 0
    transaction_id_window: int = 86400
    expansion_horizon_days: int = 1100
    max_instances: int = 2000
    validation_timeout: float = 10.0
    subscription_max_minutes: int = 10080
    subscription_min_minutes: int = 45
    notification_batch_delay: float = 0.05
    notification_timeout: float = 10.0
    notification_max_attempts: int = 3
    notification_retry_base: float = 0.5
    batch_shuffle: bool = True


@dataclass
class Counters:
    """What tests assert on: request counts, deliveries, the write log and the mail log."""

    token_requests: Counter[str] = field(default_factory=Counter)
    api_requests: Counter[str] = field(default_factory=Counter)
    throttled: int = 0
    max_inflight: int = 0
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    writes: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Counters as a JSON object."""
        return {
            "token_requests": dict(self.token_requests),
            "api_requests": dict(self.api_requests),
            "api_requests_total": sum(self.api_requests.values()),
            "throttled": self.throttled,
            "max_inflight": self.max_inflight,
            "deliveries": list(self.deliveries),
            "writes": list(self.writes),
        }
