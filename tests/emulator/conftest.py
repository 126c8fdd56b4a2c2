"""Fixtures for the emulator tests: one emulator per worker, reset before every test."""

from __future__ import annotations

from typing import Any

import googleapiclient.http
import pytest

from emulators.google.server import ALICE, EmulatorServer


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
