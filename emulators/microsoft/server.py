"""Helpers for tests: run the Microsoft emulator in-process over https and drive its hooks.

Typical use (the server runs in its own thread and event loop)::

    from emulators.microsoft.server import ADELE, MsEmulatorServer, basic_seed

    with MsEmulatorServer(seed=basic_seed()) as emu:
        app = emu.msal_app()                      # unmodified msal, trusting the emulator's CA
        result = emu.sign_in(ADELE, app=app)      # auth code flow, consent page answered
        emu.hooks.fault("events.create", status=503, times=2)
        emu.hooks.state()["api_requests"]
"""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from emulators.microsoft.app import create_app
from emulators.microsoft.state import MsState
from emulators.shared.threaded import ThreadedServer
from emulators.shared.tls import TlsFiles, make_tls

__all__ = [
    "ADELE",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "MEGAN",
    "PAT",
    "REDIRECT_URI",
    "SCOPES",
    "HookError",
    "MsEmulatorHooks",
    "MsEmulatorServer",
    "basic_seed",
]

CLIENT_ID = "8d3f5a52-1b7e-4d0c-9e35-6f2b9d7c4a10"
CLIENT_SECRET = "emulator~secret.value"  # noqa: S105 - a fixture value
REDIRECT_URI = "http://127.0.0.1:9/oauth2/microsoft/callback"
SCOPES = ["Calendars.ReadWrite", "User.Read"]
ADELE = "adele@contoso.example"
MEGAN = "megan@contoso.example"
PAT = "pat@outlook.example"
_FORM = re.compile(r'<form method="post" action="([^"]+)">')
_REQUEST_ID = re.compile(r'name="request_id" value="([^"]+)"')


def basic_seed() -> dict[str, Any]:
    """Adele and Megan (work, one tenant), Pat (personal), one app, Adele's second calendar
    "Praxis" and Megan's "Team" calendar shared read-only with Adele."""
    return {
        "accounts": [
            {"upn": ADELE, "name": "Adele Vance", "kind": "work",
             "timeZone": "W. Europe Standard Time"},
            {"upn": MEGAN, "name": "Megan Bowen", "kind": "work"},
            {"upn": PAT, "name": "Pat Example", "kind": "personal"},
        ],
        "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                     "redirect_uris": [REDIRECT_URI], "name": "termin-bridge tests"}],
        "calendars": [
            {"id": "AAMkAGCalPraxis", "owner": ADELE, "name": "Praxis"},
            {"id": "AAMkAGCalTeam", "owner": MEGAN, "name": "Team", "shares": {ADELE: "read"}},
        ],
    }


