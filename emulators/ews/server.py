"""Helpers for tests: run the EWS emulator in-process (http or https) and drive its hooks.

Typical use (the server runs in its own thread and event loop)::

    from emulators.ews.server import ADELE, EwsEmulatorServer, basic_seed

    with EwsEmulatorServer(seed=basic_seed()) as emu:
        emu.ews_url                                   # http://127.0.0.1:<port>/EWS/Exchange.asmx
        emu.hooks.fault("SyncFolderItems", code="ErrorServerBusy", back_off_ms=500)
        emu.hooks.state()["requests"]
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from emulators.ews.app import create_app
from emulators.ews.state import EwsState
from emulators.shared.threaded import ThreadedServer
from emulators.shared.tls import TlsFiles, make_tls

__all__ = ["ADELE", "ADELE_PASSWORD", "MEGAN", "MEGAN_PASSWORD", "EwsEmulatorHooks",
           "EwsEmulatorServer", "HookError", "basic_seed"]

ADELE = "adele@contoso.example"
ADELE_PASSWORD = "Adele-Secret-1"  # noqa: S105 - a fixture value
MEGAN = "megan@contoso.example"
MEGAN_PASSWORD = "Megan-Secret-1"  # noqa: S105 - a fixture value


def basic_seed() -> dict[str, Any]:
    """Adele (W. Europe) with a second calendar "Praxis", and Megan."""
    return {
        "mailboxes": [
            {"email": ADELE, "password": ADELE_PASSWORD, "name": "Adele Vance",
             "time_zone": "W. Europe Standard Time"},
            {"email": MEGAN, "password": MEGAN_PASSWORD, "name": "Megan Bowen"},
        ],
        "calendars": [{"owner": ADELE, "name": "Praxis"}],
    }


class HookError(RuntimeError):
    """A hook answered with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(f"hook failed with {status}: {body}")


class EwsEmulatorHooks:
    """Synchronous client of the ``/_emulator/`` hooks."""

    def __init__(self, base_url: str, context: ssl.SSLContext | None) -> None:
        self.base_url = base_url.rstrip("/")
        handlers: list[Any] = [urllib.request.ProxyHandler({})]
        if context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def call(self, method: str, hook: str, body: Any = None) -> Any:
        """Call ``/_emulator/<hook>`` and return the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 - our own URL
            f"{self.base_url}/_emulator/{hook}", data=data, method=method,
            headers={"Content-Type": "application/json"})
        try:
            with self._opener.open(req, timeout=30) as resp:
                return json.loads(resp.read().decode() or "null")
        except urllib.error.HTTPError as exc:
            raise HookError(exc.code, exc.read().decode("utf-8", "replace")) from exc

    def reset(self, seed: dict[str, Any] | None = None, *, demo: bool = False) -> None:
        """Forget everything and apply ``seed``."""
        self.call("POST", "reset", {"seed": seed, "demo": demo})

    def fault(self, op: str = "*", **rule: Any) -> None:
        """Schedule a fault (``code``, ``back_off_ms``, ``status``, ``times``, ``latency``…)."""
        self.call("POST", "faults", {"op": op, **rule})

    def clear_faults(self) -> None:
        """Drop all scheduled faults."""
        self.call("DELETE", "faults")

    def config(self, **knobs: Any) -> dict[str, Any]:
        """Set config knobs; returns all knobs."""
        result: dict[str, Any] = self.call("POST", "config", knobs)
        return result

    def invalidate_sync(self, folder_id: str | None = None) -> int:
        """Invalidate the SyncStates issued so far."""
        result: dict[str, int] = self.call("POST", "invalidate_sync", {"folder_id": folder_id})
        return result["invalidated"]

    def state(self) -> dict[str, Any]:
        """Counters, write and mail log, folders, clock."""
        result: dict[str, Any] = self.call("GET", "state")
        return result

    def items(self, folder_id: str | None = None) -> list[dict[str, Any]]:
        """Digests of the stored items."""
        query = f"?folder_id={urllib.parse.quote(folder_id)}" if folder_id else ""
        result: list[dict[str, Any]] = self.call("GET", "items" + query)
        return result


class EwsEmulatorServer(ThreadedServer[EwsState]):
    """The emulator on a free loopback port, over http (default) or https (``tls=True``,
    a CA generated at start, its certificate also naming ``names``: host names a test maps to
    the loopback, e.g. ``autodiscover.contoso.example``), served from a background thread."""

    def __init__(self, seed: dict[str, Any] | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, tls: bool = False, config: dict[str, Any] | None = None,
                 state_file: str | None = None, names: tuple[str, ...] = ()) -> None:
        self.tls: TlsFiles | None = (make_tls(None, [host, *names], name="EWS") if tls
                                     else None)
        state = EwsState()
        app = create_app(seed, state=state, config=config, state_file=state_file)
        super().__init__(app, state, host=host, port=port, name="ews-emulator",
                         ssl_context=self.tls.server_context() if self.tls else None)
        self.hooks = EwsEmulatorHooks(self.base_url, self._client_context())

    def _client_context(self) -> ssl.SSLContext | None:
        return self.tls.client_context() if self.tls else None

    def started(self) -> None:
        """Point the hook client at the bound port."""
        self.hooks = EwsEmulatorHooks(self.base_url, self._client_context())

    @property
    def ca_path(self) -> str | None:
        """The CA certificate file to trust over https (``None`` over http)."""
        return str(self.tls.ca_path) if self.tls else None

    @property
    def ews_url(self) -> str:
        """The EWS endpoint, ``http(s)://127.0.0.1:<port>/EWS/Exchange.asmx``."""
        return self.base_url + "/EWS/Exchange.asmx"
