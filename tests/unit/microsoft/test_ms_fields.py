"""Field by field: the recurrence table (RRULE ⇄ patternedRecurrence), UNTIL as a local end
date, the reminder, busy status, sensitivity, HTML bodies, and the package's imports."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar, vRecur

import bridge
from bridge.microsoft.mapping import graph_to_ical, ical_hash, ical_to_graph
from bridge.microsoft.mapping_html import html_to_text
from tests.unit.mapping.mapping_testlib import vcal, vevent

BERLIN = "DTSTART;TZID=Europe/Berlin:20250310T090000"  # a Monday


def pattern(rule: str, start: str = BERLIN) -> dict[str, Any]:
    """The Graph recurrence an RRULE becomes (one hour events)."""
    bodies = ical_to_graph(vcal(vevent(start, "DURATION:PT1H", f"RRULE:{rule}")),
                           calendar_tz="Europe/Berlin")
    assert bodies.unsupported == ()
    recurrence: dict[str, Any] = bodies.master["recurrence"]
    return recurrence


@pytest.mark.parametrize(("rule", "expected"), [
    ("FREQ=DAILY;INTERVAL=2", {"type": "daily", "interval": 2}),
    ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
     {"type": "weekly", "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"]}),
    ("FREQ=WEEKLY", {"type": "weekly", "daysOfWeek": ["monday"], "firstDayOfWeek": "monday"}),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SA;WKST=SU",
     {"type": "weekly", "interval": 2, "daysOfWeek": ["monday", "saturday"],
      "firstDayOfWeek": "sunday"}),
    ("FREQ=MONTHLY", {"type": "absoluteMonthly", "dayOfMonth": 10}),
    ("FREQ=MONTHLY;BYDAY=2MO", {"type": "relativeMonthly", "daysOfWeek": ["monday"],
                                "index": "second"}),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=2", {"type": "relativeMonthly", "daysOfWeek": ["monday"],
                                          "index": "second"}),
    ("FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=3",  # 3 Mo, 4 Tu, 10 Mo: the third is DTSTART
     {"type": "relativeMonthly", "index": "third", "daysOfWeek": ["monday", "tuesday"]}),
    ("FREQ=YEARLY", {"type": "absoluteYearly", "month": 3, "dayOfMonth": 10}),
    ("FREQ=YEARLY;BYMONTH=3;BYDAY=2MO", {"type": "relativeYearly", "month": 3,
                                         "daysOfWeek": ["monday"], "index": "second"}),
])
def test_rules_become_patterns(rule: str, expected: dict[str, Any]) -> None:
    got = pattern(rule)["pattern"]
    assert {key: got[key] for key in expected} == expected


@pytest.mark.parametrize(("start", "rule", "day"), [
    ("DTSTART;TZID=Europe/Berlin:20250131T090000", "FREQ=MONTHLY;BYMONTHDAY=-1", 31),
    ("DTSTART;TZID=Europe/Berlin:20250130T090000",
     "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1", 30),
    ("DTSTART;TZID=Europe/Berlin:20250228T090000", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1", 29),
])
def test_month_ends_are_graphs_clamped_days(start: str, rule: str, day: int) -> None:
    got = pattern(rule, start)["pattern"]
    assert got["dayOfMonth"] == day
    # and back: Graph's day 30 is "the 30th, or the last day of a shorter month"
    raw = start.split(":")[1]
    day_text = f"{raw[:4]}-{raw[4:6]}-{raw[6:8]}"
    text = graph_to_ical({
        "id": "x", "iCalUId": "m", "subject": "s",
        "recurrence": {"pattern": got, "range": {"type": "noEnd", "startDate": day_text}},
        "start": {"dateTime": f"{day_text}T09:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": f"{day_text}T10:00:00", "timeZone": "W. Europe Standard Time"},
    }, calendar_tz="UTC")
    assert Calendar.from_ical(text).walk("VEVENT")[0]["RRULE"] == vRecur.from_ical(rule)


@pytest.mark.parametrize(("until", "end_date"), [
    ("20250317T080000Z", "2025-03-17"),  # exactly the last instance (09:00 Berlin)
    ("20250317T075959Z", "2025-03-16"),  # a second before it: that day has no instance
    ("20250317", "2025-03-17"),  # a DATE UNTIL covers its whole day
    ("20250317T225959Z", "2025-03-17"),
])
def test_until_becomes_the_local_end_date(until: str, end_date: str) -> None:
    rng = pattern(f"FREQ=DAILY;UNTIL={until}")["range"]
    assert (rng["type"], rng["startDate"], rng["endDate"]) == ("endDate", "2025-03-10", end_date)
    assert rng["recurrenceTimeZone"] == "W. Europe Standard Time"


def test_counts_and_open_ends() -> None:
    assert pattern("FREQ=DAILY;COUNT=5")["range"]["type"] == "numbered"
    assert pattern("FREQ=DAILY;COUNT=5")["range"]["numberOfOccurrences"] == 5
    assert pattern("FREQ=DAILY")["range"]["type"] == "noEnd"


def reminder(*alarms: str) -> tuple[bool, int]:
    blocks = ["\r\n".join(["BEGIN:VALARM", *a.split("|"), "END:VALARM"]) for a in alarms]
    body = ical_to_graph(vcal(vevent(BERLIN, "DURATION:PT1H", *blocks)),
                         calendar_tz="UTC").master
    return body["isReminderOn"], body["reminderMinutesBeforeStart"]


def test_the_reminder_is_the_first_display_alarm_before_the_start() -> None:
    assert reminder() == (False, 0)
    assert reminder("ACTION:DISPLAY|TRIGGER:-PT30M|DESCRIPTION:x") == (True, 30)
    assert reminder("ACTION:EMAIL|TRIGGER:-PT5M|DESCRIPTION:x|SUMMARY:x",
                    "ACTION:DISPLAY|TRIGGER:PT5M|DESCRIPTION:x",
                    "ACTION:DISPLAY|TRIGGER;RELATED=END:-PT2H|DESCRIPTION:x",
                    "ACTION:DISPLAY|TRIGGER:-P1D|DESCRIPTION:x") == (True, 60)
    assert reminder("ACTION:DISPLAY|TRIGGER;VALUE=DATE-TIME:20250310T074500Z|DESCRIPTION:x") \
        == (True, 15)


@pytest.mark.parametrize(("lines", "show_as", "sensitivity"), [
    ((), "busy", "normal"),
    (("TRANSP:TRANSPARENT", "CLASS:PUBLIC"), "free", "normal"),
    (("X-MICROSOFT-CDO-BUSYSTATUS:OOF", "CLASS:PRIVATE"), "oof", "private"),
    (("TRANSP:TRANSPARENT", "X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE", "CLASS:CONFIDENTIAL"),
     "tentative", "confidential"),
    (("X-MICROSOFT-CDO-BUSYSTATUS:WORKINGELSEWHERE", "CLASS:X-PERSONAL"),
     "workingElsewhere", "personal"),
    (("X-MICROSOFT-CDO-BUSYSTATUS:FREE", "CLASS:X-SECRET"), "free", "private"),
])
def test_busy_status_and_sensitivity(lines: tuple[str, ...], show_as: str,
                                     sensitivity: str) -> None:
    text = vcal(vevent(BERLIN, "DURATION:PT1H", *lines))
    body = ical_to_graph(text, calendar_tz="UTC").master
    assert (body["showAs"], body["sensitivity"]) == (show_as, sensitivity)
    back = graph_to_ical({**body, "id": "x"}, calendar_tz="UTC")
    assert ical_hash(back) == ical_hash(text)
    event = Calendar.from_ical(back).walk("VEVENT")[0]
    assert str(event.get("CLASS", "PUBLIC")) in ("PUBLIC", "PRIVATE", "CONFIDENTIAL",
                                                 "X-PERSONAL")


def test_floating_times_are_read_in_the_calendar_zone() -> None:
    text = vcal(vevent("DTSTART:20250310T090000", "DURATION:PT1H"))
    body = ical_to_graph(text, calendar_tz="America/New_York").master
    assert body["start"] == {"dateTime": "2025-03-10T09:00:00",
                             "timeZone": "Eastern Standard Time"}


@pytest.mark.parametrize(("markup", "text"), [
    ("<p>One</p><p>Two</p>", "One\nTwo"),
    ("<div>a<br>b<br/>c</div>", "a\nb\nc"),
    ("  spaced   out \n text ", "spaced out text"),
    ("&nbsp;&nbsp;two&nbsp;&nbsp;spaces", "  two  spaces"),
    ("<script>alert(1)</script><style>p{}</style>safe &lt;b&gt;", "safe <b>"),
    ("<ul><li>x</li><li>y</li></ul>", "x\ny"),
    ("<pre>a\n  b</pre>", "a\n  b"),
    ('<a href="javascript:x">link</a> &amp; <img src=x onerror=y>', "link &"),
])
def test_html_bodies_as_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_mapping_layers_import_only_downwards() -> None:
    root = Path(bridge.__file__).parent
    for package, banned in (("microsoft", ("bridge.google", "bridge.sync", "bridge.store")),
                            ("ical", ("bridge.google", "bridge.microsoft", "bridge.sync"))):
        sources = sorted((root / package).glob("*.py"))
        assert sources
        bad = {f"{p.name}: {n}" for p in sources for n in imports(p) if n.startswith(banned)}
        assert not bad, sorted(bad)
