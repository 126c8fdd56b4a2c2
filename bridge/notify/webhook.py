"""Signed webhooks in the Standard Webhooks scheme (https://www.standardwebhooks.com).

Each delivery is a JSON ``POST`` with three headers:

- ``webhook-id``: the notification's delivery id, the same on every retry (receivers drop repeats);
- ``webhook-timestamp``: the attempt's Unix time in seconds;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``.

The signature covers the timestamp, and receivers refuse a timestamp more than five minutes away,
so a captured request cannot be replayed later (the old body-only ``X-Termin-Signature`` could).
Receivers verify with any Standard Webhooks library, e.g. Python's
``standardwebhooks.Webhook(secret).verify(body, headers)``, which is also what signs here.
The secret is ``whsec_<base64 key>`` as the scheme defines it; any other configured string is
used as the raw key (configurations from before the scheme keep working); :func:`verify` takes
both.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
from standardwebhooks import Webhook, WebhookVerificationError

from bridge.notify.email import PermanentError

__all__ = ["build_body", "post_webhook", "signed_headers", "verify"]

_PREFIX = "whsec_"


def _signer(secret: str) -> Webhook:
    return Webhook(secret if secret.startswith(_PREFIX) else secret.encode("utf-8"))


def signed_headers(secret: str, delivery_id: str, body: bytes, now: float) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt to deliver ``body`` at ``now``."""
    stamp = datetime.fromtimestamp(int(now), tz=UTC)
    signature = _signer(secret).sign(delivery_id, stamp, body.decode("utf-8"))
    return {"webhook-id": delivery_id, "webhook-timestamp": str(int(now)),
            "webhook-signature": signature}


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """True when ``headers`` sign ``body`` under ``secret`` with a timestamp within 5 minutes."""
    try:
        _signer(secret).verify(body, dict(headers), json_parse=False)
    except (WebhookVerificationError, ValueError):  # ValueError: malformed signature list
        return False
    return True


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
    timeout: float = 15.0,
) -> None:
    """POST one delivery; 2xx is success, other 4xx (but 408/429) are permanent failures."""
    headers = {"Content-Type": "application/json",
               **signed_headers(secret, delivery_id, body, time.time())}
    async with session.post(url, data=body, headers=headers,
                            timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
        if 200 <= resp.status < 300:
            return
        if 400 <= resp.status < 500 and resp.status not in (408, 409, 425, 429):
            raise PermanentError(f"webhook answered {resp.status}")
        raise RuntimeError(f"webhook answered {resp.status}")
