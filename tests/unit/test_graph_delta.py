"""The Microsoft delta window, cursor and row grouping (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bridge.microsoft.delta import Cursor, Window, group_rows, window_for


def test_window_is_whole_months_and_moves_monthly() -> None:
    w = window_for(datetime(2026, 12, 3, 8, 0, tzinfo=UTC))
    assert w == Window(datetime(2025, 12, 1, tzinfo=UTC), datetime(2029, 12, 1, tzinfo=UTC))
    assert window_for(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == w
    moved = window_for(datetime(2027, 1, 1, 0, 0, tzinfo=UTC))
    assert moved.start == datetime(2026, 1, 1, tzinfo=UTC) and moved != w
    assert w.iso() == ("2025-12-01T00:00:00Z", "2029-12-01T00:00:00Z")


def test_window_covers_overlapping_spans_only() -> None:
    w = window_for(datetime(2026, 6, 15, tzinfo=UTC))
    inside = datetime(2026, 6, 20, tzinfo=UTC).timestamp()
    assert w.covers(inside, inside + 3600)
    before = w.start.timestamp()
    assert not w.covers(before - 7200, before)
    assert w.covers(before - 7200, before + 1)


def test_cursor_round_trip_and_unreadable_cursors() -> None:
    w = window_for(datetime(2026, 6, 15, tzinfo=UTC))
    c = Cursor(w, "https://graph.example/v1.0/me/calendarView/delta?$deltatoken=abc", True)
    assert Cursor.load(c.dump()) == c
    for bad in (None, "", "not json", '{"v":1}', '{"window":[1,2],"link":"x","complete":1}'):
        assert Cursor.load(bad) is None


def test_rows_group_by_series_and_removals_are_confirmed() -> None:
    rows: list[dict[str, Any]] = [
        {"id": "s1", "type": "singleInstance"},
        {"id": "o1", "type": "occurrence", "seriesMasterId": "m1"},
        {"id": "x1", "type": "exception", "seriesMasterId": "m1"},
        {"id": "s1", "type": "singleInstance"},  # replayed
        {"id": "gone", "@removed": {"reason": "deleted"}},
        {"id": "gone", "@removed": {"reason": "deleted"}},
        {"id": "back", "@removed": {"reason": "deleted"}},
        {"id": "back", "type": "singleInstance"},  # removed, then seen again in the round
        {"@removed": {"reason": "deleted"}},  # no id: ignored
    ]
    g = group_rows(rows)
    assert g.series == ["s1", "m1", "back"]
    assert g.removed == ["gone"]
    assert set(g.rows) == {"s1", "o1", "x1", "back"}
