"""bridge.ical.recurrence: our expansion against the emulator's independent engine, and UNTIL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from bridge.availability import Resource, expand_resources
from bridge.ical.recurrence import normalize_until, occurrences
from emulators.google.recurrence import expand

_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"]
_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_MARGIN = timedelta(days=3)  # overrides move at most a day; compare away from the window edges


@dataclass
class Series:
    """One random series, as iCalendar and as the emulator's Google-shaped master."""

    kind: str  # zoned, floating, all-day
    zone: ZoneInfo
    start: datetime  # local wall time (midnight for all-day)
    length: timedelta
    rule: str  # without UNTIL
    until: datetime | None  # local wall time


def _local(value: datetime, series: Series) -> str:
    if series.kind == "all-day":
        return value.strftime("%Y%m%d")
    return value.strftime("%Y%m%dT%H%M%S")


def _prop(name: str, value: datetime, series: Series) -> str:
    if series.kind == "all-day":
        return f"{name};VALUE=DATE:{_local(value, series)}"
    if series.kind == "zoned":
        return f"{name};TZID={series.zone.key}:{_local(value, series)}"
    return f"{name}:{_local(value, series)}"


def _until(series: Series) -> str:
    """UNTIL in the form RFC 5545 asks for: UTC for zoned, floating, or a DATE."""
    assert series.until is not None
    if series.kind == "zoned":
        utc = series.until.replace(tzinfo=series.zone).astimezone(UTC)
        return ";UNTIL=" + utc.strftime("%Y%m%dT%H%M%SZ")
    return ";UNTIL=" + _local(series.until, series)


def _exdate(value: datetime, series: Series, utc_form: bool) -> str:
    if series.kind == "zoned" and utc_form:
        utc = value.replace(tzinfo=series.zone).astimezone(UTC)
        return "EXDATE:" + utc.strftime("%Y%m%dT%H%M%SZ")
    return _prop("EXDATE", value, series)


def _google_time(value: datetime, series: Series) -> dict[str, str]:
    if series.kind == "all-day":
        return {"date": value.date().isoformat()}
    return {"dateTime": value.isoformat(), "timeZone": series.zone.key}


@st.composite
def _series(draw: Any) -> Series:
    kind = draw(st.sampled_from(["zoned", "zoned", "floating", "all-day"]))
    zone = ZoneInfo(draw(st.sampled_from(_ZONES)))
    day = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
    if kind == "all-day":
        start = datetime(day.year, day.month, day.day)
        length = timedelta(days=draw(st.integers(1, 3)))
    else:
        start = datetime(day.year, day.month, day.day, draw(st.integers(0, 23)),
                         draw(st.sampled_from([0, 30])))
        length = timedelta(minutes=draw(st.integers(0, 180)))
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]))
    rule = f"FREQ={freq}"
    interval = draw(st.integers(1, 3))
    if interval > 1:
        rule += f";INTERVAL={interval}"
    if freq == "WEEKLY" and draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(_DAYS), min_size=1, max_size=3, unique=True))
        rule += ";BYDAY=" + ",".join(days)
    if freq == "MONTHLY":
        rule += draw(st.sampled_from(["", ";BYMONTHDAY=31", ";BYDAY=-1FR", ";BYDAY=2TU"]))
    until = None
    bound = draw(st.sampled_from(["none", "count", "until"]))
    if bound == "count":
        rule += f";COUNT={draw(st.integers(1, 40))}"
    elif bound == "until":
        # Never before DTSTART: the validation gate refuses such a rule (400), so no stored
        # series has one (and the engines need not agree on it).
        until = max(start, start + timedelta(days=draw(st.integers(0, 400)),
                                             hours=draw(st.integers(-3, 3))))
    return Series(kind, zone, start, length, rule, until)


def _emulator(series: Series, exdates: list[str], lo: datetime, hi: datetime) -> list[Any]:
    rule = "RRULE:" + series.rule + (_until(series) if series.until else "")
    master = {"id": "abcde", "start": _google_time(series.start, series),
              "end": _google_time(series.start + series.length, series),
              "recurrence": [rule, *exdates]}
    return expand(master, series.zone.key, window_start=lo, window_end=hi, horizon_days=4000,
                  max_instances=100_000)


