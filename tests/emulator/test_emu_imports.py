"""The emulators stand beside the product: they import nothing from it (checked on the source),
their own dependencies form the ``emulators`` extra, and without it the commands that need them
stop with one clear line."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

import emulators
from bridge.config import load
from bridge.demo import start_demo
from bridge.errors import EmulatorMissing

PRODUCT = {"bridge", "radicale_plugins"}


def imported_modules(path: Path) -> set[str]:
    """Absolute module names imported anywhere in ``path`` (also inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def emulator_sources() -> list[Path]:
    """Every Python file of the ``emulators`` package."""
    return sorted(Path(emulators.__file__).parent.rglob("*.py"))


def test_emulators_import_nothing_from_the_product() -> None:
    sources = emulator_sources()
    packages = {path.parent.name for path in sources}
    assert {"google", "microsoft", "ews"} <= packages  # every emulator is scanned
    assert len(sources) > 40
    offending = {
        f"{path.relative_to(Path(emulators.__file__).parent.parent)}: {name}"
        for path in sources
        for name in imported_modules(path)
        if name.split(".")[0] in PRODUCT
    }
    assert not offending, sorted(offending)


def test_the_scan_sees_imports_inside_functions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    from bridge.errors import BridgeError\n    import radicale_plugins\n")
    assert imported_modules(sample) == {"bridge.errors", "radicale_plugins"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_emulators_extra_lists_what_they_import() -> None:
    pyproject = Path(emulators.__file__).parent.parent / "pyproject.toml"
    extra = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"][
        "optional-dependencies"]["emulators"]
    listed = {_normal(re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0]) for req in extra}
    providers = packages_distributions()
    third_party = {
        name.split(".")[0]
        for path in emulator_sources()
        for name in imported_modules(path)
    } - set(sys.stdlib_module_names) - {"emulators", "__future__"}
    assert "aiohttp" in third_party
    missing = {top for top in third_party
               if not {_normal(dist) for dist in providers.get(top, [])} & listed}
    assert not missing, f"imported by emulators/ but not in the emulators extra: {missing}"


def _block_emulators() -> str:
    return ("import sys\n"
            "for name in [n for n in sys.modules if n.split('.')[0] == 'emulators']:\n"
            "    del sys.modules[name]\n"
            "sys.modules['emulators'] = None\n")


@pytest.mark.parametrize(("command", "package", "name"), [
    ("google-emulator", "google", "Google"),
    ("microsoft-emulator", "microsoft", "Microsoft"),
    ("ews-emulator", "ews", "EWS"),
])
def test_emulator_command_without_the_extra_is_one_line(command: str, package: str,
                                                        name: str) -> None:
    code = _block_emulators() + (
        f"sys.argv = ['termin-bridge', '{command}']\n"
        "from bridge.__main__ import main\nmain()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"termin-bridge: error: the {name} emulator is not installed (no module named "
        f"'emulators.{package}'); install the 'emulators' extra: pip install -e '.[emulators]'"]


def test_demo_without_the_extra_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in sys.modules if n.split(".")[0] == "emulators"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "emulators", None)
    with pytest.raises(EmulatorMissing, match=r"install the 'emulators' extra"):
        start_demo(load(tmp_path / "none.toml", env={}), None)
