"""Messages show the time in the calendar's zone and name the zone, in German and English."""

from __future__ import annotations

from bridge.notify.render import Renderer, format_when

_SUMMER = {"start": "2026-07-06T08:00:00+00:00", "end": "2026-07-06T08:30:00+00:00",
           "timezone": "Europe/Berlin", "customer": {"name": "Erika"}, "calendar": {"name": "P"}}


def test_time_in_the_calendar_zone_with_the_zone_named() -> None:
    assert format_when(_SUMMER, "de") == (
        "Montag, 6. Juli 2026, 10:00\u201310:30 Uhr (Mitteleuropäische Sommerzeit)")
    assert format_when(_SUMMER, "en") == (
        "Monday, 6 July 2026, 10:00\u201310:30 (Central European Summer Time)")
    winter = {**_SUMMER, "start": "2026-12-01T19:00:00-05:00", "end": "2026-12-02T01:00:00-05:00",
              "timezone": "America/New_York"}
    assert format_when(winter, "de") == (
        "Dienstag, 1. Dezember 2026 19:00 \u2013 Mittwoch, 2. Dezember 2026 01:00 Uhr "
        "(Nordamerikanische Ostküsten-Normalzeit)")
    all_day = {**_SUMMER, "start": "2026-07-06", "end": "2026-07-08", "all_day": True}
    assert format_when(all_day, "en") == "Monday, 6 July 2026 \u2013 Tuesday, 7 July 2026"


def test_subject_short_body_names_the_zone() -> None:
    for language, zone in (("de", "Mitteleuropäische Sommerzeit"),
                           ("en", "Central European Summer Time")):
        message = Renderer().render("confirmation", language, _SUMMER)
        assert zone not in message.subject and "10:00\u201310:30" in message.subject
        assert f"10:00\u201310:30{' Uhr' if language == 'de' else ''} ({zone})" in message.body
