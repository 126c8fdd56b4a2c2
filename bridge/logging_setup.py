"""Logging configured in one place: readable lines or JSON lines, secrets scrubbed.

Only ``bridge.cli`` calls :func:`setup_logging`; library modules use ``logging.getLogger``.  A
filter on the root handler redacts anything that looks like a bearer token, OAuth code, refresh
token, password field or feed token path, as a second layer behind "never log secrets".
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time

__all__ = ["JsonFormatter", "SecretScrubber", "logging_config", "redact", "setup_logging"]

_PATTERNS = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[redacted]"),
    (re.compile(r"ya29\.[A-Za-z0-9._-]+"), "[redacted-access-token]"),
    (re.compile(r"1//[A-Za-z0-9._-]+"), "[redacted-refresh-token]"),
    (re.compile(r"4/[A-Za-z0-9._-]{10,}"), "[redacted-code]"),
    (re.compile(r"(/feeds/)[A-Za-z0-9_-]+"), r"\1[redacted]"),
    (
        re.compile(
            r"(?i)((?:password|passwd|secret|token|code|refresh_token|access_token|api_key)"
            r"[\"']?\s*[=:]\s*[\"']?)[^\s&\"',;]+"
        ),
        r"\1[redacted]",
    ),
)


def redact(text: str) -> str:
    """Replace anything that looks like a credential in ``text``."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class SecretScrubber(logging.Filter):
    """Rewrites each record's message with :func:`redact` before it is formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the record in place; never drops it."""
        message = record.getMessage()
        if record.name.startswith("exchangelib") and "\n" in message:
            # exchangelib's failed-request record carries the request's headers and the whole
            # SOAP request and response (appointments, customer data): keep the error line.
            message = message.split("\n", 1)[0] + " (EWS request details withheld)"
        record.msg = redact(message)
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and exception text)."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON line."""
        data = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


_CONFIG: list[tuple[str, str]] = []  # what setup_logging was last called with


def logging_config() -> tuple[str, str] | None:
    """The ``(fmt, level)`` of the last :func:`setup_logging` (worker processes log alike)."""
    return _CONFIG[-1] if _CONFIG else None


def setup_logging(fmt: str = "text", level: str = "INFO") -> None:
    """Configure the root logger once: ``fmt`` is ``text`` or ``json``."""
    _CONFIG[:] = [(fmt, level)]
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(SecretScrubber())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries that log request URLs or bodies at INFO stay quiet unless asked.
    for noisy in ("googleapiclient.discovery_cache", "urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
