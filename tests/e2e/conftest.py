"""Fixtures for the end-to-end tests: one Google emulator per worker, an SMTP server, and a
factory for whole termin-bridge installations on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emulators.google.server import EmulatorServer
from tests.e2e.support import Bridge, SmtpSink

MakeBridge = Callable[..., Bridge]



@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server on loopback."""
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def make_bridge(tmp_path: Path, emu: EmulatorServer, smtp: SmtpSink) -> Iterator[MakeBridge]:
    """``make_bridge(storage_url, **kw)``: a configured installation, closed after the test."""
    made: list[Bridge] = []

    def make(storage_url: str | None = None, **kw: object) -> Bridge:
        root = tmp_path / f"site{len(made)}"
        url = storage_url or f"sqlite:///{root / 'data' / 'bridge.db'}"
        (root / "data").mkdir(parents=True, exist_ok=True)
        bridge = Bridge(root, url, emu, smtp, **kw)  # type: ignore[arg-type]
        made.append(bridge)
        return bridge

    yield make
    for bridge in made:
        bridge.close()
