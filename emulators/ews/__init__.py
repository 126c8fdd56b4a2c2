"""Offline Exchange Web Services (EWS) emulator: the calendar subset exchangelib uses.

SOAP 1.1 at ``/EWS/Exchange.asmx`` over http or https (a CA generated at start), Basic and NTLM
authentication as IIS does it, folders, calendar items with recurrence, SyncFolderItems,
CalendarView, faults and throttling through ``/_emulator/`` hooks.  Start it with
``termin-bridge ews-emulator`` or, in tests, with :class:`emulators.ews.server.EwsEmulatorServer`;
see ``docs/emulator-ews.md``.
"""

from __future__ import annotations

from emulators.ews.app import create_app
from emulators.ews.state import EwsState

__all__ = ["EwsState", "create_app"]
