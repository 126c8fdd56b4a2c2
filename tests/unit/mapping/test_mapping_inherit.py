"""``inherit_master_changes``: an override field that equalled the series' follows it."""

from __future__ import annotations

from bridge.google.mapping_inherit import (
    differs_from_master,
    ical_master,
    inherit_master_changes,
)


def resource(master: str, override: str) -> str:
    """A weekly series with one moved instance; ``master``/``override`` are extra lines."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:i@t\r\n"
        "DTSTAMP:20300101T000000Z\r\nDTSTART:20300304T090000Z\r\nDTEND:20300304T100000Z\r\n"
        f"RRULE:FREQ=WEEKLY;COUNT=3\r\n{master}END:VEVENT\r\nBEGIN:VEVENT\r\nUID:i@t\r\n"
        "DTSTAMP:20300101T000000Z\r\nRECURRENCE-ID:20300311T090000Z\r\n"
        f"DTSTART:20300311T130000Z\r\nDTEND:20300311T140000Z\r\n{override}END:VEVENT\r\n"
        "END:VCALENDAR\r\n")


def test_inherited_fields_follow_own_values_stay() -> None:
    before = resource("SUMMARY:Weekly\r\nLOCATION:Room 1\r\nDESCRIPTION:Bring mats\r\n",
                      "SUMMARY:Weekly\r\nLOCATION:Room 9\r\nDESCRIPTION:Bring mats\r\n")
    after = resource("SUMMARY:Yoga\r\nLOCATION:Room 2\r\n",
                     "SUMMARY:Weekly\r\nLOCATION:Room 9\r\nDESCRIPTION:Bring mats\r\n")
    base = ical_master(before)
    assert base is not None
    assert differs_from_master(after)
    text = inherit_master_changes(after, base)
    override = text.split("END:VEVENT")[1]
    assert "SUMMARY:Yoga" in override  # equalled the series' title: follows
    assert "LOCATION:Room 9" in override  # its own: stays
    assert "DESCRIPTION" not in override  # the series lost it: so does the override
    assert "DTSTART:20300311T130000Z" in override  # times never follow


def test_nothing_to_follow_is_the_same_text() -> None:
    text = resource("SUMMARY:Weekly\r\n", "SUMMARY:Weekly\r\n")
    base = ical_master(text)
    assert base is not None and not differs_from_master(text)
    assert inherit_master_changes(text, base) is text
    own = resource("SUMMARY:Yoga\r\n", "SUMMARY:Special\r\n")
    assert inherit_master_changes(own, base) is own
