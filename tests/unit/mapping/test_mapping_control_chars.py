"""Text pasted into Google may carry control characters iCalendar cannot hold: they are dropped
instead of making the event fail validation (it would never sync)."""

from __future__ import annotations

from bridge.google.mapping import google_hash, google_to_ical, same_content
from bridge.ical import parse_resource


def test_control_characters_from_google_are_dropped_not_fatal() -> None:
    event = {
        "kind": "calendar#event", "id": "abc123def", "status": "confirmed",
        "iCalUID": "abc123def@google.com",
        "summary": "Haar\x0bschnitt\x00", "description": "Zeile 1\nZeile\x1b 2",
        "location": "Raum\x07 4",
        "start": {"dateTime": "2030-01-07T09:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-01-07T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        "attendees": [{"email": "kunde@example.org", "displayName": "Erika\x08 M."}],
        "extendedProperties": {"private": {"terminCustomerName": "Erika\x0c Muster"}},
    }
    text = google_to_ical(event, [], calendar_tz="Europe/Berlin")
    parsed = parse_resource(text)  # passes the gate
    assert parsed.summary == "Haar schnitt"  # VT is a line break to some readers: a space
    assert "Zeile 1\\nZeile 2" in text and "Raum 4" in text and "Erika M." in text
    assert all(ch not in text for ch in "\x00\x07\x08\x0b\x0c\x1b")
    # Both sides hash the cleaned content: no change detected, so no ping-pong.
    assert same_content(text, event, calendar_tz="Europe/Berlin")
    assert google_hash(event)
