"""Bulk import: parallel validation keeps order, reports bad events with UID and line."""

from __future__ import annotations

from bridge.importer import PARALLEL_THRESHOLD, export_calendar, import_calendar
from bridge.store import SqlStore, open_store
from tests.helpers import vevent


def _file(n: int, bad: set[int]) -> str:
    parts = []
    for i in range(n):
        end = "20260101T000000Z" if i in bad else "20260105T110000Z"
        text = vevent(f"e{i}", "20260105T100000Z", end, summary=f"Event {i}")
        parts.append(text.split("PRODID:-//test//EN\r\n", 1)[1].rsplit("END:VCALENDAR", 1)[0])
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + "".join(parts) + "END:VCALENDAR\r\n"


def test_large_import_in_parallel_reports_problems(sqlite_url: str) -> None:
    store: SqlStore = open_store(sqlite_url)
    store.create_collection("a/cal", tag="VCALENDAR")
    n = PARALLEL_THRESHOLD + 100
    seen: list[tuple[int, int]] = []
    report = import_calendar(store, "a/cal", _file(n, {5, n - 1}),
                             progress=lambda d, t: seen.append((d, t)))
    assert report.created == n - 2
    # 3 header lines, 7 lines per event: event i begins on line 4 + 7 i.
    assert [(p.uid, p.line) for p in report.problems] == [("e5", 4 + 5 * 7),
                                                          (f"e{n - 1}", 4 + (n - 1) * 7)]
    assert "DTEND is before DTSTART" in report.problems[0].message
    assert seen[-1] == (n, n) and len(seen) > 2  # batches written while validating
    exported = export_calendar(store, "a/cal")
    assert exported.count("BEGIN:VEVENT") == n - 2
    strict = import_calendar(store, "a/cal", _file(10, {3}), strict=True)
    assert strict.created == 0 and len(strict.problems) == 1
    store.close()
