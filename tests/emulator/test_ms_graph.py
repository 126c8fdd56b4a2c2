"""The Graph calendar surface through plain aiohttp: profile, calendars, events CRUD with
etags and 412, transactionId dedupe, extended properties, time zones, errors and the mail log."""

from __future__ import annotations

import re
from typing import Any

from emulators.microsoft.server import ADELE, MEGAN, MsEmulatorServer
from tests.emulator.conftest import Graph, Reply, ms_event

PROP = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name terminBridgeUid"


def _assert_graph_error(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status, reply.body
    error = reply.body["error"]
    assert error["code"] == code
    assert error["message"]
    inner = error["innerError"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", inner["date"])
    assert re.fullmatch(r"[0-9a-f-]{36}", inner["request-id"])
    assert inner["client-request-id"]


async def test_me_and_calendars(graph: Graph) -> None:
    me = await graph.get("/me")
    assert me.body["userPrincipalName"] == ADELE and me.body["displayName"] == "Adele Vance"
    cals = (await graph.get("/me/calendars")).body["value"]
    by_name = {c["name"]: c for c in cals}
    assert set(by_name) == {"Calendar", "Praxis", "Team"}
    assert by_name["Calendar"]["isDefaultCalendar"] is True
    assert by_name["Praxis"]["canEdit"] is True and by_name["Praxis"]["isDefaultCalendar"] is False
    team = by_name["Team"]
    assert team["canEdit"] is False and team["owner"]["address"] == MEGAN
    one = await graph.get(f"/me/calendars/{team['id']}")
    assert one.body["name"] == "Team"
    assert (await graph.get("/me/calendar")).body["id"] == by_name["Calendar"]["id"]
    users = await graph.get(f"/users/{ADELE}/calendars")
    assert len(users.body["value"]) == 3
    _assert_graph_error(await graph.get(f"/users/{MEGAN}/calendars"), 403, "ErrorAccessDenied")


async def test_authentication_errors(graph: Graph) -> None:
    _assert_graph_error(await graph.get("/me", token=""), 401, "InvalidAuthenticationToken")
    bad = await graph.get("/me", token="not-a-token")
    _assert_graph_error(bad, 401, "InvalidAuthenticationToken")
    assert "WWW-Authenticate" in bad.headers
    _assert_graph_error(await graph.get("/me/nothing"), 400, "BadRequest")


async def test_crud_with_etags_and_412(graph: Graph, ms_emu: MsEmulatorServer) -> None:
    created = await graph.post("/me/events", ms_event("Check-up", "2030-01-07T09:00:00",
                                                      "2030-01-07T09:30:00"))
    assert created.status == 201
    event = created.body
    assert event["type"] == "singleInstance" and event["seriesMasterId"] is None
    assert re.fullmatch(r'W/"[^"]+"', event["@odata.etag"])
    assert event["iCalUId"].startswith("040000008200E00074C5B7101A82E008")
    assert event["start"] == {"dateTime": "2030-01-07T09:00:00.0000000", "timeZone": "UTC"}
    assert "transactionId" in event and event["transactionId"] is None
    path = f"/me/events/{event['id']}"
    stale = event["@odata.etag"]
    patched = await graph.patch(path, {"subject": "Check-up (moved)"},
                                headers={"If-Match": stale})
    assert patched.status == 200
    assert patched.body["changeKey"] != event["changeKey"]
    assert patched.body["@odata.etag"] != stale
    _assert_graph_error(await graph.patch(path, {"subject": "lost"}, headers={"If-Match": stale}),
                        412, "ErrorIrresolvableConflict")
    _assert_graph_error(await graph.delete(path, headers={"If-Match": stale}), 412,
                        "ErrorIrresolvableConflict")
    got = await graph.get(path)
    assert got.body["subject"] == "Check-up (moved)"
    assert (await graph.delete(path, headers={"If-Match": got.body["@odata.etag"]})).status == 204
    _assert_graph_error(await graph.get(path), 404, "ErrorItemNotFound")
    ops = [w["op"] for w in ms_emu.hooks.state()["writes"]]
    assert ops == ["create", "patch", "delete"]


async def test_transaction_id_dedupes_creates(graph: Graph) -> None:
    body = ms_event("Once", "2030-01-08T10:00:00", "2030-01-08T11:00:00",
                    transactionId="tb-1234")
    first = await graph.post("/me/events", body)
    second = await graph.post("/me/events", body)
    assert first.status == second.status == 201
    assert first.body["id"] == second.body["id"]
    assert first.body["transactionId"] == "tb-1234"
    listed = (await graph.get("/me/events")).body["value"]
    assert [e["subject"] for e in listed] == ["Once"]


async def test_read_only_shared_calendar(graph: Graph) -> None:
    _assert_graph_error(await graph.post("/me/calendars/AAMkAGCalTeam/events",
                                         ms_event("x", "2030-01-01T09:00:00",
                                                  "2030-01-01T10:00:00")),
                        403, "ErrorAccessDenied")


async def test_validation_errors(graph: Graph) -> None:
    _assert_graph_error(await graph.post("/me/events", {"subject": "no time"}), 400,
                        "ErrorInvalidRequest")
    _assert_graph_error(await graph.post("/me/events", {**ms_event(
        "x", "2030-01-01T09:00:00", "2030-01-01T10:00:00"), "colour": "red"}), 400,
        "RequestBodyRead")
    _assert_graph_error(await graph.post("/me/events", ms_event(
        "x", "2030-01-01T09:00:00", "2030-01-01T10:00:00", zone="Mars/Olympus")), 400,
        "TimeZoneNotSupportedException")
    _assert_graph_error(await graph.post("/me/events", {**ms_event(
        "x", "2030-01-01T09:00:00", "2030-01-02T00:00:00"), "isAllDay": True}), 400,
        "ErrorInvalidRequest")


async def test_time_zones_windows_and_iana(graph: Graph) -> None:
    created = await graph.post("/me/events", ms_event(
        "Berlin", "2030-07-01T09:00:00", "2030-07-01T10:00:00", zone="W. Europe Standard Time"))
    event = created.body
    assert event["start"] == {"dateTime": "2030-07-01T07:00:00.0000000", "timeZone": "UTC"}
    assert event["originalStartTimeZone"] == "W. Europe Standard Time"
    path = f"/me/events/{event['id']}"
    iana = await graph.get(path, headers={"Prefer": 'outlook.timezone="America/New_York"'})
    assert iana.body["start"] == {"dateTime": "2030-07-01T03:00:00.0000000",
                                  "timeZone": "America/New_York"}
    assert iana.headers["Preference-Applied"] == 'outlook.timezone="America/New_York"'
    windows = await graph.get(path, headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'})
    assert windows.body["end"]["dateTime"] == "2030-07-01T01:00:00.0000000"
    _assert_graph_error(await graph.get(path, headers={"Prefer": 'outlook.timezone="Nowhere"'}),
                        400, "TimeZoneNotSupportedException")
    all_day = await graph.post("/me/events", {**ms_event(
        "Holiday", "2030-07-02T00:00:00", "2030-07-03T00:00:00", zone="Europe/Berlin"),
        "isAllDay": True})
    again = await graph.get(f"/me/events/{all_day.body['id']}",
                            headers={"Prefer": 'outlook.timezone="Tokyo Standard Time"'})
    assert again.body["start"]["dateTime"] == "2030-07-02T00:00:00.0000000"
    assert again.body["end"]["dateTime"] == "2030-07-03T00:00:00.0000000"


async def test_body_content_type(graph: Graph) -> None:
    created = await graph.post("/me/events", {**ms_event(
        "Note", "2030-01-01T09:00:00", "2030-01-01T10:00:00"),
        "body": {"contentType": "text", "content": "Bring <the> card"}})
    assert created.body["body"]["contentType"] == "html"
    assert "Bring &lt;the&gt; card" in created.body["body"]["content"]
    text = await graph.get(f"/me/events/{created.body['id']}",
                           headers={"Prefer": 'outlook.body-content-type="text"'})
    assert text.body["body"] == {"contentType": "text", "content": "Bring <the> card"}


async def test_single_value_extended_properties(graph: Graph) -> None:
    created = await graph.post("/me/events", {**ms_event(
        "Tagged", "2030-01-01T09:00:00", "2030-01-01T10:00:00"),
        "singleValueExtendedProperties": [{"id": PROP, "value": "uid-1"}]})
    plain = await graph.post("/me/events", ms_event("Plain", "2030-01-02T09:00:00",
                                                    "2030-01-02T10:00:00"))
    assert "singleValueExtendedProperties" not in created.body
    path = f"/me/events/{created.body['id']}"
    expand = f"$expand=singleValueExtendedProperties($filter=id eq '{PROP}')"
    got = await graph.get(f"{path}?{expand}")
    assert got.body["singleValueExtendedProperties"] == [{"id": PROP, "value": "uid-1"}]
    other = await graph.get(f"/me/events/{plain.body['id']}?{expand}")
    assert "singleValueExtendedProperties" not in other.body
    await graph.patch(path, {"singleValueExtendedProperties": [{"id": PROP, "value": "uid-2"}]})
    listed = (await graph.get(f"/me/events?{expand}")).body["value"]
    values = {e["subject"]: e.get("singleValueExtendedProperties") for e in listed}
    assert values == {"Tagged": [{"id": PROP, "value": "uid-2"}], "Plain": None}
    filtered = await graph.get("/me/events?$filter=singleValueExtendedProperties/Any(ep: ep/id "
                               f"eq '{PROP}' and ep/value eq 'uid-2')")
    assert [e["subject"] for e in filtered.body["value"]] == ["Tagged"]
    _assert_graph_error(await graph.get(f"{path}?$expand=attachments"), 400, "BadRequest")


async def test_list_paging_and_select(graph: Graph) -> None:
    for day in range(1, 13):
        await graph.post("/me/events", ms_event(f"E{day}", f"2030-02-{day:02d}T09:00:00",
                                                f"2030-02-{day:02d}T10:00:00"))
    first = await graph.get("/me/events?$select=subject")
    assert len(first.body["value"]) == 10 and "@odata.nextLink" in first.body
    assert set(first.body["value"][0]) == {"id", "@odata.etag", "subject"}
    rows, _ = await graph.all_pages("/me/events", headers={"Prefer": "odata.maxpagesize=5"})
    assert len(rows) == 12 and len({r["id"] for r in rows}) == 12


async def test_invitations_are_recorded_and_nothing_is_mailed_without_attendees(
        graph: Graph, ms_emu: MsEmulatorServer) -> None:
    quiet = await graph.post("/me/events", ms_event("Alone", "2030-03-01T09:00:00",
                                                    "2030-03-01T10:00:00"))
    await graph.patch(f"/me/events/{quiet.body['id']}", {"subject": "Still alone"})
    await graph.delete(f"/me/events/{quiet.body['id']}")
    assert ms_emu.hooks.mail() == []
    attendee = {"emailAddress": {"address": "guest@example.org", "name": "Guest"},
                "type": "required"}
    meeting = await graph.post("/me/events", {**ms_event(
        "Meeting", "2030-03-02T09:00:00", "2030-03-02T10:00:00"), "attendees": [attendee]})
    assert meeting.body["attendees"][0]["status"]["response"] == "none"
    await graph.delete(f"/me/events/{meeting.body['id']}")
    mail: list[dict[str, Any]] = ms_emu.hooks.mail()
    assert [(m["type"], m["to"]) for m in mail] == [("invitation", ["guest@example.org"]),
                                                    ("cancellation", ["guest@example.org"])]


async def test_faults_and_client_request_id(graph: Graph, ms_emu: MsEmulatorServer) -> None:
    ms_emu.hooks.fault("events.list", status=503, retry_after=3, times=1)
    ms_emu.hooks.fault("me.get", status=504, times=1)
    failed = await graph.get("/me/events", headers={"client-request-id": "abc-123"})
    _assert_graph_error(failed, 503, "serviceNotAvailable")
    assert failed.headers["Retry-After"] == "3"
    assert failed.body["error"]["innerError"]["client-request-id"] == "abc-123"
    _assert_graph_error(await graph.get("/me"), 504, "UnknownError")
    assert (await graph.get("/me/events")).status == 200
    ms_emu.hooks.fault("events.create", status=503, after=True, times=1)
    lost = await graph.post("/me/events", ms_event("Stored anyway", "2030-01-01T09:00:00",
                                                   "2030-01-01T10:00:00"))
    assert lost.status == 503
    assert [e["subject"] for e in (await graph.get("/me/events")).body["value"]] == [
        "Stored anyway"]
