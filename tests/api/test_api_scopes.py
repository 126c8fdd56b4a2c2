"""API key scopes: admin, or read/write confined to calendars; upgrades keep every key's power."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import column, insert, select, table

from bridge.errors import BridgeError, NotFound
from bridge.store import SqlStore, open_store
from bridge.store import schema as s
from bridge.store.engine import make_engine
from bridge.store.migrate import upgrade
from tests.api.conftest import CALENDAR, seed_calendar

OTHER = "bob/other"
BODY = {"start": "2030-03-04T10:00:00", "end": "2030-03-04T10:30:00",
        "customer": {"name": "Erika Muster", "email": "erika@example.com"}}


def _h(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def ids(api_store: SqlStore) -> dict[str, int]:
    """Ids of alice/work and bob/other."""
    return {CALENDAR: seed_calendar(api_store), OTHER: seed_calendar(api_store, OTHER)}


async def _create(client: Any, secret: str, calendar_id: int) -> Any:
    return await client.post(f"/api/v1/calendars/{calendar_id}/appointments", json=BODY,
                             headers=_h(secret))


async def test_confined_write_key_reaches_only_its_calendar(
    client: Any, api_store: SqlStore, ids: dict[str, int]
) -> None:
    key, secret = api_store.create_api_key("widget-alice", "write", [CALENDAR])
    assert key.scope == "write" and key.calendar_ids == frozenset({ids[CALENDAR]})
    listed = await (await client.get("/api/v1/calendars", headers=_h(secret))).json()
    assert [c["path"] for c in listed["items"]] == [CALENDAR]
    created = await _create(client, secret, ids[CALENDAR])
    assert created.status == 201, await created.text()
    own = created.headers["Location"].removeprefix("/api/v1")
    assert (await client.get("/api/v1" + own, headers=_h(secret))).status == 200
    # Another user's calendar answers exactly like a calendar that does not exist.
    missing = await client.get("/api/v1/calendars/999999", headers=_h(secret))
    for path in ("", "/appointments?from=2030-03-01&to=2030-03-31",
                 "/availability?from=2030-03-04&to=2030-03-05&duration=30",
                 "/freebusy?from=2030-03-04&to=2030-03-05"):
        resp = await client.get(f"/api/v1/calendars/{ids[OTHER]}{path}", headers=_h(secret))
        assert resp.status == 404, path
        assert resp.content_type == "application/problem+json"
        body = await resp.json()
        assert body["type"] == (await missing.json())["type"]
        assert OTHER not in await resp.text()
    assert (await _create(client, secret, ids[OTHER])).status == 404
    assert api_store.list_items(OTHER) == []
    # Notification endpoints and calendar settings need an admin key.
    for method, url in [
        ("GET", "/api/v1/notifications"),
        ("GET", "/api/v1" + own + "/notifications/preview"),
        ("PATCH", f"/api/v1/calendars/{ids[CALENDAR]}"),
        ("PATCH", f"/api/v1/calendars/{ids[OTHER]}"),
    ]:
        resp = await client.request(method, url, headers=_h(secret),
                                    json={"notifications": {"enabled": False}})
        assert resp.status == 403, (method, url)
        assert resp.content_type == "application/problem+json"
        assert (await resp.json())["type"].endswith("insufficient-scope")


async def test_confined_read_key_reads_its_calendars_only(
    client: Any, api_store: SqlStore, ids: dict[str, int]
) -> None:
    _key, secret = api_store.create_api_key("viewer", "read", [OTHER])
    listed = await (await client.get("/api/v1/calendars", headers=_h(secret))).json()
    assert [c["path"] for c in listed["items"]] == [OTHER]
    assert (await client.get(f"/api/v1/calendars/{ids[OTHER]}", headers=_h(secret))
            ).status == 200
    assert (await client.get(f"/api/v1/calendars/{ids[CALENDAR]}", headers=_h(secret))
            ).status == 404
    assert (await _create(client, secret, ids[OTHER])).status == 403  # read only
    assert (await client.get("/api/v1/notifications", headers=_h(secret))).status == 403


async def test_admin_and_unconfined_read_keys_keep_their_reach(
    client: Any, api_store: SqlStore, ids: dict[str, int]
) -> None:
    admin, admin_secret = api_store.create_api_key("ops", "admin")
    assert admin.scope == "admin" and not admin.confined
    _r, read_secret = api_store.create_api_key("reader", "read")
    for secret in (admin_secret, read_secret):
        listed = await (await client.get("/api/v1/calendars", headers=_h(secret))).json()
        assert sorted(c["path"] for c in listed["items"]) == [CALENDAR, OTHER]
        assert (await client.get("/api/v1/notifications", headers=_h(secret))).status == 200
    assert (await _create(client, admin_secret, ids[OTHER])).status == 201
    patched = await client.patch(f"/api/v1/calendars/{ids[OTHER]}", headers=_h(admin_secret),
                                 json={"notifications": {"enabled": False}})
    assert patched.status == 200
    assert (await _create(client, read_secret, ids[OTHER])).status == 403


def test_scope_rules_and_deleted_calendars(api_store: SqlStore, ids: dict[str, int]) -> None:
    key, _ = api_store.create_api_key("legacy-write", "write")
    assert key.scope == "admin" and not key.confined  # a write key over everything is admin
    with pytest.raises(BridgeError):
        api_store.create_api_key("x", "admin", [CALENDAR])
    with pytest.raises(BridgeError):
        api_store.create_api_key("x", "write", [])
    with pytest.raises(NotFound):
        api_store.create_api_key("x", "write", ["alice/none"])
    with pytest.raises(NotFound):
        api_store.create_api_key("x", "write", ["alice"])  # a principal, not a calendar
    confined, _ = api_store.create_api_key("both", "write", [CALENDAR, OTHER, CALENDAR])
    assert confined.calendar_paths == (CALENDAR, OTHER)
    api_store.delete_collection(OTHER)
    api_store.delete_collection(CALENDAR)
    (again,) = [k for k in api_store.list_api_keys() if k.id == confined.id]
    # Its calendars are gone; the key stays confined (to nothing), never becomes global.
    assert again.confined and again.calendar_ids == frozenset()
    seed_calendar(api_store, OTHER)
    assert not again.sees(api_store.get_collection(OTHER).id)  # type: ignore[union-attr]


def test_upgrade_keeps_the_power_of_existing_keys(store_url: str) -> None:
    engine = make_engine(store_url)
    upgrade(engine, "0008")
    old_keys = table("api_keys", column("name"), column("key_hash"), column("prefix"),
                     column("scope"), column("created_at"))  # the table as of 0008
    with engine.begin() as conn:
        for name, scope in (("old-reader", "read"), ("old-writer", "write")):
            conn.execute(insert(old_keys).values(
                name=name, key_hash=name.ljust(64, "0"), prefix="tbk_x", scope=scope,
                created_at=time.time()))
    engine.dispose()
    store = open_store(store_url)
    try:
        keys = {k.name: k for k in store.list_api_keys()}
        assert keys["old-writer"].scope == "admin" and not keys["old-writer"].confined
        assert keys["old-reader"].scope == "read" and not keys["old-reader"].confined
        assert keys["old-reader"].sees(12345) and not keys["old-reader"].allows("write")
        with store.engine.connect() as conn:
            assert conn.execute(select(s.api_key_calendars)).all() == []
    finally:
        store.close()


def test_schema_matches_the_migration(api_store: SqlStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import MetaData

    only = MetaData()
    for wanted in (s.api_keys, s.api_key_calendars, s.collections, s.login_attempts):
        wanted.to_metadata(only)
    with api_store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        names = ("api_keys", "api_key_calendars", "login_attempts")
        diff = [d for d in compare_metadata(context, only)
                if d[0] != "remove_table" and any(n in repr(d) for n in names)]
    assert diff == []


def test_cli_scopes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TERMIN_BRIDGE_")}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bridge", *args], cwd=tmp_path, env=env,
                              input=stdin, capture_output=True, text=True, timeout=120,
                              check=False)

    assert run("user", "add", "alice", "--password-stdin", stdin="pw\n").returncode == 0
    assert run("calendar", "add", CALENDAR).returncode == 0
    legacy = run("apikey", "create", "page")
    assert legacy.returncode == 0 and "scope read, every calendar" in legacy.stdout
    writer = run("apikey", "create", "old-script", "--scope", "write")
    assert writer.returncode == 0 and "scope admin, every calendar" in writer.stdout
    widget = run("apikey", "create", "widget", "--scope", "write", "--calendar", CALENDAR)
    assert widget.returncode == 0, widget.stderr
    assert f"scope write, calendars {CALENDAR}" in widget.stdout
    bad = run("apikey", "create", "x", "--scope", "admin", "--calendar", CALENDAR)
    assert bad.returncode == 1 and "admin key reaches every calendar" in bad.stderr
    missing = run("apikey", "create", "x", "--scope", "read", "--calendar", "alice/none")
    assert missing.returncode == 1 and "alice/none" in missing.stderr
    assert "Traceback" not in bad.stderr + missing.stderr
    listed = run("apikey", "list").stdout
    assert f"widget\twrite\tcalendars {CALENDAR}\t" in listed
    assert "old-script\tadmin\tevery calendar\t" in listed
