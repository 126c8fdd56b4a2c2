"""The connect flow of the sync service against the emulator: flows kept in the database.

Two service instances on two store objects sharing one database stand in for two sidecar
processes behind a balancer without sticky routing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bridge.config import Settings, load
from bridge.errors import FlowError
from bridge.store import SqlStore, open_store, schema
from bridge.sync.service import SyncService
from emulators.google.server import (
    ALICE,
    BOB,
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    EmulatorServer,
)
from tests.admin.emulator_support import SHARED, follow_consent, seed_for
from tests.sync.conftest import CAL, SECRET, TZ, make_engine


def _settings(emu: EmulatorServer) -> Settings:
    return load("/nonexistent.toml", env={}).with_overrides(
        google={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "token_uri": emu.token_uri, "auth_uri": emu.base_url + "/o/oauth2/v2/auth",
                "revoke_uri": emu.base_url + "/revoke", "api_endpoint": emu.api_endpoint},
        security={"secret_key": SECRET})


@pytest.fixture
def stores(sqlite_url: str) -> Iterator[tuple[SqlStore, SqlStore]]:
    """Two store objects on one database (two sidecar processes)."""
    first = open_store(sqlite_url)
    first.create_user("alice", "x")
    first.create_collection(CAL, tag="VCALENDAR", timezone=TZ)
    second = open_store(sqlite_url)
    yield first, second
    first.close()
    second.close()


def _services(emu: EmulatorServer, stores: tuple[SqlStore, SqlStore]
              ) -> tuple[SyncService, SyncService]:
    emu.hooks.reset(seed_for([REDIRECT_URI]))
    emu.hooks.config(auto_consent=True, auto_consent_account=ALICE)
    settings = _settings(emu)
    return tuple(SyncService(st, settings, make_engine(st, emu)) for st in stores)  # type: ignore[return-value]


def _callback(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(follow_consent(url)).query).items()}


def _flow_rows(store: SqlStore) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(schema.oauth_flows)).all())


async def test_flow_started_on_one_process_finishes_on_another(
    emu_server: EmulatorServer, stores: tuple[SqlStore, SqlStore]
) -> None:
    one, two = _services(emu_server, stores)
    url = one.start_connect(CAL, "session-a", redirect_uri=REDIRECT_URI)
    query = parse_qs(urlsplit(url).query)
    state = query["state"][0]
    rows = _flow_rows(stores[0])
    assert len(rows) == 1
    row = rows[0]
    # Only the hash of state is stored; the verifier is sealed (and bound to that hash).
    assert row.state_hash == hashlib.sha256(state.encode()).hexdigest()
    assert state.encode() not in bytes(row.verifier_enc) and state not in repr(tuple(row))
    assert row.session_ref == "session-a" and row.collection_path == CAL
    assert row.expires_at - row.created_at == pytest.approx(600)
    back = _callback(url)
    result = await two.finish_connect("session-a", back["state"], code=back["code"])
    assert result.account_email == ALICE and not result.reconnected
    assert {c.id for c in result.calendars} == {ALICE, SHARED}
    assert _flow_rows(stores[0]) == []
    # Replayed on either process: the state was used up.
    for service in (one, two):
        with pytest.raises(FlowError) as refused:
            await service.finish_connect("session-a", back["state"], code=back["code"])
        assert refused.value.reason == "state"
    assert len(stores[0].list_connections()) == 1


async def test_foreign_session_and_expired_flows_are_refused(
    emu_server: EmulatorServer, stores: tuple[SqlStore, SqlStore]
) -> None:
    one, two = _services(emu_server, stores)
    back = _callback(one.start_connect(CAL, "session-a", redirect_uri=REDIRECT_URI))
    with pytest.raises(FlowError) as refused:
        await two.finish_connect("session-b", back["state"], code=back["code"])
    assert refused.value.reason == "state" and "another session" in str(refused.value)
    # A leaked callback URL is burnt by the foreign attempt: the owner cannot use it either.
    with pytest.raises(FlowError):
        await one.finish_connect("session-a", back["state"], code=back["code"])
    assert _flow_rows(stores[0]) == []
    # Expired after ten minutes (the store's clock decides), and cleaned up.
    back = _callback(one.start_connect(CAL, "session-a", redirect_uri=REDIRECT_URI))
    one.start_connect(CAL, "session-a", redirect_uri=REDIRECT_URI)  # never finished
    assert len(_flow_rows(stores[0])) == 2
    stores[1].clock = lambda: time.time() + 601
    with pytest.raises(FlowError) as refused:
        await two.finish_connect("session-a", back["state"], code=back["code"])
    assert refused.value.reason == "state"
    assert _flow_rows(stores[0]) == []
    assert stores[0].list_connections() == []


async def test_no_writable_calendar_writes_nothing_and_revokes(
    emu_server: EmulatorServer, stores: tuple[SqlStore, SqlStore]
) -> None:
    one, _ = _services(emu_server, stores)
    emu_server.hooks.config(auto_consent_account=BOB)
    back = _callback(one.start_connect(CAL, "session-a", redirect_uri=REDIRECT_URI))
    with pytest.raises(FlowError) as refused:
        await one.finish_connect("session-a", back["state"], code=back["code"])
    assert refused.value.reason == "no_writable"
    # The account is known from its primary calendar, which it may only read.
    assert refused.value.account_email == BOB and BOB in str(refused.value)
    assert stores[0].list_connections() == []
    assert _flow_rows(stores[0]) == []
    tokens = emu_server.run(lambda st: [rt.revoked for rt in st.refresh_tokens.values()
                                        if rt.account == BOB])
    assert tokens == [True]
