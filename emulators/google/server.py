"""Helpers for tests: run the emulator in-process and drive its ``/_emulator/`` hooks.

Typical use (sync or async tests alike; the server runs in its own thread and event loop)::

    from emulators.google.server import EmulatorServer, basic_seed

    with EmulatorServer(seed=basic_seed()) as emu:
        creds = emu.credentials("alice@example.com", scopes=["calendar"])
        svc = emu.service(creds)
        svc.events().list(calendarId="primary").execute()
        emu.hooks.fault("calendar.events.insert", status=503, times=2)
        emu.hooks.advance_clock(3600)
        emu.hooks.external_change("alice@example.com", "insert", event={...})
        emu.hooks.state()["api_requests"]
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from emulators.google.app import create_app
from emulators.google.state import EmulatorState
from emulators.shared.threaded import ThreadedServer

__all__ = [
    "ALICE",
    "BOB",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REDIRECT_URI",
    "EmulatorHooks",
    "EmulatorServer",
    "HookError",
    "basic_seed",
]

CLIENT_ID = "test-client.apps.googleusercontent.com"
CLIENT_SECRET = "test-secret"  # noqa: S105 - a fixture value
REDIRECT_URI = "http://127.0.0.1:9/oauth2/callback"
ALICE = "alice@example.com"
BOB = "bob@example.com"
SHARED_CAL = "c_shared@group.calendar.google.com"


def basic_seed() -> dict[str, Any]:
    """Two accounts (Alice, Bob), one client, Alice's shared calendar (Bob may read it)."""
    return {
        "accounts": [
            {"email": ALICE, "name": "Alice Example", "timeZone": "Europe/Berlin"},
            {"email": BOB, "name": "Bob Example", "timeZone": "UTC"},
        ],
        "clients": [{
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "redirect_uris": [REDIRECT_URI], "name": "termin-bridge tests",
        }],
        "calendars": [{
            "id": SHARED_CAL, "owner": ALICE, "summary": "Shared",
            "timeZone": "Europe/Berlin", "acl": {BOB: "reader"},
        }],
    }


class HookError(RuntimeError):
    """A hook answered with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(f"hook failed with {status}: {body}")


class EmulatorHooks:
    """Synchronous client of the ``/_emulator/`` hooks of a running emulator."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method: str, hook: str, body: Any = None) -> Any:
        """Call ``/_emulator/<hook>`` and return the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 - base_url is our own http URL
            f"{self.base_url}/_emulator/{hook}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with self._opener.open(req, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise HookError(exc.code, exc.read().decode("utf-8", "replace")) from exc

    def reset(self, seed: dict[str, Any] | None = None, *, demo: bool = False) -> None:
        """Forget everything and apply ``seed``."""
        self.call("POST", "reset", {"seed": seed, "demo": demo})

    def seed(self, seed: dict[str, Any]) -> None:
        """Add a seed document."""
        self.call("POST", "seed", seed)

    def external_change(
        self, calendar_id: str, op: str, *, event: dict[str, Any] | None = None,
        event_id: str | None = None, actor: str | None = None,
    ) -> Any:
        """Insert/patch/update/delete/import an event as if done in Google's UI."""
        return self.call("POST", "external_change", {
            "calendarId": calendar_id, "op": op, "event": event or {}, "eventId": event_id,
            "actor": actor,
        })

    def fault(
        self, method: str = "*", *, status: int | None = None, reason: str | None = None,
        times: int | None = 1, latency: float = 0.0, reset: bool = False,
        message: str | None = None, account: str | None = None, after: bool = False,
        truncate: bool = False, retry_after: int | None = None,
    ) -> None:
        """Schedule a fault for a method id (``calendar.events.insert``, ``oauth2.token``).

        ``after=True`` lets the request happen first (the write is stored) and then fails or
        resets; ``truncate=True`` answers with half of the JSON body.
        """
        self.call("POST", "faults", {
            "method": method, "status": status, "reason": reason, "times": times,
            "latency": latency, "reset": reset, "message": message, "account": account,
            "after": after, "truncate": truncate, "retry_after": retry_after,
        })

    def clear_faults(self) -> None:
        """Remove every scheduled fault."""
        self.call("DELETE", "faults")

    def rate_limit(self, max_requests: int | None, *, per_seconds: float = 60.0,
                   status: int = 403, reason: str = "userRateLimitExceeded") -> None:
        """Limit API requests per account (``None`` removes the limit)."""
        body = {} if max_requests is None else {
            "max": max_requests, "per_seconds": per_seconds, "status": status, "reason": reason}
        self.call("POST", "rate_limit", body)

    def advance_clock(self, seconds: float) -> str:
        """Move the emulator clock forward; returns the new time."""
        return str(self.call("POST", "clock", {"advance_seconds": seconds})["now"])

    def set_clock(self, now: str, *, freeze: bool = False) -> str:
        """Jump the clock to an RFC 3339 time (optionally frozen)."""
        return str(self.call("POST", "clock", {"now": now, "freeze": freeze})["now"])

    def expire_sync_tokens(self, calendar_id: str | None = None) -> int:
        """Invalidate sync tokens; returns how many."""
        return int(self.call("POST", "expire_sync_tokens", {"calendarId": calendar_id})["expired"])

    def acl_change(self, calendar_id: str, account: str, role: str) -> None:
        """Change sharing of a calendar (``role`` ``none`` removes access)."""
        self.call("POST", "acl_change", {"calendarId": calendar_id, "account": account,
                                         "role": role})

    def config(self, **knobs: Any) -> dict[str, Any]:
        """Set config knobs; returns all knobs."""
        result: dict[str, Any] = self.call("POST", "config", knobs)
        return result

    def issue_tokens(self, account: str, client_id: str = CLIENT_ID,
                     scopes: list[str] | None = None) -> dict[str, Any]:
        """Mint an access + refresh token without the browser flow."""
        result: dict[str, Any] = self.call("POST", "tokens", {
            "account": account, "client_id": client_id, "scopes": scopes or ["calendar"]})
        return result

    def state(self) -> dict[str, Any]:
        """Counters, write log, deliveries, channels, change counter and clock."""
        result: dict[str, Any] = self.call("GET", "state")
        return result

    def reset_counters(self) -> None:
        """Zero counters and the write log."""
        self.call("POST", "reset_counters", {})

    def stored_events(self, calendar_id: str) -> list[dict[str, Any]]:
        """Stored events of a calendar (cancelled ones too), with ``seq``."""
        result: list[dict[str, Any]] = self.call(
            "GET", "events?calendarId=" + urllib.parse.quote(calendar_id))
        return result


