"""The Graph client's contract: error translation, retries, throttling, links, batches.

A small aiohttp app answers like Graph does for each case (the full Graph surface is exercised
against the Microsoft emulator by the provider tests).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge.errors import (
    CursorExpired,
    RemoteAuthError,
    RemoteError,
    RemoteNotFound,
    RemotePreconditionFailed,
    RemoteTransient,
)
from bridge.microsoft.client import BatchRequest, GraphBadRequest, GraphClient, translate_error
from bridge.providers.http import RetryPolicy


def _graph_error(status: int, code: str, headers: dict[str, str] | None = None
                 ) -> web.Response:
    body = {"error": {"code": code, "message": f"{code} happened",
                      "innerError": {"date": "2026-12-03T08:00:00", "request-id": "r"}}}
    return web.json_response(body, status=status, headers=headers)


class Tokens:
    def __init__(self) -> None:
        self.issued = 0
        self.invalidated = 0

    async def access_token(self) -> str:
        self.issued += 1
        return f"token-{self.issued}"

    def invalidate(self) -> None:
        self.invalidated += 1


class Graph:
    """Scripted answers per path, and what was received."""

    def __init__(self) -> None:
        self.script: dict[str, list[web.Response]] = {}
        self.members: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self.seen: list[tuple[str, str, dict[str, str], Any]] = []
        self.active = 0
        self.peak = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(0.01)
            body = await request.json() if request.can_read_body else None
            self.seen.append((request.method, request.path_qs, dict(request.headers), body))
            if request.path == "/v1.0/$batch":
                return self.batch(body or {})
            queue = self.script.get(request.path)
            if queue:
                return queue.pop(0)
            return web.json_response({"id": request.path.rsplit("/", 1)[-1]})
        finally:
            self.active -= 1

    def batch(self, body: dict[str, Any]) -> web.Response:
        responses = []
        for member in body["requests"]:
            queue = self.members.get(member["url"])
            if queue:
                status, payload = queue.pop(0)
            else:
                status, payload = 200, {"id": member["url"].rsplit("/", 1)[-1]}
            headers: dict[str, str] = {"Retry-After": "0"} if status == 429 else {}
            responses.append({"id": member["id"], "status": status, "headers": headers,
                              "body": payload})
        return web.json_response({"responses": list(reversed(responses))})


@pytest.fixture
async def graph() -> AsyncIterator[tuple[Graph, GraphClient, Tokens]]:
    fake = Graph()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    server = TestServer(app)
    await server.start_server()
    tokens = Tokens()
    async with aiohttp.ClientSession() as session:
        client = GraphClient(
            graph_endpoint=str(server.make_url("/v1.0")), tokens=tokens, session=session,
            retry=RetryPolicy(max_attempts=4, base=0.001, cap=0.005, max_retry_after=0.01))
        yield fake, client, tokens
    await server.close()


async def test_errors_become_remote_kinds(graph: tuple[Graph, GraphClient, Tokens]) -> None:
    fake, client, _ = graph
    fake.script["/v1.0/me/events/a"] = [_graph_error(404, "ErrorItemNotFound")]
    fake.script["/v1.0/me/events/b"] = [_graph_error(412, "ErrorIrresolvableConflict")]
    fake.script["/v1.0/me/events/c"] = [_graph_error(400, "ErrorInvalidRequest")]
    with pytest.raises(RemoteNotFound):
        await client.get_event("a")
    with pytest.raises(RemotePreconditionFailed):
        await client.update_event("b", {"subject": "x"}, etag='W/"1"')
    with pytest.raises(GraphBadRequest):
        await client.delete_event("c", etag=None)
    sent = {(m, p): h for m, p, h, _ in fake.seen}
    assert sent[("PATCH", "/v1.0/me/events/b")]["If-Match"] == 'W/"1"'
    assert "If-Match" not in sent[("DELETE", "/v1.0/me/events/c")]


def test_410_sync_state_is_an_expired_cursor() -> None:
    assert isinstance(translate_error(410, {"error": {"code": "SyncStateNotFound"}}),
                      CursorExpired)
    assert isinstance(translate_error(410, {"error": {"code": "ErrorItemNotFound"}}),
                      RemoteNotFound)
    err = translate_error(429, {"error": {"code": "ApplicationThrottled"}}, {"Retry-After": "7"})
    assert isinstance(err, RemoteTransient) and err.retry_after == 7.0  # type: ignore[attr-defined]


async def test_throttling_is_retried_after_retry_after(
        graph: tuple[Graph, GraphClient, Tokens]) -> None:
    fake, client, _ = graph
    fake.script["/v1.0/me"] = [_graph_error(429, "TooManyRequests", {"Retry-After": "0"}),
                               _graph_error(503, "ServiceUnavailable"),
                               web.json_response({"id": "me", "mail": "a@example.org"})]
    assert (await client.me())["mail"] == "a@example.org"
    assert client.stats.retries == 2
    fake.script["/v1.0/me"] = [_graph_error(503, "ServiceUnavailable") for _ in range(4)]
    with pytest.raises(RemoteTransient):
        await client.me()


async def test_401_refreshes_the_token_once(graph: tuple[Graph, GraphClient, Tokens]) -> None:
    fake, client, tokens = graph
    fake.script["/v1.0/me"] = [_graph_error(401, "InvalidAuthenticationToken"),
                               web.json_response({"id": "me"})]
    await client.me()
    assert tokens.invalidated == 1
    assert [h["Authorization"] for _, _, h, _ in fake.seen] == ["Bearer token-1",
                                                               "Bearer token-2"]
    fake.script["/v1.0/me"] = [_graph_error(401, "InvalidAuthenticationToken")
                               for _ in range(2)]
    with pytest.raises(RemoteAuthError):
        await client.me()


async def test_links_outside_the_graph_root_are_refused(
        graph: tuple[Graph, GraphClient, Tokens]) -> None:
    fake, client, _ = graph
    root = client.root
    for foreign in ("https://evil.example/v1.0/me/calendarView/delta?$deltatoken=x",
                    root.replace("/v1.0", "/beta") + "/me",
                    root.replace("http://", "https://") + "/me"):
        with pytest.raises(RemoteError, match="outside"):
            await client.delta_page(foreign)
    assert fake.seen == []
    fake.script["/v1.0/me/calendars/c1/calendarView/delta"] = [
        web.json_response({"value": [{"id": "e1"}], "@odata.nextLink": root + "/next"}),
    ]
    page = await client.delta_page(client.delta_start("c1", "2026-01-01T00:00:00Z",
                                                      "2027-01-01T00:00:00Z"), page_size=5)
    assert page.items == [{"id": "e1"}] and page.next_link == root + "/next"
    assert fake.seen[-1][2]["Prefer"] == "odata.maxpagesize=5"


async def test_mailbox_concurrency_stays_at_four(
        graph: tuple[Graph, GraphClient, Tokens]) -> None:
    fake, client, _ = graph
    await asyncio.gather(*(client.get_event(f"e{i}") for i in range(12)))
    assert fake.peak == 4


async def test_batch_answers_in_order_and_retries_throttled_members(
        graph: tuple[Graph, GraphClient, Tokens]) -> None:
    fake, client, _ = graph
    fake.members["/me/events/e3"] = [(429, {"error": {"code": "TooManyRequests"}})]
    fake.members["/me/events/e5"] = [(404, {"error": {"code": "ErrorItemNotFound"}})]
    requests = [BatchRequest("GET", f"/me/events/e{i}") for i in range(25)]
    results = await client.batch(requests)
    assert [r.body["id"] if r.body else None for r in results] == \
        [f"e{i}" if i != 5 else None for i in range(25)]
    assert isinstance(results[5].error, RemoteNotFound)
    envelopes = [json.dumps(b) for m, p, _, b in fake.seen if p == "/v1.0/$batch"]
    assert len(envelopes) == 3  # 20 + 5, then the throttled member again
    assert all(len(json.loads(e)["requests"]) <= 20 for e in envelopes)


async def test_an_answer_arriving_in_pieces_is_read_whole() -> None:
    """A body sent in several writes with pauses is read to its end, not up to the first."""
    rows = [{"id": f"e{i}", "subject": "x" * 200} for i in range(400)]
    raw = json.dumps({"value": rows, "@odata.deltaLink": "/v1.0/delta?$deltatoken=t"}).encode()

    async def slow(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.content_length = len(raw)
        await resp.prepare(request)
        for start in range(0, len(raw), 8192):
            await resp.write(raw[start:start + 8192])
            await asyncio.sleep(0.01)
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/v1.0/delta", slow)
    server = TestServer(app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            client = GraphClient(graph_endpoint=str(server.make_url("/v1.0")), tokens=Tokens(),
                                 session=session, retry=RetryPolicy(max_attempts=1))
            page = await client.delta_page(str(server.make_url("/v1.0/delta")))
    finally:
        await server.close()
    assert [r["id"] for r in page.items] == [r["id"] for r in rows]
    assert page.delta_link == "/v1.0/delta?$deltatoken=t"
