"""Signed webhooks: JSON POSTs with ``X-Termin-Signature: sha256=<HMAC-SHA256 of the body>``.

Receivers verify with :func:`verify_signature` (constant-time) and drop repeats by the
``X-Termin-Delivery`` id, which stays the same for every retry of one notification.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import aiohttp

from bridge.notify.email import PermanentError

__all__ = ["SIGNATURE_HEADER", "build_body", "post_webhook", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Termin-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the signature of ``body`` under ``secret``."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def build_body(
    delivery_id: str, kind: str, language: str, recipient: str, payload: dict[str, Any],
    created_at: float,
) -> bytes:
    """The JSON body of one delivery (the same bytes on every retry)."""
    data = {"id": delivery_id, "event": f"appointment.{kind}", "language": language,
            "recipient": recipient or None, "created_at": created_at, "appointment": payload}
    return json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8")


async def post_webhook(
    session: aiohttp.ClientSession, url: str, secret: str, body: bytes, *, delivery_id: str,
    event: str, timeout: float = 15.0,
) -> None:
    """POST one delivery; 2xx is success, other 4xx (but 408/429) are permanent failures."""
    headers = {"Content-Type": "application/json", "X-Termin-Delivery": delivery_id,
               "X-Termin-Event": event, SIGNATURE_HEADER: sign(secret, body)}
    async with session.post(url, data=body, headers=headers,
                            timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
        if 200 <= resp.status < 300:
            return
        if 400 <= resp.status < 500 and resp.status not in (408, 409, 425, 429):
            raise PermanentError(f"webhook answered {resp.status}")
        raise RuntimeError(f"webhook answered {resp.status}")
