"""The calendar view in real headless Chromium against the Google emulator.

Connects a calendar to the emulator's Google calendar and imports its events, then in the week
view: creates an appointment by clicking a free time, drags it to another day, resizes it by
its lower edge, drops it onto a busy time (refused, with free slots offered; one is taken),
moves it with the keyboard, edits it through the form and deletes it.  After every step the
emulator's calendar must show the change within a generous deadline (the push is real-time,
no "Sync now").  Screenshots go to ``test-artifacts/admin/``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.store import SqlStore
from bridge.web.app import create_app
from emulators.google.server import ALICE, EmulatorServer

from .browser_support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    serving,
    wait_import_finished,
)
from .conftest import ADMIN_PASSWORD, make_settings
from .emulator_support import SHARED, emulator_google_settings, seed_for

# A real browser on a busy machine: minutes, not the default 120 s.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

CAL = "staff/praxis"
DEADLINE = 20.0  # seconds; the push normally lands well inside a second


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    """A fresh emulator for the browser run."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture
async def sidecar(emu: EmulatorServer, admin_store: SqlStore, tmp_path: Path
                  ) -> AsyncIterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    seed = seed_for([base + "/oauth2/callback"])
    # The week of Monday 2030-01-07: Teamrunde Tuesday 09:00-10:00 (seeded) and more.
    seed["events"] += [
        {"calendarId": SHARED, "summary": f"Import {i}",
         "start": {"dateTime": f"2030-01-{7 + i % 5:02d}T{14 + i % 3:02d}:00:00+01:00"},
         "end": {"dateTime": f"2030-01-{7 + i % 5:02d}T{14 + i % 3:02d}:30:00+01:00"}}
        for i in range(12)
    ]
    emu.hooks.reset(seed)
    settings = make_settings(tmp_path, **emulator_google_settings(emu)).with_overrides(
        http={"host": "127.0.0.1", "port": port})
    async with serving(create_app(settings, admin_store), port) as url:
        yield url


async def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"cal-{name}.png"), full_page=True)


async def _until(check: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await asyncio.to_thread(check)
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"not seen in time: {what}")
        await asyncio.sleep(0.2)


def _google(emu: EmulatorServer, summary: str) -> Callable[[], dict[str, Any] | None]:
    def find() -> dict[str, Any] | None:
        for event in emu.hooks.stored_events(SHARED):
            if event.get("summary") == summary and event.get("status") != "cancelled":
                return event
        return None
    return find


def _at(emu: EmulatorServer, summary: str, start: str, end: str | None = None
        ) -> Callable[[], bool]:
    """The emulator holds ``summary`` starting (and ending) at these local Berlin times."""
    def check() -> bool:
        event = _google(emu, summary)()
        if event is None:
            return False
        from datetime import datetime
        from zoneinfo import ZoneInfo

        berlin = ZoneInfo("Europe/Berlin")
        got_start = datetime.fromisoformat(event["start"]["dateTime"]).astimezone(berlin)
        got_end = datetime.fromisoformat(event["end"]["dateTime"]).astimezone(berlin)
        return got_start.strftime("%Y-%m-%dT%H:%M") == start and (
            end is None or got_end.strftime("%Y-%m-%dT%H:%M") == end)
    return check


async def test_calendar_view_in_chromium(sidecar: str, emu: EmulatorServer,
                                         admin_store: SqlStore) -> None:
    assert CHROMIUM.exists(), "Debian chromium is missing: apt-get install -y chromium"
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(locale="en-GB", viewport={"width": 1280,
                                                                          "height": 900})
            page = await context.new_page()
            page.set_default_timeout(20_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text)
                    if msg.type == "error" else None)
            page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            await _connect(page, sidecar)
            await _calendar(page, sidecar, emu)
            # Script errors and CSP refusals fail; the refused drop's 409 and the favicon's
            # 404 are expected resource errors.
            assert not [e for e in errors if "Failed to load resource" not in e], errors
        finally:
            await browser.close()


