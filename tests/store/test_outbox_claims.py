"""Outbox claims on both back ends: a live worker keeps its claims, a gone one loses them at once.

Regression (issue 12, items 3 and 4): claims were 120 s time leases.  A push that outlasted its
lease was claimed and pushed a second time by another worker, and a killed worker's rows waited
for the lease.  Claims now belong to a worker while its liveness lock lives
(:mod:`bridge.store.liveness`).  The kill -9 versions of these tests are in
``tests/e2e/test_e2e_kill_push.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bridge.ical import parse_resource
from bridge.store import SqlStore, href_for_uid, open_store
from bridge.store import schema as s

CAL = "alice/work"


def _ics(uid: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20300310T090000Z\r\n"
            "DTEND:20300310T100000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


class Clock:
    """A store clock moved by hand."""

    def __init__(self) -> None:
        self.now = 2_000_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def queued(store_url: str) -> Iterator[tuple[SqlStore, Clock]]:
    """A store with a connected calendar and three queued pushes (UIDs a, b, c)."""
    clock = Clock()
    store = open_store(store_url, clock=clock)
    store.create_user("alice", "x")
    store.create_collection(CAL, tag="VCALENDAR", timezone="UTC")
    record = store.create_connection(CAL, account_email="a@example.org",
                                     remote_calendar_id="a@example.org")
    store.update_connection_state(record.id, {"import": {"phase": "done"}})
    store.activate_connection(record.id, push_existing=False)
    for uid in "abc":
        store.put_item(CAL, href_for_uid(uid), parse_resource(_ics(uid)), origin="caldav")
    try:
        yield store, clock
    finally:
        store.close()


def test_a_live_workers_claim_is_never_taken_however_long_it_takes(
        queued: tuple[SqlStore, Clock]) -> None:
    store, clock = queued
    first = store.claim_outbox("worker-a")
    assert sorted(c.uid for c in first) == ["a", "b", "c"]
    clock.now += 6 * 3600  # far past any lease: worker-a is still pushing (and alive)
    assert store.claim_outbox("worker-b") == []
    # A new revision of a claimed UID is not claimable either while worker-a holds the UID.
    store.put_item(CAL, href_for_uid("a"), parse_resource(_ics("a").replace("SUMMARY:x",
                                                                           "SUMMARY:y")),
                   origin="caldav")
    assert store.claim_outbox("worker-b") == []
    for claim in first:
        store.finish_outbox(claim, "worker-a")
    again = store.claim_outbox("worker-b")
    assert [c.uid for c in again] == ["a"]


def test_a_gone_workers_claims_are_taken_at_once(store_url: str,
                                                 queued: tuple[SqlStore, Clock]) -> None:
    store, clock = queued
    other = open_store(store_url, migrate=False, clock=clock)  # another process
    try:
        assert len(other.claim_outbox("worker-gone")) == 3
        assert store.claim_outbox("worker-b") == []  # alive: nothing to take
    finally:
        other.close()  # its lock goes with it (a killed process loses it the same way)
    taken = store.claim_outbox("worker-b")  # no time has passed
    assert sorted(c.uid for c in taken) == ["a", "b", "c"]
    with store.engine.connect() as conn:
        owners = set(conn.execute(select(s.outbox.c.claimed_by)
                                  .where(s.outbox.c.state == "pending")).scalars())
    assert owners == {"worker-b"}


def test_a_worker_retakes_only_the_claims_it_lost_track_of(
        queued: tuple[SqlStore, Clock]) -> None:
    store, _clock = queued
    claims = {c.uid: c for c in store.claim_outbox("worker-a")}
    pushing = set(claims["a"].row_ids) | set(claims["b"].row_ids)
    # "c" was claimed but is not being pushed (an error between claim and finish).
    retaken = store.claim_outbox("worker-a", in_flight=pushing)
    assert [c.uid for c in retaken] == ["c"]
    assert store.claim_outbox("worker-b") == []