class EmulatorServer(ThreadedServer[EmulatorState]):
    """The emulator on a free loopback port, served from a background thread."""

    def __init__(
        self, seed: dict[str, Any] | None = None, *, host: str = "127.0.0.1", port: int = 0,
        config: dict[str, Any] | None = None, state_file: str | None = None,
    ) -> None:
        state = EmulatorState()
        app = create_app(seed, state=state, config=config, state_file=state_file)
        super().__init__(app, state, host=host, port=port, name="google-emulator")
        self.hooks = EmulatorHooks(self.base_url)

    def started(self) -> None:
        """Point the hook client at the bound port."""
        self.hooks = EmulatorHooks(self.base_url)

    @property
    def api_endpoint(self) -> str:
        """The ``client_options['api_endpoint']`` value for ``build``."""
        return self.base_url + "/calendar/v3/"

    @property
    def token_uri(self) -> str:
        """The token endpoint."""
        return self.base_url + "/token"

    @property
    def batch_uri(self) -> str:
        """The batch endpoint (pass as ``BatchHttpRequest(batch_uri=...)``)."""
        return self.base_url + "/batch/calendar/v3"

    # -- real client helpers -------------------------------------------------------------

    def credentials(
        self, account: str, *, scopes: list[str] | None = None, client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
    ) -> Any:
        """``google.oauth2.credentials.Credentials`` with a fresh refresh token."""
        from google.oauth2.credentials import Credentials

        full = [s if s.startswith("https://") else "https://www.googleapis.com/auth/" + s
                for s in scopes or ["calendar"]]
        tokens = self.hooks.issue_tokens(account, client_id, full)
        return Credentials(  # type: ignore[no-untyped-call]
            token=None, refresh_token=tokens["refresh_token"], token_uri=self.token_uri,
            client_id=client_id, client_secret=client_secret, scopes=full,
        )

    def service(self, credentials: Any) -> Any:
        """``build('calendar', 'v3', ...)`` pointed at this emulator."""
        from googleapiclient.discovery import build

        return build(
            "calendar", "v3", credentials=credentials, static_discovery=True,
            cache_discovery=False, client_options={"api_endpoint": self.api_endpoint},
        )

    def batch(self, callback: Callable[..., Any] | None = None) -> Any:
        """A ``BatchHttpRequest`` posting to this emulator's batch URL."""
        from googleapiclient.http import BatchHttpRequest

        return BatchHttpRequest(callback=callback, batch_uri=self.batch_uri)

    def client_config(self, client_id: str = CLIENT_ID,
                      client_secret: str = CLIENT_SECRET) -> dict[str, Any]:
        """A ``{"web": ...}`` client config for ``google_auth_oauthlib.flow.Flow``."""
        return {"web": {
            "client_id": client_id, "client_secret": client_secret,
            "auth_uri": self.base_url + "/o/oauth2/v2/auth", "token_uri": self.token_uri,
            "redirect_uris": [REDIRECT_URI],
        }}
