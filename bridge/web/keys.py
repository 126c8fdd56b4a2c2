"""Typed ``web.AppKey`` objects shared by every sidecar feature module."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from bridge.config import Settings
from bridge.providers.base import ProviderFactory
from bridge.store import SqlStore

__all__ = ["HEALTH_CHECKS", "METRICS", "PROVIDERS", "SETTINGS", "STORE", "HealthCheck"]

# A health check returns (ok, details) and must be cheap (it runs on every /healthz).
HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]

STORE = web.AppKey("store", SqlStore)
SETTINGS = web.AppKey("settings", Settings)
HEALTH_CHECKS = web.AppKey("health_checks", list[HealthCheck])
# The provider factories by name (the composition root's registry, see bridge/web/providers.py).
PROVIDERS = web.AppKey("providers", dict[str, ProviderFactory])
# The sidecar's Prometheus registry: feature modules register collectors, which are asked for
# their figures in a thread at scrape time (prometheus-client renders and escapes the text).
METRICS = web.AppKey("metrics", CollectorRegistry)
