"""``termin-bridge sync …`` (provider-neutral) and its old name ``google …``, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from bridge.store import open_store
from bridge.store import schema as s


def _run(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TERMIN_BRIDGE_")}
    return subprocess.run([sys.executable, "-m", "bridge", *args], cwd=tmp_path, env=env,
                          input=stdin, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.timeout(300)
def test_sync_status_names_each_provider_and_google_is_an_alias(tmp_path: Path) -> None:
    assert _run(tmp_path, "user", "add", "alice", "--password-stdin",
                stdin="s3cret\n").returncode == 0
    for name in ("work", "home"):
        assert _run(tmp_path, "calendar", "add", f"alice/{name}").returncode == 0
    empty = _run(tmp_path, "sync", "status")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.strip() == "no calendar connections"

    store = open_store(f"sqlite:///{tmp_path / 'var/bridge.db'}")
    try:
        store.create_connection("alice/work", account_email="a@example.com",
                                remote_calendar_id="g-cal", remote_calendar_name="Praxis")
        ms = store.create_connection("alice/home", account_email="b@example.org",
                                     remote_calendar_id="AAMkAD=", remote_calendar_name="Kal")
        with store.engine.begin() as conn:
            conn.execute(update(s.connections).where(s.connections.c.id == ms.id)
                         .values(provider="microsoft"))
    finally:
        store.close()

    text = _run(tmp_path, "sync", "status")
    assert text.returncode == 0, text.stderr
    lines = [line for line in text.stdout.splitlines() if line.startswith("#")]
    assert lines == ["#1 google: /alice/work/ ⇄ g-cal [a@example.com]",
                     "#2 microsoft: /alice/home/ ⇄ AAMkAD= [b@example.org]"]
    rows = json.loads(_run(tmp_path, "sync", "status", "--json").stdout)
    assert [(r["id"], r["provider"]) for r in rows] == [(1, "google"), (2, "microsoft")]
    alias = _run(tmp_path, "google", "status")
    assert alias.returncode == 0 and alias.stdout == text.stdout
    help_text = _run(tmp_path, "--help").stdout
    assert "sync (google)" in help_text
    # Both names run the same handler (here: no secret key yet, so nothing can be re-sealed).
    old, new = _run(tmp_path, "google", "re-encrypt"), _run(tmp_path, "sync", "re-encrypt")
    assert old.returncode == new.returncode == 1
    assert old.stderr == new.stderr and "secret_key is empty" in new.stderr
