"""The test kit of Exchange autodiscover: example domains mapped to the loopback through the
guard's lookup (a fixed table, no ``/etc/hosts``), the EWS emulator over https with a
certificate naming them, and a plain-http redirect site (autodiscover's step 3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from bridge.providers.netguard import SrvAnswer
from emulators.ews.server import EwsEmulatorServer, basic_seed
from emulators.shared.threaded import ThreadedServer

__all__ = ["DOMAIN", "NAMES", "RedirectSite", "TableLookup", "emu", "port_of", "table",
           "tls_emu"]

DOMAIN = "contoso.example"
NAMES = (DOMAIN, f"autodiscover.{DOMAIN}", f"mail.{DOMAIN}", "adsrv.contoso.example",
         "mail.fabrikam.example", "outlook.office365.com", "autodiscover-s.outlook.com")


class TableLookup:
    """The guard's lookup from a fixed table: (host, port) → (address, port); SRV by name."""

    def __init__(self, hosts: dict[tuple[str, int], tuple[str, int]],
                 srv: dict[str, list[SrvAnswer]] | None = None) -> None:
        self.hosts = hosts
        self.srv_records = srv or {}
        self.asked: list[str] = []

    def addresses(self, host: str, port: int) -> list[tuple[str, int]]:
        self.asked.append(f"{host}:{port}")
        found = self.hosts.get((host.lower(), port))
        if found is None:
            raise OSError(f"{host} does not resolve")
        return [found]

    def srv(self, name: str) -> list[SrvAnswer]:
        self.asked.append(f"SRV {name}")
        return list(self.srv_records.get(name.lower(), []))


@pytest.fixture(scope="module")
def tls_emu() -> Iterator[EwsEmulatorServer]:
    with EwsEmulatorServer(basic_seed(), tls=True, names=NAMES) as emu:
        yield emu


@pytest.fixture
def emu(tls_emu: EwsEmulatorServer) -> EwsEmulatorServer:
    tls_emu.hooks.reset(basic_seed())
    tls_emu.run(lambda state: state.config.__init__())
    return tls_emu


class RedirectSite(ThreadedServer[dict[str, Any]]):
    """The plain-http site of ``http://autodiscover.<domain>/`` that answers with a 302, as an
    IIS redirect site does (step 3)."""

    def __init__(self, location: str) -> None:
        async def redirect(request: web.Request) -> web.Response:
            self.state["hits"] = int(self.state.get("hits", 0)) + 1
            raise web.HTTPFound(location)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", redirect)
        super().__init__(app, {}, host="127.0.0.1", port=0, name="redirect-site")


def port_of(emu: EwsEmulatorServer) -> int:
    return int(emu.base_url.rsplit(":", 1)[1])


def table(emu: EwsEmulatorServer, *hosts: str, **extra: Any) -> TableLookup:
    """``hosts`` on port 443 → the emulator."""
    return TableLookup({(h, 443): ("127.0.0.1", port_of(emu)) for h in hosts}, **extra)
