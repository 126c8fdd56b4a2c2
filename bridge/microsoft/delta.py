"""The delta window and cursor of the Microsoft provider, and how delta rows group (pure).

Graph's only v1.0 change feed for a calendar is ``calendarView/delta`` over a fixed window that
is baked into its tokens.  termin-bridge syncs the window from the first day of the month
:data:`MONTHS_BACK` months ago to the first day of the month :data:`MONTHS_AHEAD` months ahead
(UTC), so the window moves once a month.  A cursor is that window plus Graph's link (the
``@odata.deltaLink`` of the last round, or the ``@odata.nextLink`` of an interrupted one):

* while the window of *now* equals the cursor's, the next round follows the link;
* when the month turns, the old link is drained one last time (so no change made before the
  move is lost), then a new round starts without a token over the new window: it lists every
  event of the window, and the core diffs it against the links (an unchanged event matches its
  link's etag and hash and changes nothing, so nobody is notified twice).  Events that only
  left the window are kept locally; they are not deletions.

Delta rows are instances: single events, occurrences and exceptions of a series (with
``seriesMasterId``), and ``@removed`` rows that carry only an id — for real deletions *and* for
events that changed outside the window.  :func:`group_rows` turns a page into the series to
read in full (masters) and the ids whose removal must be confirmed with a read (404/410 =
deleted) before anything is deleted locally.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "MONTHS_AHEAD",
    "MONTHS_BACK",
    "Cursor",
    "Grouped",
    "Window",
    "group_rows",
    "window_for",
]

MONTHS_BACK = 12
MONTHS_AHEAD = 36
_SERIES_TYPES = frozenset({"occurrence", "exception"})


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in UTC, both the first instant of a month."""

    start: datetime
    end: datetime

    def iso(self) -> tuple[str, str]:
        """Both bounds as Graph wants them (``2026-01-01T00:00:00Z``)."""
        return (self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                self.end.strftime("%Y-%m-%dT%H:%M:%SZ"))

    def covers(self, start_ts: float, end_ts: float) -> bool:
        """Whether an appointment spanning ``[start_ts, end_ts)`` (POSIX) meets the window."""
        return start_ts < self.end.timestamp() and end_ts > self.start.timestamp()


def _month(year: int, month: int) -> datetime:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def window_for(now: datetime, *, back: int = MONTHS_BACK, ahead: int = MONTHS_AHEAD) -> Window:
    """The sync window of ``now``: whole months, ``back`` before and ``ahead`` after."""
    now = now.astimezone(UTC)
    return Window(_month(now.year, now.month - back), _month(now.year, now.month + ahead))


@dataclass(frozen=True)
class Cursor:
    """What the connection stores as its sync token: the window and Graph's link."""

    window: Window
    link: str
    complete: bool  # True: a deltaLink (the round finished); False: a nextLink mid-round

    def dump(self) -> str:
        """The stored text."""
        start, end = self.window.iso()
        return json.dumps({"v": 1, "window": [start, end], "link": self.link,
                           "complete": self.complete}, separators=(",", ":"))

    @classmethod
    def load(cls, text: str | None) -> Cursor | None:
        """A stored cursor, or ``None`` when there is none or it is unreadable (→ full round)."""
        if not text:
            return None
        try:
            data = json.loads(text)
            start, end = (datetime.fromisoformat(v.replace("Z", "+00:00"))
                          for v in data["window"])
            return cls(Window(start, end), str(data["link"]), bool(data["complete"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


@dataclass
class Grouped:
    """A delta page sorted by what the provider must do with it."""

    series: list[str] = field(default_factory=list)  # master or single ids to read in full
    removed: list[str] = field(default_factory=list)  # ids whose removal needs a confirming read
    rows: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # newest row per id


def group_rows(rows: Iterable[Mapping[str, Any]]) -> Grouped:
    """Group delta rows by series; duplicates and replays collapse to one entry each.

    An occurrence or exception stands for its series (``seriesMasterId``); a removed row for
    itself (its series, if any, is not named by Graph, so the read that confirms it decides).
    """
    out = Grouped()
    seen: set[str] = set()
    gone: set[str] = set()
    for row in rows:
        event_id = str(row.get("id") or "")
        if not event_id:
            continue
        if "@removed" in row:
            if event_id not in gone:
                gone.add(event_id)
                out.removed.append(event_id)
            continue
        out.rows[event_id] = row
        target = str(row.get("seriesMasterId") or "") if row.get("type") in _SERIES_TYPES \
            else event_id
        if target and target not in seen:
            seen.add(target)
            out.series.append(target)
    # A row that came back later in the same round is alive: not a removal.
    out.removed = [i for i in out.removed if i not in out.rows and i not in seen]
    return out
