"""``termin-bridge sync status|sync-now|re-encrypt``: connection health and a manual sync.

Provider-neutral: every connection (Google, Microsoft, …) is listed with its provider.
``termin-bridge google …`` is the same group under its old name (an alias, same handlers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from bridge.cli.context import CliContext
from bridge.errors import BridgeError
from bridge.google.crypto import cipher_from_settings

__all__ = ["register"]


def _age(stamp: float | None) -> str:
    if not stamp:
        return "never"
    seconds = max(0, int(time.time() - stamp))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def _service(ctx: CliContext) -> Any:
    from bridge.sync.engine import SyncEngine
    from bridge.sync.service import SyncService
    from bridge.web.providers import provider_factories

    settings, store = ctx.settings, ctx.store
    engine = SyncEngine.from_settings(store, settings,
                                    providers=provider_factories(settings, store))
    return SyncService(store, settings, engine)


def _status(args: argparse.Namespace, ctx: CliContext) -> int:
    service = _service(ctx)
    rows = service.status()
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        print("no calendar connections")
        return 0
    worst = 0
    for r in rows:
        state = r["status"] if not r["paused"] else "paused"
        if state != "ok":
            worst = 1
        print(f"#{r['id']} {r['provider']}: /{r['calendar']}/ ⇄ "
              f"{r['google_calendar'] or '(no calendar chosen)'} [{r['account'] or '?'}]")
        print(f"    status {state}, import {r['import'] or '-'}, last pull "
              f"{_age(r['last_pull_at'])}, last push {_age(r['last_push_at'])}")
        print(f"    outbox {r['pending']} pending, {r['parked']} parked; "
              f"{r['open_conflicts']} open conflicts")
        if r["paused"]:
            print(f"    paused: {r['paused']} (confirm on the admin page)")
        if r["last_error"]:
            print(f"    last error: {r['last_error']}")
    return worst


def _sync_now(args: argparse.Namespace, ctx: CliContext) -> int:
    service = _service(ctx)
    results = asyncio.run(service.sync_now(args.connection))
    for cid, result in results.items():
        print(f"#{cid}: " + ", ".join(f"{k} {v}" for k, v in result.items() if v))
    return 0


def _reencrypt(args: argparse.Namespace, ctx: CliContext) -> int:
    settings, store = ctx.settings, ctx.store
    cipher = cipher_from_settings(settings)
    moved = 0
    for record in store.list_connections():
        blob = store.get_refresh_token(record.id)
        if not blob or not cipher.needs_rotation(blob):
            continue
        try:
            token = cipher.decrypt(record.id, blob)
        except BridgeError as exc:
            print(f"#{record.id} {record.provider}: {exc}")
            continue
        store.set_refresh_token(record.id, cipher.encrypt(record.id, token))
        moved += 1
    print(f"re-encrypted {moved} refresh token(s) with the current key")
    return 0


def register(sub: Any) -> None:
    """Add the ``sync`` command group (alias ``google``)."""
    grp = sub.add_parser("sync", aliases=["google"],
                         help="calendar provider connections (Google, Microsoft)")
    commands = grp.add_subparsers(dest="sync_command", metavar="ACTION")
    commands.required = True
    st = commands.add_parser("status", help="connection health (exit 1 when one needs care)")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.set_defaults(func=_status)
    now = commands.add_parser("sync-now", help="pull and push now")
    now.add_argument("--connection", type=int, help="only this connection id")
    now.set_defaults(func=_sync_now)
    rk = commands.add_parser("re-encrypt", help="re-seal refresh tokens with the current key "
                             "(after rotating [security] secret_key)")
    rk.set_defaults(func=_reencrypt)
