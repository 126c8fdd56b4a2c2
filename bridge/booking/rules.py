"""Booking rules: may an appointment take this time? (pure, no I/O, no clock reads).

One decision for every way an appointment is booked or moved (booking API, the admin's
calendar view, the online booking page):

* ``outside-hours``: the calendar keeps working hours (marker events, see
  :mod:`bridge.availability`) around the requested time, and the appointment does not lie
  wholly inside one window of them.  A calendar without any working-hours marker in the range
  looked at has no hours rule.
* ``overlap``: the appointment overlaps a busy occurrence: another appointment, a recurring
  series' occurrence, an all-day event (when ``all_day_blocks``), or an event that came from
  the connected external calendar.  Transparent, cancelled and marker events never count, nor
  the appointment's own occurrences.

A refusal carries the conflicting occurrences and the nearest free slots of the same length
(on the grid of the working-hours windows, else of local midnight), so a caller can offer them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Literal

from bridge.availability import AvailabilityOptions, Blocker, Occurrence, Slot, blocker_of, merge

__all__ = ["SEARCH", "Proposal", "Rule", "Verdict", "Violation", "check", "search_range"]

Rule = Literal["outside-hours", "overlap"]
# How far around the requested time free slots are looked for (and occurrences loaded).
SEARCH = timedelta(days=7)
_MAX_SLOTS = 20_000


@dataclass(frozen=True)
class Proposal:
    """The time an appointment asks for (aware datetimes) and its UID (its own occurrences
    never conflict with it)."""

    uid: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Violation:
    """One broken rule and, for ``overlap``, what it overlaps."""

    rule: Rule
    conflicts: tuple[Blocker, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """The answer: the broken rules (none: allowed) and the nearest free slots."""

    violations: tuple[Violation, ...] = ()
    suggestions: tuple[Slot, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no rule is broken."""
        return not self.violations

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The names of the broken rules."""
        return tuple(v.rule for v in self.violations)

    @property
    def conflicts(self) -> tuple[Blocker, ...]:
        """Every conflicting occurrence."""
        return tuple(c for v in self.violations for c in v.conflicts)


def search_range(proposal: Proposal) -> tuple[datetime, datetime]:
    """The range whose occurrences :func:`check` needs."""
    return proposal.start - SEARCH, proposal.end + SEARCH


def _windows(occurrences: Sequence[Occurrence]) -> list[tuple[datetime, datetime]]:
    return merge((o.start, o.end) for o in occurrences
                 if o.marker and o.status != "CANCELLED" and o.end > o.start)


def check(
    proposal: Proposal,
    occurrences: Sequence[Occurrence],
    *,
    zone: tzinfo,
    options: AvailabilityOptions | None = None,
    not_before: datetime | None = None,
    step: timedelta = timedelta(minutes=15),
    suggestions: int = 3,
) -> Verdict:
    """Judge ``proposal`` against the occurrences of :func:`search_range`.

    ``not_before`` (usually now) keeps suggestions out of the past.
    """
    options = options or AvailabilityOptions()
    start, end = proposal.start.astimezone(UTC), proposal.end.astimezone(UTC)
    busy = sorted((b for b in (blocker_of(o, options) for o in occurrences
                               if o.uid != proposal.uid) if b is not None),
                  key=lambda b: (b.start, b.end, b.uid))
    windows = _windows(occurrences)
    violations: list[Violation] = []
    if windows and not any(lo <= start and end <= hi for lo, hi in windows):
        violations.append(Violation("outside-hours"))
    overlapping = tuple(b for b in busy if b.start < end and b.end > start)
    if overlapping:
        violations.append(Violation("overlap", overlapping))
    if not violations:
        return Verdict()
    return Verdict(tuple(violations), tuple(_nearest(
        start, end - start, windows, busy, zone, not_before, step, suggestions)))


def _nearest(
    start: datetime, duration: timedelta, windows: list[tuple[datetime, datetime]],
    busy: list[Blocker], zone: tzinfo, not_before: datetime | None, step: timedelta, count: int,
) -> list[Slot]:
    lo, hi = start - SEARCH, start + SEARCH
    if not_before is not None:
        lo = max(lo, not_before.astimezone(UTC))
    if not windows:  # no working hours: any time of day, on a grid from local midnight
        day = start.astimezone(zone).date() - timedelta(days=SEARCH.days + 1)
        windows = [(datetime.combine(day, time(0), zone).astimezone(UTC), hi + duration)]
    merged = merge((b.start, b.end) for b in busy)
    starts = [b[0] for b in merged]
    found: list[Slot] = []
    for origin, window_end in windows:
        first = max(origin, lo)
        slot = origin + step * -(-(first - origin) // step)
        while slot + duration <= window_end and slot <= hi and len(found) < _MAX_SLOTS:
            slot_end = slot + duration
            i = bisect_left(starts, slot_end)  # busy intervals starting before the slot ends
            if i == 0 or merged[i - 1][1] <= slot:
                found.append(Slot(slot.astimezone(zone), slot_end.astimezone(zone)))
            slot += step
    found.sort(key=lambda s: (abs(s.start - start), s.start))
    return sorted(found[:count], key=lambda s: s.start)
