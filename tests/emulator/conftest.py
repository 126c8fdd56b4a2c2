"""Fixtures for the emulator tests: one emulator of each kind per worker, reset before every
test; a plain aiohttp Graph client for the Microsoft one."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import googleapiclient.http
import pytest

from emulators.google.server import ALICE, EmulatorServer
from emulators.microsoft.server import ADELE, MsEmulatorServer


@pytest.fixture
def svc(emu: EmulatorServer) -> Any:
    """A real Calendar service for Alice with the full ``calendar`` scope."""
    return emu.service(emu.credentials(ALICE, scopes=["calendar"]))


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace googleapiclient's retry sleep; returns the list of requested sleeps."""
    sleeps: list[float] = []
    monkeypatch.setattr(googleapiclient.http.time, "sleep", sleeps.append)
    return sleeps


def timed(start: str, end: str, **extra: Any) -> dict[str, Any]:
    """An event body with offset-qualified start and end."""
    return {"start": {"dateTime": start}, "end": {"dateTime": end}, **extra}


# -- Microsoft emulator ------------------------------------------------------------------




@dataclass
class Reply:
    """One Graph answer: status, headers and the decoded JSON body (``None`` if empty)."""

    status: int
    headers: dict[str, str]
    body: Any


class Graph:
    """A plain aiohttp client for the emulator's Graph, as the product will use it."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str) -> None:
        self.session = session
        self.base = base
        self.token = token

    async def call(self, method: str, path: str, body: Any = None,
                   headers: dict[str, str] | None = None, token: str | None = None) -> Reply:
        """``method`` on ``path`` (below ``/v1.0``, or an absolute link)."""
        url = path if path.startswith("https://") else self.base + path
        hdrs = {"Authorization": f"Bearer {self.token if token is None else token}",
                **(headers or {})}
        async with self.session.request(method, url, json=body, headers=hdrs) as resp:
            text = await resp.text()
            return Reply(resp.status, dict(resp.headers), json.loads(text) if text else None)

    async def get(self, path: str, **kw: Any) -> Reply:
        """GET."""
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any, **kw: Any) -> Reply:
        """POST."""
        return await self.call("POST", path, body, **kw)

    async def patch(self, path: str, body: Any, **kw: Any) -> Reply:
        """PATCH."""
        return await self.call("PATCH", path, body, **kw)

    async def delete(self, path: str, **kw: Any) -> Reply:
        """DELETE."""
        return await self.call("DELETE", path, **kw)

    async def all_pages(self, path: str, **kw: Any) -> tuple[list[dict[str, Any]], Reply]:
        """Follow ``@odata.nextLink``; returns every row and the last page."""
        rows: list[dict[str, Any]] = []
        reply = await self.get(path, **kw)
        while True:
            assert reply.status == 200, reply.body
            rows += reply.body["value"]
            link = reply.body.get("@odata.nextLink")
            if not link:
                return rows, reply
            reply = await self.get(link, **kw)


@pytest.fixture
async def graph(ms_emu: MsEmulatorServer) -> AsyncIterator[Graph]:
    """A Graph client for Adele (tokens minted through the hook)."""
    token = ms_emu.hooks.tokens(ADELE)["access_token"]
    connector = aiohttp.TCPConnector(ssl=ms_emu.ssl_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        yield Graph(session, ms_emu.graph_url, token)


def ms_event(subject: str, start: str, end: str, zone: str = "UTC",
             **extra: Any) -> dict[str, Any]:
    """A Graph event body."""
    return {"subject": subject, "start": {"dateTime": start, "timeZone": zone},
            "end": {"dateTime": end, "timeZone": zone}, **extra}
