"""The Graph notification receiver: validation handshake, clientState check, lifecycle events,
and answers that are never 5xx (HTTP posts shaped like Graph's, see
../shared/microsoft-graph-calendar.md §7)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bridge.store import SqlStore, open_store
from bridge.sync import graph_webhook
from bridge.sync.engine import SyncEngine
from bridge.sync.graph_webhook import (
    LIFECYCLE_PATH,
    MAX_BODY,
    NOTIFY_PATH,
    parse_notices,
    setup_graph_webhook,
)
from tests.sync.conftest import fast_options

SUB = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
STATE = "client-state-secret-" + "k" * 20


@pytest.fixture
def wstore(sqlite_url: str) -> Iterator[SqlStore]:
    """A store with one connection whose subscription is ``SUB``."""
    store = open_store(sqlite_url)
    store.create_user("alice", "x")
    store.create_collection("alice/work", tag="VCALENDAR", timezone="Europe/Berlin")
    record = store.create_connection("alice/work", account_email="a@example.com")
    store.update_connection(record.id, channel_id="chan", channel_resource_id=SUB,
                            channel_token=STATE, channel_expiry=time.time() + 3600)
    yield store
    store.close()


class Recorder:
    """What the receiver asked of the engine."""

    def __init__(self) -> None:
        self.pulls: list[tuple[int, str]] = []
        self.renewals: list[tuple[int, bool]] = []


@pytest.fixture
async def hook(aiohttp_client: Any, wstore: SqlStore, monkeypatch: pytest.MonkeyPatch
               ) -> tuple[TestClient[Any, Any], Recorder, SyncEngine]:
    engine = SyncEngine(wstore, fast_options(), providers={})
    rec = Recorder()
    monkeypatch.setattr(engine, "request_pull",
                        lambda cid, trigger="notification": rec.pulls.append((cid, trigger)))
    monkeypatch.setattr(engine, "context", lambda record: record)

    async def renew(ctx: Any, *, gone: bool) -> bool:
        rec.renewals.append((ctx.id, gone))
        return True

    monkeypatch.setattr(graph_webhook, "renew_channel", renew)
    app = web.Application()
    setup_graph_webhook(app, engine)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    return client, rec, engine


def _change(state: str | None = STATE, sub: str = SUB, kind: str = "updated") -> dict[str, Any]:
    item: dict[str, Any] = {
        "subscriptionId": sub, "subscriptionExpirationDateTime": "2030-03-20T11:00:00Z",
        "changeType": kind, "tenantId": "t", "resource": "Users/u/Events/AAMk1",
        "resourceData": {"@odata.type": "#Microsoft.Graph.Event",
                         "@odata.id": "Users/u/Events/AAMk1", "@odata.etag": "W/\"1\"",
                         "id": "AAMk1"}}
    if state is not None:
        item["clientState"] = state
    return item


def _lifecycle(event: str, state: str = STATE) -> dict[str, Any]:
    return {"subscriptionId": SUB, "subscriptionExpirationDateTime": "2030-03-20T11:00:00Z",
            "tenantId": "t", "clientState": state, "lifecycleEvent": event}


async def _until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 20
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("path", [NOTIFY_PATH, LIFECYCLE_PATH])
async def test_validation_token_is_echoed_as_plain_text(hook: Any, path: str) -> None:
    client, rec, _ = hook
    token = "Validation: Testing client application reachability <b>x</b> & more"
    resp = await client.post(f"{path}?validationToken={quote(token)}")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert await resp.text() == token  # URL-decoded, verbatim
    too_long = await client.post(f"{path}?validationToken={'x' * 5000}")
    assert too_long.status == 400
    assert rec.pulls == [] and rec.renewals == []


async def test_changes_with_the_right_client_state_request_one_pull_each(hook: Any) -> None:
    client, rec, engine = hook
    cid = engine.store.list_connections()[0].id
    resp = await client.post(NOTIFY_PATH, json={"value": [_change(), _change(kind="created")]})
    assert resp.status == 202
    await _until(lambda: len(rec.pulls) == 2)
    assert rec.pulls == [(cid, "notification")] * 2
    assert engine.metrics.notifications["updated"] == 1
    assert engine.metrics.notifications["created"] == 1


async def test_a_large_batch_arriving_in_chunks_is_read_whole(hook: Any) -> None:
    client, rec, _ = hook
    notices = [_change() for _ in range(1500)]  # ~600 KB: many chunks on the wire
    resp = await client.post(NOTIFY_PATH, json={"value": notices})
    assert resp.status == 202
    await _until(lambda: len(rec.pulls) == 1500)


async def test_wrong_or_missing_client_state_and_unknown_subscriptions_are_ignored(
    hook: Any
) -> None:
    client, rec, engine = hook
    items = [_change(STATE[:-1] + "x"), _change(None), _change(sub="other"), _change("")]
    resp = await client.post(NOTIFY_PATH, json={"value": items})
    assert resp.status == 202
    await _until(lambda: engine.metrics.notifications["ignored"] == 4)
    assert rec.pulls == []


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"value": 3}', b'{"value": [1]}',
                                  b'{"value": [{"subscriptionId": 5}]}', b"\xff\xfe"])
async def test_malformed_bodies_are_400(hook: Any, body: bytes) -> None:
    client, rec, _ = hook
    resp = await client.post(NOTIFY_PATH, data=body,
                             headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert rec.pulls == []


async def test_oversized_body_is_refused(hook: Any) -> None:
    client, rec, _ = hook
    resp = await client.post(NOTIFY_PATH, data=b" " * (MAX_BODY + 10),
                             headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert rec.pulls == []


async def test_lifecycle_events(hook: Any) -> None:
    client, rec, engine = hook
    cid = engine.store.list_connections()[0].id
    resp = await client.post(LIFECYCLE_PATH,
                             json={"value": [_lifecycle("reauthorizationRequired")]})
    assert resp.status == 202
    await _until(lambda: rec.renewals == [(cid, False)])
    assert rec.pulls == []  # a renewal only: nothing was missed
    resp = await client.post(LIFECYCLE_PATH, json={"value": [_lifecycle("subscriptionRemoved")]})
    assert resp.status == 202
    await _until(lambda: rec.renewals == [(cid, False), (cid, True)] and len(rec.pulls) == 1)
    resp = await client.post(LIFECYCLE_PATH, json={"value": [_lifecycle("missed")]})
    assert resp.status == 202
    await _until(lambda: len(rec.pulls) == 2)
    # A lifecycle event with a wrong client state, and an unknown event, change nothing.
    resp = await client.post(LIFECYCLE_PATH, json={"value": [
        _lifecycle("subscriptionRemoved", "forged"), _lifecycle("somethingNew")]})
    assert resp.status == 202
    await _until(lambda: engine.metrics.notifications["ignored"] == 2)
    assert len(rec.renewals) == 2 and len(rec.pulls) == 2


def test_parse_notices_reads_graph_bodies() -> None:
    body = json.dumps({"value": [_change(), _lifecycle("missed")]}).encode()
    notices = parse_notices(body)
    assert [(n.subscription_id, n.client_state, n.kind) for n in notices] == [
        (SUB, STATE, "updated"), (SUB, STATE, "missed")]
    with pytest.raises(ValueError):
        parse_notices(b'{"value": [{"subscriptionId": "s", "clientState": 1}]}')