async def _connect(page: Any, base: str, import_timeout_ms: float = 180_000) -> None:
    await page.goto(base + "/admin/login")
    await page.fill("#username", "admin")
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("#login")
    await page.wait_for_url("**/admin/sync")
    await page.goto(base + f"/admin/sync/{CAL}")
    await page.click("#connect-google")
    await page.wait_for_selector("#allow")
    await page.check(f'input[name="account"][value="{ALICE}"]')
    await page.click("#allow")
    await page.wait_for_url(f"**/admin/sync/{CAL}/choose")
    await page.check(f'input[name="calendar"][value="{SHARED}"]')
    await page.click("#choose-next")
    await page.click("#save-changes")
    await page.wait_for_url(f"**/admin/sync/{CAL}/preview")
    await page.click("#start-import")
    await wait_import_finished(page, import_timeout_ms)


async def _box(page: Any, selector: str) -> dict[str, float]:
    locator = page.locator(selector).first
    await locator.scroll_into_view_if_needed()
    box: dict[str, float] = await locator.bounding_box()
    return box


async def _rect(page: Any, selector: str) -> dict[str, float]:
    """Where an element is now, without scrolling anything (a day column is taller than the
    scroll box: scrolling it into view would move the appointments measured before)."""
    rect: dict[str, float] = await page.eval_on_selector(
        selector, "e => { const r = e.getBoundingClientRect(); "
                  "return {x: r.x, y: r.y, width: r.width, height: r.height}; }")
    return rect


async def _drag(page: Any, x0: float, y0: float, x1: float, y1: float) -> None:
    await page.mouse.move(x0, y0)
    await page.mouse.down()
    await page.mouse.move(x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2, steps=5)
    await page.mouse.move(x1, y1, steps=5)
    await page.mouse.up()


async def _slot_px(page: Any) -> float:
    hour = await _rect(page, ".cal-hour")
    return hour["height"] / 4


