"""Keep what EWS cannot hold when an EWS edit replaces a stored resource (pure): the neutral
merge (:mod:`bridge.ical.preserve`) with the Outlook projection the Graph mapping uses
(attendees are never written to EWS, so stored ATTENDEE/ORGANIZER lines are kept) and the
Exchange rendering style."""

from __future__ import annotations

from dataclasses import replace

from bridge.exchange.mapping import STYLE, zone_of
from bridge.ical import preserve
from bridge.microsoft.mapping_preserve import projection

__all__ = ["preserve_local_only"]


def preserve_local_only(new_text: str, old_text: str, *, calendar_tz: str = "UTC") -> str:
    """``new_text`` (a pulled EWS series) with what only ``old_text`` (the stored resource)
    holds; the result has the same :func:`~bridge.exchange.mapping.ical_hash` as
    ``new_text``."""
    return preserve.preserve_local_only(new_text, old_text, replace(projection(), style=STYLE),
                                        calendar_tz=zone_of(calendar_tz))
