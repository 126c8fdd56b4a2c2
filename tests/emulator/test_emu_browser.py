"""The consent page driven by a real headless Chromium (plain HTML forms, no JavaScript)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from google_auth_oauthlib.flow import Flow
from playwright.sync_api import Browser, sync_playwright

from emulators.google.server import ALICE, BOB, REDIRECT_URI, EmulatorServer

pytestmark = pytest.mark.browser
EVENTS = "https://www.googleapis.com/auth/calendar.events"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        yield instance
        instance.close()


def _page(browser: Browser) -> Any:
    page = browser.new_page(java_script_enabled=False)
    # The client's callback is not running; answer it in the browser and keep the URL.
    page.route(REDIRECT_URI + "*", lambda route: route.fulfill(body="callback reached"))
    return page


def test_consent_in_a_browser(browser: Browser, emu: EmulatorServer,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    flow = Flow.from_client_config(emu.client_config(), scopes=[EVENTS], redirect_uri=REDIRECT_URI)
    url, _ = flow.authorization_url(access_type="offline", prompt="consent")
    page = _page(browser)
    page.goto(url)
    assert page.locator("#accounts input[type=radio]").count() == 2
    assert page.locator(f"#scopes input[value='{EVENTS}']").is_checked()
    page.check(f"input[value='{BOB}']")
    page.click("#allow")
    page.wait_for_url(REDIRECT_URI + "*")
    flow.fetch_token(authorization_response=page.url)
    svc = emu.service(flow.credentials)
    assert svc.events().list(calendarId="primary").execute()["summary"] == BOB
    page.close()


def test_deny_in_a_browser(browser: Browser, emu: EmulatorServer,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    flow = Flow.from_client_config(emu.client_config(), scopes=[EVENTS], redirect_uri=REDIRECT_URI)
    url, state = flow.authorization_url(login_hint=ALICE)
    page = _page(browser)
    page.goto(url)
    assert page.locator(f"input[value='{ALICE}']").is_checked()  # login_hint preselects
    page.click("#deny")
    page.wait_for_url(REDIRECT_URI + "*")
    assert "error=access_denied" in page.url and f"state={state}" in page.url
    page.close()
