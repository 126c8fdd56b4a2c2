"""``termin-bridge microsoft-emulator``: run the offline Microsoft identity platform + Graph
emulator over https.

Binds 127.0.0.1:8766 by default and generates a CA and a server certificate at every start
(``--tls-dir DIR`` chooses where they are written, else a fresh temporary directory); the log
line names the CA file to trust (msal ``verify=``).  ``--seed FILE`` loads a seed document
(format in ``docs/emulator-microsoft.md``); without it the bundled demo seed is used.
``--state FILE`` restores the whole emulator state from FILE when it exists and writes it back on
Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from bridge.cli.emulator import check_seed_and_state, read_seed
from bridge.errors import EmulatorMissing

__all__ = ["handler", "register"]

_LOGGER = logging.getLogger(__name__)


def handler(args: argparse.Namespace) -> int:
    """Serve the emulator until Ctrl-C or SIGTERM (it needs no settings and no store)."""
    from aiohttp import web

    try:
        from emulators.microsoft.app import create_app
        from emulators.microsoft.seed import apply_seed, demo_seed, load_state
        from emulators.microsoft.state import MsState
        from emulators.shared.tls import make_tls
    except ModuleNotFoundError as exc:
        raise EmulatorMissing(exc, "Microsoft") from exc

    seed: dict[str, Any] = demo_seed() if args.seed is None else read_seed(args.seed)
    check_seed_and_state(args, seed, apply_seed, MsState, load_state)
    tls = make_tls(args.tls_dir, [args.host])
    app = create_app(seed, state_file=args.state, ca_path=str(tls.ca_path))
    url = f"https://{args.host}:{args.port}"
    _LOGGER.info("Microsoft emulator on %s (authority %s/common, Graph %s/v1.0); trust the CA "
                 "certificate %s", url, url, url, tls.ca_path)
    web.run_app(app, host=args.host, port=args.port, ssl_context=tls.server_context(),
                print=None, access_log=None)
    return 0


def register(sub: Any) -> None:
    """Add the ``microsoft-emulator`` subcommand."""
    parser = sub.add_parser(
        "microsoft-emulator",
        help="run the offline Microsoft identity platform + Graph calendar emulator (https)",
        description="Offline Microsoft identity platform v2.0 and Graph v1.0 calendar emulator "
        "for tests and demos, served over https with a CA generated at start.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8766, help="port (default 8766)")
    parser.add_argument("--seed", metavar="FILE", help="seed JSON (default: the demo seed)")
    parser.add_argument("--state", metavar="FILE",
                        help="load state from FILE if it exists; save it there on shutdown")
    parser.add_argument("--tls-dir", metavar="DIR",
                        help="write ca.pem, server.pem and server-key.pem here "
                        "(default: a new temporary directory)")
    parser.set_defaults(standalone=handler)
