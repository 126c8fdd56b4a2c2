"""Outlook / Microsoft 365 calendars through Microsoft Graph.

``mapping*.py`` is the pure mapping between iCalendar resources and Graph events (entry point
:mod:`bridge.microsoft.mapping`).  Beside ``bridge.google`` in the module map: it imports only
``bridge.errors``, ``bridge.text`` and ``bridge.ical`` (the neutral model, rendering and
preserve merge it shares with Google).
"""
