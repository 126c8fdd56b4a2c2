"""Availability: working-hour windows from marker events minus busy events, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bridge.availability import (
    AvailabilityOptions,
    Resource,
    compute,
    expand_resources,
    freebusy_ical,
    is_marker,
)
from bridge.ical import parse_resource
from bridge.store import open_store
from bridge.web.app import create_app

BERLIN = ZoneInfo("Europe/Berlin")
KEYWORDS = ("Arbeitszeit", "Available")


def ev(uid: str, start: str, end: str, summary: str = "Termin", *, extra: str = "",
       date: bool = False) -> str:
    """A VEVENT in Europe/Berlin local time (or all-day with ``date``)."""
    if date:
        times = [f"DTSTART;VALUE=DATE:{start}", f"DTEND;VALUE=DATE:{end}"]
    else:
        times = [f"DTSTART;TZID=Europe/Berlin:{start}", f"DTEND;TZID=Europe/Berlin:{end}"]
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", f"UID:{uid}",
             "DTSTAMP:20260101T000000Z", *times, f"SUMMARY:{summary}"]
    lines += [x for x in extra.split("\n") if x]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def run(texts: list[str], start: str, end: str, minutes: int = 30, **options: Any) -> Any:
    lo, hi = local(start), local(end)
    occ = expand_resources([Resource(t) for t in texts], lo, hi, BERLIN, KEYWORDS)
    return compute(occ, lo, hi, timedelta(minutes=minutes),
                   options=AvailabilityOptions(**options), zone=BERLIN)


def hhmm(slots: Any) -> list[str]:
    return [s.start.strftime("%H:%M%z") for s in slots]


def test_marker_matching() -> None:
    assert is_marker("Arbeitszeit Praxis", KEYWORDS)
    assert is_marker("available (remote)", KEYWORDS)
    assert not is_marker("Mittagspause", KEYWORDS)


def test_ordinary_day_with_busy_transparent_and_tentative() -> None:
    texts = [
        ev("w", "20260602T090000", "20260602T120000", "Arbeitszeit"),
        ev("a1", "20260602T100000", "20260602T103000", "Beratung Meier",
           extra="X-TERMIN-CUSTOMER-NAME:Meier"),
        ev("t1", "20260602T110000", "20260602T113000", "Notiz", extra="TRANSP:TRANSPARENT"),
        ev("t2", "20260602T113000", "20260602T120000", "Vielleicht", extra="STATUS:TENTATIVE"),
        ev("x1", "20260602T093000", "20260602T100000", "Abgesagt", extra="STATUS:CANCELLED"),
        ev("o1", "20260602T130000", "20260602T140000", "outside the window"),
    ]
    result = run(texts, "2026-06-02T00:00", "2026-06-03T00:00")
    assert hhmm(result.windows) == ["09:00+0200"]
    assert hhmm(result.free) == ["09:00+0200", "09:30+0200", "10:30+0200", "11:00+0200"]
    blocked = {b.start.strftime("%H:%M"): [(x.uid, x.reason) for x in b.blockers]
               for b in result.blocked}
    assert blocked == {"10:00": [("a1", "busy")], "11:30": [("t2", "tentative")]}


def test_query_starting_mid_window_keeps_the_grid_and_step() -> None:
    texts = [ev("w", "20260602T090000", "20260602T120000", "Arbeitszeit")]
    lo, hi = local("2026-06-02T10:10"), local("2026-06-02T12:00")
    occ = expand_resources([Resource(t) for t in texts], lo, hi, BERLIN, KEYWORDS)
    result = compute(occ, lo, hi, timedelta(minutes=60), step=timedelta(minutes=30), zone=BERLIN)
    assert hhmm(result.free) == ["10:30+0200", "11:00+0200"]


def test_spring_dst_day_windows_keep_local_hours() -> None:
    """Last Sunday of March 2026: clocks jump 02:00 -> 03:00 in Berlin."""
    texts = [ev("w", "20260327T090000", "20260327T170000", "Available",
                extra="RRULE:FREQ=DAILY;COUNT=5")]
    result = run(texts, "2026-03-28T00:00", "2026-03-31T00:00", minutes=60)
    days: dict[str, list[str]] = {}
    for slot in result.free:
        days.setdefault(slot.start.strftime("%d"), []).append(slot.start.strftime("%H%z"))
    assert days["28"][0] == "09+0100" and days["28"][-1] == "16+0100"
    assert days["29"][0] == "09+0200" and days["29"][-1] == "16+0200"
    assert all(len(v) == 8 for v in days.values()) and len(days) == 3


def test_dst_night_windows_count_real_time() -> None:
    spring = run([ev("w", "20260329T000000", "20260329T060000", "Arbeitszeit")],
                 "2026-03-29T00:00", "2026-03-30T00:00", minutes=60)
    assert hhmm(spring.free) == ["00:00+0100", "01:00+0100", "03:00+0200", "04:00+0200",
                                 "05:00+0200"]
    autumn = run([ev("w", "20261025T000000", "20261025T060000", "Arbeitszeit")],
                 "2026-10-25T00:00", "2026-10-26T00:00", minutes=60)
    assert hhmm(autumn.free) == ["00:00+0200", "01:00+0200", "02:00+0200", "02:00+0100",
                                 "03:00+0100", "04:00+0100", "05:00+0100"]


def test_all_day_events_on_dst_days() -> None:
    texts = [ev("w", "20261024T090000", "20261024T120000", "Arbeitszeit",
                extra="RRULE:FREQ=DAILY;COUNT=3"),
             ev("h", "20261025", "20261026", "Betriebsausflug", date=True),
             ev("f", "20261026", "20261027", "Feiertag frei", date=True,
                extra="TRANSP:TRANSPARENT")]
    result = run(texts, "2026-10-24T00:00", "2026-10-27T00:00", minutes=60)
    assert [s.start.strftime("%d %H") for s in result.free] == [
        "24 09", "24 10", "24 11", "26 09", "26 10", "26 11"]
    assert {b.start.strftime("%d") for b in result.blocked} == {"25"}
    assert result.blocked[0].blockers[0].reason == "all-day"
    # The all-day blocker spans the 25-hour local day.
    blocker = result.blocked[0].blockers[0]
    assert blocker.end.astimezone(UTC) - blocker.start.astimezone(UTC) == timedelta(hours=25)
    relaxed = run(texts, "2026-10-24T00:00", "2026-10-27T00:00", minutes=60,
                  all_day_blocks=False)
    assert len(relaxed.free) == 9 and relaxed.blocked == []


def test_freebusy_export() -> None:
    texts = [ev("w", "20260602T090000", "20260602T120000", "Arbeitszeit"),
             ev("a", "20260602T100000", "20260602T103000"),
             ev("b", "20260602T102000", "20260602T110000"),
             ev("t", "20260602T113000", "20260602T120000", extra="STATUS:TENTATIVE"),
             ev("x", "20260602T080000", "20260602T083000", extra="TRANSP:TRANSPARENT")]
    lo, hi = local("2026-06-02T00:00"), local("2026-06-03T00:00")
    occ = expand_resources([Resource(t) for t in texts], lo, hi, BERLIN, KEYWORDS)
    result = compute(occ, lo, hi, timedelta(minutes=30), zone=BERLIN)
    text = freebusy_ical(result, lo, hi, uid="fb-1", stamp=lo)
    fb = Calendar.from_ical(text).walk("VFREEBUSY")[0]
    periods = fb.get("FREEBUSY")
    periods = periods if isinstance(periods, list) else [periods]
    got = sorted((p.params["FBTYPE"], p.to_ical().decode()) for p in periods)
    assert got == [("BUSY", "20260602T080000Z/20260602T090000Z"),
                   ("BUSY-TENTATIVE", "20260602T093000Z/20260602T100000Z")]


@pytest.fixture
async def api(aiohttp_client: Any, tmp_path: Path, sqlite_url: str) -> Any:
    from tests.api.conftest import make_settings

    store = open_store(sqlite_url)
    store.create_collection("bob/work", tag="VCALENDAR", timezone="Europe/Berlin")
    store.create_collection("bob/arbeitszeit", tag="VCALENDAR", timezone="Europe/Berlin")
    store.put_item("bob/arbeitszeit", "w.ics", parse_resource(
        ev("w", "20260329T090000", "20260329T110000", "Schicht")), origin="caldav")
    store.put_item("bob/work", "a.ics", parse_resource(
        ev("a", "20260329T093000", "20260329T100000", "Kunde",
           extra="X-TERMIN-CUSTOMER-NAME:Kunde")), origin="caldav")
    _k, secret = store.create_api_key("page", "read")
    settings = make_settings(tmp_path, availability={"marker_calendar": "arbeitszeit"})
    client = await aiohttp_client(create_app(settings, store))
    coll = store.get_collection("bob/work")
    assert coll is not None
    yield client, coll.id, {"Authorization": f"Bearer {secret}"}
    store.close()


async def test_availability_api_with_marker_calendar_and_explain(api: Any) -> None:
    client, cid, auth = api
    url = (f"/api/v1/calendars/{cid}/availability?from=2026-03-29&to=2026-03-30"
           "&duration=30&explain=true")
    resp = await client.get(url, headers=auth)
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert data["windows"] == [{"start": "2026-03-29T09:00:00+02:00",
                                "end": "2026-03-29T11:00:00+02:00"}]
    assert [s["start"][11:16] for s in data["slots"]] == ["09:00", "10:00", "10:30"]
    assert data["blocked"] == [{
        "start": "2026-03-29T09:30:00+02:00", "end": "2026-03-29T10:00:00+02:00",
        "blocked_by": [{"appointment_id": "a", "uid": "a", "summary": "Kunde",
                        "kind": "appointment", "reason": "busy",
                        "start": "2026-03-29T09:30:00+02:00",
                        "end": "2026-03-29T10:00:00+02:00"}]}]
    fb = await client.get(f"/api/v1/calendars/{cid}/freebusy?from=2026-03-29&to=2026-03-30",
                          headers=auth)
    assert fb.content_type == "text/calendar"
    lines = [x for x in (await fb.text()).split("\r\n") if x.startswith("FREEBUSY")]
    assert len(lines) == 1 and "FBTYPE=BUSY" in lines[0]
    assert lines[0].endswith(":20260329T073000Z/20260329T080000Z")


async def test_availability_api_validation(api: Any) -> None:
    client, cid, auth = api
    base = f"/api/v1/calendars/{cid}/availability"
    resp = await client.get(base, headers=auth)
    assert resp.status == 422
    assert {e["field"] for e in (await resp.json())["errors"]} == {"from", "to", "duration"}
    resp = await client.get(f"{base}?from=2026-01-01&to=2026-06-01&duration=2&explain=maybe",
                            headers=auth)
    assert {e["field"] for e in (await resp.json())["errors"]} == {"explain"}
    resp = await client.get(f"{base}?from=2026-01-01&to=2026-06-01&duration=2", headers=auth)
    assert {e["field"] for e in (await resp.json())["errors"]} == {"duration", "to"}
