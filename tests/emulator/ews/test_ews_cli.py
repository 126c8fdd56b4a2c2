"""``termin-bridge ews-emulator``: the command over http and https, state saved on SIGTERM,
one-line seed errors; the demo seed; the in-process state round trip (items, occurrences,
SyncStates stay valid across a restart)."""

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

from exchangelib import CalendarItem, EWSDateTime

from bridge.cli import build_parser
from emulators.ews.seed import apply_seed, demo_seed, dump_state, load_state
from emulators.ews.server import EwsEmulatorServer, basic_seed
from emulators.ews.state import EwsState
from tests.emulator.ews.conftest import TZ, make_account


def test_cli_registers_subcommand() -> None:
    args = build_parser().parse_args(["ews-emulator", "--port", "9999", "--seed", "s.json",
                                      "--tls"])
    assert (args.host, args.port, args.seed, args.state, args.tls, args.tls_dir) == (
        "127.0.0.1", 9999, "s.json", None, True, None)
    assert callable(args.standalone)
    assert build_parser().parse_args(["serve", "--demo-ews-port", "0"]).demo_ews_port == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, proc: subprocess.Popen[bytes],
              context: ssl.SSLContext | None = None) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as resp:
                return str(resp.read().decode())
        except (OSError, urllib.error.URLError, ssl.SSLError):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.2)


def test_cli_serves_demo_and_saves_state_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "ews-emulator", "--port", str(port), "--state",
         str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        info = json.loads(_wait_for(f"http://127.0.0.1:{port}/_emulator/state", proc))
        assert "praxis@contoso.example" in info["mailboxes"]
        assert "/EWS/Exchange.asmx" in _wait_for(f"http://127.0.0.1:{port}/", proc)
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert f"http://127.0.0.1:{port}/EWS/Exchange.asmx" in err
    saved = json.loads(state.read_text())
    assert len(saved["items"]) == 3


def test_cli_serves_https_with_a_generated_ca(tmp_path: Path) -> None:
    port = _free_port()
    tls = tmp_path / "tls"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "ews-emulator", "--port", str(port), "--tls-dir",
         str(tls)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        context = None
        deadline = time.monotonic() + 30
        while not (tls / "ca.pem").exists():
            assert time.monotonic() < deadline
            time.sleep(0.2)
        context = ssl.create_default_context(cafile=str(tls / "ca.pem"))
        assert "EWS" in _wait_for(f"https://127.0.0.1:{port}/", proc, context)
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
    err = proc.stderr.read().decode() if proc.stderr else ""
    # (the secret scrubber may redact a temporary path with "4/…" in it, so not the full path)
    assert "trust the CA certificate" in err and err.count("ca.pem") == 1


def test_cli_bad_seed_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "seed.json"
    bad.write_text('{"mailboxes": [{"name": "no address"}]}')
    proc = subprocess.run([sys.executable, "-m", "bridge", "ews-emulator", "--seed", str(bad)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 2
    assert "mailboxes[0]: email and password are required" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_seed_loads() -> None:
    state = EwsState()
    apply_seed(state, demo_seed())
    assert len(state.mailboxes) == 2
    assert len(state.items) == 3
    assert {f.name for f in state.folders.values()} >= {"Calendar", "Praxis Termine"}


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with EwsEmulatorServer(seed=basic_seed(), state_file=str(path)) as first:
        account = make_account(first)
        item = CalendarItem(account=account, folder=account.calendar, subject="kept",
                            start=EWSDateTime(2026, 4, 1, 9, tzinfo=TZ),
                            end=EWSDateTime(2026, 4, 1, 10, tzinfo=TZ))
        item.save()
        list(account.calendar.sync_items())
        sync_state = account.calendar.item_sync_state
    saved = json.loads(path.read_text())
    assert load_state(saved).counter == saved["counter"]
    assert dump_state(load_state(saved)) == saved
    with EwsEmulatorServer(state_file=str(path)) as second:
        account = make_account(second)
        got = account.calendar.get(id=item.id)
        assert (got.subject, got.changekey) == ("kept", item.changekey)
        account.calendar.item_sync_state = sync_state
        assert list(account.calendar.sync_items()) == []
