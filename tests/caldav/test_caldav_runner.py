"""``bridge.runner.run``: CalDAV (and the sidecar when present) start and stop together."""

from __future__ import annotations

import base64
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bridge.runner import run
from bridge.store import open_store
from tests.caldav.caldav_support import password, populate, settings_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, user: str | None = None) -> int:
    request = urllib.request.Request(url, method="GET")
    if user:
        token = base64.b64encode(f"{user}:{password(user)}".encode()).decode()
        request.add_header("Authorization", "Basic " + token)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _wait_for(url: str, user: str | None = None) -> int:
    deadline = time.monotonic() + 15
    while True:
        try:
            return _get(url, user)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_run_serves_caldav_and_sidecar_and_stops(sqlite_url: str, tmp_path: Path) -> None:
    store = open_store(sqlite_url)
    populate(store)
    dav_port, http_port, metrics_port = _free_port(), _free_port(), _free_port()
    settings = settings_for(sqlite_url, tmp_path).with_overrides(
        dav={"port": dav_port}, http={"port": http_port, "metrics_port": metrics_port})
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(
        run(settings, store, dav=True, sidecar=True, stop_event=stop)))
    thread.start()
    try:
        base = f"http://127.0.0.1:{dav_port}"
        assert _wait_for(base + "/alice/work/", "alice") == 200
        assert _get(base + "/alice/work/") == 401
        assert _wait_for(f"http://127.0.0.1:{http_port}/healthz") == 200
        # /metrics: on the loopback metrics listener only (no token configured).
        assert _wait_for(f"http://127.0.0.1:{metrics_port}/metrics") == 200
        assert _get(f"http://127.0.0.1:{http_port}/metrics") == 404
    finally:
        stop.set()
        thread.join(timeout=20)
        store.close()
    assert result == [0]
    with socket.socket() as sock:  # the CalDAV port is free again (nobody listens)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", dav_port))


def test_cli_dav_first_start_and_sigterm(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    port = _free_port()
    config = tmp_path / "bridge.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "bridge.db"}"\n'
                      f'data_dir = "{tmp_path}"\n[dav]\nport = {port}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("TERMIN_BRIDGE_")}
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "--config", str(config), "dav"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert "admin" in line and "shown once" in line
        admin_password = line.rsplit(" ", 1)[1].strip()
        url = f"http://127.0.0.1:{port}/admin/"
        deadline = time.monotonic() + 20
        while True:
            try:
                request = urllib.request.Request(url, method="PROPFIND")
                token = base64.b64encode(f"admin:{admin_password}".encode()).decode()
                request.add_header("Authorization", "Basic " + token)
                with urllib.request.urlopen(request, timeout=5) as response:
                    assert response.status == 207
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_example_ini_runs_stock_radicale_on_the_store(sqlite_url: str, tmp_path: Path) -> None:
    import radicale.config
    from radicale.app import Application

    from tests.caldav.caldav_support import Dav

    ini = Path(__file__).resolve().parents[2] / "config" / "radicale.example.ini"
    configuration = radicale.config.load([(str(ini), False)])
    configuration.update({"storage": {"bridge_db_url": sqlite_url,
                                      "filesystem_folder": str(tmp_path)},
                          "auth": {"delay": "0.01"}}, "test")
    store = open_store(sqlite_url)
    populate(store)
    try:
        client = Dav(Application(configuration), store, settings_for(sqlite_url, tmp_path))
        body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:displayname/>'
                '</D:prop></D:propfind>')
        resp = client.request("PROPFIND", "/alice/work/", body, headers={"Depth": "0"})
        assert resp.status == 207 and "Work" in resp.text
        assert client.request("GET", "/bob/private/").status == 403
    finally:
        from radicale_plugins.store_registry import unregister_store

        unregister_store(sqlite_url)
        store.close()
