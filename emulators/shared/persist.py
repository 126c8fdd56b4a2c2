"""JSON encoding of emulator state for ``--state FILE``, shared by the emulators.

:func:`encode` turns dataclasses, datetimes, dicts and lists into JSON-able data (datetimes as
``{"__dt__": iso}``); :func:`decode` turns the datetimes back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

__all__ = ["decode", "encode"]


def encode(value: Any) -> Any:
    """JSON-able form of ``value``."""
    if isinstance(value, dt.datetime):
        return {"__dt__": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    """Undo :func:`encode` for datetimes."""
    if isinstance(value, dict):
        if set(value) == {"__dt__"}:
            return dt.datetime.fromisoformat(value["__dt__"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value
