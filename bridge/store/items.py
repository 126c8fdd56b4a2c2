"""Items, the change log and the outbox fan-out (the store's write path).

Every item write runs in one transaction: the item row, the collection's revision bump, a
change-log row (a tombstone for deletes), one outbox row for each active Google connection of
the collection except the one the change came from (``origin``), and the item-write hooks of
``store.hooks`` (:mod:`bridge.store.hooks`).  A write that queued outbox rows raises
``Signal.OUTBOX_QUEUED`` for after its commit and, on PostgreSQL, sends ``NOTIFY
termin_bridge_outbox`` for other processes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, text, update

from bridge.errors import DuplicateUid, EtagMismatch, NotFound
from bridge.model import ItemRecord, ParsedResource, compute_etag, connection_of_origin
from bridge.store import schema as s
from bridge.store.base import clean_path
from bridge.store.engine import is_postgres
from bridge.store.hooks import ItemWrite, Signal
from bridge.store.reads import ItemReadsMixin

__all__ = ["OUTBOX_CHANNEL", "BulkResult", "ItemsMixin", "href_for_uid"]

# PostgreSQL channel notified by every transaction that queued outbox rows.
OUTBOX_CHANNEL = "termin_bridge_outbox"

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@")


def href_for_uid(uid: str, suffix: str = ".ics") -> str:
    """A file name for a new item: the UID when it is path-safe, else its sha256 (stable)."""
    if uid and len(uid) <= 200 and set(uid) <= _SAFE and not uid.startswith("."):
        return uid + suffix
    return hashlib.sha256(uid.encode("utf-8")).hexdigest()[:32] + suffix


@dataclass(frozen=True)
class BulkResult:
    """Counts of a bulk write."""

    created: int
    updated: int


def _values(data: ParsedResource) -> dict[str, Any]:
    return {
        "uid": data.uid, "component": data.component, "text": data.text,
        "etag": compute_etag(data.text), "start_ts": data.start_ts, "end_ts": data.end_ts,
        "recurring": data.recurring, "content_hash": data.content_hash, "summary": data.summary,
        "status": data.status, "customer_name": data.customer_name,
        "customer_email": data.customer_email, "customer_phone": data.customer_phone,
        "service": data.service,
    }


def _record(path: str, values: dict[str, Any]) -> ItemRecord:
    """The record of a row written from ``values`` (no re-read: bulk writes stay one query)."""
    return ItemRecord(
        collection_path=path, href=values["href"], uid=values["uid"],
        component=values["component"], text=values["text"], etag=values["etag"],
        start_ts=values["start_ts"], end_ts=values["end_ts"], recurring=bool(values["recurring"]),
        content_hash=values["content_hash"], summary=values["summary"],
        status=values["status"], customer_name=values["customer_name"],
        customer_email=values["customer_email"], customer_phone=values["customer_phone"],
        service=values["service"], origin=values["origin"], created_at=values["created_at"],
        modified_at=values["modified_at"],
    )


class ItemsMixin(ItemReadsMixin):
    """Item writes with change log and outbox (reads come from ``ItemReadsMixin``)."""

    # -- write helpers -----------------------------------------------------------------------
    def _bump(self, conn: Connection, collection_id: int, by: int = 1) -> int:
        return int(
            conn.execute(
                update(s.collections)
                .where(s.collections.c.id == collection_id)
                .values(revision=s.collections.c.revision + by, modified_at=self.clock())
                .returning(s.collections.c.revision)
            ).scalar_one()
        )

    def _connections_for(self, conn: Connection, collection_id: int, origin: str) -> list[int]:
        rows = conn.execute(
            select(s.connections.c.id).where(
                s.connections.c.collection_id == collection_id, s.connections.c.active.is_(True)
            )
        ).all()
        source = connection_of_origin(origin)  # the connection a pulled change came from
        return [r.id for r in rows if source is None or source[1] != r.id]

    def _log(
        self,
        conn: Connection,
        collection_id: int,
        entries: Sequence[tuple[int, str, str, bool]],
        origin: str,
    ) -> None:
        """Change-log rows and outbox rows for ``(revision, href, uid, deleted)`` entries."""
        if not entries:
            return
        now = self.clock()
        conn.execute(
            insert(s.changes),
            [
                {"collection_id": collection_id, "revision": rev, "href": href, "uid": uid,
                 "deleted": deleted, "origin": origin, "at": now}
                for rev, href, uid, deleted in entries
            ],
        )
        targets = self._connections_for(conn, collection_id, origin)
        if targets:
            self._tx().signal(Signal.OUTBOX_QUEUED)
            if is_postgres(self.engine):  # wakes the push workers of other processes
                conn.execute(text("SELECT pg_notify(:c, '')"), {"c": OUTBOX_CHANNEL})
            conn.execute(
                insert(s.outbox),
                [
                    {"connection_id": cid, "collection_id": collection_id, "uid": uid,
                     "href": href, "op": "delete" if deleted else "upsert", "revision": rev,
                     "state": "pending", "attempts": 0, "next_attempt_at": now,
                     "created_at": now}
                    for cid in targets
                    for rev, href, uid, deleted in entries
                ],
            )

    def _written(
        self, collection_id: int, origin: str, old: ItemRecord | None, new: ItemRecord | None
    ) -> None:
        """Run the item-write hooks inside this write's transaction."""
        self.hooks.item_written(self._tx(), ItemWrite(collection_id, origin, old, new))

    @staticmethod
    def _check_precondition(
        current: Row[Any] | None, if_match: str | None, if_none_match: bool
    ) -> None:
        got = current.etag if current is not None else None
        if if_none_match and current is not None:
            raise EtagMismatch(None, got)
        if if_match is not None and if_match not in ("*", got):
            raise EtagMismatch(if_match, got)
        if if_match == "*" and current is None:
            raise EtagMismatch("*", None)

    # -- writes ------------------------------------------------------------------------------
    def lock_collection(self, path: str) -> None:
        """Serialise writers of one calendar for the rest of this write transaction (a row
        lock on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises every writer).

        For checks that must hold at commit (the booking rules): call it inside
        ``run_transaction`` before reading what the check needs.
        """
        path = clean_path(path)

        def tx(conn: Connection) -> None:
            conn.execute(select(s.collections.c.id).where(s.collections.c.path == path)
                         .with_for_update())

        self._write(tx)

    def put_item(
        self,
        path: str,
        href: str,
        data: ParsedResource,
        *,
        origin: str,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> tuple[ItemRecord, ItemRecord | None]:
        """Create or replace one item; returns ``(new, old)``.

        Raises ``EtagMismatch`` when a precondition fails, ``DuplicateUid`` when another href of
        the collection uses the UID, ``NotFound`` when the collection does not exist.
        """
        path = clean_path(path)

        def tx(conn: Connection) -> tuple[ItemRecord, ItemRecord | None]:
            coll = self._collection_row(conn, path)
            current = conn.execute(
                select(s.items).where(s.items.c.collection_id == coll.id, s.items.c.href == href)
            ).first()
            self._check_precondition(current, if_match, if_none_match)
            other = conn.execute(
                select(s.items.c.href).where(
                    s.items.c.collection_id == coll.id, s.items.c.uid == data.uid,
                    s.items.c.href != href,
                )
            ).first()
            if other is not None:
                raise DuplicateUid(data.uid, other.href)
            now = self.clock()
            values = _values(data) | {"origin": origin, "modified_at": now}
            if current is None:
                conn.execute(
                    insert(s.items).values(
                        collection_id=coll.id, href=href, created_at=now, **values
                    )
                )
            else:
                conn.execute(update(s.items).where(s.items.c.id == current.id).values(values))
            revision = self._bump(conn, coll.id)
            entries = [(revision, href, data.uid, False)]
            if current is not None and current.uid != data.uid:
                # The href now names another resource: Google must drop the old UID's event.
                entries.insert(0, (revision, href, current.uid, True))
            self._log(conn, coll.id, entries, origin)
            old = self._item(path, current) if current is not None else None
            new = _record(path, values | {
                "href": href, "created_at": now if current is None else current.created_at})
            self._written(coll.id, origin, old, new)
            return new, old

        return self._write(tx)

    def delete_item(
        self, path: str, href: str, *, origin: str, if_match: str | None = None
    ) -> ItemRecord:
        """Delete one item (leaving a tombstone); returns the deleted item, or ``NotFound``."""
        path = clean_path(path)

        def tx(conn: Connection) -> ItemRecord:
            coll = self._collection_row(conn, path)
            current = conn.execute(
                select(s.items).where(s.items.c.collection_id == coll.id, s.items.c.href == href)
            ).first()
            if current is None:
                raise NotFound(f"/{path}/{href}")
            self._check_precondition(current, if_match, False)
            conn.execute(delete(s.items).where(s.items.c.id == current.id))
            revision = self._bump(conn, coll.id)
            self._log(conn, coll.id, [(revision, href, current.uid, True)], origin)
            old = self._item(path, current)
            self._written(coll.id, origin, old, None)
            return old

        return self._write(tx)

    def move_item(
        self, path: str, href: str, to_path: str, to_href: str, *, origin: str
    ) -> ItemRecord:
        """Move an item to another collection or href (replacing an item there)."""
        path, to_path = clean_path(path), clean_path(to_path)

        def tx(conn: Connection) -> ItemRecord:
            src = self._collection_row(conn, path)
            dst = self._collection_row(conn, to_path)
            current = conn.execute(
                select(s.items).where(s.items.c.collection_id == src.id, s.items.c.href == href)
            ).first()
            if current is None:
                raise NotFound(f"/{path}/{href}")
            clash = conn.execute(
                select(s.items.c.href).where(
                    s.items.c.collection_id == dst.id, s.items.c.uid == current.uid,
                    s.items.c.href != to_href,
                )
            ).first()
            if clash is not None and not (dst.id == src.id and clash.href == href):
                raise DuplicateUid(current.uid, clash.href)
            replaced = conn.execute(
                select(s.items).where(
                    s.items.c.collection_id == dst.id, s.items.c.href == to_href
                )
            ).first()
            if replaced is not None and replaced.id != current.id:
                conn.execute(delete(s.items).where(s.items.c.id == replaced.id))
            conn.execute(
                update(s.items)
                .where(s.items.c.id == current.id)
                .values(collection_id=dst.id, href=to_href, origin=origin,
                        modified_at=self.clock())
            )
            rev_src = self._bump(conn, src.id)
            if dst.id == src.id:
                self._log(conn, src.id, [(rev_src, href, current.uid, True),
                                         (rev_src, to_href, current.uid, False)], origin)
            else:
                self._log(conn, src.id, [(rev_src, href, current.uid, True)], origin)
                rev_dst = self._bump(conn, dst.id)
                entries = [(rev_dst, to_href, current.uid, False)]
                if replaced is not None and replaced.uid != current.uid:
                    entries.insert(0, (rev_dst, to_href, replaced.uid, True))
                self._log(conn, dst.id, entries, origin)
            row = conn.execute(select(s.items).where(s.items.c.id == current.id)).one()
            return self._item(to_path, row)

        return self._write(tx)

    def bulk_put(
        self,
        path: str,
        resources: Sequence[ParsedResource],
        *,
        origin: str,
        replace_existing: bool = True,
        suffix: str = ".ics",
    ) -> BulkResult:
        """Create or replace many items in one transaction, matched by UID (bulk import).

        New items get :func:`href_for_uid` names (with ``suffix``); existing UIDs keep their
        href and are replaced (or skipped when ``replace_existing`` is False).
        """
        path = clean_path(path)
        return self._write(
            lambda conn: self._bulk_in_tx(
                conn, self._collection_row(conn, path), resources, origin, replace_existing,
                suffix,
            )
        )

    def replace_all_items(
        self, path: str, resources: Sequence[ParsedResource], *, origin: str,
        suffix: str = ".ics",
    ) -> BulkResult:
        """Make ``resources`` the collection's whole content, atomically (whole-collection PUT)."""
        path = clean_path(path)
        keep = {r.uid for r in resources}

        def tx(conn: Connection) -> BulkResult:
            coll = self._collection_row(conn, path)
            gone = [
                r for r in conn.execute(
                    select(s.items).where(s.items.c.collection_id == coll.id)
                ).all()
                if r.uid not in keep
            ]
            if gone:
                conn.execute(delete(s.items).where(s.items.c.id.in_([r.id for r in gone])))
                last = self._bump(conn, coll.id, len(gone))
                first = last - len(gone) + 1
                self._log(
                    conn, coll.id, [(first + i, r.href, r.uid, True) for i, r in enumerate(gone)],
                    origin,
                )
                for r in gone:
                    self._written(coll.id, origin, self._item(path, r), None)
            return self._bulk_in_tx(conn, coll, resources, origin, True, suffix)

        return self._write(tx)

    def _bulk_in_tx(
        self,
        conn: Connection,
        coll: Any,
        resources: Sequence[ParsedResource],
        origin: str,
        replace_existing: bool,
        suffix: str,
    ) -> BulkResult:
        """The body of :meth:`bulk_put` on an open write transaction."""
        unique = {res.uid: res for res in resources}
        existing: dict[str, Any] = {}
        uids = list(unique)
        for i in range(0, len(uids), 500):
            for row in conn.execute(
                select(s.items).where(
                    s.items.c.collection_id == coll.id, s.items.c.uid.in_(uids[i : i + 500])
                )
            ).all():
                existing[row.uid] = row
        now = self.clock()
        new_rows: list[dict[str, Any]] = []
        updates: list[tuple[Any, dict[str, Any]]] = []
        for uid, res in unique.items():
            values = _values(res) | {"origin": origin, "modified_at": now}
            old = existing.get(uid)
            if old is None:
                new_rows.append(
                    values | {"collection_id": coll.id, "href": href_for_uid(uid, suffix),
                              "created_at": now}
                )
            elif replace_existing and old.etag != values["etag"]:
                updates.append((old, values))
        if not new_rows and not updates:
            return BulkResult(0, 0)
        if new_rows:
            taken = conn.execute(
                select(s.items.c.href, s.items.c.uid).where(
                    s.items.c.collection_id == coll.id,
                    s.items.c.href.in_([r["href"] for r in new_rows]),
                )
            ).first()
            if taken is not None:
                raise DuplicateUid(taken.uid, taken.href)
            conn.execute(insert(s.items), new_rows)
        for old, values in updates:
            conn.execute(update(s.items).where(s.items.c.id == old.id).values(values))
        total = len(new_rows) + len(updates)
        last = self._bump(conn, coll.id, total)
        first = last - total + 1
        entries = [(first + i, r["href"], r["uid"], False) for i, r in enumerate(new_rows)]
        entries += [
            (first + len(new_rows) + i, old.href, values["uid"], False)
            for i, (old, values) in enumerate(updates)
        ]
        self._log(conn, coll.id, entries, origin)
        for r in new_rows:
            self._written(coll.id, origin, None, _record(coll.path, r))
        for old, values in updates:
            self._written(coll.id, origin, self._item(coll.path, old),
                          _record(coll.path, values | {"href": old.href,
                                                       "created_at": old.created_at}))
        return BulkResult(len(new_rows), len(updates))

    def prune_history(self, older_than: float) -> int:
        """Drop change-log rows older than ``older_than`` (POSIX time); tokens before go invalid."""

        def tx(conn: Connection) -> int:
            rows = conn.execute(
                select(s.changes.c.collection_id, s.changes.c.revision).where(
                    s.changes.c.at < older_than
                )
            ).all()
            newest: dict[int, int] = {}
            for row in rows:
                newest[row.collection_id] = max(newest.get(row.collection_id, 0), row.revision)
            for collection_id, revision in newest.items():
                conn.execute(
                    update(s.collections)
                    .where(s.collections.c.id == collection_id,
                           s.collections.c.min_revision < revision)
                    .values(min_revision=revision)
                )
            conn.execute(delete(s.changes).where(s.changes.c.at < older_than))
            return len(rows)

        return self._write(tx)
