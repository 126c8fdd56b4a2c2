"""The calendar view over HTTP: pages, data, the booking rules on its writes, access, scope."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bridge.ical import parse_resource
from bridge.passwords import hash_password
from bridge.store import SqlStore
from tests.booking.cases import CASES, NOW, Case, seed

from .conftest import STAFF_PASSWORD, csrf_of, login

Client = TestClient[Any, Any]
CAL = "staff/praxis"
BASE = f"/admin/calendar/{CAL}"
JSON = {"Accept": "application/json"}


@pytest.fixture
def seeded(admin_store: SqlStore) -> SqlStore:
    seed(admin_store, CAL)
    admin_store.clock = lambda: NOW
    return admin_store


async def _token(client: Client) -> str:
    return await csrf_of(client, BASE + "?date=2026-06-01")


def _local(iso: str) -> str:
    return iso[:16]


async def test_week_view_shows_appointments(client: Client, seeded: SqlStore) -> None:
    await login(client)
    resp = await client.get(BASE + "?date=2026-06-03")
    html = await resp.text()
    assert resp.status == 200
    assert "Europe/Berlin" in html  # the zone is named
    assert 'data-uid="erika"' in html and "Beratung - Erika Mustermann" in html
    assert 'data-uid="team"' in html and 'data-rid="20260602T100000Z"' in html  # a series
    assert "Praxis geschlossen" in html  # all-day row
    assert "Booking API" in html and "Phone (CalDAV)" in html  # origins
    # The other views render too, and previous/next move by their own period.
    for view in ("day", "month", "agenda"):
        page = await client.get(BASE + f"?view={view}&date=2026-06-01")
        assert page.status == 200 and 'data-uid="erika"' in await page.text()
    month = await (await client.get(BASE + "?view=month&date=2026-06-03")).text()
    assert 'id="cal-prev" href="?view=month&amp;date=2026-05-01"' in month
    data = await (await client.get(BASE + "/data?from=2026-06-01&to=2026-06-08")).json()
    assert data["timezone"] == "Europe/Berlin"
    team = [e for e in data["items"] if e["uid"] == "team"]
    assert [e["start"] for e in team] == ["2026-06-02T12:00+02:00"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_rules_on_the_view(client: Client, seeded: SqlStore, case: Case) -> None:
    await login(client)
    token = await _token(client)
    form = {"csrf_token": token, "title": "Test", "start": case.start[:16],
            "end": case.end[:16]}
    resp = await client.post(BASE + "/save", data=form, headers=JSON)
    body = await resp.json()
    if not case.rules:
        assert resp.status == 200, body
        return
    assert resp.status == 409
    assert body["rules"] == list(case.rules)
    if case.conflict:
        assert [c["uid"] for c in body["conflicts"]] == [case.conflict]
    assert body["suggestions"]
    # The form (no script) shows the refusal with the slots and the confirm step.
    page = await client.post(BASE + "/save", data=form)
    html = await page.text()
    assert page.status == 409 and 'name="allow_conflict"' in html and 'name="slot"' in html
    # A suggested slot is free.
    slot = body["suggestions"][0]
    ok = await client.post(BASE + "/save", headers=JSON, data=form | {
        "start": slot["start"], "end": slot["end"]})
    assert ok.status == 200, await ok.text()


async def test_override_is_confirmed_and_recorded(client: Client, seeded: SqlStore) -> None:
    await login(client)
    token = await _token(client)
    overlap = next(c for c in CASES if c.name == "overlap")
    form = {"csrf_token": token, "title": "Notfall", "date": overlap.start[:10],
            "start_time": overlap.start[11:16], "end_time": overlap.end[11:16],
            "allow_conflict": "1"}
    resp = await client.post(BASE + "/save", data=form, allow_redirects=False)
    assert resp.status == 303
    item = next(i for i in seeded.list_items(CAL) if i.summary == "Notfall")
    assert item.origin == "admin"
    rows = [r for r in seeded.query_ledger(collection_path=CAL, uid=item.uid)
            if r.action == "override"]
    assert len(rows) == 1 and rows[0].detail["by"] == "admin admin"
    assert rows[0].trigger == "admin" and rows[0].detail["conflicts"] == ["erika"]


async def test_csrf_on_every_write(client: Client, seeded: SqlStore) -> None:
    await login(client)
    for path in ("/save", "/delete"):
        resp = await client.post(BASE + path, data={"uid": "erika", "start": "2026-06-01T11:00",
                                                     "end": "2026-06-01T11:30"})
        assert resp.status == 403
    assert seeded.get_item_by_uid(CAL, "erika") is not None


async def test_move_edit_and_delete(client: Client, seeded: SqlStore) -> None:
    await login(client)
    token = await _token(client)
    erika = seeded.get_item_by_uid(CAL, "erika")
    assert erika is not None
    # Drag to Friday 11:00 (the JSON the script posts).
    resp = await client.post(BASE + "/save", headers=JSON, data={
        "csrf_token": token, "uid": "erika", "etag": erika.etag, "start": "2026-06-05T11:00",
        "end": "2026-06-05T11:30", "was_start": "2026-06-01T10:00",
        "was_end": "2026-06-01T10:30"})
    assert resp.status == 200, await resp.text()
    moved = seeded.get_item_by_uid(CAL, "erika")
    assert moved is not None and "20260605T110000" in moved.text
    assert moved.customer_name == "Erika Mustermann"  # the rest stays
    # A stale etag is refused.
    stale = await client.post(BASE + "/save", headers=JSON, data={
        "csrf_token": token, "uid": "erika", "etag": erika.etag, "start": "2026-06-05T12:00",
        "end": "2026-06-05T12:30"})
    assert stale.status == 412
    # Editing the title keeps the time (no rule check even though the form posts times).
    form = await client.get(BASE + "/event?uid=erika")
    assert form.status == 200 and 'value="11:00"' in await form.text()
    resp = await client.post(BASE + "/delete", headers=JSON, data={
        "csrf_token": token, "uid": "erika"})
    assert resp.status == 200
    assert seeded.get_item_by_uid(CAL, "erika") is None


async def test_series_this_one_or_all(client: Client, seeded: SqlStore) -> None:
    await login(client)
    token = await _token(client)
    # Move only the 2 June instance of the Tuesday meeting to 14:00.
    resp = await client.post(BASE + "/save", headers=JSON, data={
        "csrf_token": token, "uid": "team", "rid": "20260602T100000Z", "scope": "this",
        "start": "2026-06-02T14:00", "end": "2026-06-02T15:00"})
    assert resp.status == 200, await resp.text()
    data = await (await client.get(BASE + "/data?from=2026-06-01&to=2026-06-15")).json()
    starts = sorted(e["start"] for e in data["items"] if e["uid"] == "team")
    assert starts == ["2026-06-02T14:00+02:00", "2026-06-09T12:00+02:00"]
    # Move the whole series from the 9 June instance to Wednesday 08:00 (outside the hours:
    # confirmed) and its weekday follows.
    resp = await client.post(BASE + "/save", headers=JSON, data={
        "csrf_token": token, "uid": "team", "rid": "20260609T100000Z", "scope": "series",
        "start": "2026-06-10T08:00", "end": "2026-06-10T09:00", "allow_conflict": "1"})
    assert resp.status == 200, await resp.text()
    data = await (await client.get(BASE + "/data?from=2026-06-08&to=2026-06-22")).json()
    starts = sorted(e["start"] for e in data["items"] if e["uid"] == "team")
    assert starts == ["2026-06-10T08:00+02:00", "2026-06-17T08:00+02:00"]
    # Delete one instance.
    resp = await client.post(BASE + "/delete", headers=JSON, data={
        "csrf_token": token, "uid": "team", "rid": "20260610T060000Z", "scope": "this"})
    assert resp.status == 200, await resp.text()
    data = await (await client.get(BASE + "/data?from=2026-06-08&to=2026-06-22")).json()
    assert sorted(e["start"] for e in data["items"] if e["uid"] == "team") == [
        "2026-06-17T08:00+02:00"]


async def test_staff_see_own_and_granted(client: Client, seeded: SqlStore) -> None:
    seeded.create_user("other", hash_password(STAFF_PASSWORD), role="staff")
    for path in ("other/private", "other/shared", "other/readonly"):
        seeded.create_collection(path, tag="VCALENDAR", props={}, timezone="Europe/Berlin")
    seeded.set_grant("other/shared", "staff", "write")
    seeded.set_grant("other/readonly", "staff", "read")
    await login(client, user="staff", password=STAFF_PASSWORD)
    home = await client.get("/admin/calendar/staff/praxis")
    html = await home.text()
    assert "/other/shared/" in html and "/other/readonly/" in html
    assert "/other/private/" not in html
    assert (await client.get("/admin/calendar/other/private")).status == 404
    assert (await client.get("/admin/calendar/other/readonly")).status == 200
    token = csrf_from_page(html)
    resp = await client.post("/admin/calendar/other/readonly/save", headers=JSON, data={
        "csrf_token": token, "start": "2026-06-01T11:00", "end": "2026-06-01T11:30"})
    assert resp.status == 403
    resp = await client.post("/admin/calendar/other/shared/save", headers=JSON, data={
        "csrf_token": token, "title": "x", "start": "2026-06-01T11:00",
        "end": "2026-06-01T11:30"})
    assert resp.status == 200
    # Staff are not offered the ledger.
    item = seeded.list_items("other/shared")[0]
    page = await (await client.get(f"/admin/calendar/other/shared/event?uid={item.uid}")).text()
    assert "/admin/ledger" not in page


def csrf_from_page(html: str) -> str:
    match = re.search(r'data-csrf="([^"]+)"', html)
    assert match
    return match.group(1)


async def test_two_thousand_appointments_render(client: Client, admin_store: SqlStore) -> None:
    texts = []
    for i in range(2000):
        day, minute = 1 + i % 7, (i // 7) * 2 % 1380
        texts.append(parse_resource(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:bulk-{i}\r\nDTSTAMP:20260101T000000Z\r\n"
            f"DTSTART:202606{day:02d}T{minute // 60:02d}{minute % 60:02d}00Z\r\n"
            f"DURATION:PT30M\r\nSUMMARY:Termin {i}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
    admin_store.bulk_put(CAL, texts, origin="import")
    await login(client)
    resp = await client.get(BASE + "?date=2026-06-03")
    html = await resp.text()
    assert resp.status == 200 and html.count('class="cal-entry') == 2000
    month = await client.get(BASE + "?view=month&date=2026-06-03")
    assert month.status == 200 and "+{n} more" not in await month.text()


async def test_form_fields_are_cleaned_and_checked(client: Client, seeded: SqlStore) -> None:
    await login(client)
    token = await _token(client)
    form = {"csrf_token": token, "title": "Zwei\r\nZeilen", "start": "2026-06-01T11:00",
            "end": "2026-06-01T11:30", "customer_name": "Max", "customer_email": "kein-mail"}
    bad = await client.post(BASE + "/save", data=form, headers=JSON)
    assert bad.status == 422
    ok = await client.post(BASE + "/save", data=form | {"customer_email": "max@example.org"},
                           headers=JSON)
    assert ok.status == 200
    item = next(i for i in seeded.list_items(CAL) if i.customer_name == "Max")
    assert item.summary == "Zwei Zeilen" and item.customer_email == "max@example.org"
