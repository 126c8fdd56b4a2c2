"""The booking rules on the store: load what a check needs, and write only what passes.

:func:`guarded_put` is the one checked write of the booking API, the admin's calendar view and
the booking page.  Inside one store transaction it locks the calendar
(:meth:`~bridge.store.items.ItemsMixin.lock_collection`), loads the occurrences around the
requested time, asks :func:`bridge.booking.rules.check`, and then either refuses
(:class:`BookingRefused`, nothing written) or writes through ``store.put_item`` (change log,
provider outbox and notifications as for every write).  Two bookings of the same slot at the
same moment therefore cannot both pass.  An explicit :class:`Override` writes despite the
rules and records who overrode which rule in the ledger, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from bridge.availability import (
    AvailabilityOptions,
    Indexed,
    Occurrence,
    Resource,
    expand_resources,
)
from bridge.booking.rules import Proposal, Verdict, check, search_range
from bridge.errors import BridgeError
from bridge.ical.timezones import zone_for_name
from bridge.model import Collection, ItemRecord, ParsedResource
from bridge.settings import AvailabilitySettings
from bridge.store import SqlStore
from bridge.store.sync_records import LedgerEntry

__all__ = [
    "BookingRefused",
    "Override",
    "Policy",
    "guarded_put",
    "judge",
    "load_occurrences",
    "proposal_of",
    "resource_of",
    "zone_of",
]


@dataclass(frozen=True)
class Policy:
    """What marks working hours and what blocks (from ``[availability]``)."""

    keywords: tuple[str, ...] = ("Arbeitszeit", "Available", "Verfügbar")
    marker_calendar: str = ""
    options: AvailabilityOptions = field(default_factory=AvailabilityOptions)

    @classmethod
    def of(cls, settings: AvailabilitySettings) -> Policy:
        """The policy of the configured ``[availability]`` section."""
        return cls(tuple(k.strip() for k in settings.marker_keywords.split(",") if k.strip()),
                   settings.marker_calendar,
                   AvailabilityOptions(all_day_blocks=settings.all_day_blocks))


@dataclass(frozen=True)
class Override:
    """An explicit decision to book despite the rules: who (``"api-key 3 (booking)"``,
    ``"admin alice"``) and through what (``api``, ``admin``)."""

    by: str
    trigger: str


class BookingRefused(BridgeError):
    """The requested time breaks a booking rule; ``verdict`` says which and what is free."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        super().__init__("the time breaks the booking rules: " + ", ".join(verdict.rules))


def zone_of(calendar: Collection) -> tzinfo:
    """The calendar's time zone (UTC when the stored name is unknown)."""
    return zone_for_name(calendar.timezone) or ZoneInfo("UTC")


def resource_of(item: ItemRecord, marker_calendar: bool = False) -> Resource:
    """What availability reads of a stored item (with its indexed columns)."""
    appointment = bool(item.customer_name or item.customer_email or item.customer_phone
                       or item.service)
    indexed = Indexed(item.uid, item.summary, item.status, item.start_ts, item.end_ts,
                      item.recurring)
    return Resource(item.text, marker_calendar, "appointment" if appointment else "event",
                    indexed)


def load_occurrences(
    store: SqlStore, policy: Policy, calendar: Collection, start: datetime, end: datetime
) -> list[Occurrence]:
    """Every occurrence of the calendar (and its marker calendar) overlapping the range."""
    # A day of margin: floating and all-day times count as UTC in the index.
    lo, hi = int(start.timestamp()) - 86400, int(end.timestamp()) + 86400
    resources = [resource_of(i) for i in store.items_in_range(calendar.path, lo, hi, "VEVENT")]
    if policy.marker_calendar:
        marker_path = f"{calendar.owner}/{policy.marker_calendar}"
        if marker_path != calendar.path:
            resources += [resource_of(i, True)
                          for i in store.items_in_range(marker_path, lo, hi, "VEVENT")]
    return expand_resources(resources, start, end, zone_of(calendar), policy.keywords)


def proposal_of(data: ParsedResource) -> Proposal:
    """The time a single zoned event asks for, read from its indexed span (UTC instants)."""
    return Proposal(data.uid, datetime.fromtimestamp(data.start_ts, UTC),
                    datetime.fromtimestamp(data.end_ts, UTC))


def judge(
    store: SqlStore, policy: Policy, calendar: Collection, proposal: Proposal,
    *, now: datetime | None = None,
) -> Verdict:
    """The booking rules' verdict on ``proposal`` (no write)."""
    lo, hi = search_range(proposal)
    occurrences = load_occurrences(store, policy, calendar, lo, hi)
    return check(proposal, occurrences, zone=zone_of(calendar), options=policy.options,
                 not_before=now)


def guarded_put(
    store: SqlStore,
    policy: Policy,
    calendar: Collection,
    href: str,
    data: ParsedResource,
    proposal: Proposal | None,
    *,
    origin: str,
    override: Override | None = None,
    if_match: str | None = None,
    if_none_match: bool = False,
    now: datetime | None = None,
) -> tuple[ItemRecord, ItemRecord | None, Verdict]:
    """Write ``data`` if ``proposal`` passes the rules (or is overridden); ``proposal=None``
    writes unchecked (a change that keeps the time).  Raises :class:`BookingRefused`."""

    def tx() -> tuple[ItemRecord, ItemRecord | None, Verdict]:
        verdict = Verdict()
        if proposal is not None:
            store.lock_collection(calendar.path)
            verdict = judge(store, policy, calendar, proposal, now=now)
            if not verdict.ok and override is None:
                raise BookingRefused(verdict)
        new, old = store.put_item(calendar.path, href, data, origin=origin, if_match=if_match,
                                  if_none_match=if_none_match)
        if not verdict.ok and override is not None:
            store.add_ledger([LedgerEntry(
                "local", override.trigger, "override", "ok", None, calendar.id, data.uid,
                fields=list(verdict.rules),
                detail={"by": override.by, "rules": list(verdict.rules),
                        "conflicts": sorted({c.uid for c in verdict.conflicts})})])
        return new, old, verdict

    return store.run_transaction(tx)