def _calendar(series: Series, exdates: list[str], overrides: list[tuple[datetime, int, bool]]
              ) -> Calendar:
    rule = "RRULE:" + series.rule + (_until(series) if series.until else "")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", "UID:x",
             "DTSTAMP:20260101T000000Z", _prop("DTSTART", series.start, series),
             _prop("DTEND", series.start + series.length, series), rule, *exdates,
             "END:VEVENT"]
    unit = timedelta(days=1) if series.kind == "all-day" else timedelta(hours=1)
    for rid, move, cancelled in overrides:
        moved = rid + unit * move
        lines += ["BEGIN:VEVENT", "UID:x", "DTSTAMP:20260101T000000Z",
                  _prop("RECURRENCE-ID", rid, series), _prop("DTSTART", moved, series),
                  _prop("DTEND", moved + series.length, series),
                  *(["STATUS:CANCELLED"] if cancelled else []), "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return Calendar.from_ical("\r\n".join(lines) + "\r\n")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_series(), st.data())
def test_expansion_agrees_with_the_emulators_engine(series: Series, data: Any) -> None:
    # Windows near the start, and up to 2.5 years after it (unbounded series fast-forward there).
    offset = data.draw(st.one_of(st.integers(-10, 60), st.integers(60, 900)))
    lo = (series.start.replace(tzinfo=series.zone) + timedelta(days=offset)).astimezone(UTC)
    hi = lo + timedelta(days=data.draw(st.integers(10, 120)))
    # The instances without exclusions, to pick EXDATEs and overrides from.
    plain = [e.instant.astimezone(series.zone).replace(tzinfo=None)
             for e in _emulator(series, [], lo - _MARGIN, hi + _MARGIN)]
    picked = data.draw(st.lists(st.sampled_from(plain), max_size=4, unique=True)) if plain else []
    excluded = picked[: len(picked) // 2]
    exdates = [_exdate(v, series, data.draw(st.booleans())) for v in excluded]
    overrides = [(v, data.draw(st.integers(-24, 24) if series.kind != "all-day"
                               else st.integers(-1, 1)), data.draw(st.booleans()))
                 for v in picked[len(picked) // 2:]]

    def inner(value: datetime) -> bool:
        return lo + _MARGIN <= value.astimezone(UTC) < hi - _MARGIN

    theirs = {e.instant.astimezone(UTC): e for e in _emulator(series, exdates, lo, hi)
              if inner(e.instant)}
    ours = {o.recurrence_id.astimezone(UTC): o
            for o in occurrences(_calendar(series, exdates, overrides), lo, hi, zone=series.zone)
            if inner(o.recurrence_id)}
    assert sorted(ours) == sorted(theirs)
    moves = {v.replace(tzinfo=series.zone).astimezone(UTC): (m, c) for v, m, c in overrides}
    unit = timedelta(days=1) if series.kind == "all-day" else timedelta(hours=1)
    for rid, occ in ours.items():
        move, cancelled = moves.get(rid, (0, False))
        wall = occ.recurrence_id.replace(tzinfo=None) + unit * move
        assert occ.start.astimezone(UTC) == wall.replace(tzinfo=series.zone).astimezone(UTC)
        assert occ.end.astimezone(UTC) == (wall + series.length).replace(
            tzinfo=series.zone).astimezone(UTC)
        assert occ.cancelled is cancelled
        assert occ.all_day is (series.kind == "all-day")


def test_a_date_until_of_a_timed_series_covers_that_day() -> None:
    """RFC 5545 wants a UTC UNTIL next to a zoned DTSTART; a DATE (as some clients send) covers
    its whole day in DTSTART's zone, for every expansion and every writer of the rule."""
    berlin = ZoneInfo("Europe/Berlin")
    cal = Calendar.from_ical(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:u\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20261005T100000\r\n"
        "DTEND;TZID=Europe/Berlin:20261005T110000\r\nRRULE:FREQ=WEEKLY;UNTIL=20261026\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n")
    found = occurrences(cal, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC),
                        zone=berlin)
    assert [o.start.date() for o in found] == [date(2026, 10, d) for d in (5, 12, 19, 26)]
    # Availability (before: recurring-ical-events read the DATE as midnight UTC and lost the 26th).
    slots = expand_resources([Resource(cal.to_ical().decode())], found[0].start,
                             datetime(2026, 11, 30, tzinfo=UTC), berlin, [])
    assert [o.start.astimezone(berlin).date() for o in slots] == [o.start.date() for o in found]
    start = datetime(2026, 10, 5, 10, tzinfo=berlin)
    assert normalize_until(date(2026, 10, 26), start) == datetime(2026, 10, 26, 22, 59, 59,
                                                                  tzinfo=UTC)
    assert normalize_until(datetime(2026, 10, 26, 10), start) == datetime(2026, 10, 26, 9,
                                                                          tzinfo=UTC)
    floating = datetime(2026, 10, 5, 10)
    assert normalize_until(date(2026, 10, 26), floating) == datetime(2026, 10, 26, 23, 59, 59)
    assert normalize_until(datetime(2026, 10, 26, 9, tzinfo=UTC), floating) == \
        datetime(2026, 10, 26, 9)
    assert normalize_until(datetime(2026, 10, 25, 23, tzinfo=UTC), date(2026, 10, 5)) == \
        date(2026, 10, 25)
    assert normalize_until(datetime(2026, 10, 26, 11, tzinfo=berlin)) == datetime(
        2026, 10, 26, 10, tzinfo=UTC)


def test_a_series_that_cannot_be_expanded_is_skipped() -> None:
    """A broken RRULE (kept by the lenient parser) or an event without DTSTART yields nothing."""
    lo, hi = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 5, tzinfo=UTC)
    for body in ("DTSTART:20261001T100000Z\r\nRRULE:FREQ=DAILY;BYDAY=XX\r\n", "SUMMARY:x\r\n"):
        cal = Calendar.from_ical("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n" + body
                                 + "END:VEVENT\r\nEND:VCALENDAR\r\n")
        assert occurrences(cal, lo, hi, zone=UTC) == []
        assert expand_resources([Resource(cal.to_ical().decode())], lo, hi, UTC, []) == []
