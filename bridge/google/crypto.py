"""Refresh tokens at rest: AES-256-GCM bound to the connection row, with key rotation.

A blob is ``b"TB1" + key_id (8 bytes) + nonce (12 bytes) + ciphertext||tag``.  The AES key is
derived from ``[security] secret_key`` with HKDF-SHA256; ``key_id`` is a short fingerprint of the
derived key, so a blob names the key that sealed it.  The associated data is the connection id:
a ciphertext copied to another row does not decrypt.  ``old_secret_keys`` stay accepted for
decryption while :func:`reencrypt_all` (``google re-encrypt``) moves every row to the current key;
after that the old key can be removed from the configuration.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bridge.config import Settings
from bridge.errors import BridgeError

__all__ = ["TokenCipher", "TokenDecryptError", "cipher_from_settings"]

_MAGIC = b"TB1"
_INFO = b"termin-bridge refresh-token v1"


class TokenDecryptError(BridgeError):
    """A stored token cannot be decrypted (wrong or missing key, or moved to another row)."""

    def __init__(self, connection_id: int, reason: str) -> None:
        self.connection_id = connection_id
        self.reason = reason
        super().__init__(f"refresh token of connection {connection_id} unreadable: {reason}")


@dataclass(frozen=True)
class _Key:
    key_id: bytes
    aead: AESGCM


def _derive(secret: str) -> _Key:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret.encode("utf-8")
    )
    return _Key(hashlib.sha256(b"kid" + raw).digest()[:8], AESGCM(raw))


def _aad(connection_id: int) -> bytes:
    return b"termin-bridge:connection:" + str(int(connection_id)).encode("ascii")


def _context_aad(context: str) -> bytes:
    return b"termin-bridge:context:" + context.encode("utf-8")


class TokenCipher:
    """Seal and open refresh tokens for one connection id (current key + old keys)."""

    def __init__(self, secret_key: str, old_keys: Sequence[str] = ()) -> None:
        if not secret_key:
            raise BridgeError("[security] secret_key is empty; tokens cannot be encrypted")
        self._current = _derive(secret_key)
        self._keys = {self._current.key_id: self._current}
        for old in old_keys:
            if old:
                key = _derive(old)
                self._keys.setdefault(key.key_id, key)

    @property
    def current_key_id(self) -> bytes:
        """The fingerprint of the key new blobs are sealed with."""
        return self._current.key_id

    def encrypt(self, connection_id: int, token: str) -> bytes:
        """Seal ``token`` for the connection ``connection_id``."""
        return self._seal(token, _aad(connection_id))

    def seal(self, context: str, secret: str) -> bytes:
        """Seal any other secret, bound to ``context`` (e.g. ``"oauth-flow:<state hash>"``)."""
        return self._seal(secret, _context_aad(context))

    def _seal(self, secret: str, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        sealed = self._current.aead.encrypt(nonce, secret.encode("utf-8"), aad)
        return _MAGIC + self._current.key_id + nonce + sealed

    def key_id_of(self, blob: bytes) -> bytes | None:
        """The key fingerprint a blob names, or ``None`` for an unknown format."""
        if len(blob) < 3 + 8 + 12 + 16 or not blob.startswith(_MAGIC):
            return None
        return bytes(blob[3:11])

    def decrypt(self, connection_id: int, blob: bytes) -> str:
        """Open a blob of ``connection_id``; raises ``TokenDecryptError``."""
        return self._open(blob, _aad(connection_id), connection_id)

    def open(self, context: str, blob: bytes) -> str:
        """Open a blob made by :meth:`seal` for ``context``; raises ``TokenDecryptError``."""
        return self._open(blob, _context_aad(context), 0)

    def _open(self, blob: bytes, aad: bytes, connection_id: int) -> str:
        key_id = self.key_id_of(blob)
        if key_id is None:
            raise TokenDecryptError(connection_id, "unknown format")
        key = self._keys.get(key_id)
        if key is None:
            raise TokenDecryptError(connection_id, "sealed with a key that is not configured")
        try:
            plain = key.aead.decrypt(bytes(blob[11:23]), bytes(blob[23:]), aad)
        except InvalidTag as exc:
            raise TokenDecryptError(connection_id, "authentication failed") from exc
        return plain.decode("utf-8")

    def needs_rotation(self, blob: bytes) -> bool:
        """True when ``blob`` is sealed with an old key."""
        return self.key_id_of(blob) != self._current.key_id


def cipher_from_settings(settings: Settings) -> TokenCipher:
    """The cipher for ``[security] secret_key`` and ``old_secret_keys``."""
    old = [k.strip() for k in settings.security.old_secret_keys.split(",")]
    return TokenCipher(settings.security.secret_key, [k for k in old if k])
