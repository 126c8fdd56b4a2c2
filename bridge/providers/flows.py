"""Pending connect flows (OAuth ``state`` + PKCE verifier), kept in the database.

Provider-neutral: every OAuth provider's connect flow starts with :meth:`PendingFlows.start`
(the consent URL is the provider's business) and its callback takes the flow back with
:meth:`PendingFlows.take` (single use, ten minutes, bound to the admin session).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.errors import BridgeError, FlowError

__all__ = ["FLOW_TTL", "FlowStore", "PendingFlow", "PendingFlows", "Sealer"]

FLOW_TTL = 600.0


class Sealer(Protocol):
    """Seals small secrets bound to a context (the token cipher)."""

    def seal(self, context: str, secret: str) -> bytes:
        """Encrypt ``secret`` bound to ``context``."""

    def open(self, context: str, blob: bytes) -> str:
        """Decrypt what :meth:`seal` gave for ``context`` (``BridgeError`` if it cannot)."""


@dataclass(frozen=True)
class PendingFlow:
    """One started connect flow, kept server-side until its callback (or expiry)."""

    state: str = field(repr=False)
    session_ref: str = field(repr=False)
    code_verifier: str = field(repr=False)
    redirect_uri: str
    collection_path: str
    created_at: float


class FlowStore(Protocol):
    """Where pending flows live: the ``oauth_flows`` table (:class:`~bridge.store.SqlStore`)."""

    def add_oauth_flow(self, state_hash: str, *, session_ref: str, collection_path: str,
                       redirect_uri: str, verifier_enc: bytes, ttl: float) -> None:
        """Store a flow."""

    def take_oauth_flow(self, state_hash: str) -> Any:
        """Delete and return a live flow (``None`` when unknown, used or expired)."""


class PendingFlows:
    """``state`` → pending flow in the database: single-use, ten minutes, bound to a session.

    Only the sha256 of ``state`` is stored and the PKCE verifier is sealed with the token cipher
    (bound to that hash), so a database dump reveals neither.  Any sidecar sharing the database
    can finish a flow another one started; the row is taken with one ``DELETE … RETURNING``, so
    a replayed or concurrent second callback finds nothing.
    """

    def __init__(self, store: FlowStore, cipher: Callable[[], Sealer],
                 ttl: float = FLOW_TTL) -> None:
        self.store = store
        self.cipher = cipher
        self.ttl = ttl

    @staticmethod
    def _key(state: str) -> str:
        return hashlib.sha256(state.encode("utf-8")).hexdigest()

    def start(self, session_ref: str, redirect_uri: str, collection_path: str) -> PendingFlow:
        """Create a flow with a fresh 256-bit ``state`` and PKCE verifier."""
        flow = PendingFlow(
            state=secrets.token_urlsafe(32), session_ref=session_ref,
            code_verifier=secrets.token_urlsafe(64), redirect_uri=redirect_uri,
            collection_path=collection_path, created_at=time.time(),
        )
        key = self._key(flow.state)
        self.store.add_oauth_flow(
            key, session_ref=session_ref, collection_path=collection_path,
            redirect_uri=redirect_uri, ttl=self.ttl,
            verifier_enc=self.cipher().seal("oauth-flow:" + key, flow.code_verifier))
        return flow

    def take(self, state: str, session_ref: str) -> PendingFlow:
        """Remove and return the flow of ``state``; ``FlowError`` if unknown, used or foreign.

        A foreign session's attempt uses the flow up as well (the callback URL leaked).
        """
        key = self._key(state or "")
        row = self.store.take_oauth_flow(key)
        if row is None:
            raise FlowError("state", "the sign-in link is unknown, expired or already used")
        if not hmac.compare_digest(str(row.session_ref), session_ref):
            raise FlowError("state", "the sign-in was started in another session")
        try:
            verifier = self.cipher().open("oauth-flow:" + key, bytes(row.verifier_enc))
        except BridgeError:
            raise FlowError("state", "the sign-in link can no longer be verified (the secret "
                            "key changed); start again") from None
        return PendingFlow(state, str(row.session_ref), verifier, str(row.redirect_uri),
                           str(row.collection_path), float(row.created_at))
