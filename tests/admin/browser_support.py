"""What the admin's Chromium tests share: the Debian Chromium driven by Playwright, the
sidecar served on a real port, and where screenshots go."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from .conftest import ADMIN_PASSWORD

__all__ = ["ARTIFACTS", "CHROMIUM", "CHROMIUM_ARGS", "chromium_page", "free_port", "open_calendar",
           "screenshot", "serving"]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "admin"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    """A TCP port free right now on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: web.Application, port: int) -> AsyncIterator[str]:
    """``app`` on ``127.0.0.1:port``; its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def chromium_page(timeout_ms: int = 15_000, **context: Any) -> AsyncIterator[Any]:
    """A page of a fresh headless Chromium (English, 1100 by 800, dialogs accepted); on leaving,
    no Content-Security-Policy violation may have been reported."""
    assert CHROMIUM.exists(), "Debian chromium is missing: apt-get install -y chromium"
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            ctx = await browser.new_context(locale="en-GB",
                                            viewport={"width": 1100, "height": 800}, **context)
            page = await ctx.new_page()
            page.set_default_timeout(timeout_ms)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text)
                    if msg.type == "error" else None)
            page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            yield page
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            await browser.close()


async def screenshot(page: Any, name: str) -> None:
    """The whole page as ``test-artifacts/admin/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def open_calendar(page: Any, base: str, calendar: str) -> None:
    """Sign in as ``admin`` and open ``calendar``'s page from the Synchronisation overview."""
    await page.goto(base + "/admin/")
    await page.fill("#username", "admin")
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("#login")
    await page.wait_for_url("**/admin/sync")
    await page.click(f'[data-calendar="{calendar}"] a.button')


async def wait_import_finished(page: Any, timeout_ms: float = 180_000) -> None:
    """Wait until the import page shows "Import finished"; on a timeout, fail with what the
    page's status endpoint says (phase, counts, errors) instead of a bare selector timeout."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        await page.wait_for_selector("#import-finished", state="visible", timeout=timeout_ms)
    except PlaywrightTimeout:
        status = await page.evaluate(
            """async () => {
                 const root = document.querySelector("[data-status-url]");
                 if (!root) { return "no progress box on " + location.href; }
                 const r = await fetch(root.dataset.statusUrl, {credentials: "same-origin"});
                 return r.status + " " + await r.text();
               }""")
        raise AssertionError(f"the import did not finish in {timeout_ms / 1000:g} s; "
                             f"status: {status}") from None
