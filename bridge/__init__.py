"""termin-bridge: appointment store bridged to CalDAV, Google Calendar and ICS feeds."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
