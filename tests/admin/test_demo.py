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


def test_start_demo_starts_both_emulators(tmp_path: Path) -> None:
    """Both providers point at their emulators; Microsoft over https with the emulator's CA."""
    import ssl

    settings = make_settings(tmp_path).with_overrides(http={"port": 18081})
    lines: list[str] = []
    demo_settings, stop = start_demo(settings, None, out=lines.append, port=0, microsoft_port=0)
    try:
        ms = demo_settings.microsoft
        assert ms.client_id and ms.client_secret and Path(ms.ca_file).is_file()
        assert ms.authority.startswith("https://127.0.0.1:") and ms.authority.endswith("/common")
        assert ms.graph_endpoint == ms.authority.rsplit("/", 1)[0] + "/v1.0"
        assert any("Microsoft emulator" in line for line in lines)
        context = ssl.create_default_context(cafile=ms.ca_file)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=context))
        # The demo client knows our Microsoft callback: the account chooser is shown.
        query = (f"?client_id={ms.client_id}&response_type=code&scope=Calendars.ReadWrite"
                 "&redirect_uri=http://localhost:18081/oauth2/microsoft/callback")
        with opener.open(ms.authority + "/oauth2/v2.0/authorize" + query, timeout=10) as resp:
            page = resp.read().decode()
        assert "praxis@contoso.example" in page
    finally:
        stop()
    with pytest.raises(OSError):  # stopped with the demo
        opener.open(ms.authority + "/oauth2/v2.0/authorize" + query, timeout=5)


def test_start_demo_starts_the_ews_emulator(tmp_path: Path) -> None:
    """The EWS emulator runs with its demo seed; the printed URL and login work."""
    import re

    import requests

    settings = make_settings(tmp_path).with_overrides(http={"port": 18082})
    lines: list[str] = []
    _, stop = start_demo(settings, None, out=lines.append, port=0, microsoft_port=None,
                         ews_port=0)
    try:
        line = next(line for line in lines if "Exchange (EWS) emulator" in line)
        found = re.search(r"at (\S+) \(mailbox login (\S+) / (\S+)\)", line)
        assert found is not None
        url, user, password = found.groups()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/EWS/Exchange.asmx")
        assert requests.post(url, data=b"", timeout=10).status_code == 401
        ok = requests.post(url, data=b"<x/>", auth=(user, password), timeout=10)
        assert ok.status_code == 500 and b"ErrorSchemaValidation" in ok.content
    finally:
        stop()
    with pytest.raises(requests.ConnectionError):  # stopped with the demo
        requests.post(url, data=b"", timeout=5)
