"""``/metrics`` and ``/healthz``: who may read them, and no Google account in what they show."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.config import Settings, load
from bridge.google.crypto import TokenCipher
from bridge.store import SqlStore, open_store
from bridge.sync.web import SYNC_ENGINE
from bridge.web.app import create_app
from bridge.web.metrics import create_metrics_app

SECRET = "test-secret-key-for-metrics"
ACCOUNT = "praxis.owner@example.com"
TOKEN = "metrics-token-" + "q" * 30


@pytest.fixture
def mstore(sqlite_url: str) -> Iterator[SqlStore]:
    """A store with one calendar connected to ``ACCOUNT``."""
    store = open_store(sqlite_url)
    store.create_user("alice", "x")
    store.create_collection("alice/work", tag="VCALENDAR", timezone="Europe/Berlin")
    cipher = TokenCipher(SECRET)
    record = store.create_connection(
        "alice/work", account_email=ACCOUNT, remote_calendar_id=ACCOUNT,
        remote_calendar_name=ACCOUNT, scopes="calendar.events",
        seal_token=lambda cid: cipher.encrypt(cid, "refresh-token"))
    store.activate_connection(record.id, push_existing=False)
    store.update_connection(record.id, status="needs_reconnect")
    yield store
    store.close()


def _settings(tmp_path: Path, **http: Any) -> Settings:
    return load(tmp_path / "none.toml", env={}).with_overrides(
        storage={"url": "sqlite:///unused", "data_dir": str(tmp_path)},
        security={"secret_key": SECRET}, http={"metrics_port": 0, **http},
        # Nothing here may reach Google: a closed local port instead.
        google={"api_endpoint": "http://127.0.0.1:9/calendar/v3/",
                "token_uri": "http://127.0.0.1:9/token"})


async def _client(aiohttp_client: Any, settings: Settings, store: SqlStore
                  ) -> TestClient[Any, Any]:
    app = create_app(settings, store)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    engine = app[SYNC_ENGINE]
    record = store.list_connections()[0]
    assert engine.context(record) is not None  # the account's request budget now exists
    return client


async def test_public_metrics_need_the_token(aiohttp_client: Any, mstore: SqlStore,
                                             tmp_path: Path) -> None:
    client = await _client(aiohttp_client, _settings(tmp_path, metrics_token=TOKEN), mstore)
    assert (await client.get("/metrics")).status == 401
    for header in ("Bearer wrong", "Bearer " + TOKEN[:-1], "Basic " + TOKEN, TOKEN,
                   "Bearer " + TOKEN + "x"):
        resp = await client.get("/metrics", headers={"Authorization": header})
        assert resp.status == 401, header
        assert "termin_bridge" not in await resp.text()
    resp = await client.get("/metrics", headers={"Authorization": "Bearer " + TOKEN})
    assert resp.status == 200
    body = await resp.text()
    assert "termin_bridge_outbox_depth" in body
    assert 'termin_bridge_sync_budget_available{connection="1",provider="google"}' in body
    for provider in ("google", "microsoft"):
        assert f'termin_bridge_sync_retries_total{{provider="{provider}"}}' in body
    assert ACCOUNT not in body and "@" not in body and "account=" not in body


async def test_public_metrics_without_a_token_are_not_there(
    aiohttp_client: Any, mstore: SqlStore, tmp_path: Path
) -> None:
    client = await _client(aiohttp_client, _settings(tmp_path), mstore)
    resp = await client.get("/metrics")
    assert resp.status == 404
    assert "termin_bridge" not in await resp.text()


async def test_metrics_listener_serves_without_token_and_shows_no_account(
    aiohttp_client: Any, mstore: SqlStore, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    assert settings.http.metrics_host == "127.0.0.1"  # loopback by default
    main = await _client(aiohttp_client, settings, mstore)
    assert main.server.app is not None
    metrics = TestClient(TestServer(create_metrics_app(main.server.app)))
    await metrics.start_server()
    try:
        resp = await metrics.get("/metrics")
        assert resp.status == 200
        body = await resp.text()
        assert 'termin_bridge_sync_budget_available{connection="1",provider="google"}' in body
        assert ACCOUNT not in body and "@" not in body
        assert (await metrics.get("/healthz")).status == 404  # nothing else on that listener
    finally:
        await metrics.close()


async def test_metrics_listener_needs_the_token_when_one_is_set(
    aiohttp_client: Any, mstore: SqlStore, tmp_path: Path
) -> None:
    main = await _client(aiohttp_client, _settings(tmp_path, metrics_token=TOKEN), mstore)
    assert main.server.app is not None
    metrics = TestClient(TestServer(create_metrics_app(main.server.app)))
    await metrics.start_server()
    try:
        assert (await metrics.get("/metrics")).status == 401
        resp = await metrics.get("/metrics", headers={"Authorization": "Bearer " + TOKEN})
        assert resp.status == 200
    finally:
        await metrics.close()


async def test_healthz_names_no_account(aiohttp_client: Any, mstore: SqlStore,
                                        tmp_path: Path) -> None:
    client = await _client(aiohttp_client, _settings(tmp_path), mstore)
    resp = await client.get("/healthz")
    assert resp.status == 200
    body = await resp.text()
    assert '"sync_attention": [1]' in body  # connections are named by id
    assert ACCOUNT not in body and "@" not in body and "alice" not in body
