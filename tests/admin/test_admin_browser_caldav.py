"""The admin flow of a login provider in real headless Chromium (Playwright): a calendar on a
stock Radicale process is connected through the form, a refused password, *test connection*,
the calendar choice, confirm, the dry-run preview and the import; then the iCloud form with its
app-specific-password help (German) and the Exchange form.  Screenshots go to
``test-artifacts/admin/caldav-*.png``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bridge.store import SqlStore
from bridge.web.app import create_app

from .browser_support import (
    chromium_page,
    free_port,
    open_calendar,
    screenshot,
    serving,
    wait_import_finished,
)
from .login_support import PASSWORD, USER, DavPeer, dav_peer, login_settings, registry

__all__ = ["dav_peer"]

# A real browser on a busy machine: minutes, not the default 120 s.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

CAL = "staff/praxis"
SUMMARIES = ("Sprechstunde", "Teamrunde", "Hausbesuch")


@pytest.fixture
async def sidecar(dav_peer: DavPeer, admin_store: SqlStore, tmp_path: Path
                  ) -> AsyncIterator[str]:
    """The sidecar on a real port with the product's registry (loopback allowed), iCloud's
    test host names, and the CalDAV factory standing in for Exchange's form."""
    port = free_port()
    settings = login_settings(tmp_path, http={"host": "127.0.0.1", "port": port})
    providers = registry(settings, admin_store, dav_peer.proxy)
    providers.setdefault("exchange", providers["caldav"])
    async with serving(create_app(settings, admin_store, providers=providers), port) as url:
        yield url


async def test_caldav_admin_flow_in_chromium(sidecar: str, dav_peer: DavPeer,
                                             admin_store: SqlStore) -> None:
    calendar_url, _controls = dav_peer.calendar(*SUMMARIES)
    async with chromium_page(timeout_ms=60_000) as page:  # generous: a busy machine
        await _flow(page, sidecar, dav_peer, admin_store, calendar_url)
        await _other_forms(page, sidecar)


async def _flow(page: Any, base: str, peer: DavPeer, store: SqlStore,
                calendar_url: str) -> None:
    await open_calendar(page, base, CAL)
    # The provider step: the CalDAV server is offered.
    await page.wait_for_selector('[data-provider="caldav"][data-state="ready"]')
    await screenshot(page, "caldav-01-provider")
    await page.click("#connect-caldav")
    # The form: a wrong password first.
    await page.wait_for_url(f"**/admin/sync/{CAL}/login/caldav")
    await page.fill("#server-url", peer.proxy.base + "/")
    await page.fill("#server-user", USER)
    await page.fill("#server-password", "not-the-password")
    await screenshot(page, "caldav-02-form")
    await page.click("#test-connection")
    await page.wait_for_selector('#login-error[data-reason="auth"]')
    assert await page.input_value("#server-password") == ""  # never echoed
    assert await page.input_value("#server-url") == peer.proxy.base + "/"
    await screenshot(page, "caldav-03-wrong-password")
    # The right one: what was discovered.
    await page.fill("#server-password", PASSWORD)
    await page.click("#test-connection")
    await page.wait_for_url(f"**/admin/sync/{CAL}/discovered")
    assert calendar_url in await page.inner_text("#discovered-calendars")
    await screenshot(page, "caldav-04-test-connection")
    # The same calendar choice, confirm, preview and import as the OAuth providers.
    await page.click("#discovered-next")
    await page.wait_for_url(f"**/admin/sync/{CAL}/choose")
    await page.check(f'input[name="calendar"][value="{calendar_url}"]')
    await screenshot(page, "caldav-05-choose-calendar")
    await page.click("#choose-next")
    await page.wait_for_selector("#save-changes")
    assert "CalDAV account" in await page.content()
    await screenshot(page, "caldav-06-confirm")
    await page.click("#save-changes")
    await page.wait_for_url(f"**/admin/sync/{CAL}/preview")
    assert await page.inner_text('[data-count="google"]') == str(len(SUMMARIES))
    await screenshot(page, "caldav-07-preview")
    await page.click("#start-import")
    await wait_import_finished(page)
    await screenshot(page, "caldav-08-import-finished")
    await page.reload()
    await page.wait_for_selector("#sync-now")
    assert calendar_url in await page.inner_text("#status-google-calendar")
    items = await asyncio.to_thread(store.list_items, CAL)
    assert set(SUMMARIES) <= {i.summary for i in items}
    await screenshot(page, "caldav-09-status")
    # Disconnect: the stored login is deleted.
    await page.click("#disconnect")
    await page.wait_for_selector("#connect-caldav")
    assert "stored user name and password were deleted" in await page.content()
    await screenshot(page, "caldav-10-disconnected")
    assert await asyncio.to_thread(store.connection_for_collection, CAL) is None


async def _other_forms(page: Any, base: str) -> None:
    # Exchange: the EWS URL, NTLM/Basic and the way to Outlook / Microsoft 365.
    await page.goto(base + f"/admin/sync/{CAL}/login/exchange")
    await page.wait_for_selector("#exchange-online-note")
    assert await page.is_checked('input[name="auth"][value="ntlm"]')
    await screenshot(page, "caldav-11-exchange-form")
    # iCloud in German: the app-specific password step by step.
    await page.goto(base + f"/admin/sync/{CAL}/login/icloud")
    await page.click('button[name="lang"][value="de"]')
    await page.wait_for_selector("text=App-spezifische Passwörter")
    assert await page.locator("#icloud-steps li").count() == 4
    await screenshot(page, "caldav-12-icloud-form-german")
