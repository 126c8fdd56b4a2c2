"""Feed URLs as shown to people: ``https://…/feeds/<token>.ics`` and the ``webcal://`` form."""

from __future__ import annotations

from bridge.config import Settings

__all__ = ["FEED_PREFIX", "feed_url", "webcal_url"]

FEED_PREFIX = "/feeds/"


def feed_url(settings: Settings, token: str) -> str:
    """The subscription URL of a feed token."""
    return f"{settings.base_url}{FEED_PREFIX}{token}.ics"


def webcal_url(url: str) -> str:
    """The ``webcal://`` link for a feed URL (calendar apps open it as a subscription)."""
    return "webcal://" + url.split("://", 1)[1]
