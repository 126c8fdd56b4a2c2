"""Serve ``/feeds/<token>.ics`` from the sidecar.

Mounting: the sidecar calls :func:`setup` (it reads the store and settings from
:mod:`bridge.web.keys`); tests and other apps call :func:`add_feed_routes`.  Serve the app with
:class:`bridge.web.accesslog.RedactingAccessLogger` so tokens never reach the access log.

Per request: one indexed lookup by token hash, then either 304 (strong ETag or Last-Modified
match: no rendering), a cached body, or a render in the executor.  The ETag is derived from the
feed's settings version, the calendar revision and the window's day, so it changes exactly when
the bytes would.  Unknown, malformed and revoked tokens get byte-identical 404s; a client with
too many misses gets 429 for everything until its window passes.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bridge.feeds.limits import MissLimiter
from bridge.feeds.render import RENDER_VERSION, FeedWindow, ItemCache, feed_window, render_feed
from bridge.model import Collection
from bridge.store import SqlStore
from bridge.store.feeds import FEED_TOKEN_RE, Feed, hash_feed_token

__all__ = ["FEED_SERVICE", "FeedOptions", "FeedService", "add_feed_routes", "feed_routes", "setup"]

_LOGGER = logging.getLogger(__name__)

# Headers on every feed response, hit or miss.
_COMMON = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}
_NOT_FOUND_BODY = b"Not Found\n"
_TOO_MANY_BODY = b"Too Many Requests\n"


def _peer(request: web.Request) -> str:
    return request.remote or "-"


@dataclass(frozen=True)
class FeedOptions:
    """Tunables of the feed endpoint (defaults suit a single sidecar)."""

    # The revocation promise: a revoked URL stops working server-side at once, and no
    # client or proxy may reuse a cached copy for longer than this.
    revocation_seconds: int = 300
    max_age: int = 300
    refresh_seconds: int = 900
    miss_limit: int = 10
    miss_window: float = 60.0
    touch_interval: float = 60.0
    cache_bytes: int = 64 * 1024 * 1024
    client_key: Callable[[web.Request], str] = field(default=_peer)

    def __post_init__(self) -> None:
        if self.max_age > self.revocation_seconds:
            raise ValueError("max_age must not exceed the revocation promise")


@dataclass
class _Entry:
    tag: str
    body: bytes
    gz: bytes | None = None

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gz or b"")


class FeedService:
    """The feed endpoint's state: store, options, render caches and the miss limiter."""

    def __init__(
        self,
        store: SqlStore,
        options: FeedOptions | None = None,
        *,
        clock: Callable[[], float] = time.time,
        limiter: MissLimiter | None = None,
    ) -> None:
        self.store = store
        self.options = options or FeedOptions()
        self.clock = clock
        self.limiter = limiter or MissLimiter(self.options.miss_limit, self.options.miss_window)
        self.items = ItemCache()
        self.renders = 0
        self._bodies: OrderedDict[int, _Entry] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[_Entry]] = {}

    # -- responses ---------------------------------------------------------------------------
    @staticmethod
    def not_found() -> web.Response:
        """The one 404 every kind of miss gets (no oracle)."""
        return web.Response(
            status=404, body=_NOT_FOUND_BODY, content_type="text/plain", charset="utf-8",
            headers={**_COMMON, "Cache-Control": "no-store"},
        )

    @staticmethod
    def too_many(retry_after: int) -> web.Response:
        """429 for a client over its miss limit."""
        return web.Response(
            status=429, body=_TOO_MANY_BODY, content_type="text/plain", charset="utf-8",
            headers={**_COMMON, "Cache-Control": "no-store", "Retry-After": str(retry_after)},
        )

    def _miss(self, client: str) -> web.Response:
        self.limiter.record(client)
        _LOGGER.debug("feed miss from %s", client)
        return self.not_found()

    # -- the handler -------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        """GET/HEAD ``/feeds/{name}``."""
        client = self.options.client_key(request)
        retry = self.limiter.retry_after(client)
        if retry is not None:
            _LOGGER.debug("feed request from %s refused: too many misses", client)
            return self.too_many(retry)
        name = request.match_info.get("name", "")
        token = name[:-4] if name.endswith(".ics") else ""
        if not FEED_TOKEN_RE.fullmatch(token):
            return self._miss(client)
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(
            None, self.store.feed_for_token_hash, hash_feed_token(token)
        )
        if found is None:
            return self._miss(client)
        feed, calendar = found
        now = self.clock()
        window = feed_window(now, feed.past_days, feed.future_days)
        tag = self._tag(feed, calendar, window)
        modified = int(max(calendar.modified_at, feed.updated_at,
                           datetime(window.anchor.year, window.anchor.month, window.anchor.day,
                                    tzinfo=UTC).timestamp()))
        use_gzip = _accepts_gzip(request)
        headers = {
            **_COMMON,
            "ETag": f'"{tag}-gz"' if use_gzip else f'"{tag}"',
            "Last-Modified": format_datetime(datetime.fromtimestamp(modified, UTC), usegmt=True),
            "Cache-Control": f"private, max-age={self.options.max_age}",
            "Vary": "Accept-Encoding",
        }
        await self._touch(feed, now)
        if _not_modified(request, tag, modified):
            _LOGGER.debug("feed %d not modified", feed.id)
            return web.Response(status=304, headers=headers)
        entry = await self._entry(feed, calendar, window, tag)
        body = entry.body
        if use_gzip:
            if entry.gz is None:
                # mtime=0: the same content always compresses to the same bytes (strong ETag).
                compress = functools.partial(gzip.compress, entry.body, 6, mtime=0)
                entry.gz = await loop.run_in_executor(None, compress)
            body = entry.gz
            headers["Content-Encoding"] = "gzip"
        headers["Content-Disposition"] = f'inline; filename="{calendar.slug}.ics"'
        _LOGGER.debug("feed %d served (%d bytes)", feed.id, len(body))
        return web.Response(
            body=body, headers=headers, content_type="text/calendar", charset="utf-8"
        )

    # -- helpers -----------------------------------------------------------------------------
    def _tag(self, feed: Feed, calendar: Collection, window: FeedWindow) -> str:
        parts = (
            RENDER_VERSION, feed.id, feed.version, feed.privacy, feed.past_days,
            feed.future_days, calendar.id, calendar.sync_epoch, calendar.revision,
            window.anchor.isoformat(), self.options.refresh_seconds,
        )
        return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:40]

    async def _touch(self, feed: Feed, now: float) -> None:
        if feed.last_used_at is not None and now - feed.last_used_at < self.options.touch_interval:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self.store.touch_feed, feed.id, now)
        except SQLAlchemyError as exc:
            # Serving the feed matters more than its last-used time.
            _LOGGER.warning("could not record use of feed %d: %s", feed.id, type(exc).__name__)

    async def _entry(
        self, feed: Feed, calendar: Collection, window: FeedWindow, tag: str
    ) -> _Entry:
        cached = self._bodies.get(feed.id)
        if cached is not None and cached.tag == tag:
            self._bodies.move_to_end(feed.id)
            return cached
        pending = self._inflight.get(tag)
        if pending is not None:
            # Another request renders this exact version right now: share its result.
            return await asyncio.shield(pending)
        future: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        self._inflight[tag] = future
        try:
            body = await asyncio.get_running_loop().run_in_executor(
                None, self._render, feed, calendar, window
            )
            entry = _Entry(tag, body)
            self._remember(feed.id, entry)
            future.set_result(entry)
            return entry
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: the waiters (if any) re-raise it themselves
            raise
        finally:
            del self._inflight[tag]

    def _render(self, feed: Feed, calendar: Collection, window: FeedWindow) -> bytes:
        started = time.perf_counter()
        items = self.store.items_in_range(calendar.path, window.start, window.end, "VEVENT")
        body = render_feed(
            calendar, items, feed.privacy, window,
            refresh_seconds=self.options.refresh_seconds, cache=self.items,
        )
        self.renders += 1
        _LOGGER.debug("feed %d rendered: %d items, %d bytes in %.0f ms", feed.id, len(items),
                      len(body), (time.perf_counter() - started) * 1000)
        return body

    def _remember(self, feed_id: int, entry: _Entry) -> None:
        self._bodies[feed_id] = entry
        self._bodies.move_to_end(feed_id)
        # Room for the gzip copy too (roughly a fifth of the body).
        total = sum(e.size + len(e.body) // 5 for e in self._bodies.values())
        while total > self.options.cache_bytes and len(self._bodies) > 1:
            _, old = self._bodies.popitem(last=False)
            total -= old.size + len(old.body) // 5


def _accepts_gzip(request: web.Request) -> bool:
    for part in request.headers.get("Accept-Encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip"):
            continue
        q = params.strip().lower()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def _not_modified(request: web.Request, tag: str, modified: int) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:
        # Weak comparison (RFC 9110 13.1.2); both encodings carry the same content.
        wanted = {f'"{tag}"', f'"{tag}-gz"'}
        candidates = {c.strip().removeprefix("W/") for c in inm.split(",")}
        return "*" in candidates or bool(candidates & wanted)
    since = request.if_modified_since
    return since is not None and modified <= since.timestamp()


FEED_SERVICE = web.AppKey("feed_service", FeedService)


def feed_routes(service: FeedService) -> list[web.RouteDef]:
    """The feed routes: one catch-all so malformed names get the same 404 as unknown ones."""
    return [web.get(r"/feeds/{name:[\s\S]*}", service.handle)]


def add_feed_routes(
    app: web.Application, store: SqlStore, options: FeedOptions | None = None
) -> FeedService:
    """Mount ``/feeds/…`` on ``app`` and keep the service under :data:`FEED_SERVICE`."""
    service = FeedService(store, options)
    app[FEED_SERVICE] = service
    app.add_routes(feed_routes(service))
    return service


def setup(app: web.Application) -> None:
    """Sidecar feature hook: mount the feeds with the app's store."""
    from bridge.web.keys import STORE

    add_feed_routes(app, app[STORE])
