"""Batch requests, discovery, seed files, state persistence and the CLI subcommand."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError

from bridge.cli import build_parser
from emulators.google.seed import SeedError, apply_seed, demo_seed
from emulators.google.server import ALICE, EmulatorServer, basic_seed
from emulators.google.state import EmulatorState
from tests.emulator.conftest import timed


def test_batch_through_emulator_batch_url(svc: Any, emu: EmulatorServer) -> None:
    results: dict[str, tuple[Any, Any]] = {}

    def callback(request_id: str, response: Any, exception: Any) -> None:
        results[request_id] = (response, exception)

    emu.hooks.reset_counters()
    batch = emu.batch(callback)
    body = timed("2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z", id="batch00001")
    batch.add(svc.events().insert(calendarId="primary", body=body), request_id="a")
    batch.add(svc.events().insert(calendarId="primary", body=body), request_id="b")
    batch.add(svc.events().get(calendarId="primary", eventId="batch00001"), request_id="c")
    batch.add(svc.calendars().get(calendarId="primary"), request_id="d")
    batch.execute()
    assert results["a"][0]["id"] == "batch00001" and results["a"][1] is None
    assert isinstance(results["b"][1], HttpError) and results["b"][1].status_code == 409
    assert results["c"][0]["etag"] == results["a"][0]["etag"]
    assert results["d"][0]["id"] == ALICE
    counts = emu.hooks.state()["api_requests"]
    assert counts["calendar.events.insert"] == 2  # each part counts
    assert counts["batch"] == 1


def test_batch_part_fault_and_discovery_document(svc: Any, emu: EmulatorServer) -> None:
    doc = requests.get(emu.base_url + "/discovery/v1/apis/calendar/v3/rest", timeout=10).json()
    assert doc["rootUrl"] == emu.base_url + "/"
    local = build_from_document(doc, credentials=svc._http.credentials)
    emu.hooks.fault("calendar.events.insert", status=409, reason="conflict")
    seen: list[Any] = []
    batch = local.new_batch_http_request(callback=lambda _i, r, e: seen.append((r, e)))
    batch.add(local.events().insert(calendarId="primary", body=timed(
        "2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z")))
    batch.add(local.events().list(calendarId="primary"))
    batch.execute()
    assert seen[0][1].status_code == 409 and seen[0][1].error_details[0]["reason"] == "conflict"
    assert seen[1][0]["kind"] == "calendar#events"


def test_demo_seed_loads() -> None:
    state = EmulatorState()
    apply_seed(state, demo_seed())
    assert len(state.accounts) == 2 and len(state.clients) == 1
    assert state.role("empfang@example.com", "c_demotermine@group.calendar.google.com") == "writer"
    assert sum(len(t) for t in state.events.values()) == 4


@pytest.mark.parametrize(("seed", "message"), [
    ({"accounts": [{"name": "x"}]}, "accounts[0]: missing 'email'"),
    ({"calendars": [{"id": "c", "owner": "ghost@example.com"}]}, "not a seeded account"),
    ({"accounts": [{"email": "a@example.com"}],
      "events": [{"calendarId": "a@example.com", "start": {"date": "2030-01-01"}}]},
     "events[0]: Missing end time."),
    ({"config": {"nope": 1}}, "unknown config knob"),
])
def test_seed_errors_name_the_entry(seed: dict[str, Any], message: str) -> None:
    with pytest.raises(SeedError, match=message.replace("[", r"\[").replace("]", r"\]")):
        apply_seed(EmulatorState(), seed)


def test_state_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "emu.json"
    with EmulatorServer(seed=basic_seed(), state_file=str(path)) as first:
        creds = first.credentials(ALICE)
        svc = first.service(creds)
        ev = svc.events().insert(calendarId="primary", body=timed(
            "2030-01-01T09:00:00Z", "2030-01-01T10:00:00Z", id="keep00001")).execute()
        token = svc.events().list(calendarId="primary").execute()["nextSyncToken"]
        refresh = creds.refresh_token
    assert path.exists()
    with EmulatorServer(state_file=str(path)) as second:
        from google.oauth2.credentials import Credentials

        creds = Credentials(None, refresh_token=refresh, token_uri=second.token_uri,
                            client_id=creds.client_id, client_secret=creds.client_secret)
        svc = second.service(creds)
        got = svc.events().get(calendarId="primary", eventId="keep00001").execute()
        assert got["etag"] == ev["etag"]
        assert svc.events().list(calendarId="primary", syncToken=token).execute()["items"] == []


def test_cli_registers_subcommand() -> None:
    args = build_parser().parse_args(["google-emulator", "--port", "9999", "--seed", "s.json"])
    assert (args.host, args.port, args.seed, args.state) == ("127.0.0.1", 9999, "s.json", None)
    assert callable(args.standalone)  # needs no settings and no store


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_serves_demo_and_saves_state_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "google-emulator", "--port", str(port),
         "--state", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                info = requests.get(f"http://127.0.0.1:{port}/_emulator/state", timeout=1).json()
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.1)
        assert info["counter"] > 0  # demo seed applied
        index = requests.get(f"http://127.0.0.1:{port}/", timeout=1).text
        assert "praxis@example.com" in index
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
    saved = json.loads(state.read_text())
    assert "praxis@example.com" in {a["email"] for a in saved["accounts"]}


def test_cli_bad_seed_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "seed.json"
    bad.write_text('{"accounts": [{"name": "no email"}]}')
    proc = subprocess.run(
        [sys.executable, "-m", "bridge", "google-emulator", "--seed", str(bad)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert proc.returncode == 2
    assert "accounts[0]: missing 'email'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_bad_state_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "state.json"
    bad.write_text('{"accounts": [{"mail": 1}]}')
    proc = subprocess.run(
        [sys.executable, "-m", "bridge", "google-emulator", "--state", str(bad)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert proc.returncode == 2
    assert "--state" in proc.stderr and "not a saved emulator state" in proc.stderr


def test_batch_over_1000_parts_is_400(emu: EmulatorServer) -> None:
    token = emu.hooks.issue_tokens(ALICE)["access_token"]
    part = ("--b\r\nContent-Type: application/http\r\nContent-ID: <x+{n}>\r\n\r\n"
            "GET /calendar/v3/calendars/primary HTTP/1.1\r\n\r\n")
    body = "".join(part.format(n=n) for n in range(1001)) + "--b--\r\n"
    resp = requests.post(emu.batch_uri, data=body, timeout=30, headers={
        "Content-Type": "multipart/mixed; boundary=b", "Authorization": f"Bearer {token}"})
    assert resp.status_code == 400
    small = "".join(part.format(n=n) for n in range(2)) + "--b--\r\n"
    resp = requests.post(emu.batch_uri, data=small, timeout=30, headers={
        "Content-Type": "multipart/mixed; boundary=b", "Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert resp.text.count("HTTP/1.1 200 OK") == 2  # outer Authorization inherited by parts
    assert "Content-ID: <response-x+1>" in resp.text
