"""Keep what Google cannot hold when a Google edit replaces a stored resource (pure).

The merge itself is neutral (:mod:`bridge.ical.preserve`); Google's projection is its
:data:`~bridge.google.mapping_ical.MAPPED_PROPS`, its rendering style (VALARMs together with
``X-TERMIN-GOOGLE-REMINDERS``) and its model reader.
"""

from __future__ import annotations

from icalendar import Calendar, Component

from bridge.google.mapping_ical import MAPPED_PROPS, event_from_ical, resource_from_ical
from bridge.google.mapping_ical_render import STYLE
from bridge.google.mapping_time import canonical_tz
from bridge.ical import preserve
from bridge.ical.model import EventData, Moment, resource_digest

__all__ = ["PROJECTION", "preserve_local_only"]


def _event(comp: Component, master_start: Moment | None, ref_tz: str) -> EventData:
    return event_from_ical(comp, master_start=master_start, ref_tz=ref_tz)


def _digest(text: str, calendar_tz: str) -> str:
    return resource_digest(resource_from_ical(Calendar.from_ical(text), calendar_tz=calendar_tz))


PROJECTION = preserve.Projection(
    mapped_props=MAPPED_PROPS, style=STYLE, event=_event, digest=_digest
)


def preserve_local_only(new_text: str, old_text: str, *, calendar_tz: str = "UTC") -> str:
    """``new_text`` (a pulled resource) with what only ``old_text`` (the stored one) can hold.

    Both are validated resources of one UID; ``calendar_tz`` is the Google calendar's zone (the
    mapping's reference for floating times).  Returns ``new_text`` itself when there is nothing
    to keep or the texts cannot be lined up.  The result maps to the same content as
    ``new_text`` (equal :func:`~bridge.google.mapping.ical_hash`).
    """
    tz = canonical_tz(calendar_tz) or "UTC"
    return preserve.preserve_local_only(new_text, old_text, PROJECTION, calendar_tz=tz)
