"""``google_to_resource`` (the sync engine's one-pass mapping) equals the two-pass way, and the
rendering with cached VTIMEZONE blocks equals the uncached one."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from bridge.google.mapping import google_hash, google_to_ical, google_to_resource
from bridge.google.mapping_google_parse import resource_from_google
from bridge.google.mapping_ical_render import STYLE, render_resource
from bridge.ical.model import ResourceData
from bridge.ical.render import render_event, years
from bridge.ical.validate import parse_resource
from tests.unit.mapping.test_mapping_properties import CALENDAR_ZONES, PROFILE, google_series


def uncached_text(model: ResourceData) -> str:
    """The rendering as it was before the VTIMEZONE cache."""
    cal = Calendar()
    cal.add("PRODID", STYLE.prodid)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add_component(render_event(model.master, model.uid, STYLE))
    for override in model.overrides:
        cal.add_component(render_event(override, model.uid, STYLE))
    cal.add_missing_timezones(*years(model))
    return str(cal.to_ical().decode("utf-8"))


@PROFILE
@given(series=google_series(), calendar_tz=st.sampled_from(CALENDAR_ZONES))
def test_google_to_resource_equals_the_two_pass_mapping(
    series: tuple[dict[str, Any], list[dict[str, Any]]], calendar_tz: str
) -> None:
    master, exceptions = series
    parsed, digest = google_to_resource(master, exceptions, calendar_tz=calendar_tz)
    text = google_to_ical(master, exceptions, calendar_tz=calendar_tz)
    assert parsed == parse_resource(text)
    assert digest == google_hash(series, calendar_tz=calendar_tz)


@PROFILE
@given(series=google_series(), calendar_tz=st.sampled_from(CALENDAR_ZONES))
def test_cached_timezones_render_the_same_text(
    series: tuple[dict[str, Any], list[dict[str, Any]]], calendar_tz: str
) -> None:
    master, exceptions = series
    model = resource_from_google(master, exceptions, calendar_tz=calendar_tz)
    text, cal = render_resource(model)
    reference = uncached_text(model)
    if reference.count("BEGIN:VTIMEZONE") <= 1:
        assert text == reference
    else:  # several zones: the uncached order followed set iteration, ours is sorted
        assert sorted(text.splitlines()) == sorted(reference.splitlines())
    # The Calendar returned is the one the text serialises.
    assert cal.to_ical().decode("utf-8") == text
    assert render_resource(model)[0] == text  # and the cache does not leak between calls


def test_two_zones_render_in_sorted_order() -> None:
    master = {
        "id": "abc123", "iCalUID": "abc123@google.com", "status": "confirmed",
        "summary": "Call", "start": {"dateTime": "2030-03-12T09:00:00+01:00",
                                     "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-03-12T10:00:00-04:00", "timeZone": "America/New_York"},
    }
    parsed, _ = google_to_resource(master, (), calendar_tz="Asia/Tokyo")
    text = google_to_ical(master, (), calendar_tz="Asia/Tokyo")
    assert parsed == parse_resource(text)
    assert text.count("BEGIN:VTIMEZONE") == 2
    assert text.index("TZID:America/New_York") < text.index("TZID:Europe/Berlin")
