"""Issue 12 item 6: a local edit keeps every field only Google holds (colour, conference,
attachments, source, event type, guest permissions, other apps' properties, attendee notes).

Through the real client against the emulator: a Google event is pulled, edited locally through
the store's write path (origin ``caldav``, as Radicale writes it), pushed, and read back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from icalendar import Calendar

from emulators.google.server import ALICE
from tests.sync.conftest import Harness

MEET = {
    "conferenceId": "abc-defg-hij",
    "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
    "entryPoints": [{"entryPointType": "video", "uri": "https://meet.google.com/abc-defg-hij",
                     "label": "meet.google.com/abc-defg-hij"}],
}
FILES = [{"fileUrl": "https://drive.google.com/open?id=1x", "title": "Plan.pdf",
          "mimeType": "application/pdf", "fileId": "1x"}]
GOOGLE_ONLY: dict[str, Any] = {
    "colorId": "5",
    "conferenceData": MEET,
    "attachments": FILES,
    "source": {"title": "Booking page", "url": "https://shop.example/b/1"},
    "eventType": "default",
    "guestsCanModify": True,
    "guestsCanInviteOthers": False,
    "guestsCanSeeOtherGuests": False,
    "anyoneCanAddSelf": True,
}


def google_event(**extra: Any) -> dict[str, Any]:
    """A Google event with every field only Google holds."""
    return {
        "summary": "Consultation", "description": "first visit", "location": "Room 1",
        "start": {"dateTime": "2030-03-12T09:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-03-12T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        "attendees": [{"email": "kim@example.com", "displayName": "Kim",
                       "comment": "bringing the forms", "additionalGuests": 1}],
        "extendedProperties": {"private": {"otherApp": "ticket-7"},
                               "shared": {"crm": "lead-42"}},
        **GOOGLE_ONLY, **extra,
    }


def edit_locally(h: Harness, uid: str, *, summary: str, shift_hours: int = 0,
                 description: str | None = None, location: str | None = None,
                 override_summary: str | None = None) -> None:
    """Change mapped fields of the stored resource and write it as a phone would."""
    item = h.local()[uid]
    cal = Calendar.from_ical(item.text)
    for comp in cal.walk("VEVENT"):
        is_override = comp.get("RECURRENCE-ID") is not None
        if is_override:
            if override_summary is not None:
                comp["SUMMARY"] = override_summary
            continue
        comp["SUMMARY"] = summary
        if description is not None:
            comp["DESCRIPTION"] = description
        if location is not None:
            comp["LOCATION"] = location
        for name in ("DTSTART", "DTEND"):
            value = comp[name]
            value.dt = value.dt + timedelta(hours=shift_hours)
    h.put(uid, cal.to_ical().decode())


def assert_google_only_kept(event: dict[str, Any]) -> None:
    """Every Google-only field of :data:`GOOGLE_ONLY` is still on ``event``."""
    for key, value in GOOGLE_ONLY.items():
        assert event.get(key) == value, (key, event.get(key))
    ext = event["extendedProperties"]
    assert ext["private"]["otherApp"] == "ticket-7"
    assert ext["shared"] == {"crm": "lead-42"}
    kim = next(a for a in event["attendees"] if a["email"] == "kim@example.com")
    assert kim["comment"] == "bringing the forms" and kim["additionalGuests"] == 1


async def test_local_edit_keeps_google_only_fields(h: Harness) -> None:
    created = h.emu.hooks.external_change(
        ALICE, "insert", event=google_event(xFutureField={"kept": "no"}))
    eid = created["id"]
    # Google drops fields the Event resource does not have; so does the emulator.
    assert "xFutureField" not in h.google()[eid]
    await h.pull()
    (uid,) = h.local()
    edit_locally(h, uid, summary="Follow-up", shift_hours=2, description="second visit",
                 location="Room 2")
    h.emu.hooks.reset_counters()
    await h.push()
    requests = h.emu.hooks.state()["api_requests"]
    assert requests.get("calendar.events.update") == 1
    assert sum(requests.values()) == 1  # one request: no read before the write, no patch
    event = h.google()[eid]
    assert event["summary"] == "Follow-up"
    assert event["description"] == "second visit" and event["location"] == "Room 2"
    start = datetime.fromisoformat(event["start"]["dateTime"])
    assert start == datetime.fromisoformat("2030-03-12T11:00:00+01:00")
    assert_google_only_kept(event)
    # A second edit works from what the push saw (the link keeps Google's extra fields).
    edit_locally(h, uid, summary="Third visit")
    await h.push()
    event = h.google()[eid]
    assert event["summary"] == "Third visit"
    assert_google_only_kept(event)
    # And nothing comes back as a change.
    h.emu.hooks.reset_counters()
    before = h.local()[uid].etag
    await h.sync()
    assert h.local()[uid].etag == before
    assert "calendar.events.update" not in h.emu.hooks.state()["api_requests"]


async def test_clearing_a_mapped_field_clears_it_on_google(h: Harness) -> None:
    created = h.emu.hooks.external_change(ALICE, "insert", event=google_event())
    eid = created["id"]
    await h.pull()
    (uid,) = h.local()
    item = h.local()[uid]
    text = "\r\n".join(line for line in item.text.split("\r\n")
                       if not line.startswith(("DESCRIPTION", "LOCATION")))
    h.put(uid, text)
    await h.push()
    event = h.google()[eid]
    assert not event.get("description") and not event.get("location")
    assert event["colorId"] == "5" and event["conferenceData"] == MEET


async def test_series_and_exceptions_keep_google_only_fields(h: Harness) -> None:
    master = h.emu.hooks.external_change(ALICE, "insert", event=google_event(
        recurrence=["RRULE:FREQ=DAILY;COUNT=5"]))
    eid = master["id"]
    # Google's UI: the third occurrence gets its own colour and title.
    third = f"{eid}_20300314T080000Z"
    h.emu.hooks.external_change(ALICE, "patch", event_id=third,
                                event={"summary": "Special", "colorId": "11"})
    await h.pull()
    (uid,) = h.local()
    assert "RECURRENCE-ID" in h.local()[uid].text
    edit_locally(h, uid, summary="Daily check", override_summary="Special (moved room)")
    await h.push()
    events = h.google()
    assert events[eid]["summary"] == "Daily check"
    assert_google_only_kept(events[eid])
    exc = events[third]
    assert exc["summary"] == "Special (moved room)"
    assert exc["colorId"] == "11"  # its own colour, not the master's
    assert exc["conferenceData"] == MEET and exc["attachments"] == FILES
    assert exc["guestsCanSeeOtherGuests"] is False


async def test_link_from_before_reads_google_once(h: Harness) -> None:
    """A link without stored Google fields (written before migration 0014) reads the event
    before the first update instead of overwriting what it cannot see."""
    created = h.emu.hooks.external_change(ALICE, "insert", event=google_event())
    eid = created["id"]
    await h.pull()
    (uid,) = h.local()
    link = h.store.get_link(h.connection_id, uid)
    assert link is not None and link.remote_extra is not None
    h.store.put_link(h.connection_id, uid, eid, remote_etag=link.remote_etag,
                     local_etag=link.local_etag, hash_local=link.hash_local,
                     hash_remote=link.hash_remote, remote_updated=link.remote_updated,
                     remote_held=link.remote_held, remote_extra=None)
    edit_locally(h, uid, summary="Renamed")
    h.emu.hooks.reset_counters()
    await h.push()
    assert h.emu.hooks.state()["api_requests"].get("calendar.events.get") == 1
    event = h.google()[eid]
    assert event["summary"] == "Renamed"
    assert_google_only_kept(event)
