"""The booking page in real headless Chromium on a phone-sized screen, on a calendar connected
to the Google emulator: the customer books a free slot and the appointment reaches the
emulator's Google calendar at once (the store's write path and the push, no "Sync now")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bridge.ical import parse_resource
from bridge.store import SqlStore, href_for_uid
from bridge.web.app import create_app
from emulators.google.server import EmulatorServer
from tests.admin.browser_support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, free_port, serving
from tests.admin.conftest import make_settings
from tests.admin.emulator_support import emulator_google_settings, seed_for
from tests.admin.test_admin_browser_calendar import _connect, _google, _until

# A busy machine (two Chromiums, load 15+) has taken over a minute for the emulator import.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

CAL = "staff/praxis"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
async def sidecar(emu: EmulatorServer, admin_store: SqlStore, tmp_path: Path
                  ) -> AsyncIterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    emu.hooks.reset(seed_for([base + "/oauth2/callback"]))
    settings = make_settings(tmp_path, **emulator_google_settings(emu)).with_overrides(
        http={"host": "127.0.0.1", "port": port, "public_url": base})
    async with serving(create_app(settings, admin_store), port) as url:
        yield url


def _working_hours(store: SqlStore) -> None:
    """Every day 00:00-24:00 Berlin from yesterday on is working time (a marker series)."""
    day = (datetime.now(BERLIN) - timedelta(days=1)).strftime("%Y%m%d")
    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
            "UID:hours\r\nDTSTAMP:20260101T000000Z\r\n"
            f"DTSTART;TZID=Europe/Berlin:{day}T000000\r\nDURATION:PT24H\r\n"
            "RRULE:FREQ=DAILY\r\nSUMMARY:Arbeitszeit\r\nTRANSP:TRANSPARENT\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n")
    store.put_item(CAL, href_for_uid("hours"), parse_resource(text), origin="caldav")


async def test_phone_books_and_google_shows_it(sidecar: str, emu: EmulatorServer,
                                               admin_store: SqlStore) -> None:
    assert CHROMIUM.exists(), "Debian chromium is missing: apt-get install -y chromium"
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            desk = await browser.new_context(locale="en-GB")
            admin = await desk.new_page()
            admin.set_default_timeout(60_000)
            await _connect(admin, sidecar, import_timeout_ms=240_000)
            _working_hours(admin_store)
            page_row = admin_store.save_booking_page(CAL, enabled=True, durations=(30, 60),
                                                     horizon_days=30, lead_minutes=0)
            phone = await browser.new_context(
                locale="de-DE", viewport={"width": 390, "height": 844}, is_mobile=True,
                has_touch=True, device_scale_factor=2)
            page = await phone.new_page()
            page.set_default_timeout(60_000)
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text)
                    if msg.type == "error" else None)
            await page.goto(f"{sidecar}/book/{page_row.public_id}")
            assert await page.locator("h1").inner_text() == "Termin buchen"
            await page.click('a[data-duration="60"]')
            await page.click("a.next-day")
            first = page.locator("a.slot").first
            start = await first.get_attribute("data-start")
            assert start is not None
            await first.click()
            await page.fill('input[name="name"]', "Max Muster")
            await page.fill('input[name="email"]', "max@example.org")
            await page.fill('input[name="phone"]', "+49 30 123456")
            # Nothing overflows the phone's width.
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, width
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "book-phone-form.png"), full_page=True)
            await page.click("#book")
            await page.wait_for_selector("section.done")
            assert "Ihr Termin ist gebucht" in await page.content()
            assert "Europe/Berlin" in await page.content()
            await page.screenshot(path=str(ARTIFACTS / "book-phone-done.png"), full_page=True)
            event = await _until(_google(emu, "60 min \u2013 Max Muster"),
                                 "the booked appointment in Google", timeout=60.0)
            got = datetime.fromisoformat(event["start"]["dateTime"]).astimezone(BERLIN)
            assert got.strftime("%Y-%m-%dT%H:%M") == start
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            await browser.close()
