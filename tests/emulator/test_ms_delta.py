"""``calendarView/delta`` in the Graph emulator: paging, deltaLink rounds, @removed rows (also
for out-of-window changes), refused query options, 410 SyncStateNotFound and replays."""

from __future__ import annotations

from typing import Any

from emulators.microsoft.server import ADELE, MsEmulatorServer
from tests.emulator.conftest import Graph, Reply, ms_event

WINDOW = "startDateTime=2030-01-01T00:00:00Z&endDateTime=2030-12-31T00:00:00Z"


async def _round(graph: Graph, link: str, page_size: int = 10) -> tuple[list[dict[str, Any]],
                                                                        str, int]:
    """Follow one round; returns its rows, the deltaLink and the number of pages."""
    rows, pages = [], 0
    headers = {"Prefer": f"odata.maxpagesize={page_size}"}
    while True:
        reply = await graph.get(link, headers=headers)
        assert reply.status == 200, reply.body
        pages += 1
        rows += reply.body["value"]
        if "@odata.deltaLink" in reply.body:
            assert "@odata.nextLink" not in reply.body
            return rows, reply.body["@odata.deltaLink"], pages
        link = reply.body["@odata.nextLink"]
        assert "$skiptoken=" in link


async def test_initial_round_pages_then_incremental(graph: Graph) -> None:
    ids = []
    for day in range(1, 8):
        created = await graph.post("/me/events", ms_event(
            f"E{day}", f"2030-05-{day:02d}T09:00:00", f"2030-05-{day:02d}T10:00:00"))
        ids.append(created.body["id"])
    rows, link, pages = await _round(graph, f"/me/calendarView/delta?{WINDOW}", page_size=3)
    assert pages == 3 and sorted(r["id"] for r in rows) == sorted(ids)
    assert all(r["@odata.type"] == "#microsoft.graph.event" for r in rows)
    assert "$deltatoken=" in link
    # Nothing changed: one request, nothing in it.
    rows, link, pages = await _round(graph, link)
    assert rows == [] and pages == 1
    await graph.patch(f"/me/events/{ids[0]}", {"subject": "changed"})
    await graph.delete(f"/me/events/{ids[1]}")
    added = await graph.post("/me/events", ms_event("new", "2030-06-01T09:00:00",
                                                    "2030-06-01T10:00:00"))
    rows, link, _ = await _round(graph, link)
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {ids[0], ids[1], added.body["id"]}
    assert by_id[ids[0]]["subject"] == "changed"
    assert by_id[ids[1]] == {"@odata.type": "#microsoft.graph.event", "id": ids[1],
                             "@removed": {"reason": "deleted"}}
    rows, _, _ = await _round(graph, link)
    assert rows == []


async def test_out_of_window_changes_come_as_removed(graph: Graph) -> None:
    _, link, _ = await _round(graph, f"/me/calendarView/delta?{WINDOW}")
    outside = await graph.post("/me/events", ms_event("2031", "2031-03-01T09:00:00",
                                                      "2031-03-01T10:00:00"))
    rows, link, _ = await _round(graph, link)
    assert rows == [{"@odata.type": "#microsoft.graph.event", "id": outside.body["id"],
                     "@removed": {"reason": "deleted"}}]
    # Moving an event out of the window removes it from the view.
    inside = await graph.post("/me/events", ms_event("in", "2030-03-01T09:00:00",
                                                     "2030-03-01T10:00:00"))
    rows, link, _ = await _round(graph, link)
    assert [r["id"] for r in rows] == [inside.body["id"]]
    await graph.patch(f"/me/events/{inside.body['id']}", {
        "start": {"dateTime": "2032-01-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2032-01-01T10:00:00", "timeZone": "UTC"}})
    rows, _, _ = await _round(graph, link)
    assert rows == [{"@odata.type": "#microsoft.graph.event", "id": inside.body["id"],
                     "@removed": {"reason": "deleted"}}]


