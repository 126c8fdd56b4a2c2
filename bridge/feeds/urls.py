"""Feed URLs as shown to people: ``https://…/feeds/<token>.ics`` and the ``webcal://`` form."""

from __future__ import annotations

from bridge.config import Settings

__all__ = ["FEED_PREFIX", "base_url", "feed_url", "webcal_url"]

FEED_PREFIX = "/feeds/"


def base_url(settings: Settings) -> str:
    """``[http] public_url``, or ``http://host:port`` when it is not set."""
    public = settings.http.public_url.rstrip("/")
    if public:
        return public
    host = settings.http.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a bind-all address is not a link target
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.http.port}"


def feed_url(settings: Settings, token: str) -> str:
    """The subscription URL of a feed token."""
    return f"{base_url(settings)}{FEED_PREFIX}{token}.ics"


def webcal_url(url: str) -> str:
    """The ``webcal://`` link for a feed URL (calendar apps open it as a subscription)."""
    return "webcal://" + url.split("://", 1)[1]
