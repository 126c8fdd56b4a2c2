"""The admin flow for Outlook / Microsoft 365 in real headless Chromium (Playwright).

Chooses Outlook / Microsoft 365 on the provider step, consents on the Microsoft emulator's page
(account chooser, Accept; https with the emulator's own CA), picks the calendar, confirms, sees
the dry-run preview, imports with progress, then disconnects and is told where to remove the
app.  Screenshots go to
``test-artifacts/admin/microsoft-*.png``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.store import SqlStore
from bridge.web.app import create_app
from emulators.microsoft.seed import demo_seed
from emulators.microsoft.server import MsEmulatorServer

from .browser_support import (
    chromium_page,
    free_port,
    open_calendar,
    screenshot,
    serving,
    wait_import_finished,
)
from .conftest import make_settings

# A real browser on a busy machine: minutes, not the default 120 s.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

CAL = "staff/praxis"
ACCOUNT = "praxis@contoso.example"
CALENDAR_ID = "AAMkAGCalDemoTermine"
SUBJECT = "Sprechstunde"


@pytest.fixture
def port() -> int:
    """The sidecar's port (the redirect URI must be registered before the emulator starts)."""
    return free_port()


@pytest.fixture
def msemu(port: int) -> Iterator[MsEmulatorServer]:
    """The Microsoft emulator with the demo seed, its client knowing our callback."""
    seed = demo_seed()
    client = dict(seed["clients"][0])
    client["redirect_uris"] = [f"http://127.0.0.1:{port}/oauth2/microsoft/callback"]
    seed["clients"] = [client]
    # The demo seed's fixed dates leave the provider's rolling window one day: add events a few
    # weeks from now, so the import always has something to bring in.
    for i in range(3):
        day = (dt.date.today() + dt.timedelta(days=20 + i)).isoformat()
        seed["events"].append({
            "calendarId": CALENDAR_ID, "subject": f"{SUBJECT} {i}",
            "start": {"dateTime": f"{day}T09:00:00", "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": f"{day}T09:30:00", "timeZone": "W. Europe Standard Time"}})
    with MsEmulatorServer(seed=seed) as server:
        yield server


@pytest.fixture
async def sidecar(msemu: MsEmulatorServer, port: int, admin_store: SqlStore, tmp_path: Path
                  ) -> AsyncIterator[str]:
    """The sidecar on a real port, ``[microsoft]`` pointed at the emulator."""
    client = demo_seed()["clients"][0]
    settings = make_settings(tmp_path).with_overrides(
        http={"host": "127.0.0.1", "port": port},
        microsoft={"client_id": client["client_id"], "client_secret": client["client_secret"],
                   "authority": msemu.authority("common"), "graph_endpoint": msemu.graph_url,
                   "ca_file": msemu.ca_path})
    async with serving(create_app(settings, admin_store), port) as url:
        yield url


@pytest.mark.usefixtures("msal_env")  # msal trusts exactly the emulator's CA
async def test_microsoft_admin_flow_in_chromium(sidecar: str, admin_store: SqlStore) -> None:
    # The emulator's certificate comes from a CA generated at its start.
    async with chromium_page(timeout_ms=20_000, ignore_https_errors=True) as page:
        await _flow(page, sidecar, admin_store)


async def _flow(page: Any, base: str, store: SqlStore) -> None:
    await open_calendar(page, base, CAL)
    # The provider step: Outlook / Microsoft 365 is offered and configured.
    await page.wait_for_selector('[data-provider="microsoft"][data-state="ready"]')
    await screenshot(page, "microsoft-01-provider")
    await page.click("#connect-microsoft")
    # Microsoft's consent page (emulator): account chooser, then Accept.
    await page.wait_for_selector("#accept")
    await page.check(f'input[name="account"][value="{ACCOUNT}"]')
    await screenshot(page, "microsoft-02-consent")
    await page.click("#accept")
    # Choose the calendar, confirm, Save changes.
    await page.wait_for_url(f"**/admin/sync/{CAL}/choose")
    await page.check(f'input[name="calendar"][value="{CALENDAR_ID}"]')
    await screenshot(page, "microsoft-03-choose-calendar")
    await page.click("#choose-next")
    await page.wait_for_selector("#save-changes")
    assert "Microsoft account" in await page.content()
    await page.click("#save-changes")
    await page.wait_for_url(f"**/admin/sync/{CAL}/preview")
    remote = int(await page.inner_text('[data-count="google"]'))
    assert remote >= 3  # at least the three events added to the seed
    assert "events in Microsoft" in await page.content()
    await screenshot(page, "microsoft-04-preview")
    await page.click("#start-import")
    await wait_import_finished(page)
    await screenshot(page, "microsoft-05-import-finished")
    await page.reload()
    await page.wait_for_selector("#sync-now")
    assert CALENDAR_ID in await page.inner_text("#status-google-calendar")
    record = await asyncio.to_thread(store.connection_for_collection, CAL)
    assert record is not None and record.provider == "microsoft"
    assert record.account_email == ACCOUNT
    items = await asyncio.to_thread(store.list_items, CAL)
    assert {f"{SUBJECT} {i}" for i in range(3)} <= {i.summary for i in items}
    await screenshot(page, "microsoft-06-status")
    # Disconnect: the token and subscription are deleted; the user is told where to remove
    # the app (Microsoft has no revocation endpoint).
    await page.click("#disconnect")
    await page.wait_for_selector("#connect-microsoft")
    assert "https://myapps.microsoft.com" in await page.content()
    await screenshot(page, "microsoft-07-disconnected")
    assert await asyncio.to_thread(store.connection_for_collection, CAL) is None
