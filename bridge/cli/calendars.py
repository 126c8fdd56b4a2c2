"""``termin-bridge calendar add|list``: calendars (CalDAV URL ``/<owner>/<slug>/``)."""

from __future__ import annotations

import argparse
from typing import Any

from bridge.cli.context import CALENDAR_REF_HELP, CliContext
from bridge.errors import BridgeError
from bridge.ical.timezones import is_valid_iana
from bridge.names import check_calendar_ref

__all__ = ["calendar_props", "register"]


def calendar_props(name: str, color: str | None = None) -> dict[str, str]:
    """WebDAV properties of a new calendar collection."""
    props = {
        "tag": "VCALENDAR",
        "D:displayname": name,
        "C:supported-calendar-component-set": "VEVENT,VTODO",
    }
    if color:
        props["ICAL:calendar-color"] = color
    return props


def _add(args: argparse.Namespace, ctx: CliContext) -> int:
    owner, slug = check_calendar_ref(args.ref)
    if not is_valid_iana(args.timezone):
        raise BridgeError(f"unknown time zone {args.timezone!r}: use an IANA name such as "
                          "Europe/Berlin")
    store = ctx.store
    if store.get_user(owner) is None:
        raise BridgeError(f"no user called {owner!r}; create it with `termin-bridge user add`")
    store.create_collection(
        f"{owner}/{slug}", tag="VCALENDAR", props=calendar_props(args.name or slug, args.color),
        timezone=args.timezone,
    )
    print(f"created calendar {owner}/{slug} (CalDAV: /{owner}/{slug}/)")
    return 0


def _list(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    calendars = store.list_collections(tag="VCALENDAR")
    if not calendars:
        print("no calendars")
    for cal in calendars:
        print(f"{cal.path}\t{cal.display_name}\t{cal.timezone}")
    return 0


def _share(args: argparse.Namespace, ctx: CliContext) -> int:
    owner, slug = check_calendar_ref(args.ref)
    store = ctx.store
    path = f"{owner}/{slug}"
    coll = store.get_collection(path)
    if coll is None or not coll.is_calendar:
        raise BridgeError(f"no calendar {path}")
    if store.get_user(args.user) is None:
        raise BridgeError(f"no user called {args.user!r}")
    if args.user == owner:
        raise BridgeError("a calendar is always shared with its owner")
    level = None if args.revoke else ("write" if args.write else "read")
    store.set_grant(path, args.user, level)
    if level is None:
        print(f"{path} is no longer shared with {args.user}")
    else:
        print(f"{path} shared with {args.user} ({level}); it appears in their calendar app as "
              f"/{args.user}/{owner}~{slug}/")
    return 0


def _shares(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    grants = store.list_grants(args.user)
    if not grants:
        print("no shared calendars")
    for grant in grants:
        print(f"{grant.collection_path}\t{grant.user}\t{grant.level}")
    return 0


def register(sub: Any) -> None:
    """Add the ``calendar`` command group."""
    cal = sub.add_parser("calendar", help="manage calendars")
    commands = cal.add_subparsers(dest="calendar_command", metavar="ACTION")
    commands.required = True
    add = commands.add_parser("add", help="create a calendar OWNER/SLUG")
    add.add_argument("ref", metavar="OWNER/SLUG", help=CALENDAR_REF_HELP)
    add.add_argument("--name", help="display name (default: the slug)")
    add.add_argument("--timezone", default="Europe/Berlin", help="IANA time zone")
    add.add_argument("--color", help="colour, e.g. #3366ccff")
    add.set_defaults(func=_add)
    lst = commands.add_parser("list", help="list calendars")
    lst.set_defaults(func=_list)
    share = commands.add_parser("share", help="give another user read or write access")
    share.add_argument("ref", metavar="OWNER/SLUG", help=CALENDAR_REF_HELP)
    share.add_argument("user", metavar="USER", help="the user who gets access")
    mode = share.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="allow changes (default: read only)")
    mode.add_argument("--revoke", action="store_true", help="remove the access")
    share.set_defaults(func=_share)
    shares = commands.add_parser("shares", help="list who may access which calendar")
    shares.add_argument("--user", help="only calendars shared with this user")
    shares.set_defaults(func=_shares)
