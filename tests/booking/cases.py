"""The booking-rule cases every booking path is tested with (API, calendar view, pure rules).

One Berlin calendar with working hours Monday to Friday 09:00-17:00 (a weekly "Arbeitszeit"
series) and, in the week of Monday 2026-06-01: a customer appointment Monday 10:00-10:30, a
weekly busy series on Tuesdays 12:00-13:00 (a team meeting), an all-day event on Wednesday and
an event that came from the external calendar (origin ``google:<id>``) on Thursday 14:00-15:00.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.ical import parse_resource
from bridge.model import origin_for_connection
from bridge.store import SqlStore, href_for_uid

CALENDAR = "alice/work"
# "Now" for these cases: the week before (free-slot suggestions never lie in the past).
NOW = 1779696000.0  # 2026-05-25T08:00:00Z
_HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
_TAIL = "END:VCALENDAR\r\n"


def _event(uid: str, lines: str) -> str:
    return (f"{_HEAD}BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{lines}"
            f"END:VEVENT\r\n{_TAIL}")


SEED = {
    "hours": ("caldav", _event("hours", "DTSTART;TZID=Europe/Berlin:20260105T090000\r\n"
                                        "DTEND;TZID=Europe/Berlin:20260105T170000\r\n"
                                        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\r\n"
                                        "SUMMARY:Arbeitszeit\r\nTRANSP:TRANSPARENT\r\n")),
    "erika": ("api", _event("erika", "DTSTART;TZID=Europe/Berlin:20260601T100000\r\n"
                                     "DTEND;TZID=Europe/Berlin:20260601T103000\r\n"
                                     "SUMMARY:Beratung - Erika Mustermann\r\n"
                                     "X-TERMIN-CUSTOMER-NAME:Erika Mustermann\r\n")),
    "team": ("caldav", _event("team", "DTSTART;TZID=Europe/Berlin:20260106T120000\r\n"
                                      "DTEND;TZID=Europe/Berlin:20260106T130000\r\n"
                                      "RRULE:FREQ=WEEKLY;BYDAY=TU\r\nSUMMARY:Teamrunde\r\n")),
    "closed": ("caldav", _event("closed", "DTSTART;VALUE=DATE:20260603\r\n"
                                          "DTEND;VALUE=DATE:20260604\r\n"
                                          "SUMMARY:Praxis geschlossen\r\n")),
    "external": ("google", _event("external", "DTSTART:20260604T120000Z\r\n"
                                              "DTEND:20260604T130000Z\r\n"
                                              "SUMMARY:Zahnarzt (privat)\r\n")),
}


def seed(store: SqlStore, path: str = CALENDAR, connection_id: int = 1) -> None:
    """Store the working hours and the busy times of the module docstring."""
    for uid, (origin, text) in SEED.items():
        if origin == "google":
            origin = origin_for_connection("google", connection_id)
        store.put_item(path, href_for_uid(uid), parse_resource(text), origin=origin)


@dataclass(frozen=True)
class Case:
    """A requested time (Berlin local) and what the rules say about it."""

    name: str
    start: str
    end: str
    rules: tuple[str, ...]
    conflict: str | None = None


CASES = [
    Case("inside-hours", "2026-06-01T11:00:00", "2026-06-01T11:30:00", ()),
    Case("outside-hours", "2026-06-01T20:00:00", "2026-06-01T20:30:00", ("outside-hours",)),
    Case("weekend", "2026-06-06T10:00:00", "2026-06-06T10:30:00", ("outside-hours",)),
    Case("overlap", "2026-06-01T10:15:00", "2026-06-01T10:45:00", ("overlap",), "erika"),
    Case("recurring-busy", "2026-06-02T12:30:00", "2026-06-02T13:00:00", ("overlap",), "team"),
    Case("all-day-busy", "2026-06-03T10:00:00", "2026-06-03T10:30:00", ("overlap",), "closed"),
    Case("external-busy", "2026-06-04T14:30:00", "2026-06-04T15:00:00", ("overlap",),
         "external"),
]
