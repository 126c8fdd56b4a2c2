"""Language and time polish: stored engine texts shown in the page language, conflict times
formatted like local ones in the calendar's zone, "connected since" with the zone named."""

from __future__ import annotations

from bridge.admin.catalog_de import DE
from bridge.admin.i18n import Translator
from bridge.admin.messages import KNOWN, localize
from bridge.admin.pages import _fmt_zoned
from bridge.admin.views_ledger import Shown, version_from_ical
from bridge.google.mapping import google_to_ical

GERMAN = Translator("de")
# Texts as the sync engine and the providers store them (bridge/sync/plan.py, pull.py,
# engine.py, bridge/google/auth.py, bridge/microsoft/auth.py).
STORED = [
    "the Google grant was revoked or expired",
    "the Microsoft grant was revoked or expired",
    "invalid_grant",
    "refresh token unreadable (bad key); reconnect Google",
    "edited on both sides; local edit is newer",
    "edited on both sides; Google edit is newer",
    "edited on both sides; Microsoft edit is newer",
    "deleted locally, edited on iCloud",
    "deleted on Exchange, edited locally",
    "Google's deletions would delete 500 of 800 linked appointments",
    "Google's deletions would delete 500 of 800 linked appointments (20 of them held from "
    "earlier pulls)",
    "Google returned an empty calendar, but 800 appointments are linked",
    "CalDAV's deletions would delete 500 of 800 linked appointments",
]


def test_every_known_text_is_german() -> None:
    assert sorted(m for _p, m in KNOWN if m not in DE) == []
    for text in STORED:
        shown = localize(text, GERMAN)
        assert shown != text, text
        for english in ("would delete", "edited", "revoked", "grant", "returned", "unreadable"):
            assert english not in shown, (text, shown)
    assert localize("Google's deletions would delete 500 of 800 linked appointments",
                    GERMAN) == "Google würde 500 von 800 verknüpften Terminen löschen."
    assert localize("an unknown provider message", GERMAN) == "an unknown provider message"


def test_the_engine_still_writes_these_texts() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "bridge"
    source = "".join(p.read_text() for p in [*(root / "sync").glob("*.py"),
                                             root / "google" / "auth.py"])
    for fragment in ("grant was revoked or expired", "edited on both sides; local edit is newer",
                     "deletions would delete", "returned an empty calendar, but",
                     "deleted locally, edited on", "refresh token unreadable"):
        assert fragment in source, fragment


def test_conflict_times_look_alike() -> None:
    shown = Shown("Europe/Berlin", "de")
    local = version_from_ical("local", (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:a\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20260302T090000Z\r\nDTEND:20260302T100000Z\r\n"
        "SUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), shown)
    # The provider's side is its ledger snapshot, read like a pull reads it (the Google
    # factory's snapshot_text).
    google = version_from_ical("google", google_to_ical({
        "id": "e1", "iCalUID": "a", "summary": "x",
        "start": {"dateTime": "2026-03-02T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-03-02T05:00:00-05:00"}}, [], calendar_tz="Europe/Berlin"),
        shown)
    assert local.start == google.start == "02.03.2026 10:00 Europe/Berlin"
    assert local.end == google.end == "02.03.2026 11:00 Europe/Berlin"
    day = version_from_ical("google", google_to_ical({
        "id": "e2", "iCalUID": "b", "start": {"date": "2026-03-02"},
        "end": {"date": "2026-03-03"}}, [], calendar_tz="Europe/Berlin"), shown)
    assert day.start == "02.03.2026"


def test_connected_since_in_the_calendar_zone() -> None:
    assert _fmt_zoned(1788771600.0, "Europe/Berlin", "de") == "07.09.2026 11:00 Europe/Berlin"
    assert _fmt_zoned(1788771600.0, "America/New_York", "en") == \
        "2026-09-07 05:00 America/New_York"
