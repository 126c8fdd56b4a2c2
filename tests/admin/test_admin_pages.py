"""Status banners, interval, conflicts (escaped, resolvable), ledger search and ICS feeds."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from bridge.store import SqlStore
from bridge.store.sync import LedgerEntry
from bridge.store.valve import HeldDeletion
from tests.helpers import parsed

from .conftest import csrf_of, login

Client = TestClient[Any, Any]
CAL = "staff/praxis"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _connect(store: SqlStore, **values: Any) -> int:
    record = store.create_connection(CAL, account_email="alice@example.com",
                                     remote_calendar_id="c_1@group.calendar.google.com",
                                     remote_calendar_name="Termine " + XSS)
    # Paused: the engine leaves it alone (no network in these tests).
    store.update_connection(record.id, active=True, paused_reason="would delete 40 of 50 "
                            "events", **values)
    store.update_connection_state(record.id, {"import": {"phase": "done", "seen": 3}})
    return record.id


async def test_status_page_banners_and_escaping(client: Client, admin_store: SqlStore) -> None:
    cid = _connect(admin_store, status="needs_reconnect", last_error="invalid_grant")
    assert (await login(client)).status == 303
    resp = await client.get(f"/admin/sync/{CAL}")
    html = await resp.text()
    assert resp.status == 200
    assert 'id="needs-reconnect"' in html and 'id="reconnect"' in html
    assert 'id="paused"' in html and 'id="pause-confirm"' in html and 'id="pause-cancel"' in html
    assert XSS not in html and "&lt;script&gt;" in html
    overview = await (await client.get("/admin/sync")).text()
    assert "reconnect needed" in overview and XSS not in overview
    token = await csrf_of(client, f"/admin/sync/{CAL}")
    resp = await client.post(f"/admin/sync/{CAL}/interval",
                             data={"csrf_token": token, "minutes": "2,5"})
    assert resp.status == 200 and "Sync interval saved." in await resp.text()
    assert admin_store.get_connection(cid).poll_interval == 150
    resp = await client.post(f"/admin/sync/{CAL}/interval",
                             data={"csrf_token": token, "minutes": "0.1"})
    assert "between 1 minute and 24 hours" in await resp.text()
    assert admin_store.get_connection(cid).poll_interval == 150
    resp = await client.post(f"/admin/sync/{CAL}/pause/cancel", data={"csrf_token": token})
    assert "Nothing was deleted" in await resp.text()
    assert admin_store.get_connection(cid).paused_reason


async def test_conflict_inbox_escapes_and_resolves(client: Client,
                                                   admin_store: SqlStore) -> None:
    cid = _connect(admin_store)
    admin_store.put_item(CAL, "a.ics", parsed("uid-a", summary="Kept " + XSS), origin="google")
    coll = admin_store.get_collection(CAL)
    assert coll is not None
    admin_store.add_ledger([LedgerEntry(
        "both", "poll", "conflict", "open", cid, coll.id, "uid-a",
        remote_id="evt1", detail={
            "reason": "both changed", "winner": "local",
            "loser": {"side": "google", "event": {"master": {
                "id": "evt1", "iCalUID": "uid-a", "summary": "Lost " + XSS,
                "start": {"dateTime": "2030-01-07T09:00:00Z"},
                "end": {"dateTime": "2030-01-07T10:00:00Z"}}}}})])
    assert (await login(client)).status == 303
    resp = await client.get("/admin/conflicts")
    html = await resp.text()
    assert "Kept &lt;script&gt;" in html and "Lost &lt;script&gt;" in html
    assert XSS not in html
    ledger_id = re.search(r'id="conflict-(\d+)"', html)
    assert ledger_id
    token = await csrf_of(client, "/admin/conflicts")
    resp = await client.post(f"/admin/conflicts/{ledger_id.group(1)}",
                             data={"csrf_token": token, "keep": "winner"})
    assert "Conflict resolved." in await resp.text()
    assert 'id="no-conflicts"' in await (await client.get("/admin/conflicts")).text()
    # The ledger finds the appointment by its title, escaped.
    resp = await client.get("/admin/ledger", params={"q": "Kept <script>"})
    html = await resp.text()
    assert 'id="ledger-table"' in html and XSS not in html
    assert "uid-a" in html
    resp = await client.get("/admin/ledger", params={"q": "no such thing"})
    assert "Nothing found." in await resp.text()
    resp = await client.get("/admin/ledger", params={"uid": "uid-a"})
    assert "History of appointment uid-a" in await resp.text()


async def test_feed_create_copy_revoke_rotate(client: Client, admin_store: SqlStore) -> None:
    assert (await login(client)).status == 303
    token = await csrf_of(client, "/admin/feeds")
    resp = await client.post(f"/admin/feeds/{CAL}", data={
        "csrf_token": token, "privacy": "limited", "label": "Website <b>"})
    html = await resp.text()
    assert resp.status == 200
    url = re.search(r'id="feed-url" class="mono" value="([^"]+)"|value="([^"]+)" id="feed-url"',
                    html)
    assert url
    feed_url = url.group(1) or url.group(2)
    assert re.fullmatch(r"http://127\.0\.0\.1:8080/feeds/[A-Za-z0-9_-]{43}\.ics", feed_url)
    assert 'href="webcal://127.0.0.1:8080/feeds/' in html
    assert "Website &lt;b&gt;" in html
    (feed,) = admin_store.list_feeds()
    assert feed.privacy == "limited" and feed.active
    page = await (await client.get("/admin/feeds")).text()
    assert feed_url not in page, "the token is shown once only"
    resp = await client.post(f"/admin/feeds/id/{feed.id}/rotate", data={"csrf_token": token})
    assert feed_url.rsplit("/", 1)[1] not in await resp.text()
    resp = await client.post(f"/admin/feeds/id/{feed.id}/revoke", data={"csrf_token": token})
    assert "Feed revoked" in await resp.text()
    revoked = admin_store.get_feed(feed.id)
    assert revoked is not None and not revoked.active
    resp = await client.post(f"/admin/feeds/{CAL}", data={"csrf_token": token,
                                                          "privacy": "everything"})
    assert "Choose a privacy level." in await resp.text()
    assert len(admin_store.list_feeds()) == 1
    resp = await client.post("/admin/feeds/nobody/none", data={"csrf_token": token,
                                                              "privacy": "busy"})
    assert resp.status == 404


async def test_status_page_shows_restore_progress_and_held_deletions(
        client: Client, admin_store: SqlStore) -> None:
    cid = _connect(admin_store)  # stays paused: no engine touches it
    started = admin_store.clock() - 5
    admin_store.update_connection_state(cid, {"restore": {"phase": "running", "total": 5,
                                                          "started_at": started}})
    for n in range(4):  # four still waiting: one of five done
        admin_store.enqueue_push(cid, f"uid-{n}", f"uid-{n}.ics", "restore")
    admin_store.hold_deletions(cid, [HeldDeletion("uid-held", "evt-held", '"e1"',
                                                  admin_store.clock())])
    assert (await login(client)).status == 303
    html = await (await client.get(f"/admin/sync/{CAL}",
                                   headers={"Accept-Language": "en"})).text()
    assert 'id="restore-progress"' in html
    assert "1 of 5 appointments restored in Google." in html
    assert re.search(r'id="held-deletions">1<', html)
    assert "1 of 5 restored, 0 failed" in html
    html = await (await client.get(f"/admin/sync/{CAL}",
                                   headers={"Accept-Language": "de-DE"})).text()
    assert "Die behaltenen Termine werden in Google wiederhergestellt" in html
    assert "1 von 5 Terminen in Google wiederhergestellt." in html
    assert "Zurückgehaltene Löschungen aus Google" in html
    assert "1 von 5 wiederhergestellt, 0 fehlgeschlagen" in html
    # Finished (rows from before this job do not count): the figures stay in the facts.
    now = admin_store.clock() + 1
    admin_store.update_connection_state(cid, {"restore": {
        "phase": "done", "total": 4, "started_at": now, "finished_at": now + 2}})
    html = await (await client.get(f"/admin/sync/{CAL}",
                                   headers={"Accept-Language": "en"})).text()
    assert 'id="restore-progress"' not in html and "4 of 4 restored, 0 failed" in html
