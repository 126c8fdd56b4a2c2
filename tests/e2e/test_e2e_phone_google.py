"""Scenario 1, phone → Google: a staff member's phone (the ``caldav`` library over HTTP) creates,
moves and deletes an appointment in a connected calendar; Google follows within seconds, exactly
once, and the echo of our own write does not come back to the phone.

Runs the real servers (``bridge.runner.run`` with CalDAV and sidecar) on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from emulators.google.server import ALICE
from tests.e2e.conftest import MakeBridge
from tests.e2e.support import CAL, google_uid, phone_event, wait_until


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage_url(request: pytest.FixtureRequest) -> str | None:
    """``None`` (SQLite in the site directory) or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("postgres_url"))


def utc(google_time: dict[str, Any]) -> datetime:
    """A Google ``start``/``end`` as an aware UTC datetime."""
    return datetime.fromisoformat(google_time["dateTime"]).astimezone(UTC)


def test_phone_writes_reach_google_exactly_once(make_bridge: MakeBridge,
                                                storage_url: str | None) -> None:
    bridge = make_bridge(storage_url)
    bridge.add_staff()
    bridge.add_calendar()
    bridge.start_thread()
    connection_id = bridge.connect_google()
    bridge.wait_imported(connection_id)

    cal = bridge.phone_calendar()
    cal.save_event(phone_event("phone-1", "Haircut Meier", day=10, hour=9))

    created = wait_until(lambda: bridge.google_live_by_uid("phone-1"), 10,
                         "the phone's event in Google")
    assert len(created) == 1
    event = created[0]
    assert event["summary"] == "Haircut Meier"
    # 09:00 in Berlin on 10 March 2030 (CET) is 08:00 UTC
    assert utc(event["start"]) == datetime(2030, 3, 10, 8, 0, tzinfo=UTC)
    assert utc(event["end"]) == datetime(2030, 3, 10, 9, 0, tzinfo=UTC)
    assert [google_uid(e) for e in bridge.google(ALICE)] == ["phone-1"]

    # The next poll sees our own write come back from Google: it must not touch the phone's copy.
    item = bridge.store.get_item_by_uid(CAL, "phone-1")
    assert item is not None
    pushed_at = bridge.store.get_connection(connection_id).last_push_at or 0.0
    wait_until(lambda: (bridge.store.get_connection(connection_id).last_pull_at or 0) > pushed_at,
               10, "a pull after the push")
    again = bridge.store.get_item_by_uid(CAL, "phone-1")
    assert again is not None and again.etag == item.etag, "the echo rewrote the phone's event"

    # Move it on the phone: Google moves, still one event.
    phone_copy = cal.event_by_uid("phone-1")
    phone_copy.data = phone_event("phone-1", "Haircut Meier", day=11, hour=14)
    phone_copy.save()

    def moved() -> list[dict[str, Any]]:
        live = bridge.google_live_by_uid("phone-1")
        return [e for e in live if utc(e["start"]) == datetime(2030, 3, 11, 13, 0, tzinfo=UTC)]

    wait_until(moved, 10, "the move to reach Google")
    assert len(bridge.google(ALICE)) == 1
    assert len(bridge.google_live_by_uid("phone-1")) == 1

    # Delete it on the phone: Google cancels it.
    cal.event_by_uid("phone-1").delete()
    gone = wait_until(lambda: [e for e in bridge.google(ALICE)
                               if e.get("status") == "cancelled"], 10,
                      "the delete to reach Google")
    assert [google_uid(e) for e in gone] == ["phone-1"]
    assert bridge.google_live_by_uid("phone-1") == []
    assert bridge.store.get_item_by_uid(CAL, "phone-1") is None
    status = bridge.store.get_connection(connection_id)
    assert status.status == "ok" and not status.paused_reason
    assert bridge.stop_thread() == 0
