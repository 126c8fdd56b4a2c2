"""Rendering of the Microsoft mapping model as iCalendar text (the Graph → iCalendar direction).

The rendering is the neutral one (:mod:`bridge.ical.render`); Microsoft's style only sets the
``PRODID``: Graph has no calendar default reminders, so an event without a reminder is simply
an event without VALARMs.
"""

from __future__ import annotations

from bridge.ical.render import Style

__all__ = ["STYLE"]

STYLE = Style(prodid="-//termin-bridge//Microsoft mapping//EN")
