"""Fixtures for the emulator tests: one emulator per worker, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import googleapiclient.http
import pytest

from bridge.emulator.testing import ALICE, EmulatorServer, basic_seed


@pytest.fixture(scope="session")
def emu_server() -> Iterator[EmulatorServer]:
    """The emulator, started once per test worker."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def emu(emu_server: EmulatorServer) -> EmulatorServer:
    """The emulator reset to :func:`basic_seed`."""
    emu_server.hooks.reset(basic_seed())
    return emu_server


@pytest.fixture
def svc(emu: EmulatorServer) -> Any:
    """A real Calendar service for Alice with the full ``calendar`` scope."""
    return emu.service(emu.credentials(ALICE, scopes=["calendar"]))


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace googleapiclient's retry sleep; returns the list of requested sleeps."""
    sleeps: list[float] = []
    monkeypatch.setattr(googleapiclient.http.time, "sleep", sleeps.append)
    return sleeps


def timed(start: str, end: str, **extra: Any) -> dict[str, Any]:
    """An event body with offset-qualified start and end."""
    return {"start": {"dateTime": start}, "end": {"dateTime": end}, **extra}
