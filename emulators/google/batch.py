"""``POST /batch/calendar/v3``: multipart/mixed batches run through the normal API pipeline.

Each ``application/http`` part is parsed into an :class:`~.api.ApiRequest` (outer headers are
inherited except ``Content-*``), dispatched like a standalone request (so it counts towards
quotas, faults and rate limits), and answered as a part with ``Content-ID: <response-…>``, in
request order.
"""

from __future__ import annotations

import json
import logging
import secrets
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus

from multidict import CIMultiDict

from emulators.google.api import ApiRequest, ApiResponse, dispatch
from emulators.google.errors import ApiError
from emulators.google.state import EmulatorState

__all__ = ["MAX_PARTS", "run_batch"]

_LOGGER = logging.getLogger(__name__)
MAX_PARTS = 1000


def _parse_part(payload: bytes, outer: CIMultiDict[str]) -> ApiRequest:
    text = payload.replace(b"\r\n", b"\n")
    head, _, body = text.partition(b"\n\n")
    lines = head.decode("utf-8", "replace").split("\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: CIMultiDict[str] = CIMultiDict(
        (k, v) for k, v in outer.items() if not k.lower().startswith("content-")
    )
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
    path, _, query = target.partition("?")
    return ApiRequest(method.upper(), path, query, headers, body.rstrip(b"\n"))


def _serialise(resp: ApiResponse) -> bytes:
    try:
        phrase = HTTPStatus(resp.status).phrase
    except ValueError:
        phrase = "Unknown"
    lines = [f"HTTP/1.1 {resp.status} {phrase}"]
    body = resp.raw or b""
    if resp.raw is not None:
        lines.append("Content-Type: application/json; charset=UTF-8")
    elif resp.body is not None:
        body = json.dumps(resp.body, indent=1).encode()
        lines.append("Content-Type: application/json; charset=UTF-8")
    for name, value in resp.headers.items():
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def run_batch(
    state: EmulatorState, content_type: str, raw: bytes, outer: CIMultiDict[str]
) -> tuple[int, bytes, str]:
    """Run a batch body; returns (status, body, content type)."""
    state.counters.api_requests["batch"] += 1
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    if not message.is_multipart():
        err = ApiError(400, "badRequest", "Batch request must be multipart/mixed.")
        return 400, json.dumps(err.body()).encode(), "application/json"
    parts = list(message.iter_parts())
    if len(parts) > MAX_PARTS:
        err = ApiError(400, "badRequest",
                       f"A batch request cannot contain more than {MAX_PARTS} requests.")
        return 400, json.dumps(err.body()).encode(), "application/json"
    boundary = "batch_" + secrets.token_hex(12)
    chunks: list[bytes] = []
    for part in parts:
        payload = part.get_payload(decode=True)
        content_id = str(part.get("Content-ID", "")).strip()
        if isinstance(payload, bytes):
            try:
                request = _parse_part(payload, outer)
            except ValueError:
                resp = ApiResponse(400, ApiError(400, "badRequest", "Bad Request").body())
            else:
                resp = await dispatch(state, request)
        else:
            resp = ApiResponse(400, ApiError(400, "badRequest", "Bad Request").body())
        response_id = ""
        if content_id.startswith("<") and content_id.endswith(">"):
            response_id = f"<response-{content_id[1:-1]}>"
        head = (
            f"--{boundary}\r\nContent-Type: application/http\r\n"
            f"Content-ID: {response_id}\r\n\r\n"
        ).encode()
        chunks.append(head + _serialise(resp) + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    _LOGGER.debug("Batch of %d parts answered", len(parts))
    return 200, b"".join(chunks), f"multipart/mixed; boundary={boundary}"
