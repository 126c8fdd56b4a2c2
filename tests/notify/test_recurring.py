"""Reminders for recurring appointments (a rolling horizon) and immediate worker wake-ups."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import func, select

from bridge.notify.hooks import install, notifier
from bridge.notify.planning import policy_from_settings
from bridge.notify.worker import NotificationWorker, WorkerConfig
from bridge.store import SqlStore
from bridge.store import schema as s

from .conftest import (
    CALENDAR,
    FakeClock,
    SmtpSink,
    WebhookSink,
    event_text,
    notify_settings,
    open_notify_store,
    put,
    wait_for,
    worker_name,
)

NOW = datetime(2026, 10, 16, 12, 0, tzinfo=UTC)  # Friday; Berlin leaves summer time on Oct 25


def utc(year: int, month: int, day: int, hour: int = 0) -> float:
    return datetime(year, month, day, hour, tzinfo=UTC).timestamp()


def series_text(uid: str, *, exdates: tuple[str, ...] = ("20261026T100000",),
                extra: str = "") -> str:
    """Mondays and Thursdays 10:00 Berlin from 5 Oct 2026, no end: the 22 Oct instance moved to
    Friday 23 Oct 14:00, the 29 Oct instance cancelled, 26 Oct excluded by EXDATE."""
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN",
        "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
        "DTSTART;TZID=Europe/Berlin:20261005T100000",
        "DTEND;TZID=Europe/Berlin:20261005T105000",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TH", "SUMMARY:Therapie",
        *[f"EXDATE;TZID=Europe/Berlin:{d}" for d in exdates],
        "X-TERMIN-CUSTOMER-NAME:Erika Mustermann", "X-TERMIN-CUSTOMER-EMAIL:erika@example.org",
        *([extra] if extra else []),
        "END:VEVENT",
        "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
        "RECURRENCE-ID;TZID=Europe/Berlin:20261022T100000",
        "DTSTART;TZID=Europe/Berlin:20261023T140000",
        "DTEND;TZID=Europe/Berlin:20261023T145000", "SUMMARY:Therapie",
        "END:VEVENT",
        "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
        "RECURRENCE-ID;TZID=Europe/Berlin:20261029T100000",
        "DTSTART;TZID=Europe/Berlin:20261029T100000",
        "DTEND;TZID=Europe/Berlin:20261029T105000", "SUMMARY:Therapie", "STATUS:CANCELLED",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def daily_text(uid: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20200101T000000Z\r\n"
            "DTSTART;TZID=Europe/Berlin:20200106T080000\r\n"
            "DTEND;TZID=Europe/Berlin:20200106T083000\r\nRRULE:FREQ=DAILY\r\n"
            "SUMMARY:Nachhilfe\r\nX-TERMIN-CUSTOMER-EMAIL:kind@example.org\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n")


def pending_reminders(store: SqlStore, uid: str, channel: str = "email") -> list[float]:
    return sorted(r.due_at for r in store.list_notifications(uid=uid, state="pending", limit=2000)
                  if r.kind == "reminder" and r.channel == channel)


def make_worker(store: SqlStore, tmp_path: Path, smtp: SmtpSink | None,
                session: aiohttp.ClientSession, name: str,
                webhook: WebhookSink | None = None, **notifications: Any
                ) -> NotificationWorker:
    settings = notify_settings(tmp_path, smtp, webhook, **notifications)
    install(store, policy_from_settings(settings))
    return NotificationWorker(store, WorkerConfig.from_settings(settings), session,
                              worker_id=worker_name(name))


# The instants (UTC) of the reminders 24 h before the occurrences in 21 days from NOW:
# Mon 19 Oct 10:00 CEST, the moved Fri 23 Oct 14:00 CEST, then (CET) Mon 2 Nov and Thu 5 Nov.
EXPECTED = [utc(2026, 10, 18, 8), utc(2026, 10, 22, 12), utc(2026, 11, 1, 9),
            utc(2026, 11, 4, 9)]


async def test_weekly_series_reminders_across_dst(
    tmp_path: Path, nstore: SqlStore, clock: FakeClock, smtp: SmtpSink, webhook: WebhookSink,
) -> None:
    clock.now = NOW.timestamp()
    async with aiohttp.ClientSession() as session:
        w = make_worker(nstore, tmp_path, smtp, session, "w1", webhook,
                        reminder_horizon_days=21)
        put(nstore, "s1", series_text("s1"), "caldav")
        assert pending_reminders(nstore, "s1") == EXPECTED
        assert pending_reminders(nstore, "s1", "webhook") == EXPECTED
        assert await w.run_once() == 2  # the confirmation (e-mail, webhook)
        bodies: list[str] = []
        for due in EXPECTED:
            clock.now = due - 1
            await w.run_once()
            assert len(smtp.messages) == 1 + len(bodies)  # not a second early
            clock.now = due
            await w.run_once()
            assert len(smtp.messages) == 2 + len(bodies)
            mail = smtp.messages[-1]
            assert mail["Subject"].startswith("Erinnerung")
            bodies.append(mail.get_payload(decode=True).decode("utf-8"))
        assert "Montag, 19. Oktober 2026, 10:00\u201310:50 Uhr" in bodies[0]
        assert "Freitag, 23. Oktober 2026, 14:00\u201314:50 Uhr" in bodies[1]
        assert "Montag, 2. November 2026, 10:00\u201310:50 Uhr" in bodies[2]
        assert "Donnerstag, 5. November 2026, 10:00\u201310:50 Uhr" in bodies[3]


async def test_series_edit_replans_and_delete_cancels(
    nstore: SqlStore, clock: FakeClock, tmp_path: Path,
) -> None:
    clock.now = NOW.timestamp()
    install(nstore, policy_from_settings(notify_settings(
        tmp_path, None, None, reminder_horizon_days=21, reminder_offsets="24h,2h")))
    put(nstore, "s2", series_text("s2"), "caldav")
    twice = sorted([*EXPECTED, *(due + 22 * 3600 for due in EXPECTED)])
    assert pending_reminders(nstore, "s2") == twice
    # Only an EXDATE added (start and end of the series stay the same): Mon 2 Nov goes.
    put(nstore, "s2", series_text("s2", exdates=("20261026T100000", "20261102T100000")),
        "caldav")
    gone = {utc(2026, 11, 1, 9), utc(2026, 11, 2, 7)}
    assert pending_reminders(nstore, "s2") == [d for d in twice if d not in gone]
    # A title change re-plans to the same instants: still one live row per key.
    put(nstore, "s2", series_text("s2", exdates=("20261026T100000", "20261102T100000"),
                                  extra="LOCATION:Raum 2"), "caldav")
    assert pending_reminders(nstore, "s2") == [d for d in twice if d not in gone]
    nstore.delete_item(CALENDAR, "s2.ics", origin="caldav")
    assert pending_reminders(nstore, "s2") == []
    with nstore.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.reminder_series)).scalar() == 0


async def test_top_up_once_with_two_workers(
    tmp_path: Path, store_url: str, clock: FakeClock,
) -> None:
    clock.now = NOW.timestamp()
    first = open_notify_store(store_url, clock)
    second = open_notify_store(store_url, clock)
    try:
        for st in (first, second):
            install(st, policy_from_settings(notify_settings(
                tmp_path, None, None, reminder_horizon_days=21,
                webhook_url="http://127.0.0.1:9/hook")))
        put(first, "s3", series_text("s3"), "api")
        assert pending_reminders(first, "s3") == EXPECTED
        clock.now = utc(2026, 10, 21, 12)  # 5 days later: Mon 9 and Thu 12 Nov enter the horizon
        for _ in range(3):
            barrier = threading.Barrier(2)

            def top_up(st: SqlStore, barrier: threading.Barrier = barrier) -> int:
                barrier.wait()
                return notifier(st).top_up_reminders()

            await asyncio.gather(asyncio.to_thread(top_up, first),
                                 asyncio.to_thread(top_up, second))
        # (18 and 22 Oct are due but unsent: no worker delivered them in this test.)
        assert pending_reminders(first, "s3") == [
            *EXPECTED, utc(2026, 11, 8, 9), utc(2026, 11, 11, 9)]
        assert pending_reminders(first, "s3", "webhook") == pending_reminders(first, "s3")
    finally:
        first.close()
        second.close()


async def test_unbounded_daily_series_plans_only_the_horizon(
    nstore: SqlStore, clock: FakeClock, tmp_path: Path,
) -> None:
    clock.now = NOW.timestamp()
    install(nstore, policy_from_settings(notify_settings(tmp_path, None, None)))
    began = time.process_time()  # CPU time: a busy machine must not fail this
    put(nstore, "d1", daily_text("d1"), "api")  # started in 2020, never ends
    assert time.process_time() - began < 1.0
    dues = pending_reminders(nstore, "d1")
    # 08:00 Berlin daily, reminded 24 h before: 17 Oct (CEST, 06:00Z) ... 30 Oct (CET, 07:00Z).
    assert len(dues) == 14
    assert dues[0] == utc(2026, 10, 17, 6) and dues[-1] == utc(2026, 10, 30, 7)
    assert all(NOW.timestamp() < d <= NOW.timestamp() + 14 * 86400 for d in dues)
    clock.advance(days=1)
    notifier(nstore).top_up_reminders()
    notifier(nstore).top_up_reminders()
    dues = pending_reminders(nstore, "d1")
    assert len(dues) == 15 and dues[-1] == utc(2026, 10, 31, 7)


async def test_worker_tops_up_on_its_own(
    tmp_path: Path, nstore: SqlStore, clock: FakeClock, smtp: SmtpSink,
) -> None:
    clock.now = NOW.timestamp()
    async with aiohttp.ClientSession() as session:
        w = make_worker(nstore, tmp_path, smtp, session, "w1", reminder_horizon_days=21)
        put(nstore, "s4", series_text("s4"), "api")
        clock.now = utc(2026, 10, 21, 12)
        task = asyncio.create_task(w.run())  # tops up at start, then every topup_interval
        try:
            await wait_for(lambda: utc(2026, 11, 11, 9) in pending_reminders(nstore, "s4"))
        finally:
            w.stop()
            await task
    assert utc(2026, 11, 11, 9) in pending_reminders(nstore, "s4")


# -- wake-ups ---------------------------------------------------------------------------------
async def test_postgres_commit_of_another_process_wakes_the_worker(
    tmp_path: Path, postgres_url: str, clock: FakeClock, smtp: SmtpSink,
) -> None:
    ours = open_notify_store(postgres_url, clock)
    theirs = open_notify_store(postgres_url, clock)  # another engine: like another process
    try:
        async with aiohttp.ClientSession() as session:
            w = make_worker(ours, tmp_path, smtp, session, "w1", poll_interval=60.0)
            install(theirs, notifier(ours).policy)
            task = asyncio.create_task(w.run())
            try:
                await wait_for(lambda: w.listener is not None and w.listener.ready.is_set())
                await asyncio.sleep(0.2)  # the first scan is over; the next is a minute away
                began = time.monotonic()
                await asyncio.to_thread(put, theirs, "pg1", event_text(
                    "pg1", datetime.fromtimestamp(clock.now, UTC) + timedelta(days=2),
                    customer=True), "caldav")
                await wait_for(lambda: len(smtp.messages) == 1, timeout=5)
                assert time.monotonic() - began < 2.0
            finally:
                w.stop()
                await task
    finally:
        ours.close()
        theirs.close()


async def test_sqlite_write_in_the_same_process_wakes_the_worker(
    tmp_path: Path, nstore: SqlStore, clock: FakeClock, smtp: SmtpSink,
) -> None:
    async with aiohttp.ClientSession() as session:
        w = make_worker(nstore, tmp_path, smtp, session, "w1", poll_interval=60.0)
        task = asyncio.create_task(w.run())
        try:
            await asyncio.sleep(0.3)  # the first scan is over; the next is a minute away
            began = time.monotonic()
            # As the CalDAV server does: a write from another thread of this process.
            await asyncio.to_thread(put, nstore, "sq1", event_text(
                "sq1", datetime.fromtimestamp(clock.now, UTC) + timedelta(days=2),
                customer=True), "caldav")
            await wait_for(lambda: len(smtp.messages) == 1, timeout=5)
            assert time.monotonic() - began < 1.0
        finally:
            w.stop()
            await task


@pytest.mark.parametrize("body", [
    # weekly, zoned, across both DST changes, with EXDATE, RDATE, a moved and a cancelled instance
    "DTSTART;TZID=Europe/Berlin:20260302T090000\r\nDTEND;TZID=Europe/Berlin:20260302T100000\r\n"
    "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE\r\nEXDATE;TZID=Europe/Berlin:20260401T090000\r\n"
    "RDATE;TZID=Europe/Berlin:20260606T120000\r\n",
    # daily with UNTIL, floating times (read in the calendar's zone)
    "DTSTART:20260320T073000\r\nDURATION:PT45M\r\nRRULE:FREQ=DAILY;UNTIL=20260415T073000\r\n",
    # monthly on the last Friday, UTC
    "DTSTART:20260130T170000Z\r\nDTEND:20260130T180000Z\r\nRRULE:FREQ=MONTHLY;BYDAY=-1FR\r\n",
    # started years before the window (the expansion fast-forwards): fortnightly, Tuesday/Friday
    "DTSTART;TZID=Europe/Berlin:20190108T181500\r\nDTEND;TZID=Europe/Berlin:20190108T190000\r\n"
    "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,FR;WKST=SU\r\n",
    # all-day: every 3 days, COUNT
    "DTSTART;VALUE=DATE:20260310\r\nRRULE:FREQ=DAILY;INTERVAL=3;COUNT=40\r\n",
])
def test_expansion_matches_recurring_ical_events(body: str) -> None:
    import recurring_ical_events
    from icalendar import Calendar

    from bridge.ical.recurrence import occurrences

    berlin = ZoneInfo("Europe/Berlin")
    overrides = (
        "BEGIN:VEVENT\r\nUID:x\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260316T090000\r\n"
        "DTSTART;TZID=Europe/Berlin:20260317T180000\r\nDTEND;TZID=Europe/Berlin:20260317T190000"
        "\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:x\r\n"
        "RECURRENCE-ID;TZID=Europe/Berlin:20261026T090000\r\nSTATUS:CANCELLED\r\n"
        "DTSTART;TZID=Europe/Berlin:20261026T090000\r\nDTEND;TZID=Europe/Berlin:20261026T100000"
        "\r\nEND:VEVENT\r\n") if "BYDAY=MO,WE" in body else ""
    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:x\r\n"
            f"DTSTAMP:20260101T000000Z\r\n{body}END:VEVENT\r\n{overrides}END:VCALENDAR\r\n")
    cal = Calendar.from_ical(text)
    lo, hi = datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    ours = [(int(o.start.timestamp()), int(o.end.timestamp()))
            for o in occurrences(cal, lo, hi, zone=berlin)
            if not o.cancelled and lo <= o.start < hi]

    def instant(value: Any) -> int:
        if not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        return int((value if value.tzinfo else value.replace(tzinfo=berlin)).timestamp())

    theirs = sorted(
        (instant(c["DTSTART"].dt), instant(c["DTEND"].dt))
        for c in recurring_ical_events.of(cal).between(lo, hi)
        if str(c.get("STATUS", "")).upper() != "CANCELLED"
        and lo.timestamp() <= instant(c["DTSTART"].dt) < hi.timestamp())
    assert ours == theirs and len(ours) > 5
