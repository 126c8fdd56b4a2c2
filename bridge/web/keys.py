"""Typed ``web.AppKey`` objects shared by every sidecar feature module."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bridge.config import Settings
from bridge.store import SqlStore

__all__ = ["HEALTH_CHECKS", "METRICS_SOURCES", "SETTINGS", "STORE", "HealthCheck", "MetricsSource"]

# A health check returns (ok, details) and must be cheap (it runs on every /healthz).
HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]

STORE = web.AppKey("store", SqlStore)
SETTINGS = web.AppKey("settings", Settings)
HEALTH_CHECKS = web.AppKey("health_checks", list[HealthCheck])
# Prometheus text of one feature for ``/metrics``; runs in a thread at scrape time.
MetricsSource = Callable[[], str]
METRICS_SOURCES = web.AppKey("metrics_sources", list[MetricsSource])
