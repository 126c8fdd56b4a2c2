"""The booking API end to end: auth and scopes, CRUD, If-Match, idempotency, paging, A15."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bridge.ical.validate import parse_resource
from bridge.store import SqlStore

from .conftest import CALENDAR

BODY = {
    "start": "2026-06-01T10:00:00+02:00",
    "end": "2026-06-01T10:30:00+02:00",
    "customer": {"name": "Erika Mustermann", "email": "erika@example.org",
                 "phone": "+49 30 1234567"},
    "service": "Beratung",
    "notes": "Erster Termin",
}


def base(calendar_id: int) -> str:
    return f"/api/v1/calendars/{calendar_id}/appointments"


async def create(client: Any, calendar_id: int, auth: dict[str, str], **changes: Any) -> Any:
    resp = await client.post(base(calendar_id), json=BODY | changes, headers=auth)
    assert resp.status == 201, await resp.text()
    return resp


async def test_openapi_document_is_public(client: Any) -> None:
    resp = await client.get("/api/v1/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"] == "3.1.0"
    assert "/calendars/{calendar_id}/appointments" in doc["paths"]


@pytest.mark.parametrize("header", [None, "Bearer ", "Basic abc", "Bearer tbk_unknown",
                                    "Bearer not-a-key"])
async def test_missing_or_unknown_key_is_401(client: Any, calendar_id: int,
                                             header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    resp = await client.get(base(calendar_id), headers=headers)
    assert resp.status == 401
    assert resp.content_type == "application/problem+json"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_scopes_and_revocation(client: Any, api_store: SqlStore, calendar_id: int,
                                     keys: dict[str, str]) -> None:
    read = {"Authorization": f"Bearer {keys['read']}"}
    assert (await client.get(base(calendar_id), headers=read)).status == 200
    resp = await client.post(base(calendar_id), json=BODY, headers=read)
    assert resp.status == 403
    assert (await resp.json())["type"].endswith("insufficient-scope")
    assert api_store.list_items(CALENDAR) == []
    key_id = next(k.id for k in api_store.list_api_keys() if k.name == "reader")
    api_store.revoke_api_key(key_id)
    assert (await client.get(base(calendar_id), headers=read)).status == 401


async def test_create_read_and_store(client: Any, api_store: SqlStore, calendar_id: int,
                                     auth: dict[str, str]) -> None:
    resp = await create(client, calendar_id, auth)
    body = await resp.json()
    assert resp.headers["ETag"] == body["etag"]
    assert resp.headers["Location"] == f"{base(calendar_id)}/{body['id']}"
    assert body["start"] == "2026-06-01T10:00:00+02:00"
    assert body["customer"] == BODY["customer"]
    assert body["summary"] == "Beratung \u2013 Erika Mustermann"
    assert body["status"] == "CONFIRMED"
    assert body["source"] == "api"
    item = api_store.get_item_by_uid(CALENDAR, body["uid"])
    assert item is not None and item.origin == "api"
    assert item.customer_email == "erika@example.org" and item.service == "Beratung"
    assert "TZID=Europe/Berlin" in item.text and "BEGIN:VTIMEZONE" in item.text
    got = await client.get(resp.headers["Location"], headers=auth)
    assert got.status == 200 and got.headers["ETag"] == item.etag
    again = await client.get(resp.headers["Location"],
                             headers=auth | {"If-None-Match": item.etag})
    assert again.status == 304


async def test_local_time_and_duration(client: Any, calendar_id: int,
                                       auth: dict[str, str]) -> None:
    body = {"start": "2026-03-29T09:00:00", "duration_minutes": 45,
            "customer": {"name": "A"}}
    resp = await client.post(base(calendar_id), json=body, headers=auth)
    assert resp.status == 201, await resp.text()
    data = await resp.json()
    # the DST day: local 09:00 is already summer time
    assert data["start"] == "2026-03-29T09:00:00+02:00"
    assert data["end"] == "2026-03-29T09:45:00+02:00"


INVALID = [
    ({"start": None}, ["start"]),
    ({"start": "tomorrow"}, ["start"]),
    ({"start": "2026-03-29T02:30:00"}, ["start"]),  # does not exist in Berlin
    ({"end": "2026-06-01T09:00:00+02:00"}, ["end"]),
    ({"end": "2026-06-20T09:00:00+02:00"}, ["end"]),
    ({"end": 5}, ["end"]),
    ({"duration_minutes": 30}, ["duration_minutes"]),  # together with end
    ({"start": "1800-01-01T10:00:00Z"}, ["start"]),
    ({"customer": {"email": "x@example.org"}}, ["customer.name"]),
    ({"customer": {"name": "  "}}, ["customer.name"]),
    ({"customer": {"name": "A", "email": "not-an-address"}}, ["customer.email"]),
    ({"customer": {"name": "A", "phone": "call me"}}, ["customer.phone"]),
    ({"customer": {"name": "A", "age": 3}}, ["customer.age"]),
    ({"customer": "Erika"}, ["customer"]),
    ({"status": "MAYBE"}, ["status"]),
    ({"status": "CANCELLED"}, ["status"]),
    ({"summary": "x" * 201}, ["summary"]),
    ({"notes": 42}, ["notes"]),
    ({"service": ["a"]}, ["service"]),
    ({"colour": "red"}, ["colour"]),
    ({"start": "x", "customer": {"name": "A", "email": "bad"}, "status": "NO"},
     ["customer.email", "start", "status"]),
]


@pytest.mark.parametrize(("changes", "fields"), INVALID)
async def test_every_validation_error_names_the_field(
    client: Any, api_store: SqlStore, calendar_id: int, auth: dict[str, str],
    changes: dict[str, Any], fields: list[str],
) -> None:
    resp = await client.post(base(calendar_id), json=BODY | changes, headers=auth)
    assert resp.status == 422, await resp.text()
    assert resp.content_type == "application/problem+json"
    problem = await resp.json()
    assert problem["status"] == 422 and problem["title"]
    assert sorted({e["field"] for e in problem["errors"]}) == fields
    assert api_store.list_items(CALENDAR) == []


async def test_missing_end_and_body_shape(client: Any, calendar_id: int,
                                          auth: dict[str, str]) -> None:
    resp = await client.post(base(calendar_id), json={"start": BODY["start"]}, headers=auth)
    fields = {e["field"] for e in (await resp.json())["errors"]}
    assert fields == {"end", "customer.name"}
    resp = await client.post(base(calendar_id), json=[1, 2], headers=auth)
    assert resp.status == 422
    assert (await resp.json())["errors"][0]["field"] == "(body)"
    resp = await client.post(base(calendar_id), data=b"{not json",
                             headers=auth | {"Content-Type": "application/json"})
    assert resp.status == 400
    resp = await client.post(base(calendar_id), data=b"start=x",
                             headers=auth | {"Content-Type": "text/plain"})
    assert resp.status == 415


async def test_unknown_calendar_and_appointment(client: Any, calendar_id: int,
                                                auth: dict[str, str]) -> None:
    for path in ("/api/v1/calendars/999999/appointments", "/api/v1/calendars/99999999999",
                 f"{base(calendar_id)}/nope", f"{base(calendar_id)}/~%%%",
                 "/api/v1/no-such-thing"):
        resp = await client.get(path, headers=auth)
        assert resp.status == 404, path
        assert resp.content_type == "application/problem+json"


async def test_if_match_and_stale_writes(client: Any, calendar_id: int,
                                         auth: dict[str, str]) -> None:
    created = await (await create(client, calendar_id, auth)).json()
    url = f"{base(calendar_id)}/{created['id']}"
    first = created["etag"]
    resp = await client.patch(url, json={"notes": "geändert"},
                              headers=auth | {"If-Match": first})
    assert resp.status == 200
    second = resp.headers["ETag"]
    assert second != first and (await resp.json())["notes"] == "geändert"
    stale = await client.patch(url, json={"notes": "verloren"},
                               headers=auth | {"If-Match": first})
    assert stale.status == 412
    assert (await stale.json())["type"].endswith("precondition-failed")
    assert (await stale_delete(client, url, auth, first)).status == 412
    unconditional = await client.patch(url, json={"start": "2026-06-01T11:00:00+02:00"},
                                       headers=auth)
    data = await unconditional.json()
    assert unconditional.status == 200
    assert (data["start"], data["end"]) == ("2026-06-01T11:00:00+02:00",
                                             "2026-06-01T11:30:00+02:00")
    assert data["notes"] == "geändert"
    cleared = await client.patch(url, json={"notes": None, "customer": {"phone": None}},
                                 headers=auth | {"If-Match": "*"})
    data = await cleared.json()
    assert data["notes"] is None and data["customer"]["phone"] is None
    deleted = await client.delete(url, headers=auth | {"If-Match": cleared.headers["ETag"]})
    assert deleted.status == 204
    assert (await client.get(url, headers=auth)).status == 404


async def stale_delete(client: Any, url: str, auth: dict[str, str], etag: str) -> Any:
    return await client.delete(url, headers=auth | {"If-Match": etag})


async def test_patch_validation(client: Any, calendar_id: int, auth: dict[str, str]) -> None:
    created = await (await create(client, calendar_id, auth)).json()
    url = f"{base(calendar_id)}/{created['id']}"
    resp = await client.patch(url, json={"end": "2026-06-01T09:00:00+02:00"}, headers=auth)
    assert resp.status == 422
    assert [e["field"] for e in (await resp.json())["errors"]] == ["end"]
    resp = await client.patch(url, json={"customer": {"name": None}}, headers=auth)
    assert [e["field"] for e in (await resp.json())["errors"]] == ["customer.name"]


async def test_cancel(client: Any, api_store: SqlStore, calendar_id: int,
                      auth: dict[str, str]) -> None:
    created = await (await create(client, calendar_id, auth)).json()
    url = f"{base(calendar_id)}/{created['id']}/cancel"
    resp = await client.post(url, headers=auth)
    assert resp.status == 200
    assert (await resp.json())["status"] == "CANCELLED"
    item = api_store.get_item_by_uid(CALENDAR, created["uid"])
    assert item is not None and item.status == "CANCELLED"
    stale = await client.post(url, headers=auth | {"If-Match": created["etag"]})
    assert stale.status == 412


async def test_idempotent_retries(client: Any, api_store: SqlStore, calendar_id: int,
                                  auth: dict[str, str], keys: dict[str, str]) -> None:
    headers = auth | {"Idempotency-Key": "order-4711"}
    first = await client.post(base(calendar_id), json=BODY, headers=headers)
    second = await client.post(base(calendar_id), json=BODY, headers=headers)
    assert first.status == second.status == 201
    assert await first.json() == await second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Location"] == first.headers["Location"]
    assert len(api_store.list_items(CALENDAR)) == 1
    other = await client.post(base(calendar_id), json=BODY | {"notes": "anders"},
                              headers=headers)
    assert other.status == 422
    assert (await other.json())["errors"][0]["field"] == "Idempotency-Key"
    bad = await client.post(base(calendar_id), json=BODY,
                            headers=auth | {"Idempotency-Key": "has space"})
    assert bad.status == 400
    # A validation failure is remembered too: the retry gets the same 422.
    failing = auth | {"Idempotency-Key": "broken-1"}
    r1 = await client.post(base(calendar_id), json=BODY | {"status": "NO"}, headers=failing)
    r2 = await client.post(base(calendar_id), json=BODY | {"status": "NO"}, headers=failing)
    assert r1.status == r2.status == 422 and await r1.json() == await r2.json()
    assert len(api_store.list_items(CALENDAR)) == 1


async def test_idempotency_expires_after_a_day(client: Any, api_store: SqlStore,
                                               calendar_id: int, auth: dict[str, str]) -> None:
    headers = auth | {"Idempotency-Key": "k1"}
    body = BODY | {"allow_conflict": True}  # the same time twice: override the overlap rule
    await client.post(base(calendar_id), json=body, headers=headers)
    real = api_store.clock
    api_store.clock = lambda: real() + 25 * 3600
    try:
        again = await client.post(base(calendar_id), json=body, headers=headers)
    finally:
        api_store.clock = real
    assert again.status == 201 and "Idempotent-Replayed" not in again.headers
    assert len(api_store.list_items(CALENDAR)) == 2


async def test_paging_and_range(client: Any, calendar_id: int, auth: dict[str, str]) -> None:
    for day in range(1, 6):
        await create(client, calendar_id, auth, start=f"2026-06-0{day}T10:00:00+02:00",
                     end=f"2026-06-0{day}T11:00:00+02:00")
    seen: list[str] = []
    url = f"{base(calendar_id)}?limit=2"
    pages = 0
    while url:
        resp = await client.get(url, headers=auth)
        assert resp.status == 200
        page = await resp.json()
        seen += [a["start"][:10] for a in page["items"]]
        pages += 1
        if page["next_cursor"]:
            assert 'rel="next"' in resp.headers["Link"]
            url = f"{base(calendar_id)}?limit=2&cursor={page['next_cursor']}"
        else:
            url = ""
    assert seen == [f"2026-06-0{d}" for d in range(1, 6)] and pages == 3
    resp = await client.get(f"{base(calendar_id)}?from=2026-06-02&to=2026-06-04", headers=auth)
    assert [a["start"][:10] for a in (await resp.json())["items"]] == ["2026-06-02",
                                                                       "2026-06-03"]
    bad = await client.get(f"{base(calendar_id)}?from=x&limit=0&cursor=zz", headers=auth)
    assert bad.status == 422
    assert {e["field"] for e in (await bad.json())["errors"]} == {"from", "limit", "cursor"}


@pytest.mark.parametrize("evil", ["A\r\nEND:VEVENT\r\nBEGIN:VEVENT", "A\rB", "A\u2028B",
                                  "A\x00B\x1b", "A\nATTENDEE:mailto:x@evil.example"])
async def test_control_characters_cannot_inject_lines(
    client: Any, api_store: SqlStore, calendar_id: int, auth: dict[str, str], evil: str,
) -> None:
    resp = await client.post(base(calendar_id), json=BODY | {
        "customer": {"name": evil}, "service": evil, "summary": evil, "notes": evil},
        headers=auth)
    assert resp.status == 201, await resp.text()
    data = await resp.json()
    item = api_store.get_item_by_uid(CALENDAR, data["uid"])
    assert item is not None
    lines = item.text.split("\r\n")
    assert not any(line.startswith("ATTENDEE") for line in lines)
    assert lines.count("BEGIN:VEVENT") == 1 and lines.count("END:VEVENT") == 1
    assert "\u2028" not in item.text
    assert "\x00" not in item.text and "\x1b" not in item.text
    assert "\r" not in item.text.replace("\r\n", "")
    parsed = parse_resource(item.text)
    assert parsed.customer_name is not None and "\n" not in parsed.customer_name
    assert "\n" not in data["summary"]


async def test_foreign_uid_gets_an_encoded_id(client: Any, api_store: SqlStore,
                                              calendar_id: int, auth: dict[str, str]) -> None:
    from tests.helpers import parsed

    api_store.put_item(CALENDAR, "phone.ics", parsed("weird/uid with space",
                                                     "20260601T080000Z", "20260601T090000Z"),
                       origin="caldav")
    listing = await (await client.get(base(calendar_id), headers=auth)).json()
    ident = listing["items"][0]["id"]
    assert ident.startswith("~")
    got = await client.get(f"{base(calendar_id)}/{ident}", headers=auth)
    assert (await got.json())["uid"] == "weird/uid with space"
    assert (await got.json())["source"] == "caldav"


async def test_recurring_time_cannot_be_patched(client: Any, api_store: SqlStore,
                                                calendar_id: int, auth: dict[str, str]) -> None:
    from tests.helpers import parsed

    api_store.put_item(CALENDAR, "series.ics",
                       parsed("series-1", "20260601T080000Z", "20260601T090000Z",
                              extra="RRULE:FREQ=WEEKLY;COUNT=5"), origin="caldav")
    url = f"{base(calendar_id)}/series-1"
    resp = await client.patch(url, json={"start": "2026-06-01T12:00:00+02:00"}, headers=auth)
    assert resp.status == 422
    assert (await client.patch(url, json={"notes": "ok"}, headers=auth)).status == 200
    listing = await client.get(f"{base(calendar_id)}?from=2026-06-08&to=2026-06-09",
                               headers=auth)
    assert [a["id"] for a in (await listing.json())["items"]] == ["series-1"]
    listing = await client.get(f"{base(calendar_id)}?from=2026-06-09&to=2026-06-14",
                               headers=auth)
    assert (await listing.json())["items"] == []


async def test_calendars(client: Any, calendar_id: int, auth: dict[str, str],
                         keys: dict[str, str]) -> None:
    resp = await client.get("/api/v1/calendars", headers=auth)
    cals = (await resp.json())["items"]
    assert [(c["id"], c["path"], c["timezone"]) for c in cals] == [
        (calendar_id, CALENDAR, "Europe/Berlin")]
    assert cals[0]["notifications"] == {"enabled": True, "language": "de"}
    url = f"/api/v1/calendars/{calendar_id}"
    resp = await client.patch(url, json={"notifications": {"enabled": False, "language": "en"}},
                              headers=auth)
    assert (await resp.json())["notifications"] == {"enabled": False, "language": "en"}
    resp = await client.patch(url, json={"notifications": {"enabled": "no", "x": 1}},
                              headers=auth)
    assert {e["field"] for e in (await resp.json())["errors"]} == {
        "notifications.enabled", "notifications.x"}
    read = {"Authorization": f"Bearer {keys['read']}"}
    assert (await client.patch(url, json={"notifications": {}}, headers=read)).status == 403


async def test_api_keys_never_logged(caplog: pytest.LogCaptureFixture, client: Any,
                                     calendar_id: int, auth: dict[str, str],
                                     keys: dict[str, str]) -> None:
    caplog.set_level(logging.DEBUG)
    await create(client, calendar_id, auth)
    await client.get(base(calendar_id), headers={"Authorization": "Bearer tbk_wrong"})
    assert keys["write"] not in caplog.text and "tbk_wrong" not in caplog.text
