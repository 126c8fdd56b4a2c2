"""Keep what Graph cannot hold when a Graph edit replaces a stored resource (pure).

The merge is the neutral one (:mod:`bridge.ical.preserve`, shared with Google); Microsoft's
projection is its :func:`~.mapping_ical.mapped_props` (URL, customer fields, PRIORITY, extra
VALARMs… and, unless attendees are written to Graph, ATTENDEE/ORGANIZER are kept), its
rendering style (no "no reminders" marker: Graph has no calendar default reminders) and its
model reader.
"""

from __future__ import annotations

from icalendar import Calendar, Component

from bridge.ical import preserve
from bridge.ical.model import EventData, Moment, resource_digest
from bridge.microsoft.mapping_ical import event_from_ical, mapped_props, resource_from_ical
from bridge.microsoft.mapping_render import STYLE
from bridge.microsoft.mapping_time import graph_zone

__all__ = ["preserve_local_only", "projection"]


def projection(write_attendees: bool = False) -> preserve.Projection:
    """The Microsoft mapping's projection for :func:`bridge.ical.preserve.preserve_local_only`."""

    def event(comp: Component, master_start: Moment | None, ref_tz: str) -> EventData:
        return event_from_ical(comp, master_start=master_start, calendar_tz=ref_tz,
                               write_attendees=write_attendees)[0]

    def digest(text: str, ref_tz: str) -> str:
        model, _ = resource_from_ical(Calendar.from_ical(text), calendar_tz=ref_tz,
                                      write_attendees=write_attendees)
        return resource_digest(model)

    return preserve.Projection(mapped_props=mapped_props(write_attendees), style=STYLE,
                               event=event, digest=digest)


def preserve_local_only(
    new_text: str, old_text: str, *, calendar_tz: str = "UTC", write_attendees: bool = False
) -> str:
    """``new_text`` (a pulled Graph event) with what only ``old_text`` (the stored resource) can
    hold; the result has the same :func:`~bridge.microsoft.mapping.ical_hash` as ``new_text``.
    ``new_text`` itself when there is nothing to keep or the texts cannot be lined up."""
    tz = graph_zone(calendar_tz) or "UTC"
    return preserve.preserve_local_only(new_text, old_text, projection(write_attendees),
                                        calendar_tz=tz)
