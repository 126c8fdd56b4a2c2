"""Feed content: occurrences equal the store's, privacy by construction, time zones, stability."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
import recurring_ical_events
from icalendar import Calendar

from bridge.feeds.render import ItemCache, feed_uid, feed_window, render_feed
from bridge.store import SqlStore
from bridge.store.feeds import PRIVACY_LEVELS, Privacy
from tests.feeds.conftest import CAL, NOW, SECRETS, fill


def _norm(value: date | datetime) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def _occurrences(cal: Calendar, start: datetime, end: datetime, uid: str | None = None) -> set[
        tuple[str, Any, Any, str]]:
    out = set()
    for occ in recurring_ical_events.of(cal).between(start, end):
        status = str(occ.get("STATUS", "CONFIRMED"))
        out.add((uid or str(occ["UID"]), _norm(occ.start), _norm(occ.end), status))
    return out


def _render(store: SqlStore, privacy: Privacy, cache: ItemCache | None = None) -> bytes:
    window = feed_window(NOW, 30, 365)
    calendar = store.get_collection(CAL)
    assert calendar is not None
    items = store.items_in_range(CAL, window.start, window.end, "VEVENT")
    return render_feed(calendar, items, privacy, window, cache=cache)


def _unfolded(body: bytes) -> bytes:
    return body.replace(b"\r\n ", b"").replace(b"\r\n\t", b"")


@pytest.mark.parametrize("privacy", PRIVACY_LEVELS)
def test_expanded_occurrences_equal_the_store(filled: SqlStore, privacy: Privacy) -> None:
    window = feed_window(NOW, 30, 365)
    start = datetime.fromtimestamp(window.start, UTC)
    end = datetime.fromtimestamp(window.end, UTC)
    expected: set[tuple[str, Any, Any, str]] = set()
    for item in filled.list_items(CAL):
        source = Calendar.from_ical(item.text)
        master = next(c for c in source.walk("VEVENT") if "RECURRENCE-ID" not in c)
        if privacy == "busy" and (
            master.get("STATUS") == "CANCELLED" or master.get("TRANSP") == "TRANSPARENT"
        ):
            continue  # busy feeds show only blocks that make the calendar busy
        expected |= _occurrences(source, start, end, feed_uid(item.uid, privacy))
    body = _render(filled, privacy)
    got = _occurrences(Calendar.from_ical(body), start, end)
    assert got == expected
    # Sanity: the corpus really exercises series, overrides and cancelled instances.
    assert len(expected) > 40
    assert any(status == "CANCELLED" for *_, status in got)


def test_window_excludes_far_items_and_keeps_series(filled: SqlStore) -> None:
    body = _render(filled, "full")
    assert b"UID:far-past" not in body and b"UID:far-future" not in body
    assert b"UID:daily-open" in body  # started in 2024, still recurring
    assert b"RRULE:FREQ=WEEKLY;UNTIL=20260601T000000Z;BYDAY=MO" in body
    assert body.count(b"UID:weekly\r\n") == 3  # master + two overrides


@pytest.mark.parametrize("privacy", ["limited", "busy"])
def test_lower_levels_leak_no_customer_data(filled: SqlStore, privacy: Privacy) -> None:
    raw = _render(filled, privacy)
    flat = _unfolded(raw)
    for secret in SECRETS:
        assert secret.encode() not in flat, secret
    for marker in (b"DESCRIPTION", b"LOCATION", b"ATTENDEE", b"ORGANIZER", b"X-TERMIN",
                   b"CATEGORIES", b"mailto:", b"CLASS"):
        assert marker not in flat, marker
    # The original UIDs could carry booking references: hashed below "full".
    assert b"UID:single-utc" not in flat


def test_limited_shows_service_busy_shows_busy(filled: SqlStore) -> None:
    limited = _render(filled, "limited")
    assert b"SUMMARY:Haircut\r\n" in limited and b"SUMMARY:Massage\r\n" in limited
    assert b"SUMMARY:Appointment\r\n" in limited  # no service recorded
    busy = _render(filled, "busy")
    summaries = set(re.findall(rb"SUMMARY:([^\r]*)", busy))
    assert summaries == {b"Busy"}
    assert b"Cancelled one" not in limited
    parsed = Calendar.from_ical(busy)
    uids = {str(e["UID"]) for e in parsed.walk("VEVENT")}
    assert feed_uid("cancelled", "busy") not in uids
    assert feed_uid("transparent", "busy") not in uids


def test_full_carries_details_but_not_private_events(filled: SqlStore) -> None:
    flat = _unfolded(_render(filled, "full"))
    for secret in ("Anna Schmidt", "anna.schmidt@example.com", "+49 170 1234567",
                   "Allergic to latex", "Hauptstrasse 5"):
        assert secret.encode() in flat
    assert b"SEQUENCE:3" in flat
    event = next(e for e in Calendar.from_ical(flat).walk("VEVENT") if e["UID"] == "private")
    assert str(event["SUMMARY"]) == "Busy" and "DESCRIPTION" not in event
    assert b"VALARM" not in flat


def test_every_tzid_has_a_vtimezone(filled: SqlStore) -> None:
    body = _render(filled, "full")
    flat = _unfolded(body).decode()
    used = set(re.findall(r";TZID=([^:;]+)", flat))
    defined = set(re.findall(r"BEGIN:VTIMEZONE\r\nTZID:([^\r]+)", flat))
    assert used == defined
    assert {"Europe/Berlin", "America/New_York"} <= used
    # The custom zone became an IANA zone of the same offsets, or UTC; never a dangling TZID.
    assert "My Office Zone" not in flat
    assert "X-WR-TIMEZONE" not in flat  # it makes readers re-anchor UTC series


def test_calendar_properties(filled: SqlStore) -> None:
    flat = _unfolded(_render(filled, "busy")).decode()
    for line in ("NAME:Alice's Work", "X-WR-CALNAME:Alice's Work", "COLOR:royalblue",
                 "X-APPLE-CALENDAR-COLOR:#3366CC", "REFRESH-INTERVAL;VALUE=DURATION:PT15M",
                 "X-PUBLISHED-TTL:PT15M", "METHOD:PUBLISH", "VERSION:2.0"):
        assert f"\r\n{line}\r\n" in flat, line


def test_render_is_stable_and_cached(filled: SqlStore) -> None:
    cache = ItemCache()
    first = _render(filled, "limited", cache)
    size = len(cache)
    assert first == _render(filled, "limited", cache) == _render(filled, "limited")
    assert len(cache) == size
    # UIDs are stable across renders and levels below full hash the same way.
    assert feed_uid("weekly", "busy") == feed_uid("weekly", "limited")
    assert feed_uid("weekly", "full") == "weekly"


def test_changed_item_changes_the_feed(store: SqlStore) -> None:
    from tests.feeds.conftest import cal, ev

    fill(store, texts=[cal(ev("a", "20260120T090000Z", "20260120T100000Z", "SUMMARY:One"))])
    cache = ItemCache()
    before = _render(store, "full", cache)
    fill(store, texts=[cal(ev("a", "20260120T090000Z", "20260120T100000Z", "SUMMARY:Two",
                              "SEQUENCE:1"))])
    after = _render(store, "full", cache)
    assert b"SUMMARY:One" in before and b"SUMMARY:Two" in after and b"SEQUENCE:1" in after
