"""``bridge.ical.vcard.parse_vcard``: the address-book validation gate."""

from __future__ import annotations

import pytest

from bridge.errors import InvalidICalendar
from bridge.ical.validate import TIMESTAMP_MAX, TIMESTAMP_MIN
from bridge.ical.vcard import parse_vcard

CARD = ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c-1\r\nFN:Jane\r\n  Doe\\, PhD\r\nN:Doe;Jane;;;\r\n"
        "END:VCARD\r\n")


def test_parses_uid_name_and_unbounded_span() -> None:
    parsed = parse_vcard(CARD)
    assert parsed.uid == "c-1" and parsed.component == "VCARD"
    assert parsed.summary == "Jane Doe, PhD"
    assert (parsed.start_ts, parsed.end_ts) == (TIMESTAMP_MIN, TIMESTAMP_MAX)
    assert parse_vcard(CARD.encode()).content_hash == parsed.content_hash


@pytest.mark.parametrize(("text", "status"), [
    (CARD.replace("UID:c-1\r\n", ""), 400),
    (CARD.replace("UID:c-1", "UID:c-1\r\nUID:c-2"), 400),
    (CARD + CARD, 400),
    (CARD.replace("FN:Jane", "FN:Ja\x00ne"), 400),
    ("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", 400),
    (CARD.replace("N:Doe", "NOTE:" + "x" * 70_000 + "\r\nN:Doe"), 400),
])
def test_rejects(text: str, status: int) -> None:
    with pytest.raises(InvalidICalendar) as info:
        parse_vcard(text)
    assert info.value.status == status


def test_size_and_encoding() -> None:
    with pytest.raises(InvalidICalendar) as info:
        parse_vcard(CARD, max_bytes=10)
    assert info.value.status == 413
    with pytest.raises(InvalidICalendar) as info:
        parse_vcard(CARD.replace("Jane", "J\u00e9ne").encode("latin-1"))
    assert info.value.status == 415
