"""The operation table and the request pipeline of ``/EWS/Exchange.asmx``.

:func:`handle` takes a parsed request of a signed-in mailbox, checks ``RequestServerVersion``,
applies scheduled faults and the per-mailbox request budget, runs the operation and wraps its
response messages in ``m:<Operation>Response``/``m:ResponseMessages``.  Operations not in
:data:`OPERATIONS` answer a schema-validation fault (ConvertId, which exchangelib uses to probe
the server version, answers every id as malformed, which is enough for the probe).
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable

from emulators.ews import folders, items, push, sync
from emulators.ews.context import Ctx
from emulators.ews.controls import FaultRule
from emulators.ews.soap import EwsError, m, response_message

__all__ = ["API_VERSIONS", "OPERATIONS", "Reset", "Status", "handle", "supported_schemas",
           "take_fault"]

API_VERSIONS = ("Exchange2007", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1",
                "Exchange2010_SP2", "Exchange2013", "Exchange2013_SP1", "Exchange2015",
                "Exchange2016", "V2015_10_05", "V2016_01_06", "V2016_04_13", "V2016_07_13",
                "V2016_10_10", "V2017_01_07", "V2017_04_14", "V2017_07_11", "V2017_10_09",
                "V2018_01_08")


def _rank(version: str) -> int:
    """The position of an API version; the ``V20xx`` names are Exchange 2016 and later."""
    return API_VERSIONS.index(version) if version in API_VERSIONS else len(API_VERSIONS)


def _older(version: str, than: str) -> bool:
    return _rank(version) < _rank(than)


def _version_ok(requested: str, server: str) -> bool:
    """Whether the server speaks a requested API version: a known one not newer than its own
    (the dated ``V20xx`` versions: Exchange 2016 and later)."""
    if requested not in API_VERSIONS:
        return False
    if requested.startswith("V20"):
        return _rank(server) >= _rank("Exchange2016")
    return _rank(requested) <= _rank(server)


def supported_schemas(server: str) -> list[str]:
    """The ``Exchange…`` API versions a server of version ``server`` speaks, oldest first."""
    return [v for v in API_VERSIONS if v.startswith("Exchange") and _version_ok(v, server)]


def _convert_id(ctx: Ctx, body: ET.Element) -> list[ET.Element]:
    ids = body.find(m("SourceIds"))
    return [response_message("ConvertId", EwsError("ErrorInvalidIdMalformed",
                                                   "Id is malformed."))
            for _ in (ids if ids is not None else [None])]


OPERATIONS: dict[str, Callable[[Ctx, ET.Element], list[ET.Element]]] = {
    "GetFolder": folders.get_folder,
    "FindFolder": folders.find_folder,
    "SyncFolderItems": sync.sync_folder_items,
    "GetItem": items.get_item,
    "CreateItem": items.create,
    "UpdateItem": items.update,
    "DeleteItem": items.delete,
    "FindItem": items.find_item,
    "ConvertId": _convert_id,
    "Subscribe": push.subscribe,
    "Unsubscribe": push.unsubscribe,
}


class Reset(Exception):
    """Drop the connection (a scheduled ``reset`` fault)."""


class Status(Exception):
    """Answer a bare HTTP status (a scheduled ``status`` fault)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def take_fault(ctx: Ctx, op: str) -> FaultRule | None:
    """The first matching fault rule, consumed once."""
    for rule in list(ctx.state.faults):
        if not fnmatch.fnmatchcase(op, rule.op):
            continue
        if rule.account and rule.account.lower() != ctx.owner:
            continue
        if rule.times is not None:
            rule.times -= 1
            if rule.times <= 0:
                ctx.state.faults.remove(rule)
        return rule
    return None


def _busy(back_off_ms: int) -> EwsError:
    return EwsError("ErrorServerBusy", "The server cannot service this request right now. "
                    "Try again later.", fault=True,
                    values={"BackOffMilliseconds": str(back_off_ms)})


def _rate_limited(ctx: Ctx) -> EwsError | None:
    limit = ctx.state.rate_limit
    if limit is None:
        return None
    now = time.monotonic()
    hits = ctx.state.rate_hits.setdefault(ctx.owner, deque())
    while hits and hits[0] <= now - limit.per_seconds:
        hits.popleft()
    if len(hits) >= limit.max:
        ctx.state.counters.throttled += 1
        return _busy(limit.back_off_ms)
    hits.append(now)
    return None


async def _apply_fault(ctx: Ctx, rule: FaultRule) -> EwsError | None:
    if rule.latency:
        await asyncio.sleep(rule.latency)
    if rule.reset:
        raise Reset
    if rule.code == "ErrorServerBusy":
        ctx.state.counters.throttled += 1
        busy = _busy(rule.back_off_ms if rule.back_off_ms is not None else 1000)
        busy.fault = rule.level != "message"
        return busy
    if rule.code:
        return EwsError(rule.code, rule.message or f"{rule.code} (emulated fault)",
                        fault=rule.level != "message")
    if rule.status == 500:
        return EwsError("ErrorInternalServerError", rule.message or
                        "An internal server error occurred. The operation failed.", fault=True)
    if rule.status:
        raise Status(rule.status)
    return None


async def handle(ctx: Ctx) -> ET.Element:
    """Run one operation; returns the ``m:<Operation>Response`` element (faults raise
    :class:`EwsError` with ``fault=True``)."""
    req = ctx.request
    ctx.state.counters.requests[req.service] += 1
    if req.requested_version is not None and not _version_ok(
            req.requested_version, ctx.state.config.server_version):
        raise EwsError("ErrorInvalidServerVersion",
                       "The specified server version is invalid.", fault=True)
    if req.body.get("SuppressReadReceipts") is not None and _older(
            req.requested_version or "Exchange2013_SP1", "Exchange2013_SP1"):
        raise EwsError("ErrorSchemaValidation", "The 'SuppressReadReceipts' attribute is not "
                       "declared before Exchange2013_SP1.", fault=True)
    operation = OPERATIONS.get(req.service)
    if operation is None:
        raise EwsError("ErrorSchemaValidation",
                       f"The operation {req.service} is not supported by this emulator.",
                       fault=True)
    rule = take_fault(ctx, req.service)
    error = await _apply_fault(ctx, rule) if rule is not None else None
    error = error or _rate_limited(ctx)
    if error is not None and error.fault:
        raise error
    response = ET.Element(m(f"{req.service}Response"))
    container = ET.SubElement(response, m("ResponseMessages"))
    if error is not None:
        container.append(response_message(req.service, error))
        return response
    container.extend(operation(ctx, req.body))
    return response


