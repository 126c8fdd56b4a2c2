"""``termin-bridge feed create|list|revoke|rotate``: ICS feed URLs for integrators.

A feed URL is a secret: it is printed once by ``create`` and ``rotate`` and never again (only
its hash is stored).  ``list`` shows ids, calendars and usage, never URLs.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from bridge.cli.context import CALENDAR_REF_HELP, CliContext
from bridge.config import Settings
from bridge.errors import BridgeError
from bridge.feeds.urls import feed_url, webcal_url
from bridge.names import check_calendar_ref
from bridge.store.feeds import DEFAULT_FUTURE_DAYS, DEFAULT_PAST_DAYS, PRIVACY_LEVELS, Feed

__all__ = ["register"]


def _when(ts: float | None) -> str:
    if ts is None:
        return "never"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _print_url(settings: Settings, feed: Feed, token: str) -> None:
    url = feed_url(settings, token)
    print(f"  URL:    {url}")
    print(f"  webcal: {webcal_url(url)}")
    print("This URL is shown only now. Anyone who has it can read the calendar at this "
          f"privacy level; revoke it with `termin-bridge feed revoke {feed.id}`.")


def _create(args: argparse.Namespace, ctx: CliContext) -> int:
    owner, slug = check_calendar_ref(args.ref)
    settings, store = ctx.settings, ctx.store
    calendar = store.get_collection(f"{owner}/{slug}")
    if calendar is None or not calendar.is_calendar:
        raise BridgeError(f"no calendar {owner}/{slug}; see `termin-bridge calendar list`")
    feed, token = store.create_feed(
        calendar.path, privacy=args.privacy, past_days=args.past_days,
        future_days=args.future_days, label=args.label,
    )
    print(f"created feed {feed.id} for {feed.collection_path} (privacy {feed.privacy}, "
          f"{feed.past_days} days back, {feed.future_days} days ahead)")
    _print_url(settings, feed, token)
    return 0


def _list(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    feeds = store.list_feeds()
    if not feeds:
        print("no feeds")
        return 0
    print("ID\tCALENDAR\tPRIVACY\tWINDOW\tSTATUS\tCREATED\tLAST USED\tLABEL")
    for feed in feeds:
        status = "active" if feed.active else f"revoked {_when(feed.revoked_at)}"
        print(f"{feed.id}\t{feed.collection_path}\t{feed.privacy}\t"
              f"-{feed.past_days}d/+{feed.future_days}d\t{status}\t{_when(feed.created_at)}\t"
              f"{_when(feed.last_used_at)}\t{feed.label}")
    return 0


def _revoke(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    feed = store.revoke_feed(args.id)
    print(f"revoked feed {feed.id} ({feed.collection_path}); its URL now answers 404")
    return 0


def _rotate(args: argparse.Namespace, ctx: CliContext) -> int:
    settings, store = ctx.settings, ctx.store
    feed, token = store.rotate_feed(args.id)
    print(f"new URL for feed {feed.id} ({feed.collection_path}); the old one answers 404 now")
    _print_url(settings, feed, token)
    return 0


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from exc
    if not 0 <= value <= 3660:
        raise argparse.ArgumentTypeError("days must be 0 to 3660")
    return value


def register(sub: Any) -> None:
    """Add the ``feed`` command group."""
    feed = sub.add_parser("feed", help="manage ICS feed URLs for integrators")
    commands = feed.add_subparsers(dest="feed_command", metavar="ACTION")
    commands.required = True
    create = commands.add_parser("create", help="create a feed URL for calendar OWNER/SLUG")
    create.add_argument("ref", metavar="OWNER/SLUG", help=CALENDAR_REF_HELP)
    create.add_argument(
        "--privacy", choices=PRIVACY_LEVELS, default="limited",
        help="full: everything; limited: service and times, no customer data (default); "
        "busy: only 'Busy' blocks",
    )
    create.add_argument("--past-days", type=_days, default=DEFAULT_PAST_DAYS,
                        help=f"days of history (default {DEFAULT_PAST_DAYS})")
    create.add_argument("--future-days", type=_days, default=DEFAULT_FUTURE_DAYS,
                        help=f"days ahead (default {DEFAULT_FUTURE_DAYS})")
    create.add_argument("--label", default="", help="a note saying who the URL is for")
    create.set_defaults(func=_create)
    lst = commands.add_parser("list", help="list feeds (URLs are never shown again)")
    lst.set_defaults(func=_list)
    revoke = commands.add_parser("revoke", help="revoke a feed; its URL stops working")
    revoke.add_argument("id", type=int, metavar="ID", help="feed id from `feed list`")
    revoke.set_defaults(func=_revoke)
    rotate = commands.add_parser("rotate", help="replace a feed's URL (the old one stops working)")
    rotate.add_argument("id", type=int, metavar="ID", help="feed id from `feed list`")
    rotate.set_defaults(func=_rotate)
