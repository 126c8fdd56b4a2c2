"""The pure booking rules on the shared cases, and their edges (DST, no working hours)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bridge.availability import AvailabilityOptions, Resource, expand_resources
from bridge.booking.rules import Proposal, Verdict, check, search_range

from .cases import CASES, SEED, Case

BERLIN = ZoneInfo("Europe/Berlin")


def _proposal(start: str, end: str, uid: str = "new") -> Proposal:
    return Proposal(uid, datetime.fromisoformat(start).replace(tzinfo=BERLIN),
                    datetime.fromisoformat(end).replace(tzinfo=BERLIN))


def _judge(proposal: Proposal, texts: list[str], *,
           options: AvailabilityOptions | None = None,
           not_before: datetime | None = None) -> Verdict:
    lo, hi = search_range(proposal)
    occ = expand_resources([Resource(t) for t in texts], lo, hi, BERLIN, ["Arbeitszeit"])
    return check(proposal, occ, zone=BERLIN, options=options, not_before=not_before)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cases(case: Case) -> None:
    verdict = _judge(_proposal(case.start, case.end), [t for _o, t in SEED.values()])
    assert verdict.rules == case.rules
    conflicts = [c.uid for c in verdict.conflicts]
    assert conflicts == ([case.conflict] if case.conflict else [])
    for slot in verdict.suggestions:
        again = _judge(_proposal(slot.start.isoformat()[:19], slot.end.isoformat()[:19]),
                       [t for _o, t in SEED.values()])
        assert again.ok, slot


def test_own_occurrence_and_options() -> None:
    texts = [t for _o, t in SEED.values()]
    # Erika moving within her own time conflicts with nobody.
    assert _judge(_proposal("2026-06-01T10:10:00", "2026-06-01T10:40:00", "erika"),
                  texts).ok
    # all-day events need not block
    free = _judge(_proposal("2026-06-03T10:00:00", "2026-06-03T10:30:00"), texts,
                  options=AvailabilityOptions(all_day_blocks=False))
    assert free.ok


def test_without_working_hours_any_time_is_fine_but_overlap() -> None:
    texts = [t for uid, (_o, t) in SEED.items() if uid != "hours"]
    assert _judge(_proposal("2026-06-01T22:00:00", "2026-06-01T23:00:00"), texts).ok
    verdict = _judge(_proposal("2026-06-01T10:00:00", "2026-06-01T11:00:00"), texts,
                     not_before=datetime(2026, 6, 1, 8, 0, tzinfo=BERLIN))
    assert verdict.rules == ("overlap",)
    starts = [s.start for s in verdict.suggestions]
    assert len(starts) == 3 and all(s >= datetime(2026, 6, 1, 8, tzinfo=BERLIN) for s in starts)
    assert all(abs(s - datetime(2026, 6, 1, 10, tzinfo=BERLIN)) <= timedelta(hours=1)
               for s in starts)
