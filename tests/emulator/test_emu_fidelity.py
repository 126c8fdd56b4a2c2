"""Emulator details checked against Google's documented behaviour (issue 12, item 15).

* ``timeZone`` on ``events.list``/``events.get``/``events.instances`` converts every returned
  ``dateTime`` (zoned, UTC and offset-only events alike) to that zone; the ``timeZone`` field of
  each start/end stays the event's own.
* Reminders: at most five overrides of 0 to 40,320 minutes, else 400 with Google's error body.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from tests.emulator.conftest import timed

ZONED = {"start": {"dateTime": "2030-07-01T09:00:00", "timeZone": "America/New_York"},
         "end": {"dateTime": "2030-07-01T10:00:00", "timeZone": "America/New_York"}}
UTC_EVENT = {"start": {"dateTime": "2030-07-01T13:00:00Z", "timeZone": "UTC"},
             "end": {"dateTime": "2030-07-01T14:00:00Z", "timeZone": "UTC"}}
OFFSET_ONLY = timed("2030-07-01T15:00:00+02:00", "2030-07-01T16:00:00+02:00")


def _insert(svc: Any, summary: str, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = svc.events().insert(
        calendarId="primary", body={"summary": summary, **body}).execute()
    return result


def test_time_zone_parameter_converts_every_returned_time(svc: Any) -> None:
    _insert(svc, "zoned", ZONED)          # 13:00Z
    _insert(svc, "utc", UTC_EVENT)        # 13:00Z
    _insert(svc, "offset", OFFSET_ONLY)   # 13:00Z
    weekly = _insert(svc, "series", {**ZONED, "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=2"]})
    res = svc.events().list(calendarId="primary", timeZone="Asia/Tokyo").execute()
    assert res["timeZone"] == "Asia/Tokyo"
    by_name = {i["summary"]: i for i in res["items"]}
    for name in ("zoned", "utc", "offset", "series"):
        assert by_name[name]["start"]["dateTime"] == "2030-07-01T22:00:00+09:00", name
        assert by_name[name]["end"]["dateTime"] == "2030-07-01T23:00:00+09:00", name
    # The zone the event was written in is still named.
    assert by_name["zoned"]["start"]["timeZone"] == "America/New_York"
    assert by_name["utc"]["start"]["timeZone"] == "UTC"
    single = svc.events().list(calendarId="primary", timeZone="Asia/Tokyo",
                               singleEvents=True, orderBy="startTime").execute()
    assert {i["start"]["dateTime"] for i in single["items"]} == {
        "2030-07-01T22:00:00+09:00", "2030-07-08T22:00:00+09:00"}
    got = svc.events().get(calendarId="primary", eventId=weekly["id"],
                           timeZone="Asia/Tokyo").execute()
    assert got["start"]["dateTime"] == "2030-07-01T22:00:00+09:00"
    instances = svc.events().instances(calendarId="primary", eventId=weekly["id"],
                                       timeZone="Asia/Tokyo").execute()
    assert [i["originalStartTime"]["dateTime"] for i in instances["items"]] == [
        "2030-07-01T22:00:00+09:00", "2030-07-08T22:00:00+09:00"]
    # Without the parameter each event keeps its own zone (the calendar's when it has none).
    plain = {i["summary"]: i for i in svc.events().list(calendarId="primary").execute()["items"]}
    assert plain["zoned"]["start"]["dateTime"] == "2030-07-01T09:00:00-04:00"
    assert plain["utc"]["start"]["dateTime"] == "2030-07-01T13:00:00Z"
    assert plain["offset"]["start"]["dateTime"] == "2030-07-01T15:00:00+02:00"  # Berlin


def _error(exc: HttpError) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.content)
    return body


@pytest.mark.parametrize(("overrides", "reason"), [
    ([{"method": "popup", "minutes": m} for m in range(6)], "tooManyReminders"),
    ([{"method": "email", "minutes": 40321}], "invalid"),
    ([{"method": "popup", "minutes": -1}], "invalid"),
], ids=["six-overrides", "over-four-weeks", "negative"])
def test_reminders_beyond_googles_limits_are_refused(
    svc: Any, overrides: list[dict[str, Any]], reason: str
) -> None:
    body = {"summary": "r", **OFFSET_ONLY,
            "reminders": {"useDefault": False, "overrides": overrides}}
    with pytest.raises(HttpError) as refused:
        _insert(svc, "r", body)
    assert refused.value.resp.status == 400
    error = _error(refused.value)["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    (item,) = error["errors"]
    assert item["domain"] == "global" and item["reason"] == reason
    assert item["message"] == error["message"]
    # The same limits on patch and update.
    ok = _insert(svc, "ok", {**OFFSET_ONLY, "reminders": {"useDefault": False, "overrides": [
        {"method": "popup", "minutes": m} for m in (0, 10, 60, 1440, 40320)]}})
    assert len(ok["reminders"]["overrides"]) == 5
    with pytest.raises(HttpError) as patched:
        svc.events().patch(calendarId="primary", eventId=ok["id"], body={
            "reminders": {"useDefault": False, "overrides": overrides}}).execute()
    assert _error(patched.value)["error"]["errors"][0]["reason"] == reason
    with pytest.raises(HttpError) as updated:
        svc.events().update(calendarId="primary", eventId=ok["id"], body={
            **OFFSET_ONLY, "reminders": {"useDefault": False, "overrides": overrides}}).execute()
    assert _error(updated.value)["error"]["errors"][0]["reason"] == reason
