"""The storage plugin through the real Radicale application (WSGI), on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from tests.caldav.caldav_support import (
    PROPFIND_ETAG,
    Dav,
    calendar_query,
    multiget,
    radicale_of,
    sync_collection,
    vevent,
)

CTAG_BODY = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" '
             'xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/><D:sync-token/>'
             '</D:prop></D:propfind>')


def hrefs(body: str) -> list[str]:
    """Hrefs of 200 responses in a multistatus."""
    out = []
    for response in re.findall(r"<response>(.*?)</response>", body, re.S):
        if "200 OK" in response:
            out.append(re.search(r"<href>(.*?)</href>", response).group(1))  # type: ignore[union-attr]
    return sorted(out)


def token_of(body: str) -> str:
    """The sync token of a response."""
    return re.search(r"<sync-token>(.*?)</sync-token>", body).group(1)  # type: ignore[union-attr]


def ctag(dav: Dav, path: str = "/alice/work/") -> str:
    """The getctag of a collection."""
    resp = dav.request("PROPFIND", path, CTAG_BODY, headers={"Depth": "0"})
    assert resp.status == 207
    return re.search(r"<CS:getctag>(.*?)</CS:getctag>", resp.text).group(1)  # type: ignore[union-attr]


def test_put_get_etag_modify_delete(dav: Dav) -> None:
    resp = dav.request("PUT", "/alice/work/a.ics", vevent("a"),
                       headers={"If-None-Match": "*", "Content-Type": "text/calendar"})
    assert resp.status == 201
    etag = resp.headers["ETag"]
    again = dav.request("PUT", "/alice/work/a.ics", vevent("a"), headers={"If-None-Match": "*"})
    assert again.status == 412
    got = dav.request("GET", "/alice/work/a.ics")
    assert got.status == 200 and got.headers["ETag"] == etag and "UID:a" in got.text
    stale = dav.request("PUT", "/alice/work/a.ics", vevent("a", summary="x"),
                        headers={"If-Match": '"nope"'})
    assert stale.status == 412
    changed = dav.request("PUT", "/alice/work/a.ics", vevent("a", summary="Moved"),
                          headers={"If-Match": etag})
    assert changed.status == 204 and changed.headers["ETag"] != etag
    record = dav.store.get_item("alice/work", "a.ics")
    assert record is not None and record.summary == "Moved" and record.origin == "caldav"
    assert dav.request("DELETE", "/alice/work/a.ics", headers={"If-Match": etag}).status == 412
    assert dav.request("DELETE", "/alice/work/a.ics").status == 200
    assert dav.request("GET", "/alice/work/a.ics").status == 404
    assert dav.request("DELETE", "/alice/work/a.ics").status == 404


def test_uid_conflict_and_invalid_data(dav: Dav) -> None:
    assert dav.request("PUT", "/alice/work/a.ics", vevent("same")).status == 201
    conflict = dav.request("PUT", "/alice/work/b.ics", vevent("same"))
    assert conflict.status == 409 and "no-uid-conflict" in conflict.text
    secondly = vevent("r", extra="RRULE:FREQ=SECONDLY")
    assert dav.request("PUT", "/alice/work/r.ics", secondly).status == 400
    backwards = vevent("b", "20260105T100000Z", "20260104T100000Z")
    assert dav.request("PUT", "/alice/work/b.ics", backwards).status == 400
    assert dav.store.get_item("alice/work", "r.ics") is None


def test_ctag_and_sync_token_follow_revision(dav: Dav) -> None:
    first = ctag(dav)
    assert ctag(dav) == first
    dav.request("PUT", "/alice/work/a.ics", vevent("a"))
    second = ctag(dav)
    assert second != first
    proppatch = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" '
                 'xmlns:I="http://apple.com/ns/ical/"><D:set><D:prop><I:calendar-color>#ff0000'
                 '</I:calendar-color><D:displayname>Renamed</D:displayname></D:prop></D:set>'
                 '</D:propertyupdate>')
    assert dav.request("PROPPATCH", "/alice/work/", proppatch).status == 207
    assert ctag(dav) != second
    record = dav.store.get_collection("alice/work")
    assert record is not None
    assert record.props["ICAL:calendar-color"] == "#ff0000" and record.display_name == "Renamed"


def test_sync_collection_incremental_and_invalid_tokens(dav: Dav) -> None:
    for uid in ("a", "b", "c"):
        dav.request("PUT", f"/alice/work/{uid}.ics", vevent(uid))
    full = dav.request("REPORT", "/alice/work/", sync_collection(), headers={"Depth": "1"})
    assert full.status == 207
    assert hrefs(full.text) == [f"/alice/work/{u}.ics" for u in "abc"]
    token = token_of(full.text)
    same = dav.request("REPORT", "/alice/work/", sync_collection(token))
    assert token_of(same.text) == token and hrefs(same.text) == []
    dav.request("PUT", "/alice/work/b.ics", vevent("b", summary="changed"))
    dav.request("DELETE", "/alice/work/c.ics")
    delta = dav.request("REPORT", "/alice/work/", sync_collection(token))
    assert hrefs(delta.text) == ["/alice/work/b.ics"]
    assert "/alice/work/c.ics</href><status>HTTP/1.1 404" in delta.text
    assert token_of(delta.text) != token
    for bad in ("http://termin-bridge.invalid/ns/sync/zzz-1", "garbage",
                "http://radicale.org/ns/sync/abc", token.rsplit("-", 1)[0] + "-999"):
        resp = dav.request("REPORT", "/alice/work/", sync_collection(bad))
        assert resp.status == 403 and "valid-sync-token" in resp.text


def test_time_range_query_recurring_and_all_day(dav: Dav) -> None:
    events = {
        "inside": vevent("inside", "20260110T100000Z", "20260110T110000Z"),
        "before": vevent("before", "20251201T100000Z", "20251201T110000Z"),
        "allday": vevent("allday", "20260131", "20260201"),
        "allday-after": vevent("allday-after", "20260201", "20260202"),
        "weekly": vevent("weekly", "20250106T090000Z", "20250106T100000Z",
                         extra="RRULE:FREQ=WEEKLY"),
        "yearly-miss": vevent("yearly-miss", "20240701T090000Z", "20240701T100000Z",
                              extra="RRULE:FREQ=YEARLY"),
        "ended": vevent("ended", "20250106T090000Z", "20250106T100000Z",
                        extra="RRULE:FREQ=DAILY;COUNT=3"),
        "exdated": vevent("exdated", "20260115T090000Z", "20260115T100000Z",
                          extra="RRULE:FREQ=DAILY;COUNT=2\nEXDATE:20260115T090000Z,"
                                "20260116T090000Z"),
        "zero": vevent("zero", "20260120T100000Z", None),
    }
    for uid, text in events.items():
        assert dav.request("PUT", f"/alice/work/{uid}.ics", text).status == 201, uid
    query = calendar_query("20260101T000000Z", "20260201T000000Z")
    expected = ["allday", "inside", "weekly", "zero"]
    for _ in range(2):  # cold, then with the occurrence cache warm
        resp = dav.request("REPORT", "/alice/work/", query, headers={"Depth": "1"})
        assert resp.status == 207
        assert hrefs(resp.text) == [f"/alice/work/{u}.ics" for u in expected]
    open_ended = dav.request("REPORT", "/alice/work/", calendar_query("20260125T000000Z", None))
    assert hrefs(open_ended.text) == sorted(f"/alice/work/{u}.ics" for u in
                                            ("allday", "allday-after", "weekly", "yearly-miss"))
    todo = dav.request("REPORT", "/alice/work/", calendar_query(None, None, comp="VTODO"))
    assert hrefs(todo.text) == []


def test_multiget_and_foreign_hrefs(dav: Dav) -> None:
    dav.request("PUT", "/alice/work/a.ics", vevent("a"))
    dav.request("PUT", "/bob/private/secret.ics", vevent("secret"), user="bob")
    body = multiget(["/alice/work/a.ics", "/alice/work/missing.ics", "/bob/private/secret.ics",
                     "/alice/work/../../bob/private/secret.ics", "/bob/"])
    resp = dav.request("REPORT", "/alice/work/", body, headers={"Depth": "1"})
    assert resp.status == 207
    assert hrefs(resp.text) == ["/alice/work/a.ics"]
    assert "SUMMARY" in resp.text and "secret" not in resp.text.replace("secret.ics", "")


def test_collections_of_every_kind(dav: Dav) -> None:
    mkcalendar = ('<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" '
                  'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>Home'
                  '</D:displayname></D:prop></D:set></C:mkcalendar>')
    assert dav.request("MKCALENDAR", "/alice/home/", mkcalendar).status == 201
    assert dav.request("MKCALENDAR", "/alice/home/", mkcalendar).status in (405, 409)
    mkcol = ('<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:'
             'carddav"><D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/>'
             '</D:resourcetype></D:prop></D:set></D:mkcol>')
    assert dav.request("MKCOL", "/alice/contacts/", mkcol).status == 201
    card = ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-1\r\nFN:Jane Doe\r\nN:Doe;Jane;;;\r\n"
            "END:VCARD\r\n")
    put = dav.request("PUT", "/alice/contacts/card-1.vcf", card, headers={"Content-Type":
                                                                          "text/vcard"})
    assert put.status == 201
    assert "FN:Jane Doe" in dav.request("GET", "/alice/contacts/card-1.vcf").text
    listing = dav.request("PROPFIND", "/alice/", PROPFIND_ETAG, headers={"Depth": "1"})
    assert "/alice/home/" in listing.text and "/alice/contacts/" in listing.text
    home = dav.store.get_collection("alice/home")
    assert home is not None and home.tag == "VCALENDAR" and home.display_name == "Home"
    assert dav.request("DELETE", "/alice/home/").status == 200
    assert dav.store.get_collection("alice/home") is None


def test_whole_collection_put_and_move(dav: Dav) -> None:
    dav.request("PUT", "/alice/work/old.ics", vevent("old"))
    body = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nX-WR-CALNAME:Imported\r\n"
            + "".join(vevent(u).split("PRODID:-//test//EN\r\n", 1)[1].rsplit("END:VCALENDAR", 1)[0]
                      for u in ("n1", "n2"))
            + "END:VCALENDAR\r\n")
    resp = dav.request("PUT", "/alice/work/", body, headers={"Content-Type": "text/calendar"})
    assert resp.status == 201, resp.text
    assert sorted(i.uid for i in dav.store.list_items("alice/work")) == ["n1", "n2"]
    n1 = dav.store.get_item_by_uid("alice/work", "n1")
    assert n1 is not None
    move = dav.request("MOVE", f"/alice/work/{n1.href}",
                       headers={"Destination": "http://localhost:5232/alice/work/renamed.ics"})
    assert move.status in (201, 204)
    assert dav.store.get_item("alice/work", "renamed.ics") is not None


def test_root_survives_delete_and_oversize_items_are_hidden(dav: Dav) -> None:
    big = vevent("big", extra="DESCRIPTION:" + "x" * 60_000)
    assert dav.request("PUT", "/alice/work/big.ics", big).status == 201
    from radicale_plugins.server import build_application, build_configuration

    small = build_application(build_configuration(
        dav.settings.with_overrides(dav={"max_resource_size": 10_000}),
        extra={"auth": {"delay": "0.01"}}), max_request_size=2_000_000)
    tiny = Dav(small, dav.store, dav.settings)
    assert tiny.request("GET", "/alice/work/big.ics").status == 404
    listing = tiny.request("PROPFIND", "/alice/work/", PROPFIND_ETAG, headers={"Depth": "1"})
    assert "big.ics" not in listing.text
    # Over HTTP nobody may delete the root (not even an admin); the storage itself empties
    # everything on a root delete and the root keeps existing, as Radicale expects.
    assert dav.request("DELETE", "/", user="boss").status == 403
    storage = radicale_of(dav.app)._storage
    root = next(iter(storage.discover("/")))
    root.delete()
    assert dav.store.list_collections() == []
    assert next(iter(storage.discover("/"))).path == ""
    assert dav.request("PROPFIND", "/", PROPFIND_ETAG, user="boss",
                       headers={"Depth": "0"}).status == 207


def test_writes_land_in_the_change_log(dav: Dav) -> None:
    before = dav.store.get_collection("alice/work")
    assert before is not None
    dav.request("PUT", "/alice/work/a.ics", vevent("a"))
    dav.request("DELETE", "/alice/work/a.ics")
    change = dav.store.changes_since("alice/work", before.revision, before.sync_epoch)
    assert change.hrefs == ("a.ics",) and change.revision == before.revision + 2


def test_prefilter_answers_equal_radicales_own_filter(dav: Dav, monkeypatch: object) -> None:
    import pytest

    from radicale_plugins.items import Prefilter

    texts = [
        vevent("p1", "20260110T100000Z", "20260110T110000Z"),
        vevent("p2", "20260131T230000Z", "20260201T010000Z"),
        vevent("p3", "20260201T000000Z", None),
        vevent("p4", "20260101", None),
        vevent("p5", "20251231", "20260101"),
        vevent("p6", "20250301T080000Z", "20250301T090000Z", extra="RRULE:FREQ=MONTHLY"),
        vevent("p7", "20250301T080000Z", "20250301T090000Z",
               extra="RRULE:FREQ=WEEKLY;UNTIL=20260105T000000Z"),
        vevent("p8", "20260105T080000Z", "20260105T090000Z",
               extra="RRULE:FREQ=DAILY;COUNT=5\nEXDATE:20260106T080000Z"),
        vevent("p9", "20240229", "20240301", extra="RRULE:FREQ=YEARLY"),
    ]
    for i, text in enumerate(texts):
        assert dav.request("PUT", f"/alice/work/p{i}.ics", text).status == 201
    windows = [("20260101T000000Z", "20260201T000000Z"), ("20260106T000000Z", "20260107T000000Z"),
               ("20260201T000000Z", None), ("20280228T000000Z", "20280302T000000Z"),
               ("20260105T083000Z", "20260105T083001Z"), ("20250101T000000Z", "20250102T000000Z")]
    ours = [hrefs(dav.request("REPORT", "/alice/work/", calendar_query(s, e)).text)
            for s, e in windows]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Prefilter, "decide", lambda *_a, **_k: None)
        theirs = [hrefs(dav.request("REPORT", "/alice/work/", calendar_query(s, e)).text)
                  for s, e in windows]
    assert ours == theirs


def test_concurrent_creates_and_reads_do_not_block_writers(dav: Dav) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    def create(_: int) -> int:
        return dav.request("PUT", "/alice/work/race.ics", vevent("race"),
                           headers={"If-None-Match": "*"}).status

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(create, range(8)))
    assert statuses.count(201) == 1 and set(statuses) <= {201, 412}
    storage = radicale_of(dav.app)._storage
    reading = threading.Event()
    release = threading.Event()

    def long_read() -> None:
        with storage.acquire_lock("r", "alice"):
            reading.set()
            release.wait(10)

    reader = threading.Thread(target=long_read)
    reader.start()
    try:
        assert reading.wait(5)
        assert dav.request("PUT", "/alice/work/during.ics", vevent("during")).status == 201
    finally:
        release.set()
        reader.join()


def test_calendar_timezone_proppatch_sets_the_zone(dav: Dav) -> None:
    vtimezone = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\n"
                 "TZID:Europe/Paris\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
                 "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
                 "END:VCALENDAR\r\n")
    body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-timezone>'
            f'{vtimezone}</C:calendar-timezone></D:prop></D:set></D:propertyupdate>')
    assert dav.request("PROPPATCH", "/alice/work/", body).status == 207
    record = dav.store.get_collection("alice/work")
    assert record is not None and record.timezone == "Europe/Paris"
    assert "TZID:Europe/Paris" in record.props["C:calendar-timezone"]


def test_move_between_own_calendars(dav: Dav) -> None:
    mkcalendar = ('<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" '
                  'xmlns:C="urn:ietf:params:xml:ns:caldav"/>')
    assert dav.request("MKCALENDAR", "/alice/other/", mkcalendar).status == 201
    dav.request("PUT", "/alice/work/m.ics", vevent("m"))
    before = dav.store.get_collection("alice/work")
    assert before is not None
    resp = dav.request("MOVE", "/alice/work/m.ics",
                       headers={"Destination": "http://localhost:5232/alice/other/m.ics"})
    assert resp.status == 201
    assert dav.store.get_item("alice/other", "m.ics") is not None
    assert dav.store.get_item("alice/work", "m.ics") is None
    change = dav.store.changes_since("alice/work", before.revision, before.sync_epoch)
    assert change.hrefs == ("m.ics",)


def test_calendar_timezone_is_served_from_the_zone_column(dav: Dav) -> None:
    body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-timezone/></D:prop>'
            '</D:propfind>')
    resp = dav.request("PROPFIND", "/alice/work/", body, headers={"Depth": "0"})
    assert resp.status == 207 and "TZID:Europe/Berlin" in resp.text


def test_expired_sync_token_is_refused_and_a_new_one_works(dav: Dav) -> None:
    import time

    dav.request("PUT", "/alice/work/a.ics", vevent("a"))
    old = token_of(dav.request("REPORT", "/alice/work/", sync_collection()).text)
    dav.request("PUT", "/alice/work/b.ics", vevent("b"))
    dav.store.prune_history(time.time() + 1)
    expired = dav.request("REPORT", "/alice/work/", sync_collection(old))
    assert expired.status == 403 and "valid-sync-token" in expired.text
    fresh = dav.request("REPORT", "/alice/work/", sync_collection())
    assert hrefs(fresh.text) == ["/alice/work/a.ics", "/alice/work/b.ics"]
    again = dav.request("REPORT", "/alice/work/", sync_collection(token_of(fresh.text)))
    assert again.status == 207 and hrefs(again.text) == []