async def _calendar(page: Any, base: str, emu: EmulatorServer) -> None:
    await page.goto(base + "/admin/calendar")
    await page.wait_for_url(f"**/admin/calendar/{CAL}")
    await page.goto(base + f"/admin/calendar/{CAL}?date=2030-01-07")
    # The imported appointments, their origin and sync state, the zone.
    team = page.locator('.cal-entry:has-text("Teamrunde")')
    await team.wait_for()
    assert "Google Calendar" in await team.inner_text()
    assert "In sync" in await team.inner_text()
    assert "Europe/Berlin" in await page.inner_text("#cal-zone")
    assert await page.locator(".cal-entry").count() == 14
    await _shot(page, "01-week")
    slot = await _slot_px(page)

    # 1. Create by clicking Wednesday 11:00.
    wed = await _rect(page, '.cal-day[data-date="2030-01-09"]')
    await page.mouse.click(wed["x"] + wed["width"] / 2, wed["y"] + slot * (4 * 11) + 2)
    await page.wait_for_selector("#event-form")
    assert await page.input_value("#f-start") == "11:00"
    assert await page.input_value("#f-date") == "2030-01-09"
    await page.fill("#f-title", "Browser-Termin")
    await _shot(page, "02-new")
    await page.click("#f-save")
    await page.wait_for_selector(".flash-ok")
    await _until(_at(emu, "Browser-Termin", "2030-01-09T11:00", "2030-01-09T11:30"),
                 "created appointment in Google")
    entry = '.cal-entry:has-text("Browser-Termin")'

    # 2. Drag it to Thursday, same time.
    box = await _box(page, entry)
    thu = await _rect(page, '.cal-day[data-date="2030-01-10"]')
    await _drag(page, box["x"] + box["width"] / 2, box["y"] + 4,
                thu["x"] + thu["width"] / 2, box["y"] + 4)
    await _until(_at(emu, "Browser-Termin", "2030-01-10T11:00", "2030-01-10T11:30"),
                 "moved appointment in Google")
    await page.wait_for_selector('.cal-day[data-date="2030-01-10"] ' + entry)
    await _shot(page, "03-dragged")

    # 3. Resize by its lower edge: one hour longer.
    box = await _box(page, entry)
    bottom = box["y"] + box["height"] - 2
    await _drag(page, box["x"] + box["width"] / 2, bottom,
                box["x"] + box["width"] / 2, bottom + slot * 4)
    await _until(_at(emu, "Browser-Termin", "2030-01-10T11:00", "2030-01-10T12:30"),
                 "resized appointment in Google")
    await page.wait_for_selector(f'{entry}[data-end="2030-01-10T12:30"]')

    # 4. Drop it onto Teamrunde (Tuesday 09:00-10:00): refused, free times offered.
    box = await _box(page, entry)
    tue = await _rect(page, '.cal-day[data-date="2030-01-08"]')
    team_box = await _rect(page, '.cal-entry:has-text("Teamrunde")')
    await _drag(page, box["x"] + box["width"] / 2, box["y"] + 4,
                tue["x"] + tue["width"] / 2, team_box["y"] + 4)
    await page.wait_for_selector("#cal-dialog[open]")
    text = await page.inner_text("#cal-dialog")
    assert "not free" in text and "Teamrunde" in text, text
    suggestions = page.locator('#cal-dialog-buttons button:has-text("Move to")')
    assert await suggestions.count() >= 1
    await _shot(page, "04-refused")
    assert _at(emu, "Browser-Termin", "2030-01-10T11:00")()  # nothing moved meanwhile
    label = await suggestions.first.inner_text()
    await suggestions.first.click()
    # The chosen free slot is on Tuesday and does not overlap Teamrunde.
    await _until(lambda: (_google(emu, "Browser-Termin")() or {}).get("start", {}).get(
        "dateTime", "").startswith("2030-01-08"), f"suggested slot {label} in Google")
    await page.wait_for_selector(f'.cal-day[data-date="2030-01-08"] {entry}')
    moved = _google(emu, "Browser-Termin")()
    assert moved is not None
    start_text = await page.locator(entry).first.get_attribute("data-start")

    # 5. Keyboard: Alt+ArrowRight moves it one day later (Wednesday morning is free).
    await page.locator(entry).first.focus()
    await page.keyboard.press("Alt+ArrowRight")
    from datetime import datetime, timedelta

    later = (datetime.fromisoformat(start_text) + timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M")
    await _until(_at(emu, "Browser-Termin", later), "keyboard move in Google")
    await page.wait_for_selector(f'{entry}[data-start="{later}"]')

    # 6. The form: open it (a plain link), rename, save.
    await page.locator(entry).first.click()
    await page.wait_for_selector("#event-form")
    await page.fill("#f-title", "Browser-Termin (Formular)")
    await page.click("#f-save")
    await page.wait_for_selector(".flash-ok")
    await _until(_google(emu, "Browser-Termin (Formular)"), "renamed appointment in Google")

    # 7. Delete it (the confirm dialog is accepted).
    await page.locator('.cal-entry:has-text("Browser-Termin (Formular)")').first.click()
    await page.wait_for_selector("#f-delete")
    await page.click("#f-delete")
    await page.wait_for_selector(".flash-ok")
    await _until(lambda: _google(emu, "Browser-Termin (Formular)")() is None,
                 "deleted appointment gone from Google")
    assert await page.locator('.cal-entry:has-text("Browser-Termin")').count() == 0

    # Usable on a phone: the week scrolls sideways, the month and agenda views render.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(base + f"/admin/calendar/{CAL}?view=agenda&date=2030-01-07")
    await page.wait_for_selector('.cal-entry:has-text("Teamrunde")')
    await _shot(page, "05-agenda-phone")
    await page.goto(base + f"/admin/calendar/{CAL}?view=month&date=2030-01-07")
    await page.wait_for_selector('.cal-mday[data-date="2030-01-08"] .cal-entry')
    await _shot(page, "06-month-phone")
