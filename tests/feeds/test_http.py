"""``/feeds/<token>.ics`` over HTTP: caching, 304, gzip, uniform 404s, 429, revocation, logs."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.feeds.http import FeedOptions, FeedService, add_feed_routes
from bridge.feeds.limits import MissLimiter
from bridge.ical import parse_resource
from bridge.store import SqlStore
from bridge.web.accesslog import RedactingAccessLogger
from tests.feeds.conftest import CAL, NOW, cal, ev

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


class _Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limiter_clock() -> _Clock:
    """The miss limiter's monotonic clock, advanced by hand."""
    return _Clock()


@pytest.fixture
def make(
    aiohttp_client: Any, filled: SqlStore, limiter_clock: _Clock
) -> Callable[..., Awaitable[tuple[Client, FeedService]]]:
    """Build an app with the feed routes and the redacting access logger."""

    async def build(**options: Any) -> tuple[Client, FeedService]:
        app = web.Application()
        opts = FeedOptions(**options)
        service = add_feed_routes(app, filled, opts)
        service.clock = lambda: NOW
        service.limiter = MissLimiter(opts.miss_limit, opts.miss_window, clock=limiter_clock)
        server = TestServer(app)
        # Started here so the runner gets the access logger the sidecar uses.
        await server.start_server(access_log_class=RedactingAccessLogger)
        client = await aiohttp_client(
            server, auto_decompress=False, headers={"Accept-Encoding": "identity"}
        )
        return client, service

    return build


def _headers(resp: Any) -> dict[str, str]:
    return {k: v for k, v in resp.headers.items() if k not in ("Date",)}


async def test_feed_headers_and_body(make: Any, filled: SqlStore) -> None:
    _feed, token = filled.create_feed(CAL, privacy="full")
    client, _ = await make()
    resp = await client.get(f"/feeds/{token}.ics")
    assert resp.status == 200
    body = await resp.read()
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    etag = resp.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert resp.headers["Last-Modified"].endswith(" GMT")
    cache = resp.headers["Cache-Control"]
    assert cache.startswith("private, max-age=")
    assert int(cache.rsplit("=", 1)[1]) <= FeedOptions().revocation_seconds
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in resp.headers
    head = await client.head(f"/feeds/{token}.ics")
    assert head.status == 200 and head.headers["ETag"] == etag
    assert filled.get_feed(_feed.id).last_used_at == NOW  # type: ignore[union-attr]


