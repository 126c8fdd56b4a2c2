"""One booking process of ``test_two_processes.py`` (a module of its own: spawned processes
import it by name)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bridge.booking.guard import BookingRefused, Policy, guarded_put
from bridge.booking.rules import Proposal
from bridge.bootstrap import open_bridge_store
from bridge.ical import parse_resource
from bridge.store import href_for_uid
from tests.booking.cases import CALENDAR, NOW

BERLIN = ZoneInfo("Europe/Berlin")
# Free slots of the seeded week (working hours, nothing booked there yet).
SLOTS = [datetime(2026, 6, 1, 14, 0, tzinfo=BERLIN) + timedelta(days=d, hours=h)
         for d in (0, 1, 4) for h in (0, 1)]


def _text(uid: str, start: datetime, end: datetime) -> str:
    stamp = "%Y%m%dT%H%M%SZ"
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
            f"DTSTART:{start.astimezone(UTC).strftime(stamp)}\r\n"
            f"DTEND:{end.astimezone(UTC).strftime(stamp)}\r\n"
            f"SUMMARY:Race {uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def book_every_slot(url: str, name: str, barrier: Any, results: Any) -> None:
    """For each slot: wait for the others, then try to book it; report ``ok``/``refused``."""
    store = open_bridge_store(url)
    try:
        calendar = store.get_collection(CALENDAR)
        assert calendar is not None
        now = datetime.fromtimestamp(NOW, UTC)
        for number, start in enumerate(SLOTS):
            uid = f"{name}-{number}@race"
            end = start + timedelta(minutes=30)
            parsed = parse_resource(_text(uid, start, end))
            barrier.wait(timeout=300)
            try:
                guarded_put(store, Policy(), calendar, href_for_uid(uid), parsed,
                            Proposal(uid, start, end), origin="booking", if_none_match=True,
                            now=now)
                results.put((number, name, "ok"))
            except BookingRefused:
                results.put((number, name, "refused"))
    finally:
        store.close()
