"""ICS feed management on the admin page: create with a privacy level, copy the URL, revoke.

A feed's token exists in clear only in the answer to "create" or "new URL" (the store keeps its
hash), so that answer is rendered directly instead of redirecting, and the page says so.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from bridge.admin.pages import (
    act,
    calendar_or_404,
    form_data,
    or_404,
    redirect,
    render,
    settings_of,
    store_of,
    translator_of,
)
from bridge.feeds.urls import feed_url, webcal_url
from bridge.store.feeds import PRIVACY_LEVELS, Feed, InvalidFeedSettings

__all__ = ["add_routes"]

_LOGGER = logging.getLogger(__name__)
_MAX_LABEL = 200


async def feeds_page(request: web.Request) -> web.StreamResponse:
    """``GET /admin/feeds``: every calendar with its feeds."""
    store = store_of(request)
    calendars = await asyncio.to_thread(store.list_collections, tag="VCALENDAR")
    feeds = await asyncio.to_thread(store.list_feeds)
    by_path: dict[str, list[Feed]] = {}
    for feed in feeds:
        by_path.setdefault(feed.collection_path, []).append(feed)
    return await render(
        request, "feeds.html", calendars=calendars, feeds=by_path, privacy_levels=PRIVACY_LEVELS,
    )


def _created(request: web.Request, feed: Feed, token: str) -> dict[str, Any]:
    url = feed_url(settings_of(request), token)
    return {"feed": feed, "url": url, "webcal": webcal_url(url)}


async def create_feed(request: web.Request) -> web.StreamResponse:
    """``POST /admin/feeds/{owner}/{slug}``: create a feed and show its URL once."""
    coll = await calendar_or_404(request)
    form = await form_data(request)
    gettext = translator_of(request)
    privacy = form.get("privacy", "")
    label = form.get("label", "").strip()[:_MAX_LABEL]
    if privacy not in PRIVACY_LEVELS:
        raise await redirect(request, "/admin/feeds", gettext("Choose a privacy level."), "error")
    creating = asyncio.to_thread(store_of(request).create_feed, coll.path, privacy=privacy,
                                 label=label)
    feed, token = await act(request, creating, to="/admin/feeds", errors=(InvalidFeedSettings,))
    _LOGGER.info("admin created feed %d on %s (%s)", feed.id, coll.path, privacy)
    return await render(request, "feed_created.html", calendar=coll,
                        **_created(request, feed, token))


async def _feed_or_404(request: web.Request) -> Feed:
    try:
        feed_id = int(request.match_info["feed_id"])
    except ValueError as exc:
        raise web.HTTPNotFound() from exc
    feed = await asyncio.to_thread(store_of(request).get_feed, feed_id)
    if feed is None:
        raise web.HTTPNotFound()
    return feed


async def rotate_feed(request: web.Request) -> web.StreamResponse:
    """``POST /admin/feeds/id/{feed_id}/rotate``: a new URL; the old one stops working."""
    feed = await _feed_or_404(request)
    feed, token = await or_404(asyncio.to_thread(store_of(request).rotate_feed, feed.id))
    coll = await asyncio.to_thread(store_of(request).get_collection, feed.collection_path)
    _LOGGER.info("admin rotated feed %d", feed.id)
    return await render(request, "feed_created.html", calendar=coll,
                        **_created(request, feed, token))


async def revoke_feed(request: web.Request) -> web.StreamResponse:
    """``POST /admin/feeds/id/{feed_id}/revoke``: the URL answers 404 from now on."""
    feed = await _feed_or_404(request)
    await asyncio.to_thread(store_of(request).revoke_feed, feed.id)
    _LOGGER.info("admin revoked feed %d", feed.id)
    gettext = translator_of(request)
    raise await redirect(request, "/admin/feeds", gettext("Feed revoked: its URL no longer works."))


def add_routes(admin: web.Application) -> None:
    """Register the handlers of this module."""
    admin.router.add_get("/feeds", feeds_page)
    admin.router.add_post("/feeds/{owner}/{slug}", create_feed)
    admin.router.add_post("/feeds/id/{feed_id:[0-9]+}/rotate", rotate_feed)
    admin.router.add_post("/feeds/id/{feed_id:[0-9]+}/revoke", revoke_feed)
