"""A pulled Graph edit keeps what Graph cannot hold from the stored text (the shared preserve
merge with Microsoft's projection)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import icalendar

from bridge.ical import parse_resource
from bridge.microsoft.mapping import (
    graph_hash,
    graph_items,
    graph_to_ical,
    ical_hash,
    ical_to_graph,
)
from bridge.microsoft.mapping_ical import mapped_props
from bridge.microsoft.mapping_preserve import preserve_local_only
from tests.unit.mapping.mapping_testlib import vcal, vevent
from tests.unit.microsoft.graph_testlib import graph_echo

TZ = "Europe/Berlin"
SINGLE = ["DTSTART;TZID=Europe/Berlin:20300110T100000",
          "DTEND;TZID=Europe/Berlin:20300110T110000", "SUMMARY:Haircut"]
LOCAL_ONLY = [
    "URL:https://shop.example/booking/17",
    "X-TERMIN-CUSTOMER-NAME:Erika Mustermann",
    "X-TERMIN-CUSTOMER-PHONE:+49 30 1234567",
    "PRIORITY:1",
    "GEO:52.52;13.405",
    "ATTENDEE;CN=Erika;PARTSTAT=ACCEPTED:mailto:erika@example.org",
    "ORGANIZER;CN=Shop:mailto:shop@example.org",
]
Edit = Callable[[dict[str, Any]], None]


def pulled(old: str, edit: Edit | None = None, *, write_attendees: bool = False
           ) -> tuple[str, str]:
    """``old`` written to Graph, edited there, pulled: (Graph's text, the text kept)."""
    opts: dict[str, Any] = {"calendar_tz": TZ, "write_attendees": write_attendees}
    master, exceptions, cancelled = graph_items(ical_to_graph(old, **opts))
    answer = graph_echo(dict(master), event_id="AAMk1", revision=2)
    rows = [graph_echo({k: v for k, v in e.items() if k not in ("type", "originalStart")},
                       event_id=f"AAMk1-{i}", master_id="AAMk1",
                       original_start=str(e["originalStart"]), revision=2)
            for i, e in enumerate(exceptions)]
    if edit:
        edit(answer)
    new = graph_to_ical(answer, rows, cancelled, calendar_tz=TZ)
    merged = preserve_local_only(new, old, **opts)
    parse_resource(merged)
    assert ical_hash(merged, **opts) == ical_hash(new, **opts) == graph_hash(
        (answer, rows, cancelled), **opts)
    return new, merged


def lines(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def retitle(item: dict[str, Any]) -> None:
    item["subject"] = "Haircut and colour"


def test_what_graph_cannot_hold_stays_after_a_graph_edit() -> None:
    alarms = ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT30M", "DESCRIPTION:Soon",
              "END:VALARM", "BEGIN:VALARM", "ACTION:EMAIL", "TRIGGER:-P1D",
              "DESCRIPTION:Tomorrow", "SUMMARY:Tomorrow", "ATTENDEE:mailto:me@example.org",
              "END:VALARM"]
    old = vcal(vevent(*SINGLE, *LOCAL_ONLY, *alarms))
    new, merged = pulled(old, retitle)
    assert "SUMMARY:Haircut and colour" in lines(merged)
    for line in LOCAL_ONLY:
        assert line not in lines(new)
        assert line in lines(merged)
    event = icalendar.Calendar.from_ical(merged).walk("VEVENT")[0]
    assert [str(a["ACTION"]) for a in event.walk("VALARM")] == ["DISPLAY", "EMAIL"]


def test_a_reminder_changed_on_graph_wins_over_the_stored_alarms() -> None:
    old = vcal(vevent(*SINGLE, "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT30M",
                      "DESCRIPTION:Soon", "X-WR-ALARMUID:1", "END:VALARM"))

    def later(item: dict[str, Any]) -> None:
        item["reminderMinutesBeforeStart"] = 10

    _, merged = pulled(old, later)
    (alarm,) = icalendar.Calendar.from_ical(merged).walk("VALARM")
    assert alarm["TRIGGER"].to_ical() == b"-PT10M"


def test_attendees_written_to_graph_come_from_graph() -> None:
    old = vcal(vevent(*SINGLE, "ATTENDEE;CN=Erika:mailto:erika@example.org"))

    def guest(item: dict[str, Any]) -> None:
        item["attendees"] = [{"type": "optional", "status": {"response": "declined"},
                              "emailAddress": {"address": "max@example.org", "name": "Max"}}]

    new, merged = pulled(old, guest, write_attendees=True)
    assert merged == new
    assert any(line.endswith("mailto:max@example.org") for line in lines(merged))
    assert not any("erika" in line for line in lines(merged))


def test_overrides_keep_their_own_local_lines() -> None:
    weekly = ["DTSTART;TZID=Europe/Berlin:20300110T100000",
              "DTEND;TZID=Europe/Berlin:20300110T110000", "RRULE:FREQ=WEEKLY;COUNT=4",
              "SUMMARY:Weekly"]
    override = vevent("RECURRENCE-ID;TZID=Europe/Berlin:20300117T100000",
                      "DTSTART;TZID=Europe/Berlin:20300117T120000",
                      "DTEND;TZID=Europe/Berlin:20300117T130000", "SUMMARY:Moved",
                      "X-TERMIN-CUSTOMER-NAME:Max")
    old = vcal(vevent(*weekly, "URL:https://shop.example/s/1"), override)
    new, merged = pulled(old, retitle)
    assert lines(merged).count("X-TERMIN-CUSTOMER-NAME:Max") == 1
    assert "URL:https://shop.example/s/1" in lines(merged)
    assert "X-TERMIN-CUSTOMER-NAME:Max" not in lines(new)


def test_the_projection_names_every_property_the_mapping_renders() -> None:
    text = graph_to_ical(graph_echo(
        ical_to_graph(vcal(vevent(*SINGLE, "X-MICROSOFT-CDO-BUSYSTATUS:OOF", "CLASS:PRIVATE",
                                  "CATEGORIES:A", "DESCRIPTION:d", "LOCATION:l",
                                  "RRULE:FREQ=DAILY;COUNT=2", "EXDATE;TZID=Europe/Berlin:"
                                  "20300111T100000", "ATTENDEE:mailto:a@example.org")),
                      calendar_tz=TZ, write_attendees=True).master, event_id="x"),
        calendar_tz=TZ)
    event = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    assert set(event) - {"BEGIN", "END"} <= mapped_props(True)
    assert {"ATTENDEE", "ORGANIZER"} & mapped_props(False) == set()
