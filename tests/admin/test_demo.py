"""``serve --demo``: the emulator starts with the demo seed and Google settings point at it."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from pathlib import Path

import pytest

from bridge.demo import DEMO_CALENDAR, DEMO_USER, start_demo
from bridge.errors import BridgeError
from bridge.passwords import verify_password
from bridge.store import open_store

from .conftest import make_settings


def test_start_demo(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'bridge.db'}")
    settings = make_settings(tmp_path).with_overrides(http={"port": 18080})
    lines: list[str] = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo_settings, stop = start_demo(settings, store, out=lines.append, port=port)
    try:
        auth_uri = demo_settings.google.auth_uri
        assert auth_uri.startswith(f"http://127.0.0.1:{port}/")  # the port asked for
        # A second demo on the same port: one clear error naming the option.
        with pytest.raises(BridgeError, match="--demo-port"):
            start_demo(settings, None, out=lines.append, port=port)
        assert os.environ.get("OAUTHLIB_INSECURE_TRANSPORT") == "1"
        assert any("http://127.0.0.1:18080/admin/" in line for line in lines)
        password = next(line for line in lines if "password" in line).rsplit(" ", 1)[1]
        user = store.get_user(DEMO_USER)
        assert user is not None and user.role == "admin"
        assert verify_password(user.password_hash, password)
        calendar = store.get_collection(DEMO_CALENDAR)
        assert calendar is not None and calendar.tag == "VCALENDAR"
        base = auth_uri.split("/o/oauth2", 1)[0]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(base + "/_emulator/state", timeout=10) as resp:
            assert resp.status == 200 and json.loads(resp.read())
        # The demo client knows our callback URL: the consent page is shown, not an error.
        query = ("?client_id=demo-client.apps.googleusercontent.com&response_type=code"
                 "&scope=https://www.googleapis.com/auth/calendar.events"
                 "&redirect_uri=http://localhost:18080/oauth2/callback")
        with opener.open(auth_uri + query, timeout=10) as resp:
            page = resp.read().decode()
        assert "praxis@example.com" in page and 'name="account"' in page
    finally:
        stop()
    user = store.get_user(DEMO_USER)
    assert user is not None and not verify_password(user.password_hash, password)
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ
    store.close()
