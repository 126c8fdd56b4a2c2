"""Item reads: by href, by UID, time-range candidates, and the change log."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import BindParameter, Select, and_, bindparam, func, select

from bridge.errors import SyncTokenInvalid
from bridge.model import Change, Collection, ItemHead, ItemRecord
from bridge.store import schema as s
from bridge.store.base import StoreBase, clean_path

__all__ = ["ItemReadsMixin"]


class ItemReadsMixin(StoreBase):
    """Read access to items and the change log (each call is one consistent snapshot)."""

    def get_item(self, path: str, href: str) -> ItemRecord | None:
        """The item ``href`` of collection ``path``, or ``None``."""
        return self.get_items(path, [href]).get(href)

    def get_items(self, path: str, hrefs: Iterable[str]) -> dict[str, ItemRecord]:
        """The existing items among ``hrefs``, by href (one query per 500 hrefs)."""
        path = clean_path(path)
        wanted = list(dict.fromkeys(hrefs))
        found: dict[str, ItemRecord] = {}
        with self._read() as conn:
            for i in range(0, len(wanted), 500):
                rows = conn.execute(_items_by_href(), {"path": path,
                                                       "hrefs": wanted[i : i + 500]}).all()
                for row in rows:
                    found[row.href] = self._item(path, row)
        return found

    def collection_and_item(
        self, principal: str, path: str, href: str | None = None
    ) -> tuple[bool, Collection | None, ItemRecord | None]:
        """Whether the principal exists, the collection ``path``, and its item ``href``.

        One statement (the CalDAV fast path's GET costs one round trip).
        """
        principal, path = clean_path(principal), clean_path(path)
        with self._read() as conn:
            rows = conn.execute(_collection_and_item(), {
                "principal": principal, "path": path, "href": href or ""}).all()
        exists = any(r.path == principal for r in rows)
        row = next((r for r in rows if r.path == path), None)
        if row is None:
            return exists, None, None
        item = None
        if row.item_href is not None:
            item = self._item(path, cast(Any, _Prefixed(row._mapping, "item_")))
        return exists, self._collection(row), item

    def get_item_by_uid(self, path: str, uid: str) -> ItemRecord | None:
        """The item of collection ``path`` with that UID, or ``None``."""
        path = clean_path(path)
        with self._read() as conn:
            row = conn.execute(
                select(s.items)
                .join(s.collections)
                .where(s.collections.c.path == path, s.items.c.uid == uid)
            ).first()
        return self._item(path, row) if row is not None else None

    def has_uid(self, path: str, uid: str) -> str | None:
        """The href using ``uid`` in collection ``path`` (index lookup), or ``None``."""
        with self._read() as conn:
            row = conn.execute(
                select(s.items.c.href)
                .join(s.collections)
                .where(s.collections.c.path == clean_path(path), s.items.c.uid == uid)
            ).first()
        return row.href if row is not None else None

    def list_items(self, path: str) -> list[ItemRecord]:
        """Every item of a collection, by href."""
        path = clean_path(path)
        with self._read() as conn:
            rows = conn.execute(
                select(s.items)
                .join(s.collections)
                .where(s.collections.c.path == path)
                .order_by(s.items.c.href)
            ).all()
        return [self._item(path, r) for r in rows]

    def list_item_heads(self, path: str) -> list[ItemHead]:
        """Href, etag, component, modification time and text length of every item, by href.

        For listings that need no text (PROPFIND, sync-collection with ``getetag``).
        """
        path = clean_path(path)
        i = s.items.c
        with self._read() as conn:
            # Each row is converted as it is fetched: no second list of 100,000 live rows for
            # the garbage collector to walk again and again.
            return [ItemHead._make(r) for r in conn.execute(
                select(i.href, i.etag, i.component, i.modified_at,
                       func.length(i.text).label("chars"))
                .join(s.collections)
                .where(s.collections.c.path == path)
                .order_by(i.href)
            )]

    def items_in_range(
        self, path: str, start_ts: int, end_ts: int, component: str | None = None
    ) -> list[ItemRecord]:
        """Items whose indexed span overlaps ``[start_ts, end_ts]`` (index-backed candidates).

        The span covers every occurrence of a series, so the result is a superset of the items
        with an occurrence in the range; callers that need exactness check recurring items.
        """
        path = clean_path(path)
        query = (
            select(s.items)
            .join(s.collections)
            .where(
                s.collections.c.path == path,
                s.items.c.start_ts <= end_ts,
                s.items.c.end_ts >= start_ts,
            )
            .order_by(s.items.c.start_ts, s.items.c.href)
        )
        if component is not None:
            query = query.where(s.items.c.component == component)
        with self._read() as conn:
            return [self._item(path, r) for r in conn.execute(query).all()]

    def changes_since(self, path: str, revision: int, epoch: str | None = None) -> Change:
        """Hrefs created, changed or deleted after ``revision``; ``SyncTokenInvalid`` if too old.

        ``epoch`` guards against a token of a deleted and re-created collection.
        """
        path = clean_path(path)
        with self._read() as conn:
            coll = self._collection_row(conn, path)
            token = f"{epoch}:{revision}"
            if epoch is not None and epoch != coll.sync_epoch:
                raise SyncTokenInvalid(token)
            if revision < coll.min_revision or revision > coll.revision:
                raise SyncTokenInvalid(token)
            if revision == coll.revision:
                return Change(coll.revision, ())
            rows = conn.execute(
                select(s.changes.c.href)
                .where(s.changes.c.collection_id == coll.id, s.changes.c.revision > revision)
                .distinct()
            ).all()
        return Change(coll.revision, tuple(sorted(r.href for r in rows)))


@functools.cache
def _items_by_href() -> Select[Any]:
    """Items of the collection ``path`` among ``hrefs`` (built once)."""
    i = s.items
    return (select(i).join(s.collections).where(s.collections.c.path == bindparam("path"),
                                                 i.c.href.in_(bindparam("hrefs", expanding=True))))


@functools.cache
def _collection_and_item() -> Select[Any]:
    """Rows of the principal and the collection, the latter joined with one item (built once)."""
    c, i = s.collections, s.items
    path: BindParameter[str] = bindparam("path")
    joined = c.outerjoin(i, and_(i.c.collection_id == c.c.id, i.c.href == bindparam("href"),
                                 c.c.path == path))
    return (select(*c.columns, *(col.label(f"item_{col.name}") for col in i.columns))
            .select_from(joined).where(c.c.path.in_((bindparam("principal"), path))))


class _Prefixed:
    """Attribute access to the ``prefix``-labelled columns of a row."""

    def __init__(self, values: Any, prefix: str) -> None:
        self._values = values
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return self._values[self._prefix + name]
