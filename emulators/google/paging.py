"""Shared parameter parsing and paging for list methods.

A list result is computed once; :func:`page` hands out ``maxResults`` items and stores the rest
as a snapshot behind ``nextPageToken``.  Only the last page carries ``nextSyncToken``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from emulators.google.errors import ApiError, bad_request
from emulators.google.state import EmulatorState, PageSnapshot
from emulators.google.timeutil import parse_rfc3339

__all__ = [
    "Params",
    "flag",
    "max_results",
    "one",
    "page",
    "resume",
    "sync_since",
    "time_param",
]

Params = Mapping[str, Sequence[str]]


def one(params: Params, name: str) -> str | None:
    """The last value of query parameter ``name``."""
    values = params.get(name)
    return values[-1] if values else None


def flag(params: Params, name: str) -> bool:
    """True if the parameter is ``true``."""
    return (one(params, name) or "").lower() == "true"


def max_results(params: Params, default: int, cap: int) -> int:
    """``maxResults``: default, clamp at ``cap``, 400 below 1."""
    raw = one(params, "maxResults")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request("Invalid Value", reason="invalid", location="maxResults") from exc
    if value < 1:
        raise bad_request(
            f"Invalid value '{raw}'. Values must be within the range: [1, {cap}]",
            reason="invalid", location="maxResults",
        )
    return min(value, cap)


def time_param(params: Params, name: str) -> dt.datetime | None:
    """An RFC 3339 parameter (400 if malformed)."""
    raw = one(params, name)
    if raw is None:
        return None
    try:
        return parse_rfc3339(raw)
    except ValueError as exc:
        raise bad_request("Bad Request", reason="badRequest", location=name) from exc


def page(
    state: EmulatorState, snapshot: PageSnapshot, max_results: int, *, sync_kind: str,
) -> dict[str, Any]:
    """One page of ``snapshot``; the rest goes behind ``nextPageToken``.

    The ``page_size_cap`` and ``empty_pages`` knobs imitate Google's short and empty pages.
    """
    config = state.config
    if config.page_size_cap is not None:
        max_results = max(1, min(max_results, config.page_size_cap))
    if config.empty_pages > 0 and snapshot.items:
        config.empty_pages -= 1
        max_results = 0
    out = dict(snapshot.header)
    out["items"] = snapshot.items[:max_results]
    rest = snapshot.items[max_results:]
    if rest:
        out["nextPageToken"] = state.store_page(
            PageSnapshot(snapshot.kind, snapshot.key, rest, snapshot.header, snapshot.sync_seq,
                         snapshot.sync_key)
        )
    elif snapshot.sync_seq is not None:
        out["nextSyncToken"] = state.issue_sync_token(sync_kind, snapshot.sync_key,
                                                      snapshot.sync_seq)
    return out


def sync_since(
    state: EmulatorState, token: str, kind: str, key: str, *, restricted: bool
) -> int:
    """The change number behind a sync token: 400 with restrictions, 410 if not valid."""
    if restricted:
        raise bad_request("Sync token cannot be used with other request restrictions.",
                          reason="invalid", location="syncToken")
    info = state.sync_tokens.get(token)
    if info is None or (info.kind, info.key) != (kind, key) or not state.sync_token_alive(info):
        raise ApiError(410, "fullSyncRequired",
                       "Sync token is no longer valid, a full sync is required.",
                       location="syncToken")
    return info.seq


def resume(state: EmulatorState, params: Params, kind: str, key: str) -> PageSnapshot | None:
    """The snapshot behind ``pageToken`` (None without one; 400 if unknown)."""
    token = one(params, "pageToken")
    if token is None:
        return None
    snapshot = state.pages.get(token)
    if snapshot is None or snapshot.kind != kind or snapshot.key != key:
        raise bad_request("Invalid Value", reason="invalid", location="pageToken")
    return snapshot
