"""An in-process Google emulator wired to a test sidecar (shared by the OAuth and browser tests)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from emulators.google.server import ALICE, BOB, CLIENT_ID, CLIENT_SECRET, EmulatorServer

__all__ = ["emulator_google_settings", "follow_consent", "seed_for"]

SHARED = "c_termine@group.calendar.google.com"
READONLY = "c_feiertage@group.calendar.google.com"
CAROL = "carol@example.com"


def seed_for(callback_urls: list[str]) -> dict[str, Any]:
    """Alice (two writable calendars, one read-only), Bob (read-only only), our client."""
    return {
        "accounts": [
            {"email": ALICE, "name": "Alice Example", "timeZone": "Europe/Berlin"},
            {"email": BOB, "name": "Bob Example", "timeZone": "Europe/Berlin"},
            {"email": CAROL, "name": "Carol Example", "timeZone": "Europe/Berlin"},
        ],
        "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                     "redirect_uris": callback_urls, "name": "termin-bridge tests"}],
        "calendars": [
            {"id": SHARED, "owner": ALICE, "summary": "Termine <b>Praxis</b>",
             "timeZone": "Europe/Berlin"},
            {"id": READONLY, "owner": CAROL, "summary": "Feiertage",
             "timeZone": "Europe/Berlin", "acl": {ALICE: "reader", BOB: "reader"}},
            # Bob's own calendar belongs to Carol here: Bob may not write anywhere.
            {"id": BOB, "owner": CAROL, "summary": "Bob (read only)", "acl": {BOB: "reader"}},
        ],
        "events": [
            {"calendarId": SHARED, "summary": "Kontrolle <script>alert(1)</script>",
             "start": {"dateTime": "2030-01-07T09:00:00+01:00"},
             "end": {"dateTime": "2030-01-07T09:30:00+01:00"}},
            {"calendarId": SHARED, "summary": "Teamrunde",
             "start": {"dateTime": "2030-01-08T09:00:00+01:00"},
             "end": {"dateTime": "2030-01-08T10:00:00+01:00"}},
        ],
    }


def emulator_google_settings(emu: EmulatorServer) -> dict[str, Any]:
    """``[google]`` values pointing at ``emu``."""
    return {
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "auth_uri": emu.base_url + "/o/oauth2/v2/auth", "token_uri": emu.token_uri,
        "revoke_uri": emu.base_url + "/revoke", "api_endpoint": emu.api_endpoint,
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def follow_consent(auth_url: str) -> str:
    """GET the authorisation URL (auto-consent knob on) and return the callback ``Location``."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    try:
        with opener.open(auth_url, timeout=30) as resp:
            raise AssertionError(f"expected a redirect, got {resp.status}")
    except urllib.error.HTTPError as exc:
        if exc.code != 302:
            raise AssertionError(f"emulator answered {exc.code}: {exc.read()[:300]!r}") from exc
        return str(exc.headers["Location"])
