"""``termin-bridge microsoft-emulator``: the command, its https serving with the generated CA,
state saved on SIGTERM, one-line seed errors; and the in-process state round trip."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bridge.cli import build_parser
from emulators.microsoft.seed import demo_seed, dump_state, load_state
from emulators.microsoft.server import ADELE, MsEmulatorServer, basic_seed
from emulators.microsoft.state import MsState
from tests.emulator.conftest import ms_event


def test_cli_registers_subcommand() -> None:
    args = build_parser().parse_args(["microsoft-emulator", "--port", "9999", "--seed", "s.json",
                                      "--tls-dir", "t"])
    assert (args.host, args.port, args.seed, args.state, args.tls_dir) == (
        "127.0.0.1", 9999, "s.json", None, "t")
    assert callable(args.standalone)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, ca: Path) -> Any:
    context = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(url, context=context, timeout=2) as resp:
        return resp.read().decode()


def test_cli_serves_https_demo_and_saves_state_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    state, tls = tmp_path / "state.json", tmp_path / "tls"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "microsoft-emulator", "--port", str(port),
         "--state", str(state), "--tls-dir", str(tls)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                info = json.loads(_get(f"https://127.0.0.1:{port}/_emulator/state",
                                       tls / "ca.pem"))
                break
            except (OSError, urllib.error.URLError, ssl.SSLError):
                assert time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.2)
        assert info["counter"] > 0  # demo seed applied
        assert "praxis@contoso.example" in _get(f"https://127.0.0.1:{port}/", tls / "ca.pem")
        config = json.loads(_get(f"https://127.0.0.1:{port}/common/v2.0/.well-known/"
                                 "openid-configuration", tls / "ca.pem"))
        assert config["token_endpoint"] == f"https://127.0.0.1:{port}/common/oauth2/v2.0/token"
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
    err = proc.stderr.read().decode() if proc.stderr else ""
    # Only the name: the log scrubber redacts "4/…" (OAuth codes), e.g. in "pytest-104/…".
    assert "/ca.pem" in err
    saved = json.loads(state.read_text())
    assert "praxis@contoso.example" in {a["upn"] for a in saved["accounts"]}


def test_cli_bad_seed_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "seed.json"
    bad.write_text('{"accounts": [{"name": "no upn"}]}')
    proc = subprocess.run([sys.executable, "-m", "bridge", "microsoft-emulator", "--seed",
                           str(bad)], capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 2
    assert "accounts[0]: missing 'upn'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_seed_loads() -> None:
    state = MsState()
    from emulators.microsoft.seed import apply_seed

    apply_seed(state, demo_seed())
    assert len(state.accounts) == 3
    assert sum(len(t) for t in state.events.values()) == 3


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with MsEmulatorServer(seed=basic_seed(), state_file=str(path)) as first:
        tokens = first.hooks.tokens(ADELE)
        created = first.hooks.external_change(ADELE, "create", event=ms_event(
            "kept", "2030-01-01T09:00:00", "2030-01-01T10:00:00"))
    saved = json.loads(path.read_text())
    assert load_state(saved).counter == saved["counter"]
    with MsEmulatorServer(state_file=str(path)) as second:
        context = second.ssl_context()
        req = urllib.request.Request(
            f"{second.graph_url}/me/events/{created['id']}",
            headers={"Authorization": f"Bearer {tokens['access_token']}"})
        with urllib.request.urlopen(req, context=context, timeout=10) as resp:
            got = json.loads(resp.read())
        assert got["@odata.etag"] == created["@odata.etag"]
        assert second.run(lambda s: len(s.refresh_tokens)) == 1
        assert dump_state(second.state)["accounts"] == saved["accounts"]
