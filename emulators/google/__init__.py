"""Offline Google Calendar API v3 and Google OAuth 2 emulator (aiohttp).

The unmodified ``google-api-python-client``, ``google-auth`` and ``google-auth-oauthlib`` talk to
it over HTTP.  Start it with ``termin-bridge google-emulator`` or, in tests, with
:class:`emulators.google.server.EmulatorServer`; see ``docs/emulator.md``.
"""

from __future__ import annotations

from emulators.google.app import create_app
from emulators.google.state import EmulatorState

__all__ = ["EmulatorState", "create_app"]
