"""Issue 12 item 6 at the pure level: the update body of a local edit keeps every field only
Google holds (``mapping_extra``), and carries every mapped field of the edit."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import vText

from bridge.google.mapping import google_hash, ical_hash, ical_to_google
from bridge.google.mapping_extra import (
    MAPPED_FIELDS,
    OUR_PRIVATE_KEYS,
    READ_ONLY_FIELDS,
    exception_extra,
    google_only,
    merge_update_body,
    series_extra,
)
from emulators.google.validation import event_properties
from tests.unit.mapping.mapping_testlib import google_echo, vcal, vevent

PROFILE = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TZ = "Europe/Berlin"
SHARED = {"extendedProperties", "source", "attendees"}
# Every writable Event field Google has (from the discovery document) that the mapping does
# not carry: what a local edit must never touch.
UNMAPPED = sorted(event_properties() - MAPPED_FIELDS - READ_ONLY_FIELDS - SHARED)

json_leaf = st.one_of(st.booleans(), st.integers(-5, 50), st.text(max_size=8))
json_values = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text("abcxyz", min_size=1, max_size=5), inner,
                                            max_size=3)),
    max_leaves=8,
)
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                max_size=20)
RRULES = [None, "FREQ=DAILY;COUNT=3", "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6"]
URLS = [None, "https://shop.example/b/1", "https://shop.example/b/2"]


def text_line(name: str, value: str) -> str:
    return f"{name}:{vText(value).to_ical().decode()}"


@st.composite
def local_versions(draw: st.DrawFn) -> str:
    """One appointment with random mapped fields: title, time, description, location,
    recurrence, URL and attendees."""
    hour = draw(st.integers(6, 18))
    length = draw(st.integers(1, 3))
    lines = [f"DTSTART;TZID={TZ}:20300311T{hour:02d}0000",
             f"DTEND;TZID={TZ}:20300311T{hour + length:02d}0000",
             text_line("SUMMARY", draw(texts))]
    for name in ("DESCRIPTION", "LOCATION"):
        value = draw(st.one_of(st.none(), texts))
        if value is not None:
            lines.append(text_line(name, value))
    rrule = draw(st.sampled_from(RRULES))
    if rrule:
        lines.append(f"RRULE:{rrule}")
    url = draw(st.sampled_from(URLS))
    if url:
        lines.append(f"URL:{url}")
    for who in draw(st.lists(st.sampled_from(["kim", "lou", "max"]), unique=True, max_size=2)):
        lines.append(f"ATTENDEE;CN={who.title()};PARTSTAT=ACCEPTED:mailto:{who}@example.com")
    return vcal(vevent(*lines, uid="edit@termin.test"))


@st.composite
def google_only_fields(draw: st.DrawFn) -> dict[str, Any]:
    """Random fields only Google holds, as Google would return them."""
    fields = {name: draw(json_values)
              for name in draw(st.lists(st.sampled_from(UNMAPPED), unique=True, max_size=8))}
    # Fields Google adds in future are kept too (Google itself never stores unknown ones).
    if draw(st.booleans()):
        fields["someFutureField"] = draw(json_values)
    return fields


def assert_merged(merged: dict[str, Any], base: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in base.items():
        if key not in MAPPED_FIELDS | READ_ONLY_FIELDS | SHARED:
            assert merged[key] == value, key
    for key in MAPPED_FIELDS & set(new):
        assert merged[key] == new[key], key  # cleared fields are sent empty, not omitted
    for key in READ_ONLY_FIELDS:
        assert key not in merged or key in new, key


@PROFILE
@given(before=local_versions(), after=local_versions(), extra=google_only_fields(),
       private=st.dictionaries(st.sampled_from(["otherApp", "crm", "terminUid"]), texts,
                               max_size=2),
       shared=st.dictionaries(st.sampled_from(["lead", "room"]), texts, max_size=2),
       note=st.one_of(st.none(), texts), source_title=texts)
def test_random_google_only_fields_survive_a_random_local_edit(
    before: str, after: str, extra: dict[str, Any], private: dict[str, str],
    shared: dict[str, str], note: str | None, source_title: str,
) -> None:
    old = ical_to_google(before, calendar_key="/alice/work/", calendar_tz=TZ)
    held = google_echo(old.master)
    held.update(copy.deepcopy(extra))
    foreign = {k: v for k, v in private.items() if k not in OUR_PRIVATE_KEYS}
    held["extendedProperties"]["private"].update(foreign)
    if shared:
        held["extendedProperties"]["shared"] = shared
    if held.get("source"):
        held["source"]["title"] = source_title
    for att in held.get("attendees", []):
        if note is not None and not att.get("self"):
            att["comment"] = note
    new = ical_to_google(after, calendar_key="/alice/work/", calendar_tz=TZ,
                         event_id=old.event_id).master
    for base in (held, google_only(held)):  # the full event and the stored extra agree
        merged = merge_update_body(base, new)
        assert_merged(merged, held, new)
        assert google_hash(merged, calendar_tz=TZ) == google_hash(new, calendar_tz=TZ)
        assert google_hash((merged, ()), calendar_tz=TZ) == ical_hash(after, calendar_tz=TZ)
        ext = merged["extendedProperties"]
        assert {k: ext["private"][k] for k in foreign} == foreign
        assert {k: v for k, v in ext["private"].items() if k in OUR_PRIVATE_KEYS} == \
            new["extendedProperties"]["private"]
        assert ext.get("shared", {}) == shared
        if held.get("source") and new.get("source", {}).get("url") == held["source"]["url"]:
            assert merged["source"] == held["source"]  # same link: Google's title stays
        else:
            assert merged.get("source") == new.get("source")
        emails = {a["email"] for a in new["attendees"]}
        for att in merged["attendees"]:
            if att.get("organizer") and att.get("self"):
                assert new["attendees"]  # Google's own entry only while there are guests
                continue
            assert att["email"] in emails
            if note is not None and any(a["email"] == att["email"] for a in held.get(
                    "attendees", [])):
                assert att["comment"] == note


@PROFILE
@given(extra=google_only_fields(), before=local_versions())
def test_google_only_is_idempotent(extra: dict[str, Any], before: str) -> None:
    held = google_echo(ical_to_google(before, calendar_key="/c/", calendar_tz=TZ).master)
    held.update(extra)
    once = google_only(held)
    assert google_only(once) == once
    assert not set(once) & (MAPPED_FIELDS | READ_ONLY_FIELDS)


def test_the_mapping_writes_only_mapped_and_shared_fields() -> None:
    """Keeps MAPPED_FIELDS in step with the mapping: a new body field must be listed."""
    text = vcal(vevent("DTSTART:20300311T090000Z", "DTEND:20300311T100000Z", "SUMMARY:x",
                       "URL:https://a.example/", "RRULE:FREQ=DAILY;COUNT=2",
                       "ATTENDEE:mailto:kim@example.com"),
                vevent("RECURRENCE-ID:20300312T090000Z", "DTSTART:20300312T110000Z",
                       "DTEND:20300312T120000Z", "SUMMARY:y"))
    bodies = ical_to_google(text, calendar_key="/c/", calendar_tz=TZ)
    for body in bodies.bodies():
        assert set(body) <= MAPPED_FIELDS | SHARED, set(body) - MAPPED_FIELDS - SHARED


def test_no_base_gives_the_body_unchanged() -> None:
    body = {"id": "abcde", "summary": "x", "description": ""}
    assert merge_update_body(None, body) == body
    assert merge_update_body({}, body) == body


def test_source_follows_the_url() -> None:
    held = {"source": {"title": "Booking page", "url": "https://a.example/1"},
            "extendedProperties": {"private": {"terminUrl": "https://a.example/1"}}}
    same = {"source": {"title": "https://a.example/1", "url": "https://a.example/1"},
            "extendedProperties": {"private": {"terminUrl": "https://a.example/1"}}}
    moved = {"source": {"title": "https://a.example/2", "url": "https://a.example/2"},
             "extendedProperties": {"private": {"terminUrl": "https://a.example/2"}}}
    cleared: dict[str, Any] = {"extendedProperties": {"private": {"terminUrl": ""}}}
    assert merge_update_body(held, same)["source"]["title"] == "Booking page"
    assert merge_update_body(held, moved)["source"] == moved["source"]
    assert "source" not in merge_update_body(held, cleared)


def test_attendees_keep_their_google_notes_and_the_organizer_entry() -> None:
    held = {"attendees": [
        {"email": "me@example.com", "organizer": True, "self": True,
         "responseStatus": "accepted"},
        {"email": "Kim@Example.com", "displayName": "Kim", "comment": "late",
         "additionalGuests": 2, "responseStatus": "accepted"},
        {"email": "gone@example.com", "comment": "was here"},
    ]}
    body = {"attendees": [{"email": "kim@example.com", "responseStatus": "declined"},
                          {"email": "new@example.com", "responseStatus": "needsAction"}]}
    merged = merge_update_body(held, body)["attendees"]
    assert merged[0] == {"email": "kim@example.com", "responseStatus": "declined",
                         "comment": "late", "additionalGuests": 2}  # displayName cleared
    assert merged[1] == body["attendees"][1]
    assert merged[2]["organizer"] and merged[2]["email"] == "me@example.com"
    assert len(merged) == 3  # the removed guest stays removed
    assert merge_update_body(held, {"attendees": []})["attendees"] == []


def test_exceptions_start_from_their_own_fields_else_the_masters() -> None:
    master = {"id": "m1", "colorId": "5", "summary": "s"}
    own = {"id": "m1_20300312T090000Z", "colorId": "11", "recurringEventId": "m1"}
    cancelled = {"id": "m1_20300313T090000Z", "status": "cancelled", "recurringEventId": "m1"}
    extra = series_extra(master, [own, cancelled])
    assert exception_extra(extra, own["id"]) == {"colorId": "11"}
    assert exception_extra(extra, "m1_20300314T090000Z") == {"colorId": "5"}
    assert exception_extra(None, own["id"]) == {}