async def test_series_rows_and_cancelled_occurrence(graph: Graph) -> None:
    master = (await graph.post("/me/events", {
        **ms_event("Daily", "2030-02-01T09:00:00", "2030-02-01T10:00:00"),
        "recurrence": {"pattern": {"type": "daily", "interval": 1},
                       "range": {"type": "numbered", "numberOfOccurrences": 3,
                                 "startDate": "2030-02-01"}}})).body
    rows, link, _ = await _round(graph, f"/me/calendarView/delta?{WINDOW}")
    assert [r["type"] for r in rows] == ["occurrence"] * 3
    assert {r["seriesMasterId"] for r in rows} == {master["id"]}
    await graph.delete(f"/me/events/{rows[1]['id']}")
    await graph.patch(f"/me/events/{rows[2]['id']}", {"subject": "Only this one"})
    again, link, _ = await _round(graph, link)
    by_id = {r["id"]: r for r in again}
    assert by_id[rows[1]["id"]]["@removed"] == {"reason": "deleted"}
    assert by_id[rows[2]["id"]]["type"] == "exception"
    assert rows[0]["id"] not in by_id


async def test_per_calendar_path_and_default_calendar_are_separate(graph: Graph) -> None:
    await graph.post("/me/calendars/AAMkAGCalPraxis/events", ms_event(
        "Praxis", "2030-04-01T09:00:00", "2030-04-01T10:00:00"))
    await graph.post("/me/events", ms_event("Default", "2030-04-02T09:00:00",
                                            "2030-04-02T10:00:00"))
    praxis, link, _ = await _round(graph,
                                   f"/me/calendars/AAMkAGCalPraxis/calendarView/delta?{WINDOW}")
    default, _, _ = await _round(graph, f"/me/calendarView/delta?{WINDOW}")
    assert [r["subject"] for r in praxis] == ["Praxis"]
    assert [r["subject"] for r in default] == ["Default"]
    assert "/me/calendars/AAMkAGCalPraxis/calendarView/delta?" in link
    shared, _, _ = await _round(graph, f"/me/calendars/AAMkAGCalTeam/calendarView/delta?{WINDOW}")
    assert shared == []


async def test_query_options_are_refused(graph: Graph) -> None:
    for option in ("$select=subject", "$expand=singleValueExtendedProperties",
                   "$filter=subject eq 'x'", "$orderby=start/dateTime"):
        reply = await graph.get(f"/me/calendarView/delta?{WINDOW}&{option}")
        assert reply.status == 400, option
        assert reply.body["error"]["code"] == "ErrorInvalidUrlQuery"
    missing = await graph.get("/me/calendarView/delta")
    assert missing.status == 400


def _gone(reply: Reply) -> None:
    assert reply.status == 410, reply.body
    assert reply.body["error"]["code"] == "SyncStateNotFound"


async def test_invalidated_token_is_410(graph: Graph, ms_emu: MsEmulatorServer) -> None:
    await graph.post("/me/events", ms_event("x", "2030-01-05T09:00:00", "2030-01-05T10:00:00"))
    await graph.post("/me/events", ms_event("y", "2030-01-06T09:00:00", "2030-01-06T10:00:00"))
    first = await graph.get(f"/me/calendarView/delta?{WINDOW}",
                            headers={"Prefer": "odata.maxpagesize=1"})
    _, link, _ = await _round(graph, f"/me/calendarView/delta?{WINDOW}")
    assert ms_emu.hooks.call("POST", "invalidate_delta", {"calendarId": ADELE})["invalidated"] > 0
    _gone(await graph.get(link))
    _gone(await graph.get(first.body["@odata.nextLink"]))
    # A fresh round works.
    rows, _, _ = await _round(graph, f"/me/calendarView/delta?{WINDOW}")
    assert len(rows) == 2


async def test_replay_knob_resends_unchanged_rows(graph: Graph, ms_emu: MsEmulatorServer) -> None:
    created = await graph.post("/me/events", ms_event("x", "2030-01-05T09:00:00",
                                                      "2030-01-05T10:00:00"))
    _, link, _ = await _round(graph, f"/me/calendarView/delta?{WINDOW}")
    ms_emu.hooks.config(delta_replay=1)
    rows, link, _ = await _round(graph, link)
    assert [r["id"] for r in rows] == [created.body["id"]]
    rows, _, _ = await _round(graph, link)
    assert rows == []


async def test_rows_honour_prefer_timezone(graph: Graph) -> None:
    await graph.post("/me/events", ms_event("x", "2030-01-05T09:00:00", "2030-01-05T10:00:00"))
    reply = await graph.get(f"/me/calendarView/delta?{WINDOW}",
                            headers={"Prefer": 'outlook.timezone="W. Europe Standard Time"'})
    assert reply.body["value"][0]["start"] == {"dateTime": "2030-01-05T10:00:00.0000000",
                                               "timeZone": "W. Europe Standard Time"}
