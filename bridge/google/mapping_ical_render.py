"""Rendering of the Google mapping model as iCalendar text (the Google → iCalendar direction).

The rendering itself is neutral (:mod:`bridge.ical.render`); Google's style adds its ``PRODID``
and ``X-TERMIN-GOOGLE-REMINDERS:NONE`` for an event without reminders (Google has calendar
default reminders, which an event without VALARMs uses).
"""

from __future__ import annotations

from icalendar import Calendar

from bridge.google.mapping_ical import NO_REMINDERS_PROP
from bridge.ical.model import ResourceData
from bridge.ical.render import Style
from bridge.ical.render import render_resource as _render

__all__ = ["STYLE", "render_resource", "resource_to_ical"]

STYLE = Style(prodid="-//termin-bridge//Google mapping//EN", no_reminders_prop=NO_REMINDERS_PROP)


def render_resource(resource: ResourceData) -> tuple[str, Calendar]:
    """Render a model as one VCALENDAR: its text and the ``Calendar`` the text serialises
    (see :func:`bridge.ical.render.render_resource`)."""
    return _render(resource, STYLE)


def resource_to_ical(resource: ResourceData) -> str:
    """Render a model as one VCALENDAR text (with VTIMEZONEs for the zones used)."""
    return _render(resource, STYLE)[0]
