"""Item reads: by href, by UID, time-range candidates, and the change log."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from bridge.errors import SyncTokenInvalid
from bridge.model import Change, ItemRecord
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
            coll = conn.execute(
                select(s.collections.c.id).where(s.collections.c.path == path)
            ).first()
            if coll is None:
                return found
            for i in range(0, len(wanted), 500):
                rows = conn.execute(
                    select(s.items).where(
                        s.items.c.collection_id == coll.id, s.items.c.href.in_(wanted[i : i + 500])
                    )
                ).all()
                for row in rows:
                    found[row.href] = self._item(path, row)
        return found

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
