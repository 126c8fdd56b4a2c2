"""Server-side sessions of the admin page (the store side of :mod:`bridge.admin.sessions`).

Rows are keyed by the sha256 of the session cookie, never by the cookie itself.  A row without a
user is an anonymous session (it only carries the login form's CSRF token and the language).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from bridge.store import schema as s
from bridge.store.base import StoreBase

__all__ = ["AdminMixin", "AdminSession"]


@dataclass(frozen=True)
class AdminSession:
    """One admin-page session as stored (the cookie value itself is never kept)."""

    id: int
    sid_hash: str
    csrf_token: str
    user_id: int | None
    user_name: str | None
    role: str | None
    created_at: float
    last_seen_at: float
    expires_at: float
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        """True when an administrator is logged in with this session."""
        return self.user_id is not None and self.role == "admin"

    @property
    def is_staff(self) -> bool:
        """True when a staff member (not an administrator) is logged in."""
        return self.user_id is not None and self.role == "staff"


class AdminMixin(StoreBase):
    """Create, read, rotate and invalidate admin-page sessions."""

    @staticmethod
    def _session_query() -> Any:
        return select(
            s.admin_sessions, s.users.c.name.label("user_name"), s.users.c.role
        ).select_from(s.admin_sessions.outerjoin(s.users))

    @staticmethod
    def _admin_session(row: Any) -> AdminSession:
        try:
            data = json.loads(row.data)
        except ValueError:
            data = {}
        return AdminSession(
            id=row.id, sid_hash=row.sid_hash, csrf_token=row.csrf_token, user_id=row.user_id,
            user_name=row.user_name, role=row.role, created_at=row.created_at,
            last_seen_at=row.last_seen_at, expires_at=row.expires_at,
            data=data if isinstance(data, dict) else {},
        )

    def _insert_admin_session(
        self, conn: Connection, sid_hash: str, csrf_token: str, user_id: int | None,
        data: dict[str, Any], expires_at: float,
    ) -> AdminSession:
        now = self.clock()
        conn.execute(
            insert(s.admin_sessions).values(
                sid_hash=sid_hash, csrf_token=csrf_token, user_id=user_id,
                data=json.dumps(data, sort_keys=True), created_at=now, last_seen_at=now,
                expires_at=expires_at,
            )
        )
        row = conn.execute(
            self._session_query().where(s.admin_sessions.c.sid_hash == sid_hash)
        ).one()
        return self._admin_session(row)

    def create_admin_session(
        self, sid_hash: str, csrf_token: str, *, expires_at: float, user_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> AdminSession:
        """Store a new session under ``sid_hash``."""
        return self._write(
            lambda conn: self._insert_admin_session(
                conn, sid_hash, csrf_token, user_id, dict(data or {}), expires_at
            )
        )

    def rotate_admin_session(
        self, old_sid_hash: str | None, new_sid_hash: str, csrf_token: str, *,
        expires_at: float, user_id: int | None, data: dict[str, Any] | None = None,
    ) -> AdminSession:
        """Replace a session by a new one in one transaction (login: no session fixation)."""

        def tx(conn: Connection) -> AdminSession:
            if old_sid_hash is not None:
                conn.execute(
                    delete(s.admin_sessions).where(s.admin_sessions.c.sid_hash == old_sid_hash)
                )
            return self._insert_admin_session(
                conn, new_sid_hash, csrf_token, user_id, dict(data or {}), expires_at
            )

        return self._write(tx)

    def get_admin_session(self, sid_hash: str) -> AdminSession | None:
        """The live session stored under ``sid_hash``, or ``None`` (unknown or expired)."""
        with self._read() as conn:
            row = conn.execute(
                self._session_query().where(
                    s.admin_sessions.c.sid_hash == sid_hash,
                    s.admin_sessions.c.expires_at > self.clock(),
                )
            ).first()
        return self._admin_session(row) if row is not None else None

    def touch_admin_session(self, sid_hash: str, expires_at: float) -> None:
        """Record activity and extend the idle expiry."""

        def tx(conn: Connection) -> None:
            conn.execute(
                update(s.admin_sessions)
                .where(s.admin_sessions.c.sid_hash == sid_hash)
                .values(last_seen_at=self.clock(), expires_at=expires_at)
            )

        self._write(tx)

    def update_admin_session_data(
        self, sid_hash: str, set_values: dict[str, Any] | None = None,
        pop_keys: tuple[str, ...] = (),
    ) -> dict[str, Any] | None:
        """Merge ``set_values`` into a session's data and remove ``pop_keys``, atomically.

        Returns the values the popped keys had (absent keys are missing from the result), or
        ``None`` when the session does not exist.  Popping is how single-use values (OAuth
        state) are consumed: two concurrent callbacks cannot both get the value.
        """

        def tx(conn: Connection) -> dict[str, Any] | None:
            row = conn.execute(
                select(s.admin_sessions.c.id, s.admin_sessions.c.data).where(
                    s.admin_sessions.c.sid_hash == sid_hash
                ).with_for_update()
            ).first()
            if row is None:
                return None
            try:
                data = json.loads(row.data)
            except ValueError:
                data = {}
            if not isinstance(data, dict):
                data = {}
            popped = {key: data.pop(key) for key in pop_keys if key in data}
            data.update(set_values or {})
            result = conn.execute(
                update(s.admin_sessions)
                .where(s.admin_sessions.c.id == row.id, s.admin_sessions.c.data == row.data)
                .values(data=json.dumps(data, sort_keys=True))
            )
            if result.rowcount == 0:
                # Someone else changed the row between our read and write: nothing was consumed.
                return {}
            return popped

        return self._write(tx)

    def delete_admin_session(self, sid_hash: str) -> bool:
        """Invalidate one session; True when it existed."""

        def tx(conn: Connection) -> bool:
            result = conn.execute(
                delete(s.admin_sessions).where(s.admin_sessions.c.sid_hash == sid_hash)
            )
            return bool(result.rowcount)

        return self._write(tx)

    def delete_admin_sessions_of_user(self, user_id: int) -> int:
        """Invalidate every session of a user (password change, role change)."""

        def tx(conn: Connection) -> int:
            result = conn.execute(
                delete(s.admin_sessions).where(s.admin_sessions.c.user_id == user_id)
            )
            return int(result.rowcount)

        return self._write(tx)

    def purge_admin_sessions(self) -> int:
        """Delete expired sessions; returns how many."""

        def tx(conn: Connection) -> int:
            result = conn.execute(
                delete(s.admin_sessions).where(s.admin_sessions.c.expires_at <= self.clock())
            )
            return int(result.rowcount)

        return self._write(tx)