async def test_304_and_warm_cache(make: Any, filled: SqlStore) -> None:
    _feed, token = filled.create_feed(CAL)
    client, service = await make()
    url = f"/feeds/{token}.ics"
    first = await client.get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    body = await first.read()
    assert service.renders == 1
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f'"x", W/{etag}'},
                    {"If-Modified-Since": modified}):
        resp = await client.get(url, headers=headers)
        assert resp.status == 304, headers
        assert await resp.read() == b""
        assert resp.headers["ETag"] == etag
    stale = await client.get(url, headers={"If-None-Match": '"other"'})
    assert stale.status == 200 and await stale.read() == body
    # If-None-Match wins over If-Modified-Since (RFC 9110).
    both = await client.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since":
                                          modified})
    assert both.status == 200
    assert service.renders == 1  # 304s and repeats never render
    # A change in the calendar changes the ETag; the old one no longer gives 304.
    data = parse_resource(cal(ev("new-one", "20260201T100000Z", "20260201T110000Z")))
    filled.put_item(CAL, "new-one.ics", data, origin="test")
    changed = await client.get(url, headers={"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["ETag"] != etag
    assert service.renders == 2


async def test_gzip(make: Any, filled: SqlStore) -> None:
    _feed, token = filled.create_feed(CAL)
    client, _ = await make()
    url = f"/feeds/{token}.ics"
    plain = await client.get(url, headers={"Accept-Encoding": "identity"})
    zipped = await client.get(url, headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await zipped.read()) == await plain.read()
    assert zipped.headers["ETag"] != plain.headers["ETag"]  # a strong ETag per encoding
    refused = await client.get(url, headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    again = await client.get(url, headers={"Accept-Encoding": "gzip",
                                           "If-None-Match": zipped.headers["ETag"]})
    assert again.status == 304


async def test_404s_are_indistinguishable(make: Any, filled: SqlStore) -> None:
    _feed, token = filled.create_feed(CAL)
    revoked, revoked_token = filled.create_feed(CAL)
    filled.revoke_feed(revoked.id)
    client, _ = await make(miss_limit=100)
    unknown = "A" * 43
    paths = [
        f"/feeds/{unknown}.ics", f"/feeds/{revoked_token}.ics", "/feeds/", "/feeds/x.ics",
        f"/feeds/{token}", f"/feeds/{token}.ics/extra", f"/feeds/{token[:-1]}.ics",
        f"/feeds/{token}x.ics", "/feeds/%00.ics", f"/feeds/{token}.ICS", "/feeds//x.ics",
        f"/feeds/{token}.ics%0d%0aX-Injected:1",
    ]
    seen = set()
    for path in paths:
        resp = await client.get(path)
        assert resp.status == 404, path
        seen.add((await resp.read(), tuple(sorted(_headers(resp).items()))))
    assert len(seen) == 1
    _body, headers = seen.pop()
    assert dict(headers)["Cache-Control"] == "no-store"
    assert dict(headers)["Referrer-Policy"] == "no-referrer"
    ok = await client.get(f"/feeds/{token}.ics")
    assert ok.status == 200


async def test_revocation_and_rotation_take_effect_on_the_next_request(
    make: Any, filled: SqlStore
) -> None:
    feed, token = filled.create_feed(CAL)
    client, _ = await make()
    assert (await client.get(f"/feeds/{token}.ics")).status == 200
    filled.revoke_feed(feed.id)
    assert (await client.get(f"/feeds/{token}.ics")).status == 404
    _rotated, new_token = filled.rotate_feed(feed.id)
    assert (await client.get(f"/feeds/{token}.ics")).status == 404
    assert (await client.get(f"/feeds/{new_token}.ics")).status == 200


async def test_settings_change_changes_etag(make: Any, filled: SqlStore) -> None:
    feed, token = filled.create_feed(CAL, privacy="full")
    client, _ = await make()
    first = await client.get(f"/feeds/{token}.ics")
    assert b"Anna Schmidt" in await first.read()
    filled.update_feed(feed.id, privacy="busy")
    second = await client.get(f"/feeds/{token}.ics",
                              headers={"If-None-Match": first.headers["ETag"]})
    assert second.status == 200 and b"Anna Schmidt" not in await second.read()


async def test_miss_limit_answers_429_for_everything(
    make: Any, filled: SqlStore, limiter_clock: _Clock
) -> None:
    _feed, token = filled.create_feed(CAL)
    client, _ = await make(miss_limit=3, miss_window=60.0)
    for _ in range(3):
        assert (await client.get(f"/feeds/{'B' * 43}.ics")).status == 404
    limited = await client.get(f"/feeds/{'C' * 43}.ics")
    assert limited.status == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Valid tokens too, so the limit is no oracle.
    assert (await client.get(f"/feeds/{token}.ics")).status == 429
    limiter_clock.now += 61
    assert (await client.get(f"/feeds/{token}.ics")).status == 200


async def test_token_never_in_logs(
    make: Any, filled: SqlStore, caplog: pytest.LogCaptureFixture, limiter_clock: _Clock
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    _feed, token = filled.create_feed(CAL)
    other, other_token = filled.create_feed(CAL)
    filled.revoke_feed(other.id)
    client, _ = await make(miss_limit=2)
    url = f"/feeds/{token}.ics"
    etag = (await client.get(url)).headers["ETag"]
    await client.get(url, headers={"If-None-Match": etag, "Accept-Encoding": "gzip"})
    await client.get(f"/feeds/{other_token}.ics?token={other_token}")
    await client.get(f"/feeds/{token[:20]}")
    await client.get(url)  # 429 now
    access = [r for r in caplog.records if r.name == "aiohttp.access"]
    assert len(access) == 5
    assert all("/feeds/<redacted>" in r.getMessage() for r in access)
    text = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    for secret in (token, other_token, token[:20]):
        assert secret not in text
