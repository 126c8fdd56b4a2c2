"""The ``termin-bridge`` command line.

Each command group lives in its own module exposing ``register(subparsers)``; the module adds its
parsers and sets ``func`` to a handler ``(args, ctx) -> int``.  ``main`` opens the settings once
(:class:`~bridge.cli.context.CliContext`; the store opens on first use), sets up logging from
them, runs the handler and closes the store; it turns every ``BridgeError`` into one clear line
on stderr and a non-zero exit code: no tracebacks for user mistakes.  Parsers may set
``first_start=True`` (the serving commands: create the default config file and the secret key);
a command that needs neither settings nor store sets ``standalone`` to a handler ``(args) -> int``
instead of ``func`` (the emulator).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from bridge import __version__
from bridge.cli import (
    apikeys,
    calendars,
    connections,
    db,
    emulator,
    ews_emulator,
    feeds,
    ics,
    ms_emulator,
    serve,
    users,
)
from bridge.cli.context import CliContext, Handler
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
    connections,
    apikeys,
    emulator,
    ms_emulator,
    ews_emulator,
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx: CliContext | None = None
    try:
        standalone: Callable[[argparse.Namespace], int] | None = getattr(args, "standalone", None)
        if standalone is not None:  # needs no settings and no store (the emulator)
            setup_logging(args.log_format or "text", args.log_level or "INFO")
            return standalone(args)
        ctx = CliContext.load(args.config, first_start=getattr(args, "first_start", False))
        setup_logging(args.log_format or ctx.settings.logging.format,
                      args.log_level or ctx.settings.logging.level)
        handler: Handler = args.func
        return handler(args, ctx)
    except ConfigError as exc:
        print(f"termin-bridge: {exc}", file=sys.stderr)
        return 2
    except BridgeError as exc:
        print(f"termin-bridge: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if ctx is not None:
            ctx.close()
