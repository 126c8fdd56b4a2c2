"""``termin-bridge google-emulator``: run the offline Google Calendar API + OAuth emulator.

Binds 127.0.0.1:8765 by default.  ``--seed FILE`` loads a seed document (format in
``docs/emulator.md``); without it the bundled demo seed is used.  ``--state FILE`` restores the
whole emulator state from FILE when it exists and writes it back on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.errors import ConfigError, ConfigProblem, EmulatorMissing

__all__ = ["check_seed_and_state", "handler", "read_seed", "register"]

_LOGGER = logging.getLogger(__name__)


def _load_seed(path: str | None) -> dict[str, Any]:
    from emulators.google.seed import demo_seed

    if path is None:
        return demo_seed()
    return read_seed(path)


def read_seed(path: str) -> dict[str, Any]:
    """The JSON object in the ``--seed`` file, or a one-line :class:`ConfigError`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([ConfigProblem("--seed", path, f"cannot read: {exc.strerror}")]) from exc
    except ValueError as exc:
        raise ConfigError([ConfigProblem("--seed", path, f"not valid JSON: {exc}")]) from exc
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem("--seed", path, "must be a JSON object")])
    return data


def check_seed_and_state(
    args: argparse.Namespace, seed: dict[str, Any], apply_seed: Callable[[Any, Any], None],
    new_state: Callable[[], Any], load_state: Callable[[Any], Any],
) -> None:
    """Try the seed on an empty state and read the ``--state`` file before binding, so a
    mistake is one clear line (a :class:`ConfigError`)."""
    try:
        apply_seed(new_state(), seed)
    except ValueError as exc:  # SeedError is a ValueError
        raise ConfigError([ConfigProblem("--seed", args.seed or "demo seed", str(exc))]) from exc
    if args.state and Path(args.state).exists():
        try:
            load_state(json.loads(Path(args.state).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ConfigError([ConfigProblem("--state", args.state,
                                             f"not a saved emulator state: {exc}")]) from exc


def handler(args: argparse.Namespace) -> int:
    """Serve the emulator until Ctrl-C or SIGTERM (it needs no settings and no store)."""
    from aiohttp import web

    try:
        from emulators.google.app import create_app
        from emulators.google.seed import apply_seed, load_state
        from emulators.google.state import EmulatorState
    except ModuleNotFoundError as exc:
        raise EmulatorMissing(exc) from exc

    seed = _load_seed(args.seed)
    check_seed_and_state(args, seed, apply_seed, EmulatorState, load_state)
    app = create_app(seed, state_file=args.state)
    url = f"http://{args.host}:{args.port}"
    _LOGGER.info("Google emulator on %s (API %s/calendar/v3/, OAuth %s/o/oauth2/v2/auth)",
                 url, url, url)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    return 0


def register(sub: Any) -> None:
    """Add the ``google-emulator`` subcommand."""
    parser = sub.add_parser(
        "google-emulator",
        help="run the offline Google Calendar API + OAuth emulator",
        description="Offline Google Calendar API v3 and OAuth 2 emulator for tests and demos.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument("--seed", metavar="FILE", help="seed JSON (default: the demo seed)")
    parser.add_argument("--state", metavar="FILE",
                        help="load state from FILE if it exists; save it there on shutdown")
    parser.set_defaults(standalone=handler)
