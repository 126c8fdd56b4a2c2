"""Deterministic Google event ids and instance ids."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.google import ids


def test_event_id_is_deterministic_and_valid() -> None:
    first = ids.event_id("alice/work", "appt-1@termin.test")
    assert first == ids.event_id("alice/work", "appt-1@termin.test")
    assert ids.is_valid_event_id(first)
    assert len(first) == 52
    assert first != ids.event_id("alice/home", "appt-1@termin.test")
    assert first != ids.event_id("alice/work", "appt-2@termin.test")
    # The separator keeps (calendar, uid) pairs apart.
    assert ids.event_id("a", "bc") != ids.event_id("ab", "c")


@settings(max_examples=150, deadline=None)
@given(calendar=st.text(max_size=40), uid=st.text(min_size=1, max_size=300))
def test_event_id_alphabet_and_length(calendar: str, uid: str) -> None:
    value = ids.event_id(calendar, uid)
    assert ids.is_valid_event_id(value)
    assert set(value) <= set("abcdefghijklmnopqrstuv0123456789")


@pytest.mark.parametrize(
    ("value", "valid"),
    [("abcde", True), ("abcd", False), ("ABCDE", False), ("wxyz0", False),
     ("a" * 1024, True), ("a" * 1025, False), ("abc_20300101", False), ("0123456789", True)],
)
def test_is_valid_event_id(value: str, valid: bool) -> None:
    assert ids.is_valid_event_id(value) is valid


def test_instance_ids() -> None:
    berlin = datetime(2030, 7, 10, 10, tzinfo=ZoneInfo("Europe/Berlin"))
    assert ids.instance_id("abcde", berlin) == "abcde_20300710T080000Z"
    assert ids.instance_id("abcde", date(2030, 7, 10)) == "abcde_20300710"
    with pytest.raises(ValueError, match="aware"):
        ids.instance_id("abcde", datetime(2030, 7, 10, 10))


def test_split_instance_id() -> None:
    assert ids.split_instance_id("abcde_20300710T080000Z") == ("abcde", "20300710T080000Z")
    assert ids.split_instance_id("abcde_20300710") == ("abcde", "20300710")
    assert ids.split_instance_id("abcde") == ("abcde", None)
    assert ids.split_instance_id("abcde_x") == ("abcde_x", None)
