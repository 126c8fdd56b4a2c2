"""CalDAV resources as series, ready for the planner (pure).

The remote side is iCalendar already: a series is one resource, pulled through the validation
gate.  This module imports no client code: the worker processes that map a big page
(:mod:`bridge.cpu`) import only the gate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar

from bridge.errors import InvalidICalendar
from bridge.ical.validate import parse_resource_calendar
from bridge.providers.series import RemoteSeries

__all__ = ["CaldavSeries", "map_bodies", "series_from", "updated_stamp"]


def updated_stamp(cal: Calendar) -> str | None:
    """The newest ``LAST-MODIFIED`` (else ``DTSTAMP``) of the resource's components."""
    stamps: list[datetime] = []
    for name in ("LAST-MODIFIED", "DTSTAMP"):
        for comp in cal.walk("VEVENT"):
            value = getattr(comp.get(name), "dt", None)
            if isinstance(value, datetime):
                stamps.append(value if value.tzinfo else value.replace(tzinfo=UTC))
        if stamps:
            break
    if not stamps:
        return None
    return max(stamps).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class CaldavSeries(RemoteSeries):
    """One resource: the text as the server holds it, its etag and stamp."""

    text: str | None = None
    remote_etag: str | None = None
    remote_updated: str | None = None

    @property
    def etag(self) -> str | None:
        """The resource's ETag."""
        return self.remote_etag

    @property
    def updated(self) -> str | None:
        """The newest LAST-MODIFIED/DTSTAMP of the resource."""
        return self.remote_updated

    def snapshot(self) -> dict[str, Any]:
        """The resource's text, path and etag."""
        return {"text": self.text, "href": self.event_id, "etag": self.remote_etag}


def series_from(href: str, etag: str | None, text: str) -> CaldavSeries:
    """A series from a server's body (through the validation gate)."""
    try:
        parsed, cal = parse_resource_calendar(text)  # one parse; the gate hashes it too
    except (InvalidICalendar, ValueError) as exc:
        return CaldavSeries(href, None, error=f"the server's resource is not valid: {exc}",
                            text=None, remote_etag=etag)
    return CaldavSeries(href, parsed.uid, parsed=parsed, hash=parsed.content_hash, text=text,
                        remote_etag=etag, remote_updated=updated_stamp(cal))


def map_bodies(rows: Iterable[tuple[str, str | None, str]]) -> list[CaldavSeries]:
    """:func:`series_from` for each ``(href, etag, text)`` (pure; big pages run in the worker
    processes of :mod:`bridge.cpu`)."""
    return [series_from(href, etag, text) for href, etag, text in rows]
