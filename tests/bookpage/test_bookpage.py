"""The online booking page over HTTP: slots, booking through the rules, validation, CSRF,
limits, and the atomic write (two customers, one slot)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bridge.feeds.limits import MissLimiter
from bridge.store import SqlStore
from bridge.web.app import create_app
from tests.booking.cases import CALENDAR, CASES, Case

from .support import Clock, book, form_token, open_seeded, settings_for, token_path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def seeded(store_url: str, clock: Clock) -> Iterator[tuple[SqlStore, str]]:
    store, public_id = open_seeded(store_url, clock)
    try:
        yield store, public_id
    finally:
        store.close()


@pytest.fixture
async def client(aiohttp_client: Any, seeded: tuple[SqlStore, str], store_url: str,
                 tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    store, _ = seeded
    app = create_app(settings_for(tmp_path, store_url), store)
    yield await aiohttp_client(app)


def _items(store: SqlStore) -> list[Any]:
    return [i for i in store.items_in_range(CALENDAR, 0, 2**40, "VEVENT")
            if i.origin == "booking"]


async def test_slots_show_only_free_times_in_the_named_zone(
        client: TestClient[Any, Any], seeded: tuple[SqlStore, str]) -> None:
    _store, pid = seeded
    resp = await client.get(f"/book/{pid}?duration=30&day=2026-06-01")
    html = await resp.text()
    assert resp.status == 200
    assert "Europe/Berlin" in html
    assert 'data-start="2026-06-01T09:00"' in html
    assert 'data-start="2026-06-01T09:30"' in html
    assert 'data-start="2026-06-01T10:00"' not in html  # Erika's appointment
    assert 'data-start="2026-06-01T16:30"' in html and "T17:00" not in html
    # Nothing of other appointments: no titles, no customer names.
    for secret in ("Erika", "Mustermann", "Beratung", "Teamrunde", "Zahnarzt", "geschlossen"):
        assert secret not in html
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
    # The all-day closure on Wednesday leaves nothing free.
    wed = await (await client.get(f"/book/{pid}?duration=30&day=2026-06-03")).text()
    assert "data-start=" not in wed and "no-slots" in wed
    # Without a day the first day with free times is shown (Monday 25 May after the lead).
    first = await (await client.get(f"/book/{pid}?duration=60")).text()
    assert 'data-start="2026-05-25T11:00"' in first  # now 10:00 Berlin + 60 min lead


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_booking_rule_cases(case: Case, client: TestClient[Any, Any],
                                  seeded: tuple[SqlStore, str]) -> None:
    store, pid = seeded
    resp = await book(client, pid, case.start[:16])
    text = await resp.text()
    if case.rules:
        assert resp.status == 409, text
        assert _items(store) == []
    else:
        assert resp.status == 201, text
        assert "Europe/Berlin" in text
        [item] = _items(store)
        assert item.customer_email == "max@example.org"


async def test_validation_answers_4xx(client: TestClient[Any, Any],
                                      seeded: tuple[SqlStore, str]) -> None:
    store, pid = seeded
    token = await form_token(client, token_path(pid))
    cases: list[tuple[dict[str, str], int, str]] = [
        ({"duration": "45"}, 400, "not offered"),
        ({"duration": "abc"}, 400, "not offered"),
        ({"start": "2026-05-20T10:00"}, 400, "in the past"),
        ({"start": "2026-06-01T10:07"}, 409, "not offered"),
        ({"start": "2027-06-01T10:00"}, 409, "not offered"),
        ({"start": "yesterday"}, 400, "not a valid time"),
        ({"email": "not-an-address"}, 400, "valid e-mail"),
        ({"email": ""}, 400, "valid e-mail"),
        ({"name": ""}, 400, "your name"),
        ({"name": "x" * 201}, 400, "your name"),
        ({"phone": "call me maybe"}, 400, "phone number"),
        ({"name": "x" * 5000}, 400, "too long"),
    ]
    for change, status, needle in cases:
        data = {"csrf_token": token, "duration": "30", "start": "2026-06-01T11:00",
                "name": "Max", "email": "max@example.org", "phone": ""} | change
        resp = await client.post(f"/book/{pid}", data=data)
        assert resp.status == status, (change, await resp.text())
        assert needle in await resp.text(), change
    assert _items(store) == []
    # Unknown, malformed and disabled pages.
    assert (await client.get("/book/" + "A" * 22)).status == 404
    assert (await client.get("/book/short")).status == 404
    assert (await client.get("/book/" + "A" * 22 + "/x")).status == 404
    store.save_booking_page(CALENDAR, enabled=False, durations=(30,))
    off = await client.get(f"/book/{pid}")
    assert off.status == 404 and "switched off" in await off.text()
    assert (await book(client, pid, "2026-06-01T11:00", token=token)).status == 404


async def test_forms_need_the_signed_token_and_same_site(
        client: TestClient[Any, Any], seeded: tuple[SqlStore, str]) -> None:
    store, pid = seeded
    token = await form_token(client, token_path(pid))
    assert (await book(client, pid, "2026-06-01T11:00", token="forged")).status == 403
    cross = await book(client, pid, "2026-06-01T11:00", token=token,
                       headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status == 403
    foreign = await book(client, pid, "2026-06-01T11:00", token=token,
                         headers={"Origin": "https://evil.example"})
    assert foreign.status == 403
    client.session.cookie_jar.clear()  # the token belongs to the cookie
    assert (await book(client, pid, "2026-06-01T11:00", token=token)).status == 403
    assert _items(store) == []
    ok = await book(client, pid, "2026-06-01T11:00")
    assert ok.status == 201


async def test_booking_attempts_are_rate_limited(
        client: TestClient[Any, Any], seeded: tuple[SqlStore, str]) -> None:
    _store, pid = seeded
    from bridge.bookpage.web import BOOKPAGE

    client.app[BOOKPAGE].writes = MissLimiter(3, 600.0)
    token = await form_token(client, token_path(pid))
    statuses = [(await book(client, pid, "2026-06-01T10:00", token=token)).status
                for _ in range(4)]
    assert statuses == [409, 409, 409, 429]
    client.app[BOOKPAGE].misses = MissLimiter(2, 600.0)
    for _ in range(2):
        assert (await client.get("/book/" + "B" * 22)).status == 404
    assert (await client.get(f"/book/{pid}")).status == 429


async def test_two_customers_one_slot_exactly_one_wins(
        client: TestClient[Any, Any], seeded: tuple[SqlStore, str]) -> None:
    store, pid = seeded
    token = await form_token(client, token_path(pid, 60))
    results = await asyncio.gather(*(
        book(client, pid, "2026-06-01T14:00", minutes=60, token=token,
             name=f"Kunde {n}", email=f"k{n}@example.org") for n in range(6)))
    statuses = sorted(r.status for r in results)
    assert statuses == [201, 409, 409, 409, 409, 409], statuses
    [item] = _items(store)
    assert item.start_ts == 1780315200  # 2026-06-01T12:00Z


async def test_pages_in_german_and_english(client: TestClient[Any, Any],
                                           seeded: tuple[SqlStore, str]) -> None:
    _store, pid = seeded
    de = await client.get(f"/book/{pid}?duration=30&day=2026-06-01",
                          headers={"Accept-Language": "de-DE,de;q=0.9"})
    html = await de.text()
    assert "Termin buchen" in html and "Uhrzeiten in Europe/Berlin" in html
    assert "Montag, 1. Juni 2026" in html
    en = await client.get(f"/book/{pid}?duration=30&day=2026-06-01&lang=en",
                          headers={"Accept-Language": "de"})
    assert "Book an appointment" in await en.text()
    # The switch is remembered.
    again = await client.get(f"/book/{pid}", headers={"Accept-Language": "de"})
    assert "Book an appointment" in await again.text()
    error = await client.get("/book/" + "C" * 22 + "?lang=de")
    assert "Diese Buchungsseite gibt es nicht" in await error.text()
