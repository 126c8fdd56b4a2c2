"""Signed JWTs (RS256) for ``id_token`` and access tokens, and the JWKS that verifies them.

One RSA key per process; msal decodes the ``id_token`` without checking the signature, but a
client that does can fetch ``/{tenant}/discovery/v2.0/keys``.  ``client_info`` is the base64url
JSON ``{"uid", "utid"}`` msal turns into ``home_account_id``.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["KEY_ID", "client_info", "jwks", "sign_jwt"]

KEY_ID = "emulator-key-1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@cache
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sign_jwt(claims: dict[str, Any]) -> str:
    """An RS256 JWT with the emulator's key."""
    header = {"typ": "JWT", "alg": "RS256", "kid": KEY_ID}
    signing_input = (_b64(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + _b64(json.dumps(claims, separators=(",", ":")).encode()))
    signature = _key().sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64(signature)


def jwks() -> dict[str, Any]:
    """The JSON Web Key Set with the emulator's public key."""
    numbers = _key().public_key().public_numbers()

    def as_b64(value: int) -> str:
        return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"keys": [{"kty": "RSA", "use": "sig", "kid": KEY_ID, "x5t": KEY_ID,
                      "n": as_b64(numbers.n), "e": as_b64(numbers.e)}]}


def client_info(uid: str, utid: str) -> str:
    """The ``client_info`` value for an account."""
    return _b64(json.dumps({"uid": uid, "utid": utid}, separators=(",", ":")).encode())
