"""Offline Microsoft identity platform v2.0 and Microsoft Graph v1.0 calendar emulator.

Served over https with a certificate from a CA generated at start (msal refuses http
authorities).  The unmodified msal and any HTTP client trusting that CA talk to it.  Start it
with ``termin-bridge microsoft-emulator`` or, in tests, with
:class:`emulators.microsoft.server.MsEmulatorServer`; see ``docs/emulator-microsoft.md``.
"""

from __future__ import annotations

from emulators.microsoft.app import create_app
from emulators.microsoft.state import MsState

__all__ = ["MsState", "create_app"]