class HookError(RuntimeError):
    """A hook answered with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(f"hook failed with {status}: {body}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class MsEmulatorHooks:
    """Synchronous client of the ``/_emulator/`` hooks (and the consent page)."""

    def __init__(self, base_url: str, context: ssl.SSLContext | None) -> None:
        self.base_url = base_url.rstrip("/")
        handlers: list[Any] = [urllib.request.ProxyHandler({}), _NoRedirect()]
        if context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def open(self, url: str, data: bytes | None = None, method: str = "GET",
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        """One request without following redirects: (status, headers, text)."""
        req = urllib.request.Request(url, data=data, method=method,  # noqa: S310 - our URL
                                     headers=headers or {})
        try:
            with self._opener.open(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode("utf-8", "replace")

    def call(self, method: str, hook: str, body: Any = None) -> Any:
        """Call ``/_emulator/<hook>`` and return the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        status, _, text = self.open(f"{self.base_url}/_emulator/{hook}", data, method,
                                    {"Content-Type": "application/json"})
        if status >= 400:
            raise HookError(status, text)
        return json.loads(text or "null")

    def consent(self, auth_uri: str, account: str, action: str = "accept") -> tuple[int, str, str]:
        """Open the authorize URL, pick ``account`` and press Accept/Cancel (or, on the "Need
        admin approval" page, "back"); returns (status, Location, page HTML)."""
        status, headers, page = self.open(auth_uri)
        while status == 200 and _REQUEST_ID.search(page):
            form, request_id = _FORM.search(page), _REQUEST_ID.search(page)
            assert form is not None and request_id is not None
            admin_page = "Need admin approval" in page
            if admin_page and action != "back":
                return status, "", page
            data = urllib.parse.urlencode({"request_id": request_id.group(1),
                                           "account": account, "action": action}).encode()
            status, headers, page = self.open(
                urllib.parse.urljoin(auth_uri, form.group(1)), data, "POST",
                {"Content-Type": "application/x-www-form-urlencoded"})
        return status, headers.get("Location", ""), page

    def reset(self, seed: dict[str, Any] | None = None, *, demo: bool = False) -> None:
        """Forget everything and apply ``seed``."""
        self.call("POST", "reset", {"seed": seed, "demo": demo})

    def fault(self, op: str = "*", **rule: Any) -> None:
        """Schedule a fault (``status``, ``code``, ``times``, ``latency``, ``retry_after``…)."""
        self.call("POST", "faults", {"op": op, **rule})

    def config(self, **knobs: Any) -> dict[str, Any]:
        """Set config knobs; returns all knobs."""
        result: dict[str, Any] = self.call("POST", "config", knobs)
        return result

    def tokens(self, account: str, client_id: str = CLIENT_ID,
               scopes: list[str] | None = None) -> dict[str, Any]:
        """Mint access + refresh tokens without the browser flow."""
        result: dict[str, Any] = self.call("POST", "tokens", {
            "account": account, "client_id": client_id, "scopes": scopes or SCOPES})
        return result

    def external_change(self, calendar_id: str, op: str, *, event: dict[str, Any] | None = None,
                        event_id: str | None = None) -> Any:
        """Create/patch/delete an event as its owner would in Outlook."""
        return self.call("POST", "external_change", {"calendarId": calendar_id, "op": op,
                                                     "event": event or {}, "eventId": event_id})

    def state(self) -> dict[str, Any]:
        """Counters, write log, deliveries, subscriptions, clock."""
        result: dict[str, Any] = self.call("GET", "state")
        return result

    def mail(self) -> list[dict[str, Any]]:
        """Invitations and cancellations that would have been e-mailed."""
        result: list[dict[str, Any]] = self.call("GET", "mail")
        return result


class MsEmulatorServer(ThreadedServer[MsState]):
    """The emulator on a free loopback port over https, served from a background thread."""

    def __init__(self, seed: dict[str, Any] | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, config: dict[str, Any] | None = None,
                 state_file: str | None = None) -> None:
        self.tls: TlsFiles = make_tls(None, [host])
        state = MsState()
        app = create_app(seed, state=state, config=config, state_file=state_file,
                         ca_path=str(self.tls.ca_path))
        super().__init__(app, state, host=host, port=port, name="ms-emulator",
                         ssl_context=self.tls.server_context())
        self.hooks = MsEmulatorHooks(self.base_url, self.tls.client_context())

    def started(self) -> None:
        """Point the hook client at the bound port."""
        self.hooks = MsEmulatorHooks(self.base_url, self.tls.client_context())

    @property
    def ca_path(self) -> str:
        """The CA certificate file to trust (msal ``verify=``, aiohttp ``ssl=``)."""
        return str(self.tls.ca_path)

    @property
    def graph_url(self) -> str:
        """The Graph root, ``https://127.0.0.1:<port>/v1.0``."""
        return self.base_url + "/v1.0"

    def authority(self, tenant: str = "common") -> str:
        """The msal ``authority`` for a tenant."""
        return f"{self.base_url}/{tenant}"

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context trusting the emulator (for aiohttp)."""
        return self.tls.client_context()

    # -- real client helpers -------------------------------------------------------------

    def msal_app(self, tenant: str = "common", *, client_id: str = CLIENT_ID,
                 client_secret: str = CLIENT_SECRET) -> Any:
        """An unmodified ``msal.ConfidentialClientApplication`` pointed at this emulator."""
        import msal

        return msal.ConfidentialClientApplication(
            client_id, client_credential=client_secret, authority=self.authority(tenant),
            instance_discovery=False, verify=self.ca_path)

    def sign_in(self, account: str, *, app: Any = None, scopes: list[str] | None = None,
                action: str = "accept") -> dict[str, Any]:
        """The auth code flow through msal, the consent page answered for ``account``."""
        app = app or self.msal_app()
        flow = app.initiate_auth_code_flow(scopes or SCOPES, redirect_uri=REDIRECT_URI)
        _, location, page = self.hooks.consent(flow["auth_uri"], account, action)
        if not location:
            return {"error": "no_redirect", "page": page}
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        result: dict[str, Any] = app.acquire_token_by_auth_code_flow(flow, query)
        return result
