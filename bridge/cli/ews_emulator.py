"""``termin-bridge ews-emulator``: run the offline Exchange Web Services emulator.

Binds 127.0.0.1:8767 by default and serves plain http; ``--tls`` serves https with a CA and a
server certificate generated at every start (``--tls-dir DIR`` chooses where they are written,
else a fresh temporary directory; the log line names the CA file to trust).  The EWS endpoint is
``/EWS/Exchange.asmx``.  ``--seed FILE`` loads a seed document (format in
``docs/emulator-ews.md``); without it the bundled demo seed is used.  ``--state FILE`` restores
the whole emulator state from FILE when it exists and writes it back on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from bridge.cli.emulator import check_seed_and_state, read_seed
from bridge.errors import EmulatorMissing

__all__ = ["DEFAULT_PORT", "handler", "register"]

_LOGGER = logging.getLogger(__name__)
DEFAULT_PORT = 8767


def handler(args: argparse.Namespace) -> int:
    """Serve the emulator until Ctrl-C or SIGTERM (it needs no settings and no store)."""
    from aiohttp import web

    try:
        from emulators.ews.app import create_app
        from emulators.ews.seed import apply_seed, demo_seed, load_state
        from emulators.ews.state import EwsState
        from emulators.shared.tls import make_tls
    except ModuleNotFoundError as exc:
        raise EmulatorMissing(exc, "EWS") from exc

    seed: dict[str, Any] = demo_seed() if args.seed is None else read_seed(args.seed)
    check_seed_and_state(args, seed, apply_seed, EwsState, load_state)
    app = create_app(seed, state_file=args.state)
    ssl_context = None
    scheme = "http"
    if args.tls or args.tls_dir:
        tls = make_tls(args.tls_dir, [args.host], name="EWS")
        ssl_context, scheme = tls.server_context(), "https"
        _LOGGER.info("EWS emulator: trust the CA certificate %s", tls.ca_path)
    _LOGGER.info("EWS emulator on %s://%s:%d/EWS/Exchange.asmx", scheme, args.host, args.port)
    web.run_app(app, host=args.host, port=args.port, ssl_context=ssl_context, print=None,
                access_log=None)
    return 0


def register(sub: Any) -> None:
    """Add the ``ews-emulator`` subcommand."""
    parser = sub.add_parser(
        "ews-emulator",
        help="run the offline Exchange Web Services (EWS) calendar emulator",
        description="Offline Exchange Web Services emulator (the calendar subset exchangelib "
        "uses) for tests and demos, over http or, with --tls, https.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--seed", metavar="FILE", help="seed JSON (default: the demo seed)")
    parser.add_argument("--state", metavar="FILE",
                        help="load state from FILE if it exists; save it there on shutdown")
    parser.add_argument("--tls", action="store_true",
                        help="serve https with a CA generated at start")
    parser.add_argument("--tls-dir", metavar="DIR",
                        help="write ca.pem, server.pem and server-key.pem here (implies --tls; "
                        "default: a new temporary directory)")
    parser.set_defaults(standalone=handler)
