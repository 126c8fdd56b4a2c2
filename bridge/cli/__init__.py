"""The ``termin-bridge`` command line.

Each command group lives in its own module exposing ``register(subparsers)``; the module adds its
parsers and sets ``func`` to a handler ``(args) -> int``.  ``main`` turns every ``BridgeError`` into
one clear line on stderr and a non-zero exit code: no tracebacks for user mistakes.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bridge import __version__
from bridge.cli import apikeys, calendars, db, emulator, feeds, google, ics, serve, users
from bridge.config import load
from bridge.errors import BridgeError, ConfigError
from bridge.logging_setup import setup_logging

__all__ = ["build_parser", "main"]

_LOGGER = logging.getLogger(__name__)

# Modules under bridge.cli that register subcommands, in help order.
COMMAND_MODULES = (
    serve,
    users,
    calendars,
    ics,
    db,
    feeds,
    google,
    apikeys,
    emulator,
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="termin-bridge",
        description="Appointment store bridged to CalDAV phones, Google Calendar and ICS feeds.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config", metavar="FILE", help="TOML config file (default: $TERMIN_BRIDGE_CONFIG "
        "or ./var/bridge.toml)"
    )
    parser.add_argument(
        "--log-format", choices=("text", "json"), help="log line format (default: [logging] "
        "format, else text)"
    )
    parser.add_argument(
        "--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="minimum log level (default: [logging] level, else INFO)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def _logging_defaults(config: str | None) -> tuple[str, str]:
    """``[logging]`` format and level from the configuration (defaults if it cannot be read:
    the command itself then reports the configuration problems)."""
    try:
        settings = load(config)
    except ConfigError:
        return "text", "INFO"
    return str(settings.get("logging", "format")), str(settings.get("logging", "level"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    fmt, level = _logging_defaults(args.config)
    setup_logging(args.log_format or fmt, args.log_level or level)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"termin-bridge: {exc}", file=sys.stderr)
        return 2
    except BridgeError as exc:
        print(f"termin-bridge: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
