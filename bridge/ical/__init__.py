"""iCalendar handling: the one validation gate, time zones, normalisation, hashing, recurrence.

Every ingest path (CalDAV, Google, booking API, ``import-ics``) calls
:func:`bridge.ical.validate.parse_resource`; nothing else parses untrusted iCalendar text.
"""

from __future__ import annotations

from bridge.ical import fastpaths
from bridge.ical.split import split_calendar
from bridge.ical.validate import Limits, ParsedResource, parse_resource

fastpaths.install()

__all__ = ["Limits", "ParsedResource", "parse_resource", "split_calendar"]
