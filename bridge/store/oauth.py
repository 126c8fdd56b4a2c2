"""Pending Google connect flows, shared by every process (the store side of the connect flow).

A row is created when the admin page sends someone to Google's consent page and taken (deleted
and returned in one statement, ``DELETE … RETURNING`` on SQLite and PostgreSQL alike) by the
callback, so a ``state`` works once, on whichever sidecar the callback reaches.  The caller
stores only the sha256 of ``state`` and a sealed PKCE verifier; expired rows are removed whenever
a flow is started or taken.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select

from bridge.store import schema as s
from bridge.store.base import StoreBase

__all__ = ["OAuthFlowRecord", "OAuthFlowsMixin"]


@dataclass(frozen=True)
class OAuthFlowRecord:
    """One pending connect flow as stored (``verifier_enc`` is sealed; never log it)."""

    state_hash: str
    session_ref: str
    collection_path: str
    redirect_uri: str
    verifier_enc: bytes
    created_at: float
    expires_at: float

    def __repr__(self) -> str:
        return f"OAuthFlowRecord(collection_path={self.collection_path!r})"


class OAuthFlowsMixin(StoreBase):
    """Add, take (single use) and purge pending connect flows."""

    def add_oauth_flow(
        self,
        state_hash: str,
        *,
        session_ref: str,
        collection_path: str,
        redirect_uri: str,
        verifier_enc: bytes,
        ttl: float,
    ) -> None:
        """Store a started flow for ``ttl`` seconds (and drop expired ones)."""

        def tx(conn: Connection) -> None:
            now = self.clock()
            conn.execute(delete(s.oauth_flows).where(s.oauth_flows.c.expires_at <= now))
            conn.execute(insert(s.oauth_flows).values(
                state_hash=state_hash, session_ref=session_ref,
                collection_path=collection_path, redirect_uri=redirect_uri,
                verifier_enc=verifier_enc, created_at=now, expires_at=now + ttl))

        self._write(tx)

    def take_oauth_flow(self, state_hash: str) -> OAuthFlowRecord | None:
        """Delete and return the flow of ``state_hash``; ``None`` when unknown, used or expired.

        The delete and the read are one statement, so of two concurrent callbacks with the
        same ``state`` exactly one gets the row.
        """
        f = s.oauth_flows.c

        def tx(conn: Connection) -> OAuthFlowRecord | None:
            now = self.clock()
            row = conn.execute(
                delete(s.oauth_flows).where(f.state_hash == state_hash)
                .returning(f.state_hash, f.session_ref, f.collection_path, f.redirect_uri,
                           f.verifier_enc, f.created_at, f.expires_at)
            ).first()
            conn.execute(delete(s.oauth_flows).where(f.expires_at <= now))
            if row is None or row.expires_at <= now:
                return None
            return OAuthFlowRecord(row.state_hash, row.session_ref, row.collection_path,
                                   row.redirect_uri, bytes(row.verifier_enc), row.created_at,
                                   row.expires_at)

        return self._write(tx)

    def purge_oauth_flows(self) -> int:
        """Delete expired flows; returns how many."""

        def tx(conn: Connection) -> int:
            return int(conn.execute(
                delete(s.oauth_flows).where(s.oauth_flows.c.expires_at <= self.clock())
            ).rowcount)

        return self._write(tx)

    def count_oauth_flows(self) -> int:
        """How many flows are pending (expired ones included until purged)."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(s.oauth_flows))
                       .scalar_one())
