"""Radicale items built from store rows, the write-side validation gate, and exact prefilters.

* :func:`to_item` turns a :class:`~bridge.model.ItemRecord` into a self-contained
  ``radicale.item.Item`` (text, etag, uid, component and time range from DB columns), so
  PROPFIND, multiget and getetag never parse iCalendar.
* :func:`parse_upload` runs an uploaded item through the project's one validation gate.
* :class:`Prefilter` answers ``get_filtered`` exactly where it can: plain events by their indexed
  span, recurring events by an occurrence list computed once per etag (with Radicale's own
  expansion code, so the answer equals Radicale's ``test_filter``) and kept in a bounded cache.
"""

from __future__ import annotations

import bisect
import email.utils
import logging
import math
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from radicale import item as radicale_item
from radicale.item import filter as radicale_filter

from bridge.errors import InvalidICalendar
from bridge.ical.validate import TIMESTAMP_MAX, TIMESTAMP_MIN, Limits, parse_resource
from bridge.ical.vcard import parse_vcard
from bridge.model import ItemRecord, ParsedResource

__all__ = ["OccurrenceCache", "Prefilter", "http_date", "parse_upload", "to_item"]

_LOGGER = logging.getLogger(__name__)


def http_date(timestamp: float) -> str:
    """An HTTP date (``Sun, 06 Nov 1994 08:49:37 GMT``) for a POSIX time."""
    return email.utils.formatdate(timestamp, usegmt=True)


def to_item(record: ItemRecord, collection: Any) -> radicale_item.Item:
    """A Radicale item for a stored record, with every cached attribute filled from columns."""
    is_card = record.component == "VCARD"
    return radicale_item.Item(
        collection=collection,
        href=record.href,
        last_modified=http_date(record.modified_at),
        text=record.text,
        etag=record.etag,
        uid=record.uid,
        name="VCARD" if is_card else "VCALENDAR",
        component_name="" if is_card else record.component,
        time_range=(record.start_ts, max(record.end_ts, record.start_ts + 1)),
    )


def parse_upload(item: radicale_item.Item, tag: str, max_bytes: int) -> ParsedResource:
    """Validate an item Radicale prepared for upload; raises ``ValueError`` with the reason."""
    text = item.serialize()
    try:
        if tag == "VADDRESSBOOK":
            return parse_vcard(text, max_bytes=max_bytes)
        return parse_resource(text, Limits(max_bytes=max_bytes))
    except InvalidICalendar as exc:
        raise ValueError(f"rejected by validation ({exc.status}): {exc.message}") from exc


@dataclass(frozen=True)
class Occurrences:
    """Occurrence intervals of one event, sorted by start.

    ``complete_until`` is set when the list was cut (an endless or very long series): beyond it
    nothing is known.  ``longest`` is the longest occurrence, which bounds the search window.
    """

    starts: array[int]
    ends: array[int]
    longest: int
    complete_until: int | None

    @classmethod
    def build(cls, pairs: list[tuple[int, int]], complete_until: int | None) -> Occurrences:
        """Sort ``(start, end)`` pairs into the compact form."""
        pairs.sort()
        return cls(array("q", (p[0] for p in pairs)), array("q", (p[1] for p in pairs)),
                   max((e - s for s, e in pairs), default=0), complete_until)

    def decide(self, start: int, end: int) -> bool | None:
        """True/False when an occurrence does/doesn't overlap ``[start, end)``; None: unknown."""
        first = bisect.bisect_left(self.starts, start - self.longest)
        last = bisect.bisect_left(self.starts, end)
        for i in range(first, last):
            if self.ends[i] > start:
                return True
        if self.complete_until is not None and end > self.complete_until:
            return None
        return False


class OccurrenceCache:
    """Bounded, thread-safe map etag → :class:`Occurrences` (computed with Radicale's code).

    Bounded twice, least recently used first out: by entries, and by the occurrences all
    entries hold together (16 bytes each), so thousands of long series cannot fill the memory
    (20,000 series of 2,000 occurrences would be 640 MB; the default total keeps it at 32 MB).
    """

    def __init__(self, max_entries: int = 20_000, max_occurrences: int = 2_000,
                 max_total: int = 2_000_000) -> None:
        self._entries: OrderedDict[str, Occurrences | None] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries
        self._max_occurrences = max_occurrences
        self._max_total = max_total
        self.total = 0  # occurrences held by all entries

    def get(self, etag: str, text: str) -> Occurrences | None:
        """The occurrences of the event resource ``text`` (None when they cannot be computed)."""
        with self._lock:
            if etag in self._entries:
                self._entries.move_to_end(etag)
                return self._entries[etag]
        value = self._compute(text)
        with self._lock:
            if etag not in self._entries:
                self._entries[etag] = value
                self.total += _size(value)
            while len(self._entries) > self._max_entries or (
                    self.total > self._max_total and len(self._entries) > 1):
                self.total -= _size(self._entries.popitem(last=False)[1])
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def _compute(self, text: str) -> Occurrences | None:
        pairs: list[tuple[int, int]] = []
        cut: list[int] = []
        cap = self._max_occurrences

        def range_fn(range_start: datetime, range_end: datetime, _is_rec: bool) -> bool:
            if len(pairs) >= cap:
                cut.append(math.floor(range_start.timestamp()))
                return True
            pairs.append((math.floor(range_start.timestamp()), math.ceil(range_end.timestamp())))
            return False

        try:
            vobject_item = radicale_item.Item(collection_path="", text=text).vobject_item
            radicale_filter.visit_time_ranges(vobject_item, "VEVENT", range_fn, lambda _s: False)
        except Exception:
            _LOGGER.debug("occurrence expansion failed; leaving the item to Radicale's filter")
            return None
        return Occurrences.build(pairs, cut[0] if cut else None)


def _size(value: Occurrences | None) -> int:
    return len(value.starts) if value is not None else 0


class Prefilter:
    """Exact answers for ``get_filtered`` candidates, where they can be given without parsing."""

    def __init__(self, cache: OccurrenceCache) -> None:
        self._cache = cache

    def decide(
        self, record: ItemRecord, tag: str | None, start: int, end: int, simple: bool
    ) -> bool | None:
        """True: matches the filter; False: does not; None: Radicale must check it."""
        if not simple or record.component != "VEVENT" or tag not in (None, "VEVENT"):
            return None
        if start <= TIMESTAMP_MIN and end >= TIMESTAMP_MAX:
            return True if tag == "VEVENT" else None
        exact_span = record.start_ts > TIMESTAMP_MIN and record.end_ts < TIMESTAMP_MAX
        if not record.recurring and exact_span:
            # Radicale's lines 1-5 (RFC 4791 9.9): a zero-length event lasts one second.
            occ_end = max(record.end_ts, record.start_ts + 1)
            return start < occ_end and record.start_ts < end
        occurrences = self._cache.get(record.etag, record.text)
        if occurrences is None:
            return None
        return occurrences.decide(start, end)

    def warm(self, records: Iterable[ItemRecord]) -> None:
        """Compute occurrences of recurring events ahead of the first query (after writes)."""
        for record in records:
            if record.recurring and record.component == "VEVENT":
                self._cache.get(record.etag, record.text)
