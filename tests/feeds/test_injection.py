"""Hostile booking data (A15): no value can start a new line in a feed, at any privacy level."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event, vText

from bridge.feeds.render import feed_window, render_feed
from bridge.feeds.values import clean_uri
from bridge.model import Collection, ItemRecord, ParsedResource, compute_etag
from bridge.store import SqlStore
from bridge.store.feeds import PRIVACY_LEVELS, Privacy
from tests.feeds.conftest import CAL, NOW, fill

PAYLOADS = (
    "a\rb", "a\nb", "a\r\nb", "a\u2028b", "a\u2029b", "a\x00b", "a\x85b", "a\x0bb", "a\x0cb",
    "x\r\nBEGIN:VEVENT\r\nUID:evil\r\nSUMMARY:pwned\r\nEND:VEVENT",
    "x\rEND:VCALENDAR", "x\nX-EVIL:1", "x\u2028ATTENDEE:mailto:evil@example.com",
    'q"uote;semi,comma:colon\\back', "\u202eevil\u202c", "\x1b[31mred",
)
TEXT_FIELDS = (
    "SUMMARY", "DESCRIPTION", "LOCATION", "CONTACT", "X-TERMIN-CUSTOMER-NAME",
    "X-TERMIN-CUSTOMER-EMAIL", "X-TERMIN-CUSTOMER-PHONE", "X-TERMIN-SERVICE",
)
_LINE = re.compile(rb"^(?:[A-Z][A-Z0-9-]*[;:]| )")
_BAD = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _hostile_text(payload: str, uid: str = "hostile") -> str:
    """A resource with ``payload`` in every text field and parameter (serialised by icalendar)."""
    cal = Calendar()
    cal.add("VERSION", "2.0")
    cal.add("PRODID", "-//test//EN")
    event = Event()
    event.add("UID", uid + payload)
    event.add("DTSTART", Calendar.from_ical(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20260120T090000Z\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n").walk("VEVENT")[0]["DTSTART"].dt)
    event.add("DURATION", timedelta(hours=1))
    for name in TEXT_FIELDS:
        event.add(name, vText(f"{name.lower()} {payload}"))
    event.add("CATEGORIES", [f"cat {payload}", "plain"])
    cal.add_component(event)
    # icalendar escapes LF in TEXT but not NUL, U+2028, ...: the text holds them raw, as
    # another writer (booking API, Google) might store them.  URIs have no escaping at all, so
    # a CR/LF there would end the stored line itself; everything else goes in raw.
    raw_uri = payload.replace("\r", "").replace("\n", "")
    text = cal.to_ical().decode("utf-8")
    quoted = raw_uri.replace('"', "")
    extra = (f"URL:https://example.com/{raw_uri}\r\n"
             f'ATTENDEE;CN="Anna {quoted}";PARTSTAT="ACCEPTED{quoted}":mailto:anna@example.com'
             "\r\n"
             f'ORGANIZER;CN="{quoted}":mailto:boss{raw_uri}@example.com\r\n')
    head, sep, tail = text.rpartition("\r\nEND:VEVENT\r\n")
    return head + "\r\n" + extra + sep.lstrip("\r\n") + tail


def _item(text: str, uid: str, payload: str) -> ItemRecord:
    return ItemRecord(
        collection_path=CAL, href="h.ics", uid=uid, component="VEVENT", text=text,
        etag=compute_etag(text), start_ts=0, end_ts=2**40, recurring=False, content_hash="",
        summary="", status="CONFIRMED", customer_name=payload, customer_email=payload,
        customer_phone=payload, service=f"service {payload}", origin="test", created_at=NOW,
        modified_at=NOW,
    )


def _collection(name: str) -> Collection:
    return Collection(
        id=1, path=CAL, owner="alice", tag="VCALENDAR",
        props={"D:displayname": name, "ICAL:calendar-color": "#112233\r\nX-EVIL:1"},
        timezone="Europe/Berlin", revision=1, min_revision=0, sync_epoch="e", created_at=NOW,
        modified_at=NOW,
    )


def _assert_no_injection(body: bytes, events: int) -> None:
    lines = body.split(b"\r\n")
    assert lines[-1] == b""
    for line in lines[:-1]:
        assert b"\r" not in line and b"\n" not in line
        assert _LINE.match(line), line
        assert not _BAD.search(line.decode("utf-8")), line
    flat = body.replace(b"\r\n ", b"")
    assert flat.count(b"\r\nBEGIN:VEVENT\r\n") == events
    assert b"\r\nUID:evil" not in flat and b"\r\nX-EVIL" not in flat
    assert b"\r\nEND:VCALENDAR\r\n" not in flat[:-15]
    parsed = Calendar.from_ical(body)
    assert len(parsed.walk("VEVENT")) == events
    assert all(not c.errors for c in parsed.walk())


def _render(payload: str, privacy: Privacy) -> bytes:
    uid = "hostile" + payload
    window = feed_window(NOW, 30, 365)
    item = _item(_hostile_text(payload), uid, payload)
    return render_feed(_collection(f"Cal {payload}"), [item], privacy, window)


@pytest.mark.parametrize("privacy", PRIVACY_LEVELS)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_field_can_inject_a_line(payload: str, privacy: Privacy) -> None:
    _assert_no_injection(_render(payload, privacy), 1)


def test_multiline_description_keeps_escaped_newlines() -> None:
    body = _render("one\r\ntwo\rthree\u2028four", "full")
    flat = body.replace(b"\r\n ", b"")
    assert b"DESCRIPTION:description one\\ntwo\\nthree\\nfour" in flat
    assert b"SUMMARY:summary one two three four" in flat


def test_hostile_values_through_the_store(store: SqlStore) -> None:
    """The same through a real store on both back ends, values stored as another writer would."""
    fill(store, texts=[])
    # PostgreSQL text cannot hold NUL at all (the validation gate refuses it anyway).
    payloads = [p for p in PAYLOADS
                if "\x00" not in p or store.engine.dialect.name != "postgresql"]
    for n, payload in enumerate(payloads):
        uid = f"h{n}{payload}"
        text = _hostile_text(payload, uid=f"h{n}")
        data = ParsedResource(
            text=text, uid=uid, component="VEVENT", start_ts=0, end_ts=2**40, recurring=False,
            content_hash=str(n), summary=payload, customer_name=payload,
            customer_email=payload, customer_phone=payload, service=payload,
        )
        store.put_item(CAL, f"h{n}.ics", data, origin="test")
    calendar = store.get_collection(CAL)
    assert calendar is not None
    calendar = replace(calendar, props={"D:displayname": "x\r\nBEGIN:VEVENT"})
    window = feed_window(NOW, 30, 365)
    items = store.items_in_range(CAL, window.start, window.end, "VEVENT")
    for privacy in PRIVACY_LEVELS:
        _assert_no_injection(render_feed(calendar, items, privacy, window), len(payloads))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=0, max_size=40))
def test_clean_uri_never_leaves_a_break(value: str) -> None:
    uri = clean_uri(value)
    assert uri is None or not _BAD.search(uri)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30))
def test_arbitrary_text_renders_safely(payload: str) -> None:
    for privacy in PRIVACY_LEVELS:
        _assert_no_injection(_render(payload, privacy), 1)


def test_unreadable_item_is_skipped_not_fatal() -> None:
    good = _item(_hostile_text("ok"), "hostileok", "ok")
    broken = replace(good, href="b.ics", uid="broken", etag='"b"',
                     text="BEGIN:VCALENDAR\r\nATTENDEE:x\r\nEND:VCALENDAR\r\n")
    window = feed_window(NOW, 30, 365)
    body = render_feed(_collection("c"), [broken, good], "full", window)
    _assert_no_injection(body, 1)
