"""``POST /v1.0/$batch``: JSON batching.

At most 20 members, each ``{"id", "method", "url", "headers"?, "body"?, "dependsOn"?}`` with a URL
relative to ``/v1.0``.  Members run one after another through the normal pipeline (so each counts
against the mailbox limits), in ``dependsOn`` order; a member whose dependency failed gets 424.
The envelope is 200 even when members fail; the responses come back in any order
(``batch_shuffle``).  A member with a body but no ``Content-Type`` header is refused, as Graph
does.
"""

from __future__ import annotations

import json
import random
from typing import Any

from multidict import CIMultiDict

from emulators.microsoft.errors import GraphError, graph_body
from emulators.microsoft.graph import GraphRequest, GraphResponse, authenticate, dispatch
from emulators.microsoft.state import MsState

__all__ = ["MAX_MEMBERS", "run_batch"]

MAX_MEMBERS = 20


def _validate(body: Any) -> list[dict[str, Any]]:
    members = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(members, list) or not members:
        raise GraphError(400, "BadRequest", "Invalid batch payload format.")
    if len(members) > MAX_MEMBERS:
        raise GraphError(400, "BadRequest", "The number of batch requests exceeds the maximum "
                         f"of {MAX_MEMBERS}.")
    ids = [str(m.get("id", "")) if isinstance(m, dict) else "" for m in members]
    if "" in ids or len(set(ids)) != len(ids):
        raise GraphError(400, "BadRequest", "Batch request ids must be unique and non-empty.")
    for member in members:
        if not member.get("method") or not member.get("url"):
            raise GraphError(400, "BadRequest", "Each batch request needs a method and a url.")
        for dep in member.get("dependsOn") or []:
            if str(dep) not in ids:
                raise GraphError(400, "BadRequest", f"Depends on request id '{dep}' which is "
                                 "not in the batch.")
    return list(members)


def _member_response(member_id: str, resp: GraphResponse) -> dict[str, Any]:
    headers = {k: v for k, v in resp.headers.items()
               if k.lower() not in ("request-id", "client-request-id")}
    out: dict[str, Any] = {"id": member_id, "status": resp.status, "headers": headers}
    if resp.body is not None:
        out["body"] = resp.body
    return out


def _order(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done: set[str] = set()
    ordered: list[dict[str, Any]] = []
    pending = list(members)
    while pending:
        ready = [m for m in pending if all(str(d) in done for d in m.get("dependsOn") or [])]
        if not ready:
            raise GraphError(400, "BadRequest", "The dependsOn graph has a cycle.")
        for member in ready:
            ordered.append(member)
            done.add(str(member["id"]))
            pending.remove(member)
    return ordered


async def _run_member(state: MsState, envelope: GraphRequest,
                      member: dict[str, Any]) -> GraphResponse:
    url = str(member["url"])
    url = url.removeprefix("https://graph.microsoft.com").removeprefix("/v1.0")
    path, _, query = ("/" + url.lstrip("/")).partition("?")
    headers: CIMultiDict[str] = CIMultiDict(
        {str(k): str(v) for k, v in (member.get("headers") or {}).items()})
    if "Authorization" in envelope.headers:
        headers["Authorization"] = envelope.headers["Authorization"]
    for name in envelope.headers.getall("Prefer", []):
        headers.add("Prefer", name)
    body = b""
    if member.get("body") is not None:
        if "Content-Type" not in headers:
            error = GraphError(400, "BadRequest", f"Write request id : {member['id']} does not "
                               "contain Content-Type header or body.")
            return GraphResponse(400, graph_body(error.code, error.message, state.clock.now()))
        body = json.dumps(member["body"]).encode()
    request = GraphRequest(str(member["method"]).upper(), path, query, headers, body,
                           envelope.base_url)
    return await dispatch(state, request)


async def run_batch(state: MsState, envelope: GraphRequest) -> GraphResponse:
    """Run a batch envelope; errors of the envelope itself are Graph errors."""
    state.counters.api_requests["batch"] += 1
    try:
        authenticate(state, envelope)
        try:
            data = json.loads(envelope.body or b"null")
        except ValueError as exc:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.") from exc
        members = _order(_validate(data))
    except GraphError as error:
        return GraphResponse(error.status, graph_body(error.code, error.message,
                                                      state.clock.now()), dict(error.headers))
    failed: set[str] = set()
    responses: list[dict[str, Any]] = []
    for member in members:
        member_id = str(member["id"])
        if any(str(d) in failed for d in member.get("dependsOn") or []):
            failed.add(member_id)
            responses.append({"id": member_id, "status": 424, "body": graph_body(
                "FailedDependency", "A dependency of this request failed.", state.clock.now())})
            continue
        resp = await _run_member(state, envelope, member)
        if resp.status >= 400:
            failed.add(member_id)
        responses.append(_member_response(member_id, resp))
    if state.config.batch_shuffle:
        random.shuffle(responses)
    return GraphResponse(200, {"responses": responses})
