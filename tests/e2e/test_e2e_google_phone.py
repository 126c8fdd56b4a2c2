"""Scenario 2, Google → phone: the business is set up with the CLI and runs ``termin-bridge
serve`` as a process; a receptionist books a customer in Google's UI (an event with the customer
as attendee); ``termin-bridge google sync-now`` brings it in, the phone's sync-collection
returns it, and the customer gets one confirmation e-mail.
"""

from __future__ import annotations

import re

from emulators.google.server import ALICE
from tests.e2e.conftest import MakeBridge
from tests.e2e.support import CAL, STAFF_PASSWORD, TZ, google_uid, wait_until

CUSTOMER = "schmidt@example.org"


def test_google_booking_reaches_phone_and_customer(make_bridge: MakeBridge) -> None:
    # Google is polled only every 5 minutes here: the change can arrive only via sync-now.
    bridge = make_bridge(poll_interval=300)
    out = bridge.cli("user", "add", "alice", "--password-stdin", stdin=STAFF_PASSWORD + "\n")
    assert "alice" in out.stdout + out.stderr
    bridge.cli("calendar", "add", CAL, "--name", "Praxis", "--timezone", TZ)
    bridge.start_process()
    connection_id = bridge.connect_google()
    bridge.wait_imported(connection_id)

    cal = bridge.phone_calendar()
    token = cal.objects_by_sync_token(load_objects=False).sync_token
    assert list(cal.objects_by_sync_token(sync_token=token, load_objects=False)) == []

    created = bridge.emu.hooks.external_change(ALICE, "insert", event={
        "summary": "Beratung Schmidt",
        "start": {"dateTime": "2030-03-12T10:00:00+01:00", "timeZone": TZ},
        "end": {"dateTime": "2030-03-12T10:45:00+01:00", "timeZone": TZ},
        "attendees": [{"email": CUSTOMER, "displayName": "Frau Schmidt"}],
    })
    google_id = created["id"]

    result = bridge.cli("google", "sync-now")
    assert re.search(rf"#{connection_id}:.*created 1", result.stdout), result.stdout

    delta = list(cal.objects_by_sync_token(sync_token=token, load_objects=True))
    assert len(delta) == 1, [str(o.url) for o in delta]
    component = delta[0].icalendar_component
    assert str(component["SUMMARY"]) == "Beratung Schmidt"
    start = component["DTSTART"].dt
    assert (start.hour, start.minute, start.day) == (10, 0, 12)
    assert start.utcoffset().total_seconds() == 3600
    uid = str(component["UID"])
    assert uid == google_uid(next(e for e in bridge.google(ALICE) if e["id"] == google_id))

    # The customer (the attendee who is not the calendar's own account) gets one confirmation.
    mails = wait_until(lambda: bridge.smtp.to(CUSTOMER), 10, "the confirmation e-mail")
    assert len(mails) == 1
    body = mails[0].get_content()
    assert "Appointment confirmed" in str(mails[0]["Subject"])
    assert "10:00" in body and "10:45" in body
    assert bridge.smtp.to(ALICE) == []

    # Nothing more is sent (no reminder is due yet; the import and pull are not repeated).
    wait_until(lambda: not [n for n in bridge.store.list_notifications(uid=uid)
                            if n.state in ("pending", "sending") and n.kind != "reminder"],
               10, "the notification outbox to settle")
    assert len(bridge.smtp.to(CUSTOMER)) == 1
    assert [i.uid for i in bridge.store.list_items(CAL)] == [uid]
    assert bridge.stop_process() == 0
