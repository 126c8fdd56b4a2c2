"""The booking rules hold across processes: several processes (several sidecars on one
PostgreSQL, or on one SQLite file) book the same slot at the same moment and exactly one of
them gets it, slot after slot.  The calendar lock is the database's, not a lock in one process.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter

import pytest

from bridge.bootstrap import open_bridge_store
from tests.booking.cases import CALENDAR, seed
from tests.booking.race_worker import SLOTS, book_every_slot

PROCESSES = 4


@pytest.mark.timeout(600)
def test_one_slot_many_processes_exactly_one_wins(store_url: str) -> None:
    store = open_bridge_store(store_url)
    try:
        store.create_user("alice", "x")
        store.create_collection(CALENDAR, tag="VCALENDAR", timezone="Europe/Berlin")
        seed(store)
    finally:
        store.close()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [context.Process(target=book_every_slot,
                               args=(store_url, f"p{n}", barrier, results))
               for n in range(PROCESSES)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in range(PROCESSES * len(SLOTS))]
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    per_slot = Counter((number, outcome) for number, _name, outcome in outcomes)
    for number in range(len(SLOTS)):
        assert per_slot[(number, "ok")] == 1, per_slot
        assert per_slot[(number, "refused")] == PROCESSES - 1, per_slot
    store = open_bridge_store(store_url)
    try:
        booked = [i for i in store.list_items(CALENDAR) if i.uid.endswith("@race")]
    finally:
        store.close()
    assert len(booked) == len(SLOTS)
    assert len({i.start_ts for i in booked}) == len(SLOTS)
