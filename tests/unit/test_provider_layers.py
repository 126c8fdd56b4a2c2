"""The provider interface keeps the layers apart (checked on the source): the sync core and
the interface import no provider package, and no provider imports the sync core."""

from __future__ import annotations

from pathlib import Path

import bridge
from tests.emulator.test_emu_imports import imported_modules

ROOT = Path(bridge.__file__).parent
PROVIDERS = ("bridge.google", "bridge.microsoft")


def _offending(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    sources = sorted((ROOT / folder).rglob("*.py"))
    assert sources, folder
    return sorted(f"{path.relative_to(ROOT)}: {name}" for path in sources
                  for name in imported_modules(path)
                  if any(name == f or name.startswith(f + ".") for f in forbidden))


def test_sync_core_imports_no_provider() -> None:
    assert _offending("sync", PROVIDERS) == []


def test_interface_imports_no_provider_and_no_sync_core() -> None:
    assert _offending("providers", (*PROVIDERS, "bridge.sync")) == []


def test_providers_do_not_import_the_sync_core() -> None:
    for package in PROVIDERS:
        assert _offending(package.split(".", 1)[1], ("bridge.sync",)) == []


def test_microsoft_never_imports_google() -> None:
    assert _offending("microsoft", ("bridge.google",)) == []
