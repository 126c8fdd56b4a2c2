"""Radicale storage plugin on the termin-bridge store.

Use it with ``[storage] type = radicale_plugins.storage``.

Options (``PLUGIN_CONFIG_SCHEMA``): ``[storage] bridge_db_url`` is the store's SQLAlchemy URL;
when empty, an SQLite database ``termin-bridge.db`` inside ``[storage] filesystem_folder`` is used.
Every collection Radicale can create is a store collection (calendars, address books, plain
collections, principals); items are store rows.  Locking relies on database transactions: reads
take no lock at all, and writes are serialised per process plus, across processes, by a
PostgreSQL advisory lock or an ``flock`` on a file next to the SQLite database, so Radicale's
check-then-write sequences (``If-Match``, UID checks) stay consistent.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from radicale import pathutils
from radicale import storage as radicale_storage
from sqlalchemy.engine import make_url

from bridge.errors import StoreError
from bridge.model import ParsedResource
from bridge.store import SqlStore
from bridge.store.engine import advisory_lock, is_postgres
from radicale_plugins.aliases import SEPARATOR, alias_path, alias_target, is_alias_name
from radicale_plugins.collection import (
    ORIGIN,
    SYNC_TOKEN_LOG_FILTER,
    AliasCollection,
    Collection,
    timezone_of,
)
from radicale_plugins.items import OccurrenceCache, Prefilter, parse_upload, to_item
from radicale_plugins.store_registry import store_for

__all__ = ["PLUGIN_CONFIG_SCHEMA", "Storage"]

_LOGGER = logging.getLogger(__name__)

PLUGIN_CONFIG_SCHEMA: dict[str, dict[str, dict[str, Any]]] = {
    "storage": {
        "bridge_db_url": {
            "value": "",
            "help": "SQLAlchemy URL of the termin-bridge store (empty: an SQLite file in "
            "filesystem_folder)",
            "type": str,
        },
    },
}

_RESOURCE_SUFFIXES = (".ics", ".vcf")

# Key of the PostgreSQL advisory lock taken by CalDAV writes ("tbcaldav" as an integer).
_PG_LOCK_KEY = 0x746263616C646176 & 0x7FFFFFFFFFFFFFFF


class Storage(radicale_storage.BaseStorage):
    """Radicale's storage interface over :class:`~bridge.store.SqlStore`."""

    _supports_unicode = True

    def __init__(self, configuration: Any) -> None:
        super().__init__(configuration.copy(PLUGIN_CONFIG_SCHEMA))
        if configuration.get("auth", "type") == "none":
            raise RuntimeError(
                "termin-bridge refuses to serve CalDAV with '[auth] type = none': every "
                "calendar would be readable and writable by anyone"
            )
        self.store: SqlStore = store_for(self.configuration)
        logging.getLogger("radicale").addFilter(SYNC_TOKEN_LOG_FILTER)  # once (same object)
        self.max_resource_size = int(configuration.get("server", "max_resource_size"))
        self.prefilter = Prefilter(OccurrenceCache())
        self._write_lock = threading.Lock()
        self._lock_file: Path | None = None
        url = make_url(str(self.store.engine.url))
        if url.get_backend_name() == "sqlite" and url.database:
            self._lock_file = Path(url.database).with_name(Path(url.database).name
                                                           + ".caldav-lock")

    # -- discovery ---------------------------------------------------------------------------
    def discover(
        self,
        path: str,
        depth: str = "0",
        child_context_manager: Callable[[str, str | None], AbstractContextManager[None]]
        | None = None,
        user_groups: Iterable[str] = frozenset(),
    ) -> Iterator[Any]:
        """The collection or item at ``path`` (lazily), then its items and child collections.

        A calendar home also lists the calendars shared with its owner, as aliases
        (:mod:`radicale_plugins.aliases`); an alias path resolves to its target while the grant
        exists.
        """
        sane = pathutils.strip_path(path)
        if not sane:
            yield Collection(self, None)
            if depth != "0":
                for top in self.store.list_collections(""):
                    yield Collection(self, top)
            return
        parent, _, href = sane.rpartition("/")
        if parent and href.lower().endswith(_RESOURCE_SUFFIXES):
            # Looks like a resource: one lookup fewer.  Radicale never puts a collection inside
            # a calendar or address book, so a tagged parent settles the question.
            parent_collection = self._collection(parent)
            if parent_collection is not None and parent_collection.tag:
                yield from self._item(parent_collection, href)
                return
        collection = self._collection(sane)
        if collection is not None:
            yield collection
            if depth != "0":
                yield from collection.get_all()
                if not isinstance(collection, AliasCollection):
                    for child in self.store.list_collections(sane):
                        yield Collection(self, child)
                if "/" not in sane:
                    # The calendar home: calendars other users shared with its owner.
                    for target, level in self.store.list_shared(sane):
                        yield AliasCollection(self, target, alias_path(sane, target.path), level)
            return
        if not parent:
            return
        parent_collection = self._collection(parent)
        if parent_collection is not None and parent_collection.tag:
            yield from self._item(parent_collection, href)

    def _collection(self, sane: str) -> Collection | None:
        """The collection at a sanitized path; an alias resolves to its (still granted) target."""
        alias = alias_target(sane)
        if alias is not None:
            shared = self.store.get_shared(*alias)
            return AliasCollection(self, shared[0], sane, shared[1]) if shared else None
        name = sane.partition("/")[2]
        if is_alias_name(name) and "/" not in name:
            return None  # reserved alias form that names no shared calendar
        record = self.store.get_collection(sane)
        return Collection(self, record) if record is not None else None

    def _item(self, parent: Collection, href: str) -> Iterator[Any]:
        if not pathutils.is_safe_path_component(href):
            return
        item = self.store.get_item(parent.store_path, href)
        if item is not None:
            yield from parent.visible((item,))

    # -- collection writes -------------------------------------------------------------------
    def create_collection(
        self,
        href: str,
        items: Iterable[Any] | None = None,
        props: Mapping[str, str] | None = None,
    ) -> tuple[Collection, dict[str, Any], list[str]]:
        """Create a collection (and parents); with ``props``, replace it and its items."""
        sane = pathutils.strip_path(href)
        if any(is_alias_name(part) for part in sane.split("/")):
            raise ValueError(f"'{SEPARATOR}' is reserved for shared calendars")
        if not sane:
            if props is None:
                return Collection(self, None), {}, []
            raise ValueError("the root collection cannot be replaced")
        if props is None:
            created = self.store.create_collection(sane, exist_ok=True)
            return Collection(self, created), {}, []
        meta = dict(props)
        tag = meta.get("tag", "")
        parsed: list[ParsedResource] = (
            [parse_upload(i, tag, self.max_resource_size) for i in items or ()] if tag else []
        )
        timezone = timezone_of(meta)
        suffix = ".vcf" if tag == "VADDRESSBOOK" else ".ics"
        try:
            existing = self.store.get_collection(sane)
            if existing is None:
                self.store.create_collection(
                    sane, tag=tag, props=meta, timezone=timezone or "UTC"
                )
                before = {}
                if parsed:
                    self.store.bulk_put(sane, parsed, origin=ORIGIN, suffix=suffix)
            else:
                before = {r.href: r for r in self.store.list_items(sane)}
                self.store.set_collection_meta(sane, meta, timezone=timezone)
                self.store.replace_all_items(sane, parsed, origin=ORIGIN, suffix=suffix)
        except StoreError as exc:
            raise ValueError(str(exc)) from exc
        current = self.store.get_collection(sane)
        if current is None:
            raise ValueError(f"collection /{sane}/ vanished")
        collection = Collection(self, current)
        after = self.store.list_items(sane) if parsed else []
        replaced = {r.href: to_item(before[r.href], collection) for r in after if r.href in before}
        new_hrefs = [r.href for r in after if r.href not in before]
        return collection, replaced, new_hrefs

    def move(self, item: Any, to_collection: Any, to_href: str) -> None:
        """Move an item to another collection or name (replacing an item there)."""
        if not pathutils.is_safe_path_component(to_href):
            raise ValueError(f"unsafe item name {to_href!r}")
        try:
            self.store.move_item(item.collection.store_path, item.href,
                                 to_collection.store_path, to_href, origin=ORIGIN)
        except StoreError as exc:
            raise ValueError(str(exc)) from exc

    # -- locking and maintenance ---------------------------------------------------------------
    @contextmanager
    def acquire_lock(self, mode: str, user: str = "", *args: Any, **kwargs: Any) -> Iterator[None]:
        """Reads: no lock (each query is a transaction). Writes: one writer at a time."""
        if mode != "w":
            yield
            return
        with self._write_lock:
            if self._lock_file is not None:
                with self._lock_file.open("a") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX)  # other processes on the same file
                    try:
                        yield
                    finally:
                        fcntl.flock(handle, fcntl.LOCK_UN)
                return
            if not is_postgres(self.store.engine):
                yield
                return
            with advisory_lock(self.store.engine, _PG_LOCK_KEY):
                yield

    def verify(self) -> bool:
        """Check that every collection and item can be read."""
        ok = True
        for record in self.store.list_collections():
            try:
                self.store.list_items(record.path)
            except Exception:
                _LOGGER.exception("cannot read collection /%s/", record.path)
                ok = False
        return ok
