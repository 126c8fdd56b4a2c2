"""``termin-bridge serve``, ``dav`` and ``sidecar``: run the servers.

``serve`` runs Radicale (CalDAV) and the sidecar in one process and stops both on Ctrl-C or
SIGTERM.  The CLI is the composition root: it is the one place in ``bridge`` that may start the
Radicale-side code in ``radicale_plugins``.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from bridge.bootstrap import ensure_admin, prepare
from bridge.config import Settings

__all__ = ["register"]

_LOGGER = logging.getLogger(__name__)


def _first_start(args: argparse.Namespace) -> tuple[Settings, Any]:
    settings, store = prepare(args.config, create=True)
    password = ensure_admin(store)
    if password is not None:
        print("created user 'admin' with generated password (shown once): " + password,
              flush=True)
    return settings, store


def _serve(args: argparse.Namespace) -> int:
    # Imported here, not at the top: the servers pull in aiohttp, the sidecar's features and
    # the Google client, which the short commands (user, calendar, feed, ...) do not need.
    from bridge import runner

    settings, store = _first_start(args)
    result: int = runner.run(settings, store, dav=args.command in ("serve", "dav"),
                             sidecar=args.command in ("serve", "sidecar"),
                             demo=getattr(args, "demo", False))
    return result


def register(sub: Any) -> None:
    """Add ``serve``, ``dav`` and ``sidecar``."""
    serve = sub.add_parser("serve", help="run the CalDAV server and the sidecar")
    serve.add_argument("--demo", action="store_true",
                       help="also start the offline Google emulator and point Google at it")
    serve.set_defaults(func=_serve)
    dav = sub.add_parser("dav", help="run only the CalDAV server (Radicale)")
    dav.set_defaults(func=_serve)
    sidecar = sub.add_parser("sidecar", help="run only the sidecar (admin, API, feeds, sync)")
    sidecar.set_defaults(func=_serve)
