"""Google event ids: deterministic ids for our items and instance ids of recurring events.

Google accepts client-chosen ids made of base32hex characters (``[a-v0-9]``, 5 to 1024 long).
:func:`event_id` derives one from ``(calendar key, UID)`` so a retried insert answers 409
("already there") instead of creating a duplicate.  :func:`instance_id` builds the id Google
gives one occurrence of a recurring event: ``<master id>_<YYYYMMDDTHHMMSSZ>`` for timed series
(the original start in UTC) and ``<master id>_<YYYYMMDD>`` for all-day series.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, date, datetime

__all__ = [
    "event_id",
    "instance_id",
    "is_valid_event_id",
    "split_instance_id",
]

_VALID = re.compile(r"[a-v0-9]{5,1024}")
_INSTANCE = re.compile(r"(?P<base>[a-v0-9]{5,1024})_(?P<suffix>\d{8}(?:T\d{6}Z)?)")


def event_id(calendar_key: str, uid: str) -> str:
    """The deterministic Google event id of ``uid`` in the calendar ``calendar_key``."""
    digest = hashlib.sha256(
        calendar_key.encode("utf-8") + b"\x00" + uid.encode("utf-8")
    ).digest()
    # base32hex of 32 bytes is 52 characters (plus padding); lowercase is Google's alphabet.
    return base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


def is_valid_event_id(value: str) -> bool:
    """True when ``value`` is an id Google accepts on insert (base32hex, 5 to 1024 long)."""
    return _VALID.fullmatch(value) is not None


def instance_id(master_id: str, original_start: date | datetime) -> str:
    """The id of the occurrence of ``master_id`` that originally started at ``original_start``.

    ``original_start`` is a ``date`` for all-day series or an aware ``datetime``.
    """
    if isinstance(original_start, datetime):
        if original_start.tzinfo is None:
            raise ValueError("instance_id needs an aware datetime (resolve floating times first)")
        suffix = original_start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    else:
        suffix = original_start.strftime("%Y%m%d")
    return f"{master_id}_{suffix}"


def split_instance_id(value: str) -> tuple[str, str | None]:
    """Split ``<master>_<suffix>`` into ``(master, suffix)``; ``(value, None)`` for other ids."""
    match = _INSTANCE.fullmatch(value)
    if match is None:
        return value, None
    return match.group("base"), match.group("suffix")
