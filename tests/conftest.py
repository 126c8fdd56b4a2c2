"""Shared fixtures: stores on SQLite and PostgreSQL (one fresh schema per test) and the Google
and Microsoft emulators (one each per test worker, reset for each test)."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from bridge.bootstrap import open_bridge_store
from bridge.store import SqlStore
from emulators.ews.server import EwsEmulatorServer
from emulators.ews.server import basic_seed as ews_basic_seed
from emulators.google.server import EmulatorServer, basic_seed
from emulators.microsoft.server import MsEmulatorServer
from emulators.microsoft.server import basic_seed as ms_basic_seed

PG_URL = os.environ.get(
    "TERMIN_BRIDGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("TERMIN_BRIDGE_REQUIRE_POSTGRES") == "1"


@pytest.fixture(autouse=True)
def _exchange_policies_per_test() -> Iterator[None]:
    """exchangelib's adapter keeps one policy per EWS origin for the whole process (the
    operator's, the same for every connection in production); tests give one emulator origin
    different policies (a refused private range, no CA file), so each test's are forgotten
    after it instead of leaking into the next test on the same worker."""
    tls = sys.modules.get("bridge.exchange.tls")
    saved = dict(tls._POLICIES) if tls is not None else None
    yield
    tls = sys.modules.get("bridge.exchange.tls")
    if tls is not None:
        with tls._LOCK:
            tls._POLICIES.clear()
            tls._POLICIES.update(saved or {})


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return False
    return True


_PG_OK: bool | None = None


def postgres_url_or_skip() -> Iterator[str]:
    """Yield a URL to a fresh PostgreSQL schema; skip only when no server (never in CI)."""
    global _PG_OK
    if _PG_OK is None:
        _PG_OK = _pg_available()
    if not _PG_OK:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (CI) but not reachable at {PG_URL}")
        pytest.skip("no PostgreSQL server reachable")
    schema = "tb_" + secrets.token_hex(6)
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[str]:
    """A database URL for each back end: SQLite in a temp dir, PostgreSQL in a fresh schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'bridge.db'}"
    else:
        yield from postgres_url_or_skip()


@pytest.fixture
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite database URL in a temp dir."""
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'bridge.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL with a fresh schema."""
    yield from postgres_url_or_skip()


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    """A migrated, empty store on each back end."""
    st = open_bridge_store(store_url)
    try:
        yield st
    finally:
        st.close()


@pytest.fixture(scope="session")
def emu_server() -> Iterator[EmulatorServer]:
    """The offline Google (Calendar API v3 + OAuth) on a free port, one per test worker."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def emu(emu_server: EmulatorServer) -> EmulatorServer:
    """The emulator reset to :func:`basic_seed` (two accounts, Alice and Bob, one OAuth client)."""
    emu_server.hooks.reset(basic_seed())
    return emu_server


@pytest.fixture(scope="session")
def ms_emu_server() -> Iterator[MsEmulatorServer]:
    """The offline Microsoft identity platform + Graph over https, one per test worker."""
    with MsEmulatorServer() as server:
        yield server


@pytest.fixture
def ms_emu(ms_emu_server: MsEmulatorServer) -> MsEmulatorServer:
    """The Microsoft emulator reset to its ``basic_seed`` (Adele, Megan, Pat, one app)."""
    ms_emu_server.hooks.reset(ms_basic_seed())
    return ms_emu_server


@pytest.fixture(scope="session")
def ews_emu_server() -> Iterator[EwsEmulatorServer]:
    """The offline Exchange Web Services emulator over http, one per test worker."""
    with EwsEmulatorServer() as server:
        yield server


@pytest.fixture
def ews_emu(ews_emu_server: EwsEmulatorServer) -> EwsEmulatorServer:
    """The EWS emulator reset to its ``basic_seed`` (Adele with a second calendar, Megan),
    no faults, default knobs."""
    ews_emu_server.hooks.reset(ews_basic_seed())
    ews_emu_server.hooks.clear_faults()
    ews_emu_server.hooks.call("POST", "rate_limit", {})
    ews_emu_server.run(lambda state: state.config.__init__())
    return ews_emu_server

@pytest.fixture
def msal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override msal's ``verify=``; the
    tests want msal to trust exactly the emulator's CA."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
