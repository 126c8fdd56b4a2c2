"""Configuration: one TOML file plus ``TERMIN_BRIDGE_<SECTION>_<KEY>`` environment overrides.

:func:`load` reads the file (if it exists), applies the environment, checks every key against
:data:`SCHEMA` and returns a frozen :class:`Settings` with one typed attribute per section
(``settings.notifications.max_attempts``; the classes are in :mod:`bridge.settings`).  Every
problem (unknown section or key, wrong type, invalid value) is collected, and all of them are
raised together as one :class:`~bridge.errors.ConfigError` naming key and source.  The settings
object is passed explicitly; nothing imports a global config.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bridge.errors import ConfigError, ConfigProblem
from bridge.settings import Settings

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "SCHEMA",
    "Option",
    "Settings",
    "load",
    "parse_offsets",
    "render_example",
    "with_secret_key",
]

DEFAULT_CONFIG_PATH = Path("var/bridge.toml")
ENV_PREFIX = "TERMIN_BRIDGE_"

_OFFSET = re.compile(r"^(\d{1,4})([dhm])$")
_OFFSET_UNIT = {"d": 86400, "h": 3600, "m": 60}


def parse_offsets(text: str) -> tuple[int, ...]:
    """Seconds for each comma-separated offset, largest first; ``""`` means no reminders."""
    out: set[int] = set()
    for raw in text.split(","):
        part = raw.strip().lower()
        if not part:
            continue
        match = _OFFSET.match(part)
        if match is None:
            raise ValueError(f"invalid reminder offset {raw.strip()!r}: use e.g. 24h, 2h, 30m, 1d")
        seconds = int(match.group(1)) * _OFFSET_UNIT[match.group(2)]
        if not 0 < seconds <= 30 * 86400:
            raise ValueError(f"reminder offset {raw.strip()!r} must be between 1m and 30d")
        out.add(seconds)
    return tuple(sorted(out, reverse=True))


def _port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else "must be a port number 1-65535"


def _port_or_off(value: int) -> str | None:
    return None if 0 <= value <= 65535 else "must be a port from 1 to 65535, or 0 for off"


def _pins(value: str) -> str | None:
    from bridge.exchange.tls import parse_pins

    try:
        parse_pins(value)
    except ValueError as exc:
        return str(exc)
    return None


def _zone_name(value: str) -> str | None:
    from bridge.ical.moments import canonical_tz

    return None if canonical_tz(value) else "must be an IANA or Windows time zone name"


def _positive(value: int) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _workers(value: str) -> str | None:
    if value == "auto" or (value.isdigit() and int(value) <= 64):
        return None
    return "must be auto or a number of processes from 0 to 64"


def _share(value: float) -> str | None:
    return None if 0 < value <= 1 else "must be a share between 0 and 1"


def _window(value: float) -> str | None:
    return None if 0 <= value <= 7 * 86400 else "must be between 0 and 604800 seconds"


def _https_or_empty(value: str) -> str | None:
    if value and not value.startswith("https://"):
        return "must be an https:// URL (Microsoft's sign-in library refuses http)"
    return _url_or_empty(value)


def _url_or_empty(value: str) -> str | None:
    if not value:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return "must be an http:// or https:// URL"
    return None


def _storage_url(value: str) -> str | None:
    if value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
        return None
    return "must start with sqlite:// or postgresql:// (postgresql+psycopg://)"


def _log_format(value: str) -> str | None:
    return None if value in ("text", "json") else "must be 'text' or 'json'"


def _smtp_security(value: str) -> str | None:
    return None if value in ("none", "starttls", "tls") else "must be none, starttls or tls"


def _offsets(value: str) -> str | None:
    try:
        parse_offsets(value)
    except ValueError as exc:
        return str(exc)
    return None


def _networks(value: str) -> str | None:
    from bridge.providers.netguard import parse_networks

    try:
        parse_networks(value)
    except ValueError as exc:
        return str(exc)
    return None


def _language(value: str) -> str | None:
    return None if value in ("de", "en") else "must be de or en"


@dataclass(frozen=True)
class Option:
    """One configuration key: its type, default, documentation and an optional check."""

    type: type
    default: Any
    doc: str
    check: Callable[[Any], str | None] | None = None
    secret: bool = False


GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"
GOOGLE_API_ENDPOINT = "https://www.googleapis.com/calendar/v3/"
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com/common"
MICROSOFT_GRAPH_ENDPOINT = "https://graph.microsoft.com/v1.0"

SCHEMA: dict[str, dict[str, Option]] = {
    "storage": {
        "url": Option(str, "sqlite:///var/bridge.db", "SQLAlchemy URL of the store: sqlite:///PATH "
                      "or postgresql+psycopg://user@host/db", _storage_url),
        "data_dir": Option(str, "var", "directory for the SQLite file, generated secret key and "
                           "runtime state"),
        "sync_history_days": Option(int, 30, "days a CalDAV sync token stays valid after its "
                                    "change", _positive),
    },
    "dav": {
        "host": Option(str, "127.0.0.1", "address the CalDAV server (Radicale) binds to"),
        "port": Option(int, 5232, "CalDAV port", _port),
        "max_resource_size": Option(int, 1_000_000, "largest accepted calendar resource in bytes",
                                    _positive),
        "max_request_size": Option(int, 20_000_000, "largest accepted request body in bytes "
                                   "(whole-calendar uploads)", _positive),
        "fast_path": Option(bool, True, "answer the hot CalDAV reads (PROPFIND Depth:1 of live "
                            "properties, sync-collection, calendar-multiget, GET) from the store "
                            "rows in front of Radicale; false: Radicale answers everything"),
    },
    "http": {
        "host": Option(str, "127.0.0.1", "address the sidecar (admin, API, feeds) binds to"),
        "port": Option(int, 8080, "sidecar port", _port),
        "public_url": Option(str, "", "externally visible base URL of the sidecar, e.g. "
                             "https://termine.example.com (OAuth redirect, feed links, push)",
                             _url_or_empty),
        "metrics_host": Option(str, "127.0.0.1", "address of the separate listener that serves "
                               "only /metrics (keep it on loopback or a private network)"),
        "metrics_port": Option(int, 9464, "port of the /metrics listener; 0: no separate "
                               "listener", _port_or_off),
        "metrics_token": Option(str, "", "bearer token for /metrics: when set, /metrics needs "
                                "'Authorization: Bearer <token>' on both listeners and is also "
                                "served on the public port; empty: /metrics only on the "
                                "metrics listener, 404 on the public port", secret=True),
        "trusted_proxies": Option(str, "", "comma-separated addresses or networks (CIDR) of "
                                  "reverse proxies in front of the sidecar: from these peers the "
                                  "client's address is taken from X-Forwarded-For (login lockout, "
                                  "rate limits, access log); empty: the header is ignored",
                                  _networks),
    },
    "sync": {
        "poll_interval": Option(int, 300, "seconds between polls of a connected calendar for "
                                "changes (each connection can set its own on the admin page)",
                                _positive),
        "push": Option(str, "auto", "push notifications from the calendar provider (Google "
                       "channels, Microsoft subscriptions): auto (on when public_url is https), "
                       "on, off",
                       lambda v: None if v in ("auto", "on", "off") else "must be auto, on or off"),
        "safety_delete_share": Option(float, 0.5, "pause a connection when the deletions from "
                                      "its provider within safety_window would delete more than "
                                      "this share of the calendar", _share),
        "safety_window": Option(float, 600.0, "seconds over which the safety valve counts "
                                "deletions from the provider; a deletion is held (not applied "
                                "here) that long, so a trickle of deletions pauses the "
                                "connection before any is applied; 0 counts each pull alone and "
                                "applies deletions at once", _window),
        "workers": Option(str, "auto", "processes that map big pages of events (an import) "
                          "from the calendar provider beside the sync engine, started when "
                          "needed and stopped when idle: auto (one per core, at most 4; none "
                          "on a single core), or a number; 0 maps in the sidecar's own process",
                          _workers),
    },
    "google": {
        "client_id": Option(str, "", "OAuth client id from the Google Cloud console"),
        "client_secret": Option(str, "", "OAuth client secret", secret=True),
        "auth_uri": Option(str, GOOGLE_AUTH_URI, "OAuth authorisation endpoint", _url_or_empty),
        "token_uri": Option(str, GOOGLE_TOKEN_URI, "OAuth token endpoint", _url_or_empty),
        "revoke_uri": Option(str, GOOGLE_REVOKE_URI, "OAuth revocation endpoint", _url_or_empty),
        "api_endpoint": Option(str, GOOGLE_API_ENDPOINT, "Calendar API v3 base URL (ends in "
                               "/calendar/v3/)", _url_or_empty),
        "requests_per_minute": Option(int, 500, "request budget per Google user (Google's limit "
                                      "is 600)", _positive),
    },
    "microsoft": {
        "client_id": Option(str, "", "application (client) id of the app registration in "
                            "Microsoft Entra"),
        "client_secret": Option(str, "", "client secret of the app registration", secret=True),
        "authority": Option(str, MICROSOFT_AUTHORITY, "sign-in authority: .../common (work, "
                            "school and personal accounts), .../organizations, .../consumers or "
                            ".../<tenant id>", _https_or_empty),
        "graph_endpoint": Option(str, MICROSOFT_GRAPH_ENDPOINT, "Microsoft Graph v1.0 root",
                                 _https_or_empty),
        "ca_file": Option(str, "", "CA certificates to trust for the authority and Graph instead "
                          "of the system's (the offline emulator's; empty: the system's)"),
        "requests_per_minute": Option(int, 800, "request budget per mailbox (Graph allows "
                                      "10,000 per 10 minutes)", _positive),
        "write_attendees": Option(bool, False, "write attendees to Outlook events (Microsoft "
                                  "then e-mails every attendee an invitation; off: attendees "
                                  "stay in termin-bridge only)"),
    },
    "exchange": {
        "ca_file": Option(str, "", "CA certificates to trust for Exchange servers instead of the "
                          "system's (an internal PKI, the offline emulator; empty: the system's)"),
        "pinned_certificates": Option(str, "", "comma-separated host=SHA-256 fingerprint pairs: "
                                      "a server with a certificate no CA vouches for is accepted "
                                      "only with exactly this certificate", _pins),
        "max_connections": Option(int, 2, "concurrent EWS requests per mailbox (Exchange's "
                                  "EWSMaxConcurrency is 27 per user, shared with Outlook)",
                                  _positive),
        "max_wait": Option(int, 120, "seconds a request may wait in all on ErrorServerBusy's "
                           "back-off before it fails and is retried in a later round",
                           _positive),
        "time_zone": Option(str, "Europe/Berlin", "time zone of Exchange calendars (EWS has "
                            "none per calendar) for all-day and floating appointments",
                            _zone_name),
    },
    "providers": {
        "allow_networks": Option(str, "", "comma-separated networks (CIDR) a CalDAV, iCloud or "
                                 "Exchange server URL may point to although they are loopback, "
                                 "private or link-local, e.g. 10.1.2.0/24 for a server on the "
                                 "local network; empty: public addresses only", _networks),
    },
    "security": {
        "secret_key": Option(str, "", "key for sessions, CSRF and token encryption; generated into "
                             "data_dir/secret_key on first start when empty", secret=True),
        "old_secret_keys": Option(str, "", "comma-separated former keys still accepted for "
                                  "decryption during key rotation", secret=True),
    },
    "notifications": {
        "smtp_host": Option(str, "", "SMTP server for customer e-mails (empty: e-mail off)"),
        "smtp_port": Option(int, 587, "SMTP port", _port),
        "smtp_security": Option(str, "starttls", "none, starttls or tls", _smtp_security),
        "smtp_user": Option(str, "", "SMTP user name"),
        "smtp_password": Option(str, "", "SMTP password", secret=True),
        "sender": Option(str, "", "From address of customer e-mails"),
        "reminder_offsets": Option(str, "24h", "comma-separated reminder offsets before the "
                                   "start, e.g. 24h,2h", _offsets),
        "reminder_horizon_days": Option(int, 14, "recurring appointments: reminders are kept "
                                        "planned for the occurrences whose reminder falls in "
                                        "the next this many days (topped up by the worker)",
                                        _positive),
        "enabled": Option(bool, True, "send customer confirmations and reminders at all (each "
                          "calendar can also be switched off through the booking API)"),
        "language": Option(str, "de", "default template language: de or en", _language),
        "template_dir": Option(str, "", "directory with template overrides "
                               "(<lang>/<kind>.txt); empty: the built-in templates"),
        "description_emails": Option(bool, False, "for events without customer fields or "
                                     "attendees, mail an address found in the description"),
        "webhook_url": Option(str, "", "URL that receives every notification as signed JSON "
                              "(empty: webhooks off)", _url_or_empty),
        "webhook_secret": Option(str, "", "Standard Webhooks signing secret (whsec_<base64 "
                                 "key>; any other text is used as the raw HMAC key)",
                                 secret=True),
        "max_attempts": Option(int, 8, "send attempts before a notification is marked failed",
                               _positive),
        "retry_base": Option(float, 30.0, "first retry delay in seconds (doubles per attempt, "
                             "capped at one hour)", _positive),
        "poll_interval": Option(float, 5.0, "seconds between scans for due notifications",
                                _positive),
    },
    "availability": {
        "marker_keywords": Option(str, "Arbeitszeit,Available,Verfügbar", "comma-separated "
                                  "title keywords that mark an event as bookable working hours"),
        "marker_calendar": Option(str, "", "slug of a dedicated calendar of the same owner "
                                  "whose events are all working hours, e.g. arbeitszeit"),
        "all_day_blocks": Option(bool, True, "an all-day event (not transparent) blocks the "
                                 "whole day"),
        "max_days": Option(int, 62, "longest range one availability query may cover",
                           _positive),
    },
    "logging": {
        "format": Option(str, "text", "text or json", _log_format),
        "level": Option(str, "INFO", "DEBUG, INFO, WARNING or ERROR",
                        lambda v: None if v in ("DEBUG", "INFO", "WARNING", "ERROR")
                        else "must be DEBUG, INFO, WARNING or ERROR"),
    },
}


# Keys that moved to another section: still read under their old name (the file's or the
# environment's), as if written under the new one.
MOVED_KEYS: dict[tuple[str, str], tuple[str, str]] = {
    ("google", "poll_interval"): ("sync", "poll_interval"),
    ("google", "push"): ("sync", "push"),
    ("google", "safety_delete_share"): ("sync", "safety_delete_share"),
    ("google", "safety_window"): ("sync", "safety_window"),
    ("microsoft", "poll_interval"): ("sync", "poll_interval"),
    ("microsoft", "push"): ("sync", "push"),
}


def _option(section: str, key: str) -> tuple[str, str, Option | None]:
    """The section, key and option a (possibly moved) key is read as."""
    section, key = MOVED_KEYS.get((section, key), (section, key))
    return section, key, SCHEMA.get(section, {}).get(key)


def _coerce(opt: Option, raw: Any, from_env: bool) -> tuple[Any, str | None]:
    if from_env:
        text = str(raw).strip()
        try:
            if opt.type is bool:
                if text.lower() in ("1", "true", "yes", "on"):
                    return True, None
                if text.lower() in ("0", "false", "no", "off"):
                    return False, None
                return None, "must be true or false"
            if opt.type is int:
                return int(text), None
            if opt.type is float:
                return float(text), None
        except ValueError:
            return None, f"must be a {opt.type.__name__}"
        return text, None
    if opt.type is float and isinstance(raw, int) and not isinstance(raw, bool):
        raw = float(raw)
    if not isinstance(raw, opt.type) or (opt.type is int and isinstance(raw, bool)):
        return None, f"must be a {opt.type.__name__}, got {type(raw).__name__}"
    return raw, None


def table_keys(data: Mapping[str, Any], section: str) -> set[str]:
    """The keys a parsed file sets in ``section``."""
    table = data.get(section)
    return set(table) if isinstance(table, dict) else set()


def load(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    require_file: bool = False,
) -> Settings:
    """Load and validate the configuration; raises ``ConfigError`` listing every problem."""
    env = os.environ if env is None else env
    if path is None:
        path = env.get(ENV_PREFIX + "CONFIG") or DEFAULT_CONFIG_PATH
    path = Path(path)
    problems: list[ConfigProblem] = []
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problem = ConfigProblem("(file)", str(path), f"not valid TOML: {exc}")
            raise ConfigError([problem]) from exc
    elif require_file:
        raise ConfigError([ConfigProblem("(file)", str(path), "file does not exist")])
    values: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, str]] = {}
    for section, options in SCHEMA.items():
        values[section] = {k: o.default for k, o in options.items()}
        sources[section] = dict.fromkeys(options, "default")
    for section, table in data.items():
        if section not in SCHEMA:
            problems.append(ConfigProblem(f"[{section}]", str(path), "unknown section"))
            continue
        if not isinstance(table, dict):
            problems.append(ConfigProblem(f"[{section}]", str(path), "must be a table"))
            continue
        for key, raw in table.items():
            name = f"{section}.{key}"
            target, new_key, opt = _option(section, key)
            if opt is None:
                problems.append(ConfigProblem(name, str(path), "unknown key"))
                continue
            if (target, new_key) != (section, key) and new_key in table_keys(data, target):
                continue  # the key under its new name wins
            value, error = _coerce(opt, raw, from_env=False)
            if error:
                problems.append(ConfigProblem(name, str(path), error))
                continue
            values[target][new_key] = value
            sources[target][new_key] = str(path)
    for var, raw in env.items():
        if not var.startswith(ENV_PREFIX) or var == ENV_PREFIX + "CONFIG":
            continue
        rest = var[len(ENV_PREFIX):].lower()
        section, _, key = rest.partition("_")
        if section not in SCHEMA:
            continue  # other TERMIN_BRIDGE_* variables (e.g. ADMIN_PASSWORD) are not config keys
        target, new_key, opt = _option(section, key)
        if opt is None:
            problems.append(ConfigProblem(f"{section}.{key}", f"env {var}", "unknown key"))
            continue
        if (target, new_key) != (section, key) and \
                f"{ENV_PREFIX}{target}_{new_key}".upper() in env:
            continue  # the variable of the new name wins
        value, error = _coerce(opt, raw, from_env=True)
        if error:
            problems.append(ConfigProblem(f"{section}.{key}", f"env {var}", error))
            continue
        values[target][new_key] = value
        sources[target][new_key] = f"env {var}"
    for section, options in SCHEMA.items():
        for key, opt in options.items():
            if opt.check is None or sources[section][key] == "default":
                continue
            message = opt.check(values[section][key])
            if message:
                problems.append(ConfigProblem(f"{section}.{key}", sources[section][key], message))
    if problems:
        raise ConfigError(problems)
    return Settings.from_values(values, sources, path)


def with_secret_key(settings: Settings, *, create: bool) -> Settings:
    """Settings with the secret key from ``data_dir/secret_key`` when none is configured;
    ``create`` generates that file (mode 0600) on first start, otherwise a missing file leaves
    the key empty (nothing can have been sealed with it yet)."""
    if settings.security.secret_key:
        return settings
    key_file = settings.data_dir / "secret_key"
    if key_file.exists():
        key = key_file.read_text(encoding="utf-8").strip()
    elif not create:
        return settings
    else:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key + "\n")
    return settings.with_overrides(security={"secret_key": key})


def render_example() -> str:
    """The text of ``config/bridge.example.toml``: every key, its default and what it does."""
    out = [
        "# termin-bridge configuration. Every key is optional; the values shown are the defaults.",
        "# Any key can be overridden by the environment: TERMIN_BRIDGE_<SECTION>_<KEY>,",
        "# e.g. TERMIN_BRIDGE_STORAGE_URL=postgresql+psycopg://bridge@db/bridge",
        "",
    ]
    for section, options in SCHEMA.items():
        out.append(f"[{section}]")
        for key, opt in options.items():
            out.append(f"# {opt.doc}")
            default = opt.default
            if isinstance(default, str):
                rendered = '"' + default.replace("\\", "\\\\").replace('"', '\\"') + '"'
            else:
                rendered = str(default).lower() if isinstance(default, bool) else str(default)
            out.append(f"{key} = {rendered}")
        out.append("")
    return "\n".join(out)
