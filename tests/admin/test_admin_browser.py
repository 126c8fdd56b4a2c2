"""The whole admin flow in real headless Chromium (Debian package, driven by Playwright).

Logs in, connects Google through the emulator's consent page (account chooser, Allow), picks a
calendar, saves, watches the import progress finish, creates an event in "Google" and sees it
arrive after "Sync now", then disconnects.  Screenshots go to ``test-artifacts/admin/``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.store import SqlStore
from bridge.web.app import create_app
from emulators.google.server import ALICE, EmulatorServer
from tests.helpers import parsed

from .browser_support import chromium_page, free_port, screenshot, serving, wait_import_finished
from .conftest import ADMIN_PASSWORD, make_settings
from .emulator_support import SHARED, emulator_google_settings, seed_for

# A real browser on a busy machine: minutes, not the default 120 s.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

CAL = "staff/praxis"
XSS_TITLE = 'Neu aus Google <img src=x onerror="document.title=\'pwned\'">'


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    """A fresh emulator for the browser run."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture
async def sidecar(emu: EmulatorServer, admin_store: SqlStore, tmp_path: Path
                  ) -> AsyncIterator[str]:
    """The sidecar on a real port (the OAuth redirect URI must be known up front)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    seed = seed_for([base + "/oauth2/callback"])
    # Enough events for an import that takes a moment.
    seed["events"] += [
        {"calendarId": SHARED, "summary": f"Termin {i}",
         "start": {"dateTime": f"2030-02-{1 + i % 27:02d}T{8 + i % 9:02d}:00:00+01:00"},
         "end": {"dateTime": f"2030-02-{1 + i % 27:02d}T{8 + i % 9:02d}:30:00+01:00"}}
        for i in range(30)
    ]
    emu.hooks.reset(seed)
    admin_store.put_item(CAL, "local-1.ics", parsed("local-1", "20300301T090000Z",
                                                     "20300301T100000Z", summary="Lokal"),
                         origin="caldav")
    settings = make_settings(tmp_path, **emulator_google_settings(emu)).with_overrides(
        http={"host": "127.0.0.1", "port": port})
    async with serving(create_app(settings, admin_store), port) as url:
        yield url


async def test_admin_flow_in_chromium(sidecar: str, emu: EmulatorServer,
                                      admin_store: SqlStore) -> None:
    async with chromium_page() as page:
        await _flow(page, sidecar, emu, admin_store)


async def _flow(page: Any, base: str, emu: EmulatorServer, store: SqlStore) -> None:
    # Login.
    await page.goto(base + "/admin/")
    assert "/admin/login" in page.url
    await screenshot(page, "01-login")
    await page.fill("#username", "admin")
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("#login")
    await page.wait_for_url("**/admin/sync")
    await screenshot(page, "02-synchronisation")
    # Synchronisation → provider Google Calendar → Connect.
    await page.click(f'[data-calendar="{CAL}"] a.button')
    await page.wait_for_selector("#connect-google")
    await screenshot(page, "03-provider")
    await page.click("#connect-google")
    # Google's consent page (emulator): account chooser, then Allow.
    await page.wait_for_selector("#allow")
    await page.check(f'input[name="account"][value="{ALICE}"]')
    await screenshot(page, "04-google-consent")
    await page.click("#allow")
    # Choose the calendar (only writable ones), confirm, Save changes.
    await page.wait_for_url(f"**/admin/sync/{CAL}/choose")
    assert await page.locator('input[name="calendar"]').count() == 2
    await page.check(f'input[name="calendar"][value="{SHARED}"]')
    await screenshot(page, "05-choose-calendar")
    await page.click("#choose-next")
    await page.wait_for_selector("#save-changes")
    await screenshot(page, "06-confirm")
    await page.click("#save-changes")
    await page.wait_for_url(f"**/admin/sync/{CAL}/preview")
    assert await page.inner_text('[data-count="google"]') == "32"
    assert await page.inner_text('[data-count="local"]') == "1"
    await screenshot(page, "07-preview")
    # Slow Google's listing down so the progress page is seen running.
    emu.hooks.fault("calendar.events.list", latency=1.5, times=1)
    await page.check("#push-existing")
    await page.click("#start-import")
    await page.wait_for_selector("#import-progress")
    await screenshot(page, "08-import-running")
    await wait_import_finished(page)
    assert await page.inner_text('[data-field="seen"]') == "32"
    await screenshot(page, "09-import-finished")
    # The progress survives a reload (the page renders the stored numbers).
    await page.reload()
    await page.wait_for_selector("#sync-now")
    await screenshot(page, "10-status")
    await page.set_viewport_size({"width": 390, "height": 844})
    await screenshot(page, "10-status-phone")
    await page.set_viewport_size({"width": 1100, "height": 800})
    assert SHARED in await page.inner_text("#status-google-calendar")
    # The local appointment was pushed to Google after the import.
    await _wait_for(lambda: any(e.get("summary") == "Lokal"
                                for e in emu.hooks.stored_events(SHARED)))
    # An event created in Google appears after "Sync now"; its title stays text.
    emu.hooks.external_change(SHARED, "insert", actor=ALICE, event={
        "summary": XSS_TITLE, "start": {"dateTime": "2030-03-02T10:00:00+01:00"},
        "end": {"dateTime": "2030-03-02T11:00:00+01:00"}})
    await page.click("#sync-now")
    await page.wait_for_selector(".flash-ok")
    await screenshot(page, "11-after-sync-now")
    items = await asyncio.to_thread(store.list_items, CAL)
    assert any(i.summary == XSS_TITLE for i in items)
    await page.goto(base + "/admin/ledger?q=Neu+aus+Google")
    await page.wait_for_selector("#ledger-table")
    assert XSS_TITLE in await page.inner_text("#ledger-table")
    assert await page.title() != "pwned"
    await screenshot(page, "12-ledger")
    # Disconnect (confirm dialog accepted): the token is revoked, the connection is gone.
    await page.goto(base + f"/admin/sync/{CAL}")
    await page.click("#disconnect")
    await page.wait_for_selector("#connect-google")
    await screenshot(page, "13-disconnected")
    assert store.connection_for_collection(CAL) is None
    # German, through the language switch.
    await page.click('button[name="lang"][value="de"]')
    await page.wait_for_selector("text=Google Kalender verbinden")
    await screenshot(page, "14-german")


async def _wait_for(check: Any, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await asyncio.to_thread(check):
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)
