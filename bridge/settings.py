"""Typed settings: one frozen dataclass per section of the configuration.

Code reads ``settings.notifications.max_attempts`` (an ``int``) instead of looking a key up by
name and casting it.  The fields carry names and types only; default, documentation and check of
every key live once, in :data:`bridge.config.SCHEMA`, which :func:`bridge.config.load` validates
before it builds a :class:`Settings`.  A unit test keeps these classes and the schema in step (same
sections, same keys, same types).  Get settings from :mod:`bridge.config`; this module imports
nothing from ``bridge``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, get_type_hints

__all__ = [
    "AvailabilitySettings",
    "DavSettings",
    "ExchangeSettings",
    "GoogleSettings",
    "HttpSettings",
    "LoggingSettings",
    "MicrosoftSettings",
    "NotificationSettings",
    "ProvidersSettings",
    "SecuritySettings",
    "Settings",
    "StorageSettings",
]


@dataclass(frozen=True)
class StorageSettings:
    """``[storage]``: the store and the directory for runtime files."""

    url: str
    data_dir: str
    sync_history_days: int


@dataclass(frozen=True)
class DavSettings:
    """``[dav]``: the CalDAV server (Radicale)."""

    host: str
    port: int
    max_resource_size: int
    max_request_size: int
    fast_path: bool


@dataclass(frozen=True)
class HttpSettings:
    """``[http]``: the sidecar (admin, API, feeds) and its /metrics listener."""

    host: str
    port: int
    public_url: str
    metrics_host: str
    metrics_port: int
    metrics_token: str
    trusted_proxies: str


@dataclass(frozen=True)
class SyncSettings:
    """``[sync]``: polling, push notifications and the safety valve of every provider."""

    poll_interval: int
    push: str
    safety_delete_share: float
    safety_window: float
    workers: str


@dataclass(frozen=True)
class GoogleSettings:
    """``[google]``: OAuth client, endpoints and request budget."""

    client_id: str
    client_secret: str
    auth_uri: str
    token_uri: str
    revoke_uri: str
    api_endpoint: str
    requests_per_minute: int


@dataclass(frozen=True)
class MicrosoftSettings:
    """``[microsoft]``: the Entra app registration, endpoints, request budget, attendees."""

    client_id: str
    client_secret: str
    authority: str
    graph_endpoint: str
    ca_file: str
    requests_per_minute: int
    write_attendees: bool


@dataclass(frozen=True)
class ExchangeSettings:
    """``[exchange]``: trust of on-premises EWS servers, concurrency and throttling back-off."""

    ca_file: str
    pinned_certificates: str
    max_connections: int
    max_wait: int
    time_zone: str


@dataclass(frozen=True)
class ProvidersSettings:
    """``[providers]``: what every login provider (CalDAV, iCloud, Exchange) shares."""

    allow_networks: str


@dataclass(frozen=True)
class SecuritySettings:
    """``[security]``: the secret key and former keys still accepted during rotation."""

    secret_key: str
    old_secret_keys: str


@dataclass(frozen=True)
class NotificationSettings:
    """``[notifications]``: customer e-mails, reminders, webhooks and the send worker."""

    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_user: str
    smtp_password: str
    sender: str
    reminder_offsets: str
    reminder_horizon_days: int
    enabled: bool
    language: str
    template_dir: str
    description_emails: bool
    webhook_url: str
    webhook_secret: str
    max_attempts: int
    retry_base: float
    poll_interval: float


@dataclass(frozen=True)
class AvailabilitySettings:
    """``[availability]``: what marks working hours and what blocks them."""

    marker_keywords: str
    marker_calendar: str
    all_day_blocks: bool
    max_days: int


@dataclass(frozen=True)
class LoggingSettings:
    """``[logging]``: log format and level."""

    format: str
    level: str


@dataclass(frozen=True)
class Settings:
    """Validated configuration: one typed attribute per section, plus where each value came from."""

    storage: StorageSettings
    dav: DavSettings
    http: HttpSettings
    sync: SyncSettings
    google: GoogleSettings
    microsoft: MicrosoftSettings
    exchange: ExchangeSettings
    providers: ProvidersSettings
    security: SecuritySettings
    notifications: NotificationSettings
    availability: AvailabilitySettings
    logging: LoggingSettings
    sources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def from_values(
        cls,
        values: Mapping[str, Mapping[str, Any]],
        sources: Mapping[str, Mapping[str, str]] | None = None,
        path: Path | None = None,
    ) -> Settings:
        """Settings from ``values[section][key]`` (already validated against the schema)."""
        sections = {name: kind(**_typed(name, kind, values[name]))
                    for name, kind in section_types().items()}
        return cls(**sections, sources=sources or {}, path=path)

    @property
    def storage_url(self) -> str:
        """The SQLAlchemy URL of the store."""
        return self.storage.url

    @property
    def data_dir(self) -> Path:
        """Directory for runtime files."""
        return Path(self.storage.data_dir)

    @property
    def base_url(self) -> str:
        """Where people and providers reach the sidecar: ``[http] public_url``, else
        ``http://host:port`` (a bind-all host named ``localhost``, an IPv6 one in brackets)."""
        public = self.http.public_url.rstrip("/")
        if public:
            return public
        host = self.http.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a bind-all address is not a link target
            host = "localhost"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.http.port}"

    def with_overrides(self, **sections: Mapping[str, Any]) -> Settings:
        """A copy with some values replaced (tests and ``--demo``); unknown keys and values of
        the wrong type raise ``TypeError``."""
        kinds = section_types()
        changed: dict[str, Any] = {}
        for name, overrides in sections.items():
            if name not in kinds:
                raise TypeError(f"unknown settings section {name!r}")
            changed[name] = replace(getattr(self, name), **_typed(name, kinds[name], overrides))
        return replace(self, **changed)


@cache
def section_types() -> dict[str, type[Any]]:
    """Each section's name and its dataclass, in the order of :class:`Settings`."""
    hints = get_type_hints(Settings)
    return {f.name: hints[f.name] for f in fields(Settings) if is_dataclass(hints[f.name])}


def _typed(section: str, kind: type[Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` checked against the field types of ``kind`` (an int is taken for a float)."""
    hints = get_type_hints(kind)
    out: dict[str, Any] = {}
    for key, value in values.items():
        expected = hints.get(key)
        if expected is None:
            raise TypeError(f"unknown setting {section}.{key}")
        if expected is float and type(value) is int:
            value = float(value)
        if type(value) is not expected:
            raise TypeError(f"setting {section}.{key} must be a {expected.__name__}, "
                            f"got {type(value).__name__}")
        out[key] = value
    return out
