"""``termin-bridge apikey create|list|revoke``: booking-API keys per integrator.

The key is printed once at creation; only its sha256 is stored, so a lost key is revoked and
replaced, never recovered.  ``--calendar OWNER/SLUG`` (repeatable) confines a ``read`` or
``write`` key to those calendars; without it a ``read`` key reads every calendar (the default,
as before scopes) and ``--scope write`` makes an ``admin`` key, as a write key was before.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from bridge.cli.context import CliContext
from bridge.errors import BridgeError
from bridge.names import check_calendar_ref
from bridge.store.api import SCOPES, ApiKey

__all__ = ["register"]


def _when(value: float | None) -> str:
    if value is None:
        return "-"
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _create(args: argparse.Namespace, ctx: CliContext) -> int:
    name = args.name.strip()
    if not name or len(name) > 255:
        raise BridgeError("the key name must be 1 to 255 characters")
    calendars = args.calendar
    for ref in calendars or ():
        check_calendar_ref(ref)
    store = ctx.store
    key, secret = store.create_api_key(name, args.scope, calendars)
    print(f"created API key {key.id} ({key.name}, scope {key.scope}, {_reach(key)})")
    if args.scope == "write" and not args.calendar:
        print("a write key without --calendar reaches everything: it was made an admin key")
    print("use it as 'Authorization: Bearer <key>'; it is shown only now:")
    print(secret)
    return 0


def _reach(key: ApiKey) -> str:
    if not key.confined:
        return "every calendar"
    return "calendars " + (", ".join(key.calendar_paths) or "(none left)")


def _list(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    keys = store.list_api_keys()
    if not keys:
        print("no API keys")
    for key in keys:
        state = "active" if key.active else f"revoked {_when(key.revoked_at)}"
        print(f"{key.id}\t{key.name}\t{key.scope}\t{_reach(key)}\t{key.prefix}…"
              f"\tcreated {_when(key.created_at)}\tlast used {_when(key.last_used_at)}\t{state}")
    return 0


def _revoke(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    key = store.revoke_api_key(args.id)
    print(f"revoked API key {key.id} ({key.name})")
    return 0


def register(sub: Any) -> None:
    """Add the ``apikey`` command group."""
    group = sub.add_parser("apikey", help="manage booking-API keys")
    commands = group.add_subparsers(dest="apikey_command", metavar="ACTION")
    commands.required = True
    create = commands.add_parser("create", help="create a key NAME (printed once)")
    create.add_argument("name", metavar="NAME", help="who uses the key, e.g. booking-page")
    create.add_argument("--scope", choices=SCOPES, default="read",
                        help="read: GET only; write: also create, change and cancel; admin: "
                        "everything, every calendar, notifications and calendar settings")
    create.add_argument("--calendar", metavar="OWNER/SLUG", action="append",
                        help="confine a read or write key to this calendar (repeat for more); "
                        "without it: read = every calendar, write = admin")
    create.set_defaults(func=_create)
    lst = commands.add_parser("list", help="list keys (never the secrets)")
    lst.set_defaults(func=_list)
    revoke = commands.add_parser("revoke", help="revoke key ID (effective immediately)")
    revoke.add_argument("id", metavar="ID", type=int, help="key id from `apikey list`")
    revoke.set_defaults(func=_revoke)
