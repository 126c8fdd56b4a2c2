"""``termin-bridge calendar add|list``: calendars (CalDAV URL ``/<owner>/<slug>/``)."""

from __future__ import annotations

import argparse
from typing import Any

from bridge.bootstrap import prepare
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


def _add(args: argparse.Namespace) -> int:
    owner, slug = check_calendar_ref(args.ref)
    if not is_valid_iana(args.timezone):
        raise BridgeError(f"unknown time zone {args.timezone!r}: use an IANA name such as "
                          "Europe/Berlin")
    _settings, store = prepare(args.config, create=True)
    if store.get_user(owner) is None:
        raise BridgeError(f"no user called {owner!r}; create it with `termin-bridge user add`")
    store.create_collection(
        f"{owner}/{slug}", tag="VCALENDAR", props=calendar_props(args.name or slug, args.color),
        timezone=args.timezone,
    )
    print(f"created calendar {owner}/{slug} (CalDAV: /{owner}/{slug}/)")
    return 0


def _list(args: argparse.Namespace) -> int:
    _settings, store = prepare(args.config, create=True)
    calendars = store.list_collections(tag="VCALENDAR")
    if not calendars:
        print("no calendars")
    for cal in calendars:
        print(f"{cal.path}\t{cal.display_name}\t{cal.timezone}")
    return 0


def register(sub: Any) -> None:
    """Add the ``calendar`` command group."""
    cal = sub.add_parser("calendar", help="manage calendars")
    commands = cal.add_subparsers(dest="calendar_command", metavar="ACTION")
    commands.required = True
    add = commands.add_parser("add", help="create a calendar OWNER/SLUG")
    add.add_argument("ref", metavar="OWNER/SLUG")
    add.add_argument("--name", help="display name (default: the slug)")
    add.add_argument("--timezone", default="Europe/Berlin", help="IANA time zone")
    add.add_argument("--color", help="colour, e.g. #3366ccff")
    add.set_defaults(func=_add)
    lst = commands.add_parser("list", help="list calendars")
    lst.set_defaults(func=_list)
