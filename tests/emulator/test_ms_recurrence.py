"""Series in the Graph emulator: the pattern/range model expanded in calendarView and
instances, occurrences becoming exceptions or cancelled, series changes."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.microsoft.server import MsEmulatorServer
from tests.emulator.conftest import Graph, ms_event

WINDOW = "startDateTime=2030-01-01T00:00:00Z&endDateTime=2031-01-01T00:00:00Z"


def series(pattern: dict[str, Any], rng: dict[str, Any], start: str = "2030-01-07T09:00:00",
           end: str = "2030-01-07T10:00:00", zone: str = "UTC") -> dict[str, Any]:
    """A recurring event body."""
    return {**ms_event("Series", start, end, zone),
            "recurrence": {"pattern": pattern, "range": {"startDate": start[:10], **rng}}}


async def _view_days(graph: Graph, query: str = WINDOW) -> list[str]:
    rows, _ = await graph.all_pages(f"/me/calendarView?{query}",
                                    headers={"Prefer": "odata.maxpagesize=50"})
    return [r["start"]["dateTime"][:10] for r in rows]


@pytest.mark.parametrize(("pattern", "rng", "expected"), [
    ({"type": "daily", "interval": 2}, {"type": "numbered", "numberOfOccurrences": 3},
     ["2030-01-07", "2030-01-09", "2030-01-11"]),
    ({"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "wednesday"],
      "firstDayOfWeek": "monday"}, {"type": "endDate", "endDate": "2030-01-16"},
     ["2030-01-07", "2030-01-09", "2030-01-14", "2030-01-16"]),
    ({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 7},
     {"type": "numbered", "numberOfOccurrences": 3}, ["2030-01-07", "2030-02-07", "2030-03-07"]),
    ({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["tuesday"], "index": "second"},
     {"type": "numbered", "numberOfOccurrences": 3}, ["2030-01-08", "2030-02-12", "2030-03-12"]),
    ({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
     {"type": "numbered", "numberOfOccurrences": 2}, ["2030-01-25", "2030-02-22"]),
    ({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 7, "month": 3},
     {"type": "noEnd"}, ["2030-03-07"]),
    ({"type": "relativeYearly", "interval": 1, "daysOfWeek": ["sunday"], "index": "last",
      "month": 10}, {"type": "noEnd"}, ["2030-10-27"]),
])
async def test_patterns_and_ranges(graph: Graph, pattern: dict[str, Any], rng: dict[str, Any],
                                   expected: list[str]) -> None:
    created = await graph.post("/me/events", series(pattern, rng))
    assert created.status == 201, created.body
    assert created.body["type"] == "seriesMaster"
    assert await _view_days(graph) == expected


async def test_occurrences_follow_wall_clock_across_dst(graph: Graph) -> None:
    await graph.post("/me/events", series(
        {"type": "weekly", "interval": 1, "daysOfWeek": ["friday"]},
        {"type": "numbered", "numberOfOccurrences": 2}, "2030-03-29T09:00:00",
        "2030-03-29T10:00:00", "W. Europe Standard Time"))
    rows, _ = await graph.all_pages(f"/me/calendarView?{WINDOW}",
                                    headers={"Prefer": 'outlook.timezone="Europe/Berlin"'})
    assert [r["start"]["dateTime"] for r in rows] == ["2030-03-29T09:00:00.0000000",
                                                      "2030-04-05T09:00:00.0000000"]
    utc, _ = await graph.all_pages(f"/me/calendarView?{WINDOW}")
    assert [r["start"]["dateTime"][11:16] for r in utc] == ["08:00", "07:00"]


async def test_instances_exceptions_and_cancellations(graph: Graph,
                                                      ms_emu: MsEmulatorServer) -> None:
    master = (await graph.post("/me/events", series(
        {"type": "daily", "interval": 1}, {"type": "numbered", "numberOfOccurrences": 4}))).body
    events = (await graph.get("/me/events")).body["value"]
    assert [e["type"] for e in events] == ["seriesMaster"]
    inst = (await graph.get(f"/me/events/{master['id']}/instances?{WINDOW}")).body["value"]
    assert [i["type"] for i in inst] == ["occurrence"] * 4
    assert {i["seriesMasterId"] for i in inst} == {master["id"]}
    assert len({i["iCalUId"] for i in inst}) == 4
    assert all(i["iCalUId"][:32] == master["iCalUId"][:32] for i in inst)
    assert inst[1]["originalStart"] == "2030-01-08T09:00:00Z"
    second, third = inst[1], inst[2]
    moved = await graph.patch(f"/me/events/{second['id']}", {
        "subject": "Moved", "start": {"dateTime": "2030-01-08T15:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2030-01-08T16:00:00", "timeZone": "UTC"}},
        headers={"If-Match": second["@odata.etag"]})
    assert moved.status == 200 and moved.body["type"] == "exception"
    assert moved.body["id"] == second["id"]
    assert (await graph.delete(f"/me/events/{third['id']}")).status == 204
    after = (await graph.get(f"/me/events/{master['id']}/instances?{WINDOW}")).body["value"]
    assert [(i["type"], i["start"]["dateTime"][:13]) for i in after] == [
        ("occurrence", "2030-01-07T09"), ("exception", "2030-01-08T15"),
        ("occurrence", "2030-01-10T09")]
    got = await graph.get(f"/me/events/{second['id']}")
    assert got.body["subject"] == "Moved"
    assert (await graph.get(f"/me/events/{third['id']}")).status == 404
    # Changing the series pattern drops its exceptions and cancellations.
    await graph.patch(f"/me/events/{master['id']}", {"recurrence": {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "numberOfOccurrences": 2, "startDate": "2030-01-07"}}})
    final = (await graph.get(f"/me/events/{master['id']}/instances?{WINDOW}")).body["value"]
    assert [i["type"] for i in final] == ["occurrence", "occurrence"]
    # Deleting the master removes the whole series.
    assert (await graph.delete(f"/me/events/{master['id']}")).status == 204
    assert await _view_days(graph) == []


async def test_master_edit_changes_occurrences_but_not_exception_ids(graph: Graph) -> None:
    master = (await graph.post("/me/events", series(
        {"type": "daily", "interval": 1}, {"type": "numbered", "numberOfOccurrences": 2}))).body
    before = (await graph.get(f"/me/events/{master['id']}/instances?{WINDOW}")).body["value"]
    await graph.patch(f"/me/events/{master['id']}", {"subject": "Renamed"})
    after = (await graph.get(f"/me/events/{master['id']}/instances?{WINDOW}")).body["value"]
    assert [i["id"] for i in after] == [i["id"] for i in before]
    assert [i["subject"] for i in after] == ["Renamed", "Renamed"]
    assert after[0]["changeKey"] != before[0]["changeKey"]


async def test_invalid_recurrence(graph: Graph) -> None:
    bad = await graph.post("/me/events", series({"type": "weekly", "interval": 1},
                                                 {"type": "noEnd"}))
    assert bad.status == 400 and "daysOfWeek" in bad.body["error"]["message"]
    window = await graph.get("/me/calendarView")
    assert window.status == 400 and window.body["error"]["code"] == "ErrorInvalidParameter"
