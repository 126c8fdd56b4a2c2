"""Property: wherever the prefilter gives an answer, it equals Radicale's own ``test_filter``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from radicale import item as radicale_item
from radicale.app.report import test_filter as radicale_test_filter
from radicale.item import filter as radicale_filter

from bridge.errors import InvalidICalendar
from bridge.ical import parse_resource
from bridge.model import ItemRecord
from radicale_plugins.items import OccurrenceCache, Prefilter
from tests.caldav.caldav_support import calendar_query, vevent

BASE = datetime(2026, 1, 1, tzinfo=UTC)
FMT = "%Y%m%dT%H%M%SZ"
RULES = ["", "RRULE:FREQ=DAILY", "RRULE:FREQ=WEEKLY;COUNT=4", "RRULE:FREQ=MONTHLY",
         "RRULE:FREQ=YEARLY;UNTIL=20300101T000000Z", "RRULE:FREQ=DAILY;COUNT=3\nEXDATE:{ex}",
         "RDATE:{ex}"]


def _record(text: str) -> ItemRecord:
    parsed = parse_resource(text)
    return ItemRecord(
        collection_path="alice/work", href="x.ics", uid=parsed.uid, component=parsed.component,
        text=parsed.text, etag=parsed.etag, start_ts=parsed.start_ts, end_ts=parsed.end_ts,
        recurring=parsed.recurring, content_hash=parsed.content_hash, summary="", status="",
        customer_name=None, customer_email=None, customer_phone=None, service=None,
        origin="t", created_at=0.0, modified_at=0.0,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start_hours=st.integers(-24 * 60, 24 * 60),
    duration=st.sampled_from([0, 1800, 3600, 86400, 3 * 86400]),
    all_day=st.booleans(),
    rule=st.sampled_from(RULES),
    window_start=st.integers(-24 * 90, 24 * 90),
    window_hours=st.sampled_from([1, 24, 24 * 7, 24 * 31, None]),
)
def test_prefilter_agrees_with_radicale(start_hours: int, duration: int, all_day: bool,
                                        rule: str, window_start: int,
                                        window_hours: int | None) -> None:
    start = BASE + timedelta(hours=start_hours)
    if all_day:
        first = start.strftime("%Y%m%d")
        end = (start + timedelta(days=max(1, duration // 86400))).strftime("%Y%m%d")
        ex = (start + timedelta(days=1)).strftime("%Y%m%d")
        rule = rule.replace("EXDATE:", "EXDATE;VALUE=DATE:").replace("RDATE:", "RDATE;VALUE=DATE:")
    else:
        first = start.strftime(FMT)
        end = (start + timedelta(seconds=duration)).strftime(FMT) if duration else None
        ex = (start + timedelta(days=1)).strftime(FMT)
    text = vevent("p", first, end, extra=rule.format(ex=ex))
    try:
        record = _record(text)
    except InvalidICalendar:
        event('invalid')
        return
    w_start = BASE + timedelta(hours=window_start)
    w_end = w_start + timedelta(hours=window_hours) if window_hours else None
    body = calendar_query(w_start.strftime(FMT), w_end.strftime(FMT) if w_end else None)
    filter_ = ET.fromstring(body).find("{urn:ietf:params:xml:ns:caldav}filter")
    assert filter_ is not None
    tag, q_start, q_end, simple = radicale_filter.simplify_prefilters([filter_], "VCALENDAR")
    verdict = Prefilter(OccurrenceCache()).decide(record, tag, q_start, q_end, simple)
    item = radicale_item.Item(collection_path="alice/work", text=record.text)
    expected = radicale_test_filter("VCALENDAR", item, filter_)
    event(f'verdict={verdict} expected={expected} recurring={record.recurring}')
    assert verdict in (None, expected), (text, w_start, w_end)
    if not record.recurring:
        assert verdict is not None  # plain events never need a parse


def test_the_occurrence_cache_is_bounded_by_its_total_occurrences() -> None:
    """Many long series cannot fill the memory: the least recently used leave first, and a
    series evicted is computed again (the same answer) when it is asked for."""
    cache = OccurrenceCache(max_entries=1000, max_occurrences=50, max_total=200)
    texts = {f"s{i}": vevent(f"s{i}", extra="RRULE:FREQ=DAILY") for i in range(10)}
    first = cache.get("s0", texts["s0"])
    assert first is not None and len(first.starts) == 50 and first.complete_until is not None
    for etag, text in texts.items():
        cache.get(etag, text)
        assert cache.total <= 200
    assert len(cache) == 4 and cache.total == 200  # 4 of 50 each: the 6 oldest went first
    again = cache.get("s0", texts["s0"])
    assert again == first and len(cache) == 4
