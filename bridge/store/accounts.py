"""Users, collections and grants (the store's account side)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Select, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bridge.errors import AlreadyExists, NotFound
from bridge.model import Collection, Grant, Role, User
from bridge.store import schema as s
from bridge.store.base import StoreBase, clean_path

__all__ = ["AccountsMixin"]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class AccountsMixin(StoreBase):
    """Users, collections (any WebDAV collection) and grants."""

    # -- users -------------------------------------------------------------------------------
    def create_user(
        self, name: str, password_hash: str, role: Role = "staff", email: str = ""
    ) -> User:
        """Create a user; raises ``AlreadyExists`` when the name is taken."""

        def tx(conn: Connection) -> User:
            try:
                conn.execute(
                    insert(s.users).values(
                        name=name, password_hash=password_hash, role=role, email=email,
                        created_at=self.clock(),
                    )
                )
            except IntegrityError as exc:
                raise AlreadyExists(f"user {name!r}") from exc
            return self._user_by_name(conn, name)

        return self._write(tx)

    def _user_by_name(self, conn: Connection, name: str) -> User:
        row = conn.execute(select(s.users).where(s.users.c.name == name)).first()
        if row is None:
            raise NotFound(f"user {name!r}")
        return User(row.id, row.name, row.role, row.password_hash, row.email, row.created_at)

    def get_user(self, name: str) -> User | None:
        """The user called ``name``, or ``None``."""
        if "\x00" in name:  # no user has one, and PostgreSQL refuses NUL in a parameter
            return None
        with self._read() as conn:
            try:
                return self._user_by_name(conn, name)
            except NotFound:
                return None

    def list_users(self) -> list[User]:
        """Every user, by name."""
        with self._read() as conn:
            rows = conn.execute(select(s.users).order_by(s.users.c.name)).all()
        return [User(r.id, r.name, r.role, r.password_hash, r.email, r.created_at) for r in rows]

    def set_password_hash(self, name: str, password_hash: str) -> None:
        """Replace a user's password hash; raises ``NotFound``."""

        def tx(conn: Connection) -> None:
            result = conn.execute(
                update(s.users).where(s.users.c.name == name).values(password_hash=password_hash)
            )
            if result.rowcount == 0:
                raise NotFound(f"user {name!r}")

        self._write(tx)

    def count_users(self) -> int:
        """How many users exist."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(s.users)).scalar_one())

    # -- collections -------------------------------------------------------------------------
    def _insert_collection(
        self, conn: Connection, path: str, tag: str, props: Mapping[str, str], timezone: str
    ) -> None:
        now = self.clock()
        conn.execute(
            insert(s.collections).values(
                path=path, owner=path.split("/", 1)[0], tag=tag,
                props=json.dumps(dict(props), sort_keys=True), timezone=timezone, revision=0,
                min_revision=0, sync_epoch=secrets.token_hex(8), created_at=now, modified_at=now,
            )
        )

    def _ensure_parents(self, conn: Connection, path: str) -> None:
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            exists = conn.execute(
                select(s.collections.c.id).where(s.collections.c.path == parent)
            ).first()
            if exists is None:
                self._insert_collection(conn, parent, "", {}, "UTC")

    def create_collection(
        self,
        path: str,
        *,
        tag: str = "",
        props: Mapping[str, str] | None = None,
        timezone: str = "UTC",
        exist_ok: bool = False,
    ) -> Collection:
        """Create a collection (and missing parents); ``AlreadyExists`` unless ``exist_ok``."""
        path = clean_path(path)
        if not path:
            raise AlreadyExists("the root collection")
        meta = dict(props or {})
        if tag:
            meta["tag"] = tag

        def tx(conn: Connection) -> Collection:
            existing = conn.execute(
                select(s.collections).where(s.collections.c.path == path)
            ).first()
            if existing is not None:
                if exist_ok:
                    return self._collection(existing)
                raise AlreadyExists(f"collection /{path}/")
            self._ensure_parents(conn, path)
            self._insert_collection(conn, path, tag, meta, timezone)
            return self._collection(self._collection_row(conn, path))

        return self._write(tx)

    def get_collection(self, path: str) -> Collection | None:
        """The collection at ``path`` or ``None``."""
        with self._read() as conn:
            row = conn.execute(
                select(s.collections).where(s.collections.c.path == clean_path(path))
            ).first()
        return self._collection(row) if row is not None else None

    def list_collections(
        self, parent: str | None = None, *, tag: str | None = None
    ) -> list[Collection]:
        """Direct children of ``parent`` ("" for top level), or all when ``parent`` is None."""
        query = select(s.collections).order_by(s.collections.c.path)
        if parent is not None:
            prefix = _like_escape(clean_path(parent))
            if prefix:
                query = query.where(
                    s.collections.c.path.like(prefix + "/%", escape="\\"),
                    s.collections.c.path.notlike(prefix + "/%/%", escape="\\"),
                )
            else:
                query = query.where(s.collections.c.path.notlike("%/%"))
        if tag is not None:
            query = query.where(s.collections.c.tag == tag)
        with self._read() as conn:
            return [self._collection(r) for r in conn.execute(query).all()]

    def set_collection_meta(
        self, path: str, props: Mapping[str, str], *, timezone: str | None = None
    ) -> Collection:
        """Replace a collection's properties (``tag`` included) and optionally its time zone."""
        path = clean_path(path)

        def tx(conn: Connection) -> Collection:
            row = self._collection_row(conn, path)
            values: dict[str, object] = {
                "props": json.dumps(dict(props), sort_keys=True),
                "tag": props.get("tag", ""),
                "modified_at": self.clock(),
                # Property changes change the ctag: clients re-read the collection.
                "revision": row.revision + 1,
            }
            if timezone is not None:
                values["timezone"] = timezone
            conn.execute(update(s.collections).where(s.collections.c.id == row.id).values(values))
            return self._collection(self._collection_row(conn, path))

        return self._write(tx)

    def get_root_props(self) -> dict[str, str]:
        """The properties of the WebDAV root collection ``/`` (empty until a PROPPATCH)."""
        with self._read() as conn:
            row = conn.execute(select(s.dav_root.c.props).where(s.dav_root.c.id == 1)).first()
        return dict(json.loads(row.props)) if row is not None else {}

    def set_root_props(self, props: Mapping[str, str]) -> None:
        """Replace the properties of the root collection (it never gets a ``tag``)."""
        if props.get("tag"):
            raise ValueError("the root collection cannot become a calendar or address book")
        values = {"props": json.dumps(dict(props), sort_keys=True), "modified_at": self.clock()}

        def tx(conn: Connection) -> None:
            if conn.execute(update(s.dav_root).where(s.dav_root.c.id == 1)
                            .values(values)).rowcount == 0:
                conn.execute(insert(s.dav_root).values(id=1, **values))

        self._write(tx)

    def delete_collection(self, path: str) -> None:
        """Delete a collection, its descendants and their items; the root cannot be deleted."""
        path = clean_path(path)

        def tx(conn: Connection) -> None:
            like = _like_escape(path) + "/%"
            conn.execute(
                delete(s.collections).where(
                    or_(s.collections.c.path == path, s.collections.c.path.like(like, escape="\\"))
                    if path else s.collections.c.id.isnot(None)
                )
            )

        self._write(tx)

    # -- grants ------------------------------------------------------------------------------
    def set_grant(self, path: str, user: str, level: str | None) -> None:
        """Give ``user`` ``read``/``write`` access to a collection, or remove it (``None``)."""
        if level not in (None, "read", "write"):
            raise ValueError("level must be read, write or None")

        def tx(conn: Connection) -> None:
            coll = self._collection_row(conn, path)
            account = self._user_by_name(conn, user)
            conn.execute(
                delete(s.grants).where(
                    s.grants.c.collection_id == coll.id, s.grants.c.user_id == account.id
                )
            )
            if level is not None:
                conn.execute(
                    insert(s.grants).values(
                        collection_id=coll.id, user_id=account.id, level=level
                    )
                )

        self._write(tx)

    def list_grants(self, user: str | None = None) -> list[Grant]:
        """Grants, optionally only those given to ``user``."""
        query = (
            select(s.collections.c.path, s.users.c.name, s.grants.c.level)
            .select_from(s.grants.join(s.collections).join(s.users))
            .order_by(s.collections.c.path, s.users.c.name)
        )
        if user is not None:
            query = query.where(s.users.c.name == user)
        with self._read() as conn:
            return [Grant(r.path, r.name, r.level) for r in conn.execute(query).all()]

    # -- collections shared with a user ------------------------------------------------------
    def _shared_query(self, user: str) -> Select[Any]:
        # Calendars and address books directly below another user's principal, granted to a
        # staff user (admins reach every home anyway).  Index-backed: users.name (unique),
        # grants.user_id or (collection_id, user_id), collections.id.
        return (
            select(s.collections, s.grants.c.level)
            .select_from(s.grants.join(s.users).join(s.collections))
            .where(
                s.users.c.name == user,
                s.users.c.role != "admin",
                s.collections.c.tag != "",
                s.collections.c.owner != user,
                s.collections.c.path.like("%/%"),
                s.collections.c.path.notlike("%/%/%"),
            )
        )

    def list_shared(self, user: str) -> list[tuple[Collection, str]]:
        """(collection, level) of each calendar or address book shared with staff ``user``.

        Only collections directly below another user's principal count; admins get none.
        """
        query = self._shared_query(user).order_by(s.collections.c.path)
        with self._read() as conn:
            return [(self._collection(r), str(r.level)) for r in conn.execute(query).all()]

    def get_shared(self, user: str, path: str) -> tuple[Collection, str] | None:
        """(collection, level) when the collection at ``path`` is shared with ``user``."""
        query = self._shared_query(user).where(s.collections.c.path == clean_path(path))
        with self._read() as conn:
            row = conn.execute(query).first()
        return (self._collection(row), str(row.level)) if row is not None else None
