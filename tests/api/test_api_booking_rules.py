"""Booking rules on the API: 409 problem+json with the rule, the conflict and free slots."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.store import SqlStore
from tests.booking.cases import CALENDAR, CASES, NOW, Case, seed

from .conftest import make_settings


@pytest.fixture
async def rules_client(aiohttp_client: Any, tmp_path: Any, api_store: SqlStore) -> Any:
    seed(api_store)
    api_store.clock = lambda: NOW
    from bridge.web.app import create_app

    return await aiohttp_client(create_app(make_settings(tmp_path), api_store))


def _body(case: Case, **extra: Any) -> dict[str, Any]:
    return {"start": case.start, "end": case.end,
            "customer": {"name": "Max Muster", "email": "max@example.org"}} | extra


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_rules_on_create(rules_client: Any, calendar_id: int, auth: dict[str, str],
                               case: Case) -> None:
    url = f"/api/v1/calendars/{calendar_id}/appointments"
    resp = await rules_client.post(url, json=_body(case), headers=auth)
    if not case.rules:
        assert resp.status == 201, await resp.text()
        return
    assert resp.status == 409
    assert resp.content_type == "application/problem+json"
    problem = await resp.json()
    assert problem["type"].endswith("/booking-conflict")
    assert problem["rules"] == list(case.rules)
    if case.conflict:
        assert [c["appointment_id"] for c in problem["conflicts"]] == [case.conflict]
        # the write key is an admin key here: the title is named, customer fields never are
        assert "customer" not in problem["conflicts"][0]
    assert problem["suggestions"], problem
    for slot in problem["suggestions"]:
        retry = await rules_client.post(url, json=_body(case) | slot, headers=auth)
        assert retry.status == 201, (slot, await retry.text())
        break


async def test_confined_key_sees_no_titles(rules_client: Any, api_store: SqlStore,
                                           calendar_id: int) -> None:
    _k, secret = api_store.create_api_key("widget", "write", [CALENDAR])
    overlap = next(c for c in CASES if c.name == "overlap")
    resp = await rules_client.post(f"/api/v1/calendars/{calendar_id}/appointments",
                                   json=_body(overlap),
                                   headers={"Authorization": f"Bearer {secret}"})
    problem = await resp.json()
    assert resp.status == 409 and "summary" not in problem["conflicts"][0]
    assert "Erika" not in await resp.text()


async def test_override_is_recorded(rules_client: Any, api_store: SqlStore, calendar_id: int,
                                    auth: dict[str, str]) -> None:
    overlap = next(c for c in CASES if c.name == "overlap")
    url = f"/api/v1/calendars/{calendar_id}/appointments"
    bad = await rules_client.post(url, json=_body(overlap, allow_conflict="yes"), headers=auth)
    assert bad.status == 422
    resp = await rules_client.post(url, json=_body(overlap, allow_conflict=True), headers=auth)
    assert resp.status == 201, await resp.text()
    uid = (await resp.json())["uid"]
    rows = [r for r in api_store.query_ledger(collection_path=CALENDAR, uid=uid)
            if r.action == "override"]
    assert len(rows) == 1
    assert rows[0].detail["rules"] == ["overlap"] and rows[0].detail["conflicts"] == ["erika"]
    assert rows[0].detail["by"].startswith("api-key ") and rows[0].trigger == "api"


async def test_moving_and_unchanged_times(rules_client: Any, calendar_id: int,
                                          auth: dict[str, str]) -> None:
    url = f"/api/v1/calendars/{calendar_id}/appointments"
    inside = CASES[0]
    created = await (await rules_client.post(url, json=_body(inside), headers=auth)).json()
    one = f"{url}/{created['id']}"
    # Moving onto Erika is refused; moving itself by a few minutes is not (it ignores itself).
    moved = await rules_client.patch(one, json={"start": "2026-06-01T10:00:00",
                                                "end": "2026-06-01T10:30:00"}, headers=auth)
    assert moved.status == 409
    nudged = await rules_client.patch(one, json={"start": "2026-06-01T11:15:00",
                                                 "end": "2026-06-01T11:45:00"}, headers=auth)
    assert nudged.status == 200, await nudged.text()
    renamed = await rules_client.patch(one, json={"notes": "ok"}, headers=auth)
    assert renamed.status == 200
    cancelled = await rules_client.post(f"{one}/cancel", headers=auth)
    assert cancelled.status == 200
