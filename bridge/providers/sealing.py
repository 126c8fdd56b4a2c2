"""Refresh tokens sealed at rest: what every provider factory does the same way.

A factory holds the one token cipher of ``[security]`` (``bridge.google.crypto.TokenCipher``:
AES-GCM with the connection id as associated data, key rotation through old keys) and seals the
refresh token of a connection's row with it; :class:`SealsTokens` gives every factory the same
``sealer``/``seal``/``unseal`` and the same error when no key is configured.
"""

from __future__ import annotations

from typing import Protocol

from bridge.errors import BridgeError
from bridge.providers.flows import Sealer

__all__ = ["RefreshTokenCipher", "SealsTokens"]


class RefreshTokenCipher(Sealer, Protocol):
    """The token cipher as a factory uses it."""

    def encrypt(self, connection_id: int, token: str) -> bytes:
        """Seal a refresh token for a connection's row."""

    def decrypt(self, connection_id: int, blob: bytes) -> str:
        """Open a sealed refresh token (``BridgeError`` if it cannot)."""


class SealsTokens:
    """``sealer``/``seal``/``unseal`` of a provider factory over its ``cipher``."""

    cipher: RefreshTokenCipher | None

    def _cipher(self) -> RefreshTokenCipher:
        if self.cipher is None:
            raise BridgeError("no token key: set [security] secret_key")
        return self.cipher

    def sealer(self) -> Sealer:
        """The token cipher (it also seals pending sign-in flows)."""
        return self._cipher()

    def seal(self, connection_id: int, refresh_token: str) -> bytes:
        """The refresh token sealed for the connection's row (bound to its id)."""
        return self._cipher().encrypt(connection_id, refresh_token)

    def unseal(self, connection_id: int, sealed: bytes) -> str:
        """The refresh token from the connection's row (``BridgeError`` when it cannot be
        opened)."""
        return self._cipher().decrypt(connection_id, sealed)
