"""What a CalDAV listing says, and the cursor the core stores for it (pure).

Two ways of listing a calendar, chosen per calendar by what the server offers:

* **sync-collection** (RFC 6578): the cursor is ``sync:<token>``; an answer lists changed
  members (``getetag``) and removed ones (row status 404).  A truncated answer (507 on the
  collection's own row) is continued with the token it carries, as the next page.
* **listing** (no sync-collection, or it failed): the cursor is ``ctag:<ctag>|<digest>``; an
  idle poll asks the collection's ``getctag`` (PROPFIND Depth:0) only, a changed one lists
  every member's ``getetag`` (PROPFIND Depth:1) and :func:`diff` turns that into changes
  against the listing the cursor was made from (kept in memory; the digest names it, so a
  cursor whose listing is not known any more is reported expired and the core re-lists).

Event ids are the members' paths (``/dav/cal/uid.ics``), stable however the host is spelled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

from bridge.caldav.davxml import CS, DAV, Multistatus, same_path

__all__ = [
    "ListedItem",
    "Listing",
    "diff",
    "etag_digest",
    "listing_cursor",
    "parse_cursor",
    "path_of",
    "rows_of",
    "sync_cursor",
]


@dataclass(frozen=True)
class ListedItem:
    """One listed member: its path (the event id), its etag, or removed."""

    href: str
    etag: str | None
    deleted: bool = False


@dataclass(frozen=True)
class Listing:
    """A multistatus read as members: the rows, the collection's ctag/sync-token, and
    whether the server truncated the answer (RFC 6578 §3.6: 507 on the collection)."""

    items: list[ListedItem]
    ctag: str | None
    sync_token: str | None
    truncated: bool


def path_of(base: str, href: str) -> str:
    """The path of ``href`` (relative to ``base``), unquoted the way servers compare it."""
    return unquote(urlsplit(urljoin(base, href)).path)


def _is_ics(path: str) -> bool:
    return not path.endswith("/")


def rows_of(answer: Multistatus, collection_url: str) -> Listing:
    """The members of a sync-collection or PROPFIND Depth:1 answer."""
    items: list[ListedItem] = []
    ctag: str | None = None
    truncated = False
    for row in answer.responses:
        if same_path(urljoin(collection_url, row.href), collection_url):
            ctag = row.text(CS, "getctag") or row.text(DAV, "sync-token") or ctag
            truncated = truncated or row.status == 507
            continue
        path = path_of(collection_url, row.href)
        if not _is_ics(path):
            continue  # a sub-collection
        if row.status in (404, 410):
            items.append(ListedItem(path, None, deleted=True))
        elif row.status is None or 200 <= row.status < 300:
            items.append(ListedItem(path, row.text(DAV, "getetag") or None))
    return Listing(items, ctag, answer.sync_token, truncated)


def etag_digest(etags: Mapping[str, str | None]) -> str:
    """A short digest naming a listing (paths and etags)."""
    digest = hashlib.sha256()
    for path in sorted(etags):
        digest.update(f"{path}\t{etags[path] or ''}\n".encode())
    return digest.hexdigest()[:24]


def sync_cursor(token: str) -> str:
    """The cursor of a sync-collection token."""
    return "sync:" + token


def listing_cursor(ctag: str | None, etags: Mapping[str, str | None]) -> str:
    """The cursor of a ctag listing."""
    return f"ctag:{ctag or ''}|{etag_digest(etags)}"


def parse_cursor(cursor: str) -> tuple[str, str, str]:
    """``(mode, token_or_ctag, digest)``: mode ``sync`` or ``ctag``; ``("", "", "")`` for
    anything else (an unreadable cursor)."""
    if cursor.startswith("sync:"):
        return "sync", cursor[5:], ""
    if cursor.startswith("ctag:") and "|" in cursor:
        ctag, digest = cursor[5:].rsplit("|", 1)
        return "ctag", ctag, digest
    return "", "", ""


def diff(old: Mapping[str, str | None], new: Iterable[ListedItem]) -> list[ListedItem]:
    """The members that are new or have another etag, and the removed ones."""
    seen: set[str] = set()
    out: list[ListedItem] = []
    for item in new:
        seen.add(item.href)
        if item.href not in old or old[item.href] != item.etag or item.etag is None:
            out.append(item)
    out += [ListedItem(path, None, deleted=True) for path in old if path not in seen]
    return out
