"""``termin-bridge serve``, ``dav`` and ``sidecar``: run the servers.

``serve`` runs Radicale (CalDAV) and the sidecar in one process and stops both on Ctrl-C or
SIGTERM.  These are the only commands that create anything before they run (``first_start``):
the configuration file at the default path (never one named by ``--config``), the secret key,
and the ``admin`` user.  The CLI is the composition root: it is the one place in ``bridge``
that may start the Radicale-side code in ``radicale_plugins``.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from bridge.bootstrap import ensure_admin
from bridge.cli.context import CliContext

__all__ = ["register"]

_LOGGER = logging.getLogger(__name__)
DEMO_PORT = 8765  # the same default as `termin-bridge google-emulator`
DEMO_MICROSOFT_PORT = 8766  # the same default as `termin-bridge microsoft-emulator`
DEMO_EWS_PORT = 8767  # the same default as `termin-bridge ews-emulator`


def _serve(args: argparse.Namespace, ctx: CliContext) -> int:
    # Imported here, not at the top: the servers pull in aiohttp, the sidecar's features and
    # the Google client, which the short commands (user, calendar, feed, ...) do not need.
    from bridge import runner

    password = ensure_admin(ctx.store)
    if password is not None:
        print("created user 'admin' with generated password (shown once): " + password,
              flush=True)
    result: int = runner.run(ctx.settings, ctx.store, dav=args.command in ("serve", "dav"),
                             sidecar=args.command in ("serve", "sidecar"),
                             demo=getattr(args, "demo", False),
                             demo_port=getattr(args, "demo_port", 0),
                             demo_microsoft_port=getattr(args, "demo_microsoft_port", 0),
                             demo_ews_port=getattr(args, "demo_ews_port", 0))
    return result


def register(sub: Any) -> None:
    """Add ``serve``, ``dav`` and ``sidecar``."""
    serve = sub.add_parser("serve", help="run the CalDAV server and the sidecar")
    serve.add_argument("--demo", action="store_true",
                       help="also start the offline Google, Microsoft and Exchange (EWS) "
                       "emulators and point the providers at them")
    serve.add_argument("--demo-port", type=int, default=DEMO_PORT, metavar="PORT",
                       help=f"port of the demo's Google emulator on 127.0.0.1 "
                       f"(default {DEMO_PORT}; 0: any free port)")
    serve.add_argument("--demo-microsoft-port", type=int, default=DEMO_MICROSOFT_PORT,
                       metavar="PORT", help="port of the demo's Microsoft emulator (https) on "
                       f"127.0.0.1 (default {DEMO_MICROSOFT_PORT}; 0: any free port)")
    serve.add_argument("--demo-ews-port", type=int, default=DEMO_EWS_PORT, metavar="PORT",
                       help=f"port of the demo's Exchange (EWS) emulator on 127.0.0.1 "
                       f"(default {DEMO_EWS_PORT}; 0: any free port)")
    serve.set_defaults(func=_serve, first_start=True)
    dav = sub.add_parser("dav", help="run only the CalDAV server (Radicale)")
    dav.set_defaults(func=_serve, first_start=True)
    sidecar = sub.add_parser("sidecar", help="run only the sidecar (admin, API, feeds, sync)")
    sidecar.set_defaults(func=_serve, first_start=True)
