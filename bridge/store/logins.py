"""Failed admin logins per account and per client address, in the database.

Every sidecar process (and a restarted one) sees the same counters.  An attempt is *claimed*
before the password is checked: :meth:`LoginAttemptsMixin.claim_login_attempt` refuses it when
the account or the address is locked, and otherwise counts it as a failure at once, so parallel
requests cannot squeeze in more guesses than the limit; a successful login takes its count back
(:meth:`~LoginAttemptsMixin.login_succeeded`).  ``max_failures`` attempts within ``window``
seconds lock the key for ``window`` seconds.

The table stays bounded without forgetting attacked accounts: rows whose window and lock are
over are deleted as they age (checked every few new rows), and when more than ``max_rows``
remain, the oldest unlocked rows of
names that are not real accounts go first.  Locked rows and rows of real accounts (``keep``,
a number bounded by the accounts) are never evicted, so no spray of other names can reset the
admin's lock.  Keys are stored as sha256, never as typed (people type passwords into the user
field).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bridge.store import schema as s
from bridge.store.base import StoreBase
from bridge.store.engine import is_postgres

__all__ = ["AttemptKey", "LoginAttemptsMixin", "LoginPolicy"]


class _Refused(Exception):
    """A key of the attempt is locked: nothing of it may be counted."""


@dataclass(frozen=True)
class LoginPolicy:
    """Limits of the admin login: guesses per account and per address, window, table size."""

    account_failures: int = 8
    address_failures: int = 30
    window: float = 900.0
    max_rows: int = 20_000
    # The table only grows by inserts: every this many new rows, expired rows are deleted and
    # the table is trimmed to ``max_rows`` (it never holds more than ``max_rows + prune_every``).
    prune_every: int = 32


@dataclass(frozen=True)
class AttemptKey:
    """One counter an attempt is charged to: ``kind`` is ``user`` or ``addr``."""

    kind: str
    value: str
    keep: bool = False  # a real account: never evicted to bound the table

    @property
    def key_hash(self) -> str:
        """The stored form of the key."""
        return hashlib.sha256(f"{self.kind}\x00{self.value}".encode()).hexdigest()


class LoginAttemptsMixin(StoreBase):
    """Claim, forgive and prune failed-login counters (admin page)."""

    @staticmethod
    def _counted(policy: LoginPolicy, kind: str, row: Any, now: float) -> dict[str, Any]:
        """The counter columns after one more attempt (``row`` None: a new counter)."""
        fresh = row is not None and row.window_start > now - policy.window
        failures = (row.failures if fresh else 0) + 1
        limit = policy.account_failures if kind == "user" else policy.address_failures
        return {"failures": failures, "window_start": row.window_start if fresh else now,
                "locked_until": now + policy.window if failures >= limit else None,
                "updated_at": now}

    def claim_login_attempt(self, keys: Sequence[AttemptKey], policy: LoginPolicy) -> bool:
        """Count one attempt against every key; False (nothing counted) when one is locked."""
        now = self.clock()
        wanted = {(k.kind, k.key_hash): k for k in keys}

        def tx(conn: Connection) -> bool:
            table = s.login_attempts
            rows: list[Any] = list(conn.execute(
                select(table).where(tuple_(table.c.kind, table.c.key_hash).in_(list(wanted)))
                .with_for_update()
            ).all())
            # Insert only what is missing, so sequence numbers stay gap-free on PostgreSQL too
            # (an ON CONFLICT insert would use one up): they pace the pruning below.
            missing = set(wanted) - {(r.kind, r.key_hash) for r in rows}
            stmt: Any = (pg_insert if is_postgres(self.engine) else sqlite_insert)(table)
            inserted: list[int] = []
            for kind, key_hash in sorted(missing):
                new_id = conn.execute(stmt.values(
                    kind=kind, key_hash=key_hash, keep=wanted[(kind, key_hash)].keep,
                    **self._counted(policy, kind, None, now),
                ).on_conflict_do_nothing().returning(table.c.id)).scalar()
                if new_id is not None:
                    inserted.append(new_id)
                    continue
                rows += conn.execute(  # a parallel claim inserted it first: count on it
                    select(table).where(table.c.kind == kind, table.c.key_hash == key_hash)
                    .with_for_update()
                ).all()
            if any(r.locked_until is not None and r.locked_until > now for r in rows):
                raise _Refused  # rolls back what this claim inserted
            for row in rows:
                conn.execute(update(table).where(table.c.id == row.id).values(
                    keep=row.keep or wanted[(row.kind, row.key_hash)].keep,
                    **self._counted(policy, row.kind, row, now),
                ))
            if any(i % policy.prune_every == 0 for i in inserted):
                self._prune_login_attempts(conn, policy, now)
            return True

        try:
            return self._write(tx)
        except _Refused:
            return False

    def login_succeeded(self, keys: Sequence[AttemptKey]) -> None:
        """Forget the account's failures and take the claimed attempt back from the others."""

        def tx(conn: Connection) -> None:
            for key in keys:
                where = and_(s.login_attempts.c.kind == key.kind,
                             s.login_attempts.c.key_hash == key.key_hash)
                if key.kind == "user":
                    conn.execute(delete(s.login_attempts).where(where))
                else:
                    conn.execute(
                        update(s.login_attempts)
                        .where(where, s.login_attempts.c.failures > 0)
                        .values(failures=s.login_attempts.c.failures - 1)
                    )

        self._write(tx)

    def login_locked(self, key: AttemptKey) -> bool:
        """True while ``key`` is locked (status pages and tests)."""
        with self._read() as conn:
            until = conn.execute(
                select(s.login_attempts.c.locked_until).where(
                    s.login_attempts.c.kind == key.kind,
                    s.login_attempts.c.key_hash == key.key_hash,
                )
            ).scalar()
        return until is not None and until > self.clock()

    def count_login_attempts(self) -> int:
        """How many counters the table holds."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(s.login_attempts))
                       .scalar_one())

    def _prune_login_attempts(self, conn: Connection, policy: LoginPolicy, now: float) -> None:
        table = s.login_attempts
        unlocked = or_(table.c.locked_until.is_(None), table.c.locked_until <= now)
        conn.execute(delete(table).where(table.c.updated_at < now - policy.window, unlocked))
        excess = conn.execute(select(func.count()).select_from(table)).scalar_one() \
            - policy.max_rows
        if excess <= 0:
            return
        victims = (
            select(table.c.id).where(unlocked, table.c.keep.is_(False))
            .order_by(table.c.failures, table.c.updated_at).limit(excess)
        )
        conn.execute(delete(table).where(table.c.id.in_(victims.scalar_subquery())))
