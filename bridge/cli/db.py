"""``termin-bridge db upgrade``: apply schema migrations."""

from __future__ import annotations

import argparse
from typing import Any

from bridge.cli.context import CliContext
from bridge.store.engine import make_engine
from bridge.store.migrate import current_revision, head_revision, upgrade

__all__ = ["register"]


def _upgrade(args: argparse.Namespace, ctx: CliContext) -> int:
    engine = make_engine(ctx.settings.storage_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    if before == after:
        print(f"database is up to date (revision {after})")
    else:
        print(f"database upgraded from {before or 'empty'} to {after} (head {head_revision()})")
    engine.dispose()
    return 0


def register(sub: Any) -> None:
    """Add the ``db`` command group."""
    db = sub.add_parser("db", help="database maintenance")
    commands = db.add_subparsers(dest="db_command", metavar="ACTION")
    commands.required = True
    up = commands.add_parser("upgrade", help="apply schema migrations")
    up.set_defaults(func=_upgrade)
