"""Regression tests for the bugs the hostile corpus found (each one failed before its fix).

The end-to-end versions (through Radicale, the API and the admin page, on both back ends) are
rows of the catalogue in ``test_hostile.py``.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from bridge.api.model import uid_from_id
from bridge.errors import InvalidICalendar
from bridge.google.series import build_series
from bridge.ical.validate import parse_resource
from bridge.store import SqlStore
from radicale_plugins.guard import Guard
from tests.hostile.corpus import BERLIN, GOOGLE_BASE, event_ics, ics


def test_gate_caps_folded_properties_like_unfolded_ones() -> None:
    # Radicale re-folds every PUT at 75 octets, so the 64 KB line cap must count unfolded.
    value = "A" * 70_000
    folded = "\r\n ".join(value[i:i + 74] for i in range(0, len(value), 74))
    with pytest.raises(InvalidICalendar, match="when unfolded"):
        parse_resource(event_ics("fold", summary=folded))
    ok = "B" * 60_000
    parse_resource(event_ics("fold-ok", summary="\r\n ".join(
        ok[i:i + 74] for i in range(0, len(ok), 74))))


def test_gate_refuses_a_vtimezone_with_two_tzids() -> None:
    # icalendar raised AttributeError ('list' object has no attribute 'strip'): found by fuzzing.
    body = ics(BERLIN.replace("TZID:Europe/Berlin", "TZID:Europe/Berlin\r\nTZID:Europe/Berlin"),
               "BEGIN:VEVENT", "UID:tz2", "DTSTAMP:20250101T000000Z",
               "DTSTART;TZID=Europe/Berlin:20260105T100000", "END:VEVENT")
    with pytest.raises(InvalidICalendar, match="cannot parse"):
        parse_resource(body)


def _call(guard: Guard, method: str, path: str, body: bytes) -> tuple[int, list[str]]:
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["PATH_INFO"])
        start_response("201 Created", [])
        return []

    guard.app = app
    status: list[int] = []
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body)), "HTTP_AUTHORIZATION": "Basic YWxpY2U6eA=="}
    guard(environ, lambda s, _h, _e=None: status.append(int(s.split()[0])))
    return status[0], seen


def test_guard_refuses_an_oversized_resource_before_radicale_parses_it() -> None:
    guard = Guard(lambda e, s: [], max_request_size=10_000, max_resource_size=1_000)
    cal = b"BEGIN:VCALENDAR\r\n"
    assert _call(guard, "PUT", "/alice/work/big.ics", cal + b"x" * 2_000) == (413, [])
    assert _call(guard, "PUT", "/alice/work/small.ics", cal + b"x" * 900)[0] == 201
    # a whole calendar goes to the collection URL: only the request limit applies
    assert _call(guard, "PUT", "/alice/work/", cal + b"x" * 2_000)[0] == 201
    assert _call(guard, "PUT", "/alice/work/", cal + b"x" * 20_000)[0] == 413


def test_api_ids_never_reach_the_database_with_nul() -> None:
    assert uid_from_id("~AAAA") is None  # base64 of NUL bytes: PostgreSQL DataError before
    assert uid_from_id("~" + "QUFB" * 400) is None  # 1,200 characters: longer than any UID
    assert uid_from_id("~YWJj") == "abc"


def test_get_user_with_nul_is_none(store: SqlStore) -> None:
    store.create_user("admin", "x", role="admin")
    assert store.get_user("ad\x00min") is None
    assert store.get_user("admin") is not None


@pytest.mark.parametrize("changes", [
    {"attendees": ["a@example.com"]}, {"start": "tomorrow"}, {"sequence": [1]},
    {"extendedProperties": {"private": "x"}}, {"start": {"date": "0001-01-01"},
                                               "end": {"date": "0001-01-01"}},
])
def test_malformed_google_item_is_this_events_error(changes: dict[str, Any]) -> None:
    series = build_series("e1", GOOGLE_BASE | changes, [], calendar_tz="Pacific/Kiritimati")
    assert series.parsed is None and series.error


def test_guard_refuses_a_put_body_that_is_no_calendar_object() -> None:
    # Radicale raised "Can't determine collection tag" (500) for a collection PUT of "F:".
    guard = Guard(lambda e, s: [], max_request_size=10_000)
    assert _call(guard, "PUT", "/alice/work/", b"F:") == (400, [])
    assert _call(guard, "PUT", "/alice/work/x.ics", b"\x00\x01") == (400, [])
    assert _call(guard, "PUT", "/alice/work/", b"\xef\xbb\xbf begin:vcalendar\r\n")[0] == 201
    assert _call(guard, "PUT", "/alice/book/", b"BEGIN:VCARD\r\n")[0] == 201
    assert _call(guard, "PUT", "/alice/work/", b"")[0] == 201
