"""``split_this_and_future``: the split resources show what the ranged override meant."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bridge.google.mapping_range import range_uid, split_this_and_future
from bridge.ical import parse_resource
from tests.sync.twoway import expand

TZ = "Europe/Berlin"


def resource(master: str, *overrides: str, start: str = f"DTSTART;TZID={TZ}:20300304T100000",
             end: str = f"DTEND;TZID={TZ}:20300304T110000") -> str:
    """A series with ``master`` lines (rule, EXDATEs) and override bodies."""
    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:s@t\r\n"
            f"DTSTAMP:20300101T000000Z\r\n{start}\r\n{end}\r\n{master}SUMMARY:Series\r\n"
            "END:VEVENT\r\n")
    for body in overrides:
        text += f"BEGIN:VEVENT\r\nUID:s@t\r\nDTSTAMP:20300101T000000Z\r\n{body}END:VEVENT\r\n"
    return text + "END:VCALENDAR\r\n"


def ranged(rid: str, start: str, end: str, summary: str = "Moved") -> str:
    """A RANGE=THISANDFUTURE override body (zoned)."""
    return (f"RECURRENCE-ID;RANGE=THISANDFUTURE;TZID={TZ}:{rid}\r\nDTSTART;TZID={TZ}:{start}\r\n"
            f"DTEND;TZID={TZ}:{end}\r\nSUMMARY:{summary}\r\n")


def single(rid: str, start: str, end: str, summary: str = "One") -> str:
    """A plain override body (zoned)."""
    return (f"RECURRENCE-ID;TZID={TZ}:{rid}\r\nDTSTART;TZID={TZ}:{start}\r\n"
            f"DTEND;TZID={TZ}:{end}\r\nSUMMARY:{summary}\r\n")


CASES = {
    "count": resource(
        f"RRULE:FREQ=WEEKLY;COUNT=10\r\nEXDATE;TZID={TZ}:20300311T100000,20300415T100000\r\n",
        single("20300318T100000", "20300318T120000", "20300318T130000"),
        ranged("20300401T100000", "20300401T153000", "20300401T170000"),
        single("20300422T100000", "20300423T080000", "20300423T090000", "Late")),
    "until": resource("RRULE:FREQ=WEEKLY;UNTIL=20300429T090000Z\r\n",
                      ranged("20300325T100000", "20300325T090000", "20300325T100000")),
    "unbounded": resource("RRULE:FREQ=DAILY;INTERVAL=3\r\n",
                          ranged("20300313T100000", "20300313T110000", "20300313T120000")),
    "first instance": resource("RRULE:FREQ=WEEKLY;COUNT=4\r\n",
                               ranged("20300304T100000", "20300304T080000", "20300304T090000")),
    "two ranges": resource(
        "RRULE:FREQ=WEEKLY;COUNT=12\r\n",
        ranged("20300318T100000", "20300318T110000", "20300318T120000", "Second"),
        ranged("20300415T100000", "20300415T110000", "20300415T130000", "Third")),
    "all-day": resource(
        "RRULE:FREQ=WEEKLY;COUNT=6\r\nEXDATE;VALUE=DATE:20300401\r\n",
        "RECURRENCE-ID;RANGE=THISANDFUTURE;VALUE=DATE:20300318\r\n"
        "DTSTART;VALUE=DATE:20300319\r\nDTEND;VALUE=DATE:20300320\r\nSUMMARY:Moved\r\n",
        start="DTSTART;VALUE=DATE:20300304", end="DTEND;VALUE=DATE:20300305"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_split_shows_the_same_instances(name: str) -> None:
    text = CASES[name]
    parts = split_this_and_future(text)
    for part in parts:
        parsed = parse_resource(part)  # every piece passes the validation gate
        assert "THISANDFUTURE" not in part and parsed.uid.startswith("s@t")
    assert expand(parts) == expand([text])
    assert len({parse_resource(p).uid for p in parts}) == len(parts)


def test_split_uids_and_shape() -> None:
    parts = split_this_and_future(CASES["count"])
    assert [parse_resource(p).uid for p in parts] == ["s@t", "s@t-R20300401T080000Z"]
    old, new = parts
    assert "UNTIL=20300401T075959Z" in old and "COUNT" not in old
    assert "COUNT=6" in new  # ten minus the four before the split
    assert old.count("RECURRENCE-ID") == 1 and new.count("RECURRENCE-ID") == 1
    assert "20300423T080000" in new and "20300415T153000" in new  # moved by 5:30 h
    assert len(split_this_and_future(CASES["first instance"])) == 1
    assert len(split_this_and_future(CASES["two ranges"])) == 3


def test_no_range_no_change() -> None:
    text = resource("RRULE:FREQ=WEEKLY;COUNT=3\r\n",
                    single("20300311T100000", "20300311T120000", "20300311T130000"))
    assert split_this_and_future(text) == [text]
    assert range_uid("a", date(2030, 3, 4)) == "a-R20300304"
    assert range_uid("a", datetime(2030, 3, 4, 9, tzinfo=UTC)) == "a-R20300304T090000Z"


def test_exdates_that_exclude_nothing_are_no_content() -> None:
    from bridge.google.mapping import ical_hash

    plain = resource("RRULE:FREQ=WEEKLY;UNTIL=20300325T085959Z\r\n"
                     f"EXDATE;TZID={TZ}:20300311T100000\r\n")
    after_end = plain.replace("20300311T100000", "20300311T100000,20300401T100000")
    off_rule = plain.replace("20300311T100000", "20300311T100000,20300312T100000")
    other = plain.replace("20300311T100000", "20300318T100000")
    assert ical_hash(after_end) == ical_hash(plain) == ical_hash(off_rule)
    assert ical_hash(other) != ical_hash(plain)  # a real instance excluded is content
