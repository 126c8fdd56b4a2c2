"""``termin-bridge user add|list|passwd``: staff and admin accounts."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from bridge.cli.context import CliContext
from bridge.errors import BridgeError
from bridge.names import check_user_name
from bridge.passwords import generate_password, hash_password

__all__ = ["register"]


def _read_password(args: argparse.Namespace, *, may_generate: bool) -> tuple[str, bool]:
    """The new password and whether it was generated (and must be printed once).

    Without a terminal and without ``--password-stdin`` a new account gets a generated password
    (printed once); changing a password that way is refused, so a script piping into
    ``user passwd`` by mistake never replaces a password with one nobody knows.
    """
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BridgeError("no password on standard input")
        return password, False
    if sys.stdin.isatty():
        first = getpass.getpass("New password: ")
        if first != getpass.getpass("Repeat password: "):
            raise BridgeError("the passwords do not match")
        if not first:
            raise BridgeError("the password must not be empty")
        return first, False
    if not may_generate:
        raise BridgeError("standard input is not a terminal: pass --password-stdin and the new "
                          "password on standard input")
    return generate_password(), True


def _add(args: argparse.Namespace, ctx: CliContext) -> int:
    name = check_user_name(args.name)
    store = ctx.store
    password, generated = _read_password(args, may_generate=True)
    store.create_user(name, hash_password(password), role="admin" if args.admin else "staff",
                      email=args.email or "")
    store.create_collection(name, exist_ok=True)
    print(f"created {'admin' if args.admin else 'staff'} user {name}")
    if generated:
        print(f"generated password (shown once): {password}")
    return 0


def _list(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    users = store.list_users()
    if not users:
        print("no users")
    for user in users:
        print(f"{user.name}\t{user.role}\t{user.email}")
    return 0


def _passwd(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    if store.get_user(args.name) is None:
        raise BridgeError(f"no user called {args.name!r}")
    password, _generated = _read_password(args, may_generate=False)
    store.set_password_hash(args.name, hash_password(password))
    print(f"password of {args.name} changed")
    return 0


def register(sub: Any) -> None:
    """Add the ``user`` command group."""
    user = sub.add_parser("user", help="manage staff and admin accounts")
    commands = user.add_subparsers(dest="user_command", metavar="ACTION")
    commands.required = True
    add = commands.add_parser("add", help="create an account")
    add.add_argument("name", metavar="NAME",
                     help="user name: lowercase letters, digits, '.', '_' or '-'")
    add.add_argument("--admin", action="store_true", help="administrator (sees all calendars)")
    add.add_argument("--email", help="e-mail address (calendar-user-address-set)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input")
    add.set_defaults(func=_add)
    lst = commands.add_parser("list", help="list accounts")
    lst.set_defaults(func=_list)
    passwd = commands.add_parser("passwd", help="change a password")
    passwd.add_argument("name", metavar="NAME", help="the account whose password changes")
    passwd.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input")
    passwd.set_defaults(func=_passwd)
