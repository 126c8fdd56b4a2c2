"""Scenario 4, restart: ``termin-bridge serve`` gets SIGTERM (a deploy, a reboot) in the middle
of a burst of 30 phone bookings; the phone keeps retrying until the server is back.  Afterwards
Google holds exactly the local appointments (none missing, none twice) and every customer got
exactly one confirmation.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from emulators.google.server import ALICE
from tests.e2e.conftest import MakeBridge
from tests.e2e.support import CAL, google_uid, phone_event, wait_until

BURST = 30
STOP_AFTER = 10


def customer(i: int) -> str:
    return f"kunde{i:02d}@example.org"


def test_restart_mid_burst_converges_without_duplicates(make_bridge: MakeBridge) -> None:
    bridge = make_bridge()
    bridge.add_staff()
    bridge.add_calendar()
    bridge.start_process()
    connection_id = bridge.connect_google()
    bridge.wait_imported(connection_id)
    uids = [f"burst-{i:02d}" for i in range(BURST)]
    acked: list[str] = []
    failures: list[str] = []
    done = threading.Event()
    crashed: list[BaseException] = []

    def phone() -> None:
        """A phone: books one customer after the other and retries until the server answers."""
        try:
            cal = bridge.phone_calendar()
            for i, uid in enumerate(uids):
                text = phone_event(uid, f"Termin Kunde {i}", day=1 + i % 28, hour=8 + i % 9,
                                   minutes=30, customer_email=customer(i))
                deadline = time.monotonic() + 45
                while True:
                    try:
                        cal.save_event(text)
                        break
                    except Exception as exc:  # connection refused/reset while restarting
                        failures.append(f"{uid}: {type(exc).__name__}")
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.1)
                acked.append(uid)
                time.sleep(0.03)
        except BaseException as exc:
            crashed.append(exc)
        finally:
            done.set()

    # Google answers slowly (each insert is stored, then answered 1 s later), so the outbox has a
    # backlog and one insert is in flight when the stop comes, even when a busy machine makes
    # every phone write slow too (at 0.25 s Google could keep up with a phone slowed by load).
    bridge.emu.hooks.fault("calendar.events.insert", latency=1.0, after=True, times=None)
    bridge.smtp.delay = 0.15  # and the mail server too: confirmations queue up as well
    writer = threading.Thread(target=phone, name="phone-burst", daemon=True)
    writer.start()
    wait_until(lambda: len(acked) >= STOP_AFTER or done.is_set(), 20, "the burst to start")
    assert bridge.stop_process() == 0  # SIGTERM: a clean exit
    acked_before = len(acked)
    assert STOP_AFTER <= acked_before < BURST, "the stop did not happen mid-burst"
    pending_at_stop = [e for e in bridge.store.list_items(CAL)
                       if not bridge.google_live_by_uid(e.uid)]
    assert pending_at_stop, "Google had caught up before the stop; nothing was in flight"
    bridge.emu.hooks.clear_faults()
    bridge.smtp.delay = 0.0
    bridge.start_process()
    assert done.wait(60), "the phone never finished its burst"
    writer.join(5)
    assert not crashed, crashed
    assert failures, "no write failed: the server was never down during the burst"
    assert acked == uids

    # Local: every acknowledged booking, once.
    items = bridge.store.list_items(CAL)
    assert sorted(i.uid for i in items) == uids

    # Google converges to the local set.
    def converged() -> bool:
        live = Counter(google_uid(e) for e in bridge.google(ALICE)
                       if e.get("status") != "cancelled")
        return set(live) == set(uids)

    wait_until(converged, 20, "Google to hold every local appointment")
    every = Counter(google_uid(e) for e in bridge.google(ALICE))
    duplicates = {uid: n for uid, n in every.items() if n > 1}
    missing = set(uids) - set(every)
    assert (duplicates, missing) == ({}, set())
    assert len(every) == BURST
    assert all(e.get("status") != "cancelled" for e in bridge.google(ALICE))

    status = bridge.cli("google", "status").stdout
    assert "status ok" in status and "outbox 0 pending, 0 parked" in status, status

    # Every customer got exactly one confirmation: none lost, none repeated by the restart.
    wait_until(lambda: all(bridge.smtp.to(customer(i)) for i in range(BURST)), 20,
               "a confirmation for every booking")
    wait_until(lambda: not [n for n in bridge.store.list_notifications(limit=1000)
                            if n.state in ("pending", "sending") and n.kind != "reminder"],
               10, "the notification outbox to settle")
    per_customer = Counter(str(m["X-Envelope-To"]) for m in bridge.smtp.snapshot())
    assert per_customer == Counter({customer(i): 1 for i in range(BURST)})
    message_ids = [str(m["Message-ID"]) for m in bridge.smtp.snapshot()]
    assert len(set(message_ids)) == BURST
    assert bridge.stop_process() == 0
