"""Signed tokens of the booking page (pure: no I/O, no clock reads).

Two kinds, each under its own key derived from ``[security] secret_key`` (HMAC-SHA256 of a
purpose label, so a token of one kind never verifies as the other and the secret key itself
never signs anything):

* **manage tokens** in the cancel/reschedule link of a confirmation e-mail: the calendar id,
  the appointment's UID and an expiry (the appointment's start), base64url JSON and a MAC.
  They work without an account; :func:`read_manage_token` refuses a forged or altered token
  (:class:`TokenForged`) and an expired one (:class:`TokenExpired`).  Former keys
  (``old_secret_keys``) still verify, so a key rotation does not break links already sent.
* **form tokens** of the public page, which has no session: a signed double submit.  The page
  sets a random cookie and each form echoes ``form_token(cookie)``; a cross-site form can
  neither read the cookie nor compute the MAC.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass

from bridge.errors import BridgeError

__all__ = [
    "ManageClaim",
    "Signer",
    "TokenExpired",
    "TokenForged",
    "manage_path",
]

_MANAGE = b"termin-bridge/booking/manage-link/v1"
_FORM = b"termin-bridge/booking/form/v1"
_MAX_TOKEN = 2048


class TokenForged(BridgeError):
    """The token is malformed or its signature does not match."""


class TokenExpired(BridgeError):
    """The token was ours but its time is over."""


@dataclass(frozen=True)
class ManageClaim:
    """What a manage link grants: the appointment (calendar id, UID) until ``expires``."""

    calendar_id: int
    uid: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks booking-page tokens with the current key (and former keys)."""

    def __init__(self, secret_key: str, old_keys: Sequence[str] = ()) -> None:
        if not secret_key:
            raise BridgeError("no secret key: set [security] secret_key")
        self._keys = [k.encode("utf-8") for k in (secret_key, *old_keys) if k]

    @staticmethod
    def _mac(key: bytes, purpose: bytes, data: bytes) -> bytes:
        derived = hmac.new(key, purpose, hashlib.sha256).digest()
        return hmac.new(derived, data, hashlib.sha256).digest()

    def manage_token(self, calendar_id: int, uid: str, expires: int) -> str:
        """The token of a cancel/reschedule link."""
        body = _b64(json.dumps([calendar_id, uid, expires], separators=(",", ":"),
                               ensure_ascii=False).encode("utf-8"))
        return body + "." + _b64(self._mac(self._keys[0], _MANAGE, body.encode("ascii")))

    def read_manage_token(self, token: str, now: float) -> ManageClaim:
        """The claim of a valid token; raises :class:`TokenForged` or :class:`TokenExpired`."""
        body, dot, mac = token.partition(".")
        if not dot or len(token) > _MAX_TOKEN:
            raise TokenForged("not a booking link")
        try:
            given = _unb64(mac)
            raw = body.encode("ascii")
        except (ValueError, binascii.Error) as exc:
            raise TokenForged("not a booking link") from exc
        if not any(hmac.compare_digest(given, self._mac(k, _MANAGE, raw)) for k in self._keys):
            raise TokenForged("the booking link's signature does not match")
        try:
            data = json.loads(_unb64(body))
        except (ValueError, binascii.Error) as exc:
            raise TokenForged("not a booking link") from exc
        if not (isinstance(data, list) and len(data) == 3 and type(data[0]) is int
                and isinstance(data[1], str) and type(data[2]) is int):
            raise TokenForged("not a booking link")
        claim = ManageClaim(data[0], data[1], data[2])
        if now >= claim.expires:
            raise TokenExpired("the booking link has expired")
        return claim

    def form_token(self, cookie: str) -> str:
        """The form token that goes with the page's random cookie."""
        return _b64(self._mac(self._keys[0], _FORM, cookie.encode("utf-8")))


def manage_path(token: str) -> str:
    """The path of a cancel/reschedule link (served by :mod:`bridge.bookpage.web`)."""
    return f"/book/manage/{token}"
