"""ICS feeds for integrators: secret-token URLs serving a calendar at a privacy level.

:mod:`bridge.feeds.render` builds the feed (pure, no I/O), :mod:`bridge.feeds.http` serves
``/feeds/<token>.ics`` from the sidecar; tokens and feed rows live in
:mod:`bridge.store.feeds`.
"""

from __future__ import annotations

__all__: list[str] = []
