"""What the booking page offers: the free slots of one day (pure: no I/O, no clock reads).

Slots lie inside the calendar's working hours (the marker windows of
:mod:`bridge.availability`), free of every busy occurrence (appointments, series, all-day
events, events pulled from the connected calendar), on a grid of the window's start, not before
``now + lead`` and not after the booking horizon.  A calendar without working hours in the day
offers nothing: the page never invents opening hours.  Whether a slot is still free when the
customer books is decided again by :func:`bridge.booking.guard.guarded_put` under the calendar
lock; this module only decides what to show and what counts as offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bridge.availability import AvailabilityOptions, Occurrence, Slot, compute

__all__ = ["Offer", "day_range", "day_slots", "step_for"]


@dataclass(frozen=True)
class Offer:
    """The limits of what may be booked: ``earliest`` (now + lead) to ``last_day``."""

    earliest: datetime
    last_day: date

    @classmethod
    def of(cls, now: datetime, zone: tzinfo, lead: timedelta, horizon_days: int) -> Offer:
        """The offer window for ``now`` (aware) in the calendar's ``zone``."""
        return cls(now + lead, now.astimezone(zone).date() + timedelta(days=horizon_days))

    def first_day(self, zone: tzinfo) -> date:
        """The first day that can have slots."""
        return self.earliest.astimezone(zone).date()

    def has_day(self, day: date, zone: tzinfo) -> bool:
        """True when ``day`` lies in the bookable range."""
        return self.first_day(zone) <= day <= self.last_day


def step_for(duration: timedelta) -> timedelta:
    """The grid of offered starts: the duration, at most 30 minutes."""
    return min(duration, timedelta(minutes=30))


def day_range(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """Local midnight to the next local midnight, as aware UTC datetimes."""
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def day_slots(
    occurrences: Sequence[Occurrence], day: date, zone: tzinfo, duration: timedelta,
    offer: Offer, *, options: AvailabilityOptions | None = None, ignore_uid: str | None = None,
) -> list[Slot]:
    """The free slots of ``duration`` starting on ``day`` (local), in the calendar's zone.

    ``ignore_uid``: an appointment being moved does not block its own new time.
    """
    if not offer.has_day(day, zone):
        return []
    lo, hi = day_range(day, zone)
    shown = [o for o in occurrences if ignore_uid is None or o.uid != ignore_uid]
    # Windows may run past midnight: compute to the day's end plus the duration, keep the
    # slots that start on the day.
    found = compute(shown, lo, hi + duration, duration, step=step_for(duration),
                    options=options, zone=zone).free
    return [s for s in found if lo <= s.start < hi and s.start >= offer.earliest]
