"""Shared calendars in the grantee's home (``/carol/bob~private/``): reads, sync, writes, 403s.

``populate`` gives carol a read grant on ``bob/private`` and a write grant on ``bob/shared``;
their aliases are ``/carol/bob~private/`` and ``/carol/bob~shared/``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from caldav.davclient import DAVClient
from caldav.lib.error import DAVError

from bridge.passwords import hash_password
from bridge.store import SqlStore
from tests.caldav.caldav_support import (
    PROPFIND_ETAG,
    Dav,
    Served,
    calendar_query,
    multiget,
    password,
    radicale_of,
    sync_collection,
    vevent,
)
from tests.caldav.test_caldav_security import MKCAL, PROPPATCH

RO = "/carol/bob~private/"
RW = "/carol/bob~shared/"
PROPS = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" '
         'xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:displayname/><D:resourcetype/>'
         '<CS:getctag/><D:sync-token/><D:current-user-privilege-set/><D:owner/></D:prop>'
         '</D:propfind>')


def _responses(text: str) -> dict[str, str]:
    """href → the XML of its response element."""
    return {m.group(1): m.group(0) for m in
            re.finditer(r"<response><href>([^<]*)</href>.*?</response>", text)}


def _sync_hrefs(text: str) -> tuple[str, dict[str, int]]:
    token = re.search(r"<sync-token>([^<]*)</sync-token>", text)
    assert token is not None
    found = {href: int(status) for href, status in re.findall(
        r"<response><href>([^<]*)</href>.*?HTTP/1\.1 (\d+)", text)}
    return token.group(1), found


def test_home_lists_shared_calendars_like_their_targets(dav: Dav) -> None:
    assert dav.request("PUT", "/bob/private/e1.ics", vevent("e1"), user="bob").status == 201
    home = dav.request("PROPFIND", "/carol/", PROPS, user="carol", headers={"Depth": "1"})
    assert home.status == 207
    listed = _responses(home.text)
    assert set(listed) == {"/carol/", RO, RW}
    assert "<displayname>Private (bob)</displayname>" in listed[RO]
    assert "<displayname>Shared (bob)</displayname>" in listed[RW]
    assert "<owner><href>/bob/</href></owner>" in listed[RO]
    assert "<C:calendar />" in listed[RO]
    # read grant: read-only privileges; write grant: write-content but not write-properties
    assert "<read />" in listed[RO] and "write" not in listed[RO]
    assert "<write-content />" in listed[RW] and "write-properties" not in listed[RW]
    # same ctag and sync token as the target
    direct = _responses(dav.request("PROPFIND", "/bob/private/", PROPS, user="bob").text)
    for prop in ("CS:getctag", "sync-token"):
        pattern = f"<{prop}>([^<]*)</{prop}>"
        assert re.findall(pattern, listed[RO]) == re.findall(pattern, direct["/bob/private/"])
    # same item, same etag
    got = dav.request("GET", RO + "e1.ics", user="carol")
    original = dav.request("GET", "/bob/private/e1.ics", user="bob")
    assert got.status == 200 and got.body == original.body
    assert got.headers["ETag"] == original.headers["ETag"]
    listing = dav.request("PROPFIND", RO, PROPFIND_ETAG, user="carol", headers={"Depth": "1"})
    assert f"{RO}e1.ics" in listing.text and original.headers["ETag"] in listing.text
    # time-range query and multiget answer with alias hrefs
    inside = dav.request("REPORT", RO, calendar_query("20260101T000000Z", "20260201T000000Z"),
                         user="carol", headers={"Depth": "1"})
    assert f"<href>{RO}e1.ics</href>" in inside.text
    outside = dav.request("REPORT", RO, calendar_query("20270101T000000Z", "20270201T000000Z"),
                          user="carol", headers={"Depth": "1"})
    assert "e1.ics" not in outside.text
    both = dav.request("REPORT", RO, multiget([RO + "e1.ics", RO + "none.ics"]), user="carol")
    assert "UID:e1" in both.text
    # admins and owners have no aliases; the grantee's own calendars stay as they were
    for user in ("boss", "bob", "alice"):
        text = dav.request("PROPFIND", f"/{user}/", PROPFIND_ETAG, user=user,
                           headers={"Depth": "1"}).text
        assert "~" not in text, user


def test_sync_collection_through_the_alias_is_incremental(dav: Dav) -> None:
    dav.request("PUT", "/bob/private/a.ics", vevent("a"), user="bob")
    first = dav.request("REPORT", RO, sync_collection(), user="carol")
    token, found = _sync_hrefs(first.text)
    assert found == {RO + "a.ics": 200}
    same, nothing = _sync_hrefs(dav.request("REPORT", RO, sync_collection(token),
                                            user="carol").text)
    assert (same, nothing) == (token, {})
    dav.request("PUT", "/bob/private/b.ics", vevent("b"), user="bob")
    dav.request("DELETE", "/bob/private/a.ics", user="bob")
    newer, delta = _sync_hrefs(dav.request("REPORT", RO, sync_collection(token),
                                           user="carol").text)
    assert newer != token and delta == {RO + "a.ics": 404, RO + "b.ics": 200}
    bad = dav.request("REPORT", RO, sync_collection(token + "9"), user="carol")
    assert bad.status == 403 and "valid-sync-token" in bad.text


def test_write_grant_writes_the_target(dav: Dav) -> None:
    put = dav.request("PUT", RW + "c1.ics", vevent("c1", summary="From carol"), user="carol")
    assert put.status == 201
    record = dav.store.get_item("bob/shared", "c1.ics")
    assert record is not None and record.origin == "caldav" and record.summary == "From carol"
    assert dav.store.changes_since("bob/shared", 0).hrefs == ("c1.ics",)
    # edit with the etag, a stale etag fails
    etag = dav.request("GET", RW + "c1.ics", user="carol").headers["ETag"]
    edit = dav.request("PUT", RW + "c1.ics", vevent("c1", summary="Edited"), user="carol",
                       headers={"If-Match": etag})
    assert edit.status in (201, 204)
    stale = dav.request("PUT", RW + "c1.ics", vevent("c1", summary="Stale"), user="carol",
                        headers={"If-Match": etag})
    assert stale.status == 412
    edited = dav.store.get_item("bob/shared", "c1.ics")
    assert edited is not None and edited.summary == "Edited"
    # the owner sees it at the real path
    assert "Edited" in dav.request("GET", "/bob/shared/c1.ics", user="bob").text
    # UID uniqueness is the target's
    dup = dav.request("PUT", RW + "other.ics", vevent("c1"), user="carol")
    assert dup.status == 409
    # MOVE inside the alias, and from the grantee's own calendar into it
    move = dav.request("MOVE", RW + "c1.ics", user="carol",
                       headers={"Destination": f"http://localhost:5232{RW}c2.ics"})
    assert move.status in (201, 204)
    assert [i.href for i in dav.store.list_items("bob/shared")] == ["c2.ics"]
    assert dav.request("MKCALENDAR", "/carol/mine/", MKCAL, user="carol").status == 201
    dav.request("PUT", "/carol/mine/m.ics", vevent("m"), user="carol")
    into = dav.request("MOVE", "/carol/mine/m.ics", user="carol",
                       headers={"Destination": f"http://localhost:5232{RW}m.ics"})
    assert into.status in (201, 204)
    assert sorted(i.href for i in dav.store.list_items("bob/shared")) == ["c2.ics", "m.ics"]
    assert dav.store.list_items("carol/mine") == []
    # delete
    assert dav.request("DELETE", RW + "c2.ics", user="carol").status == 200
    assert dav.store.get_item("bob/shared", "c2.ics") is None
    assert dav.request("DELETE", RW + "c2.ics", user="carol").status == 404


def test_the_alias_itself_belongs_to_the_owner(dav: Dav) -> None:
    dav.request("PUT", "/bob/private/keep.ics", vevent("keep"), user="bob")
    dav.request("PUT", "/bob/shared/keep.ics", vevent("keep"), user="bob")
    before = {p: dav.store.get_collection(p) for p in ("bob/private", "bob/shared")}
    # read grant: no item writes at all
    assert dav.request("PUT", RO + "x.ics", vevent("x"), user="carol").status == 403
    assert dav.request("PUT", RO + "keep.ics", vevent("keep", summary="X"), user="carol"
                       ).status == 403
    assert dav.request("DELETE", RO + "keep.ics", user="carol").status == 403
    assert dav.request("MOVE", RO + "keep.ics", user="carol", headers={
        "Destination": f"http://localhost:5232{RW}moved.ics"}).status == 403
    # either grant: no PROPPATCH, DELETE, overwrite or re-creation of the alias
    for alias in (RO, RW):
        assert dav.request("PROPPATCH", alias, PROPPATCH, user="carol").status == 403
        assert dav.request("DELETE", alias, user="carol").status == 403
        assert dav.request("PUT", alias, vevent("whole"), user="carol",
                           headers={"Content-Type": "text/calendar"}).status == 403
        assert dav.request("MKCALENDAR", alias, MKCAL, user="carol").status in (403, 409)
        assert dav.request("MKCOL", alias + "sub/", user="carol").status in (403, 409)
    # the reserved form cannot be created in the own home either
    for name in ("/carol/x~y/", "/carol/bob~nothing/", "/carol/~/", "/carol/alice~work/"):
        assert dav.request("MKCALENDAR", name, MKCAL, user="carol").status in (400, 403), name
    assert [c.path for c in dav.store.list_collections("carol")] == []
    assert [i.uid for i in dav.store.list_items("bob/private")] == ["keep"]
    assert [i.uid for i in dav.store.list_items("bob/shared")] == ["keep"]
    for path, record in before.items():
        assert dav.store.get_collection(path) == record


def test_revoking_the_grant_removes_the_alias(dav: Dav) -> None:
    dav.request("PUT", "/bob/private/e.ics", vevent("e"), user="bob")
    assert dav.request("GET", RO + "e.ics", user="carol").status == 200
    dav.store.set_grant("bob/private", "carol", None)
    # the next request, although the rights plugin caches grants for two seconds
    for method, path, body in (("PROPFIND", RO, PROPFIND_ETAG), ("GET", RO + "e.ics", ""),
                               ("REPORT", RO, sync_collection())):
        assert dav.request(method, path, body, user="carol").status in (403, 404), method
    home = dav.request("PROPFIND", "/carol/", PROPFIND_ETAG, user="carol",
                       headers={"Depth": "1"})
    assert set(_responses(home.text)) == {"/carol/", RW}
    dav.store.set_grant("bob/shared", "carol", "read")  # downgraded: writes stop
    rights = radicale_of(dav.app)._rights
    rights._cache.clear()
    assert dav.request("PUT", RW + "n.ics", vevent("n"), user="carol").status == 403
    assert dav.store.list_items("bob/shared") == []


ALIAS_TRICKS = [
    "/alice/bob~private/", "/alice/bob~private/secret.ics", "/alice/bob~shared/x.ics",
    "/carol/bob~private/", "/carol/bob~private/secret.ics", "/bob/carol~private/",
    "/alice/bob~work/../", "/alice/bob~private/../../bob/private/", "/alice/alice~work/",
    "/alice/~private/", "/alice/bob~private~x/", "/alice/nosuchuser~cal/",
    "/alice/bob~private/sub/x.ics", "/bob~private/",
]


def test_alias_path_tricks_are_forbidden(dav: Dav) -> None:
    from tests.caldav.test_caldav_security import METHODS, _assert_bob_untouched

    assert dav.request("PUT", "/bob/private/secret.ics", vevent("secret"), user="bob"
                       ).status == 201
    for path in ALIAS_TRICKS:
        for method, body in METHODS:
            headers = {"Depth": "1"}
            if method == "MOVE":
                headers["Destination"] = "http://localhost:5232/alice/work/stolen.ics"
            resp = dav.request(method, path, body, headers=headers)
            assert resp.status in (400, 403), (method, path, resp.status)
            assert b"SUMMARY" not in resp.body and b"Private" not in resp.body
    # the grantee cannot reach past its own aliases either
    for path in ("/alice/bob~private/", "/carol/bob~private/sub/",
                 "/carol/bob~private/../../bob/", "/boss/bob~private/"):
        for method, body in METHODS:
            resp = dav.request(method, path, body, user="carol", headers={"Depth": "1"})
            # (below her read-only alias carol may learn that nothing is there: 404)
            assert resp.status in (400, 403, 404, 409), (method, path, resp.status)
    # an admin sees the real calendars, not other users' aliases, and gets none of its own
    dav.store.set_grant("bob/private", "boss", "read")
    assert dav.request("PROPFIND", RO, PROPFIND_ETAG, user="boss").status == 403
    assert dav.request("PROPFIND", "/boss/bob~private/", PROPFIND_ETAG, user="boss"
                       ).status in (403, 404)
    # no oracle: a granted alias of someone else answers like one naming nothing
    for method, body in METHODS:
        a = dav.request(method, "/carol/bob~private/secret.ics", body, headers={"Depth": "1"})
        b = dav.request(method, "/carol/nosuchuser~cal/x.ics", body, headers={"Depth": "1"})
        assert (a.status, a.body) == (b.status, b.body), method
    _assert_bob_untouched(dav.store)


def _dora(store: SqlStore) -> None:
    """A fresh staff user whose grants exist before its first request."""
    if store.get_user("dora") is None:
        store.create_user("dora", hash_password(password("dora")))


def test_caldav_library_sees_and_uses_shared_calendars(served: Served) -> None:
    store = served.store
    _dora(store)
    store.create_collection("bob/team", tag="VCALENDAR", props={"D:displayname": "Team"},
                            exist_ok=True)
    store.create_collection("bob/board", tag="VCALENDAR", exist_ok=True)
    store.set_grant("bob/team", "dora", "write")
    store.set_grant("bob/board", "dora", "read")
    bob = DAVClient(url=served.url, username="bob", password=password("bob"))
    bob_team = bob.calendar(url=served.url + "bob/team/")  # type: ignore[no-untyped-call]
    bob_team.save_event(vevent("bob-1", "20260110T100000Z", "20260110T110000Z"))
    client = DAVClient(url=served.url + ".well-known/caldav", username="dora",
                              password=password("dora"))
    principal = client.principal()  # type: ignore[no-untyped-call]
    calendars = {str(c.url).rsplit("/", 2)[-2]: c for c in principal.calendars()}
    assert set(calendars) == {"bob~team", "bob~board"}
    team = calendars["bob~team"]
    assert team.get_display_name() == "Team (bob)"
    assert calendars["bob~board"].get_display_name() == "board (bob)"
    found = team.search(start=datetime(2026, 1, 1, tzinfo=UTC),
                        end=datetime(2026, 2, 1, tzinfo=UTC), event=True)
    assert [str(e.icalendar_component["UID"]) for e in found] == ["bob-1"]
    assert str(found[0].url).endswith("/dora/bob~team/bob-1.ics")
    # incremental sync: bob's change shows up with the alias href
    token = team.objects_by_sync_token(load_objects=False).sync_token
    bob_team.save_event(vevent("bob-2", "20260111T100000Z", "20260111T110000Z"))
    delta = team.objects_by_sync_token(sync_token=token, load_objects=False)
    assert [str(o.url) for o in delta] == [served.url + "dora/bob~team/bob-2.ics"]
    # dora writes through the alias; it lands in bob's calendar
    event = team.save_event(vevent("dora-1", "20260112T100000Z", "20260112T110000Z"))
    assert store.has_uid("bob/team", "dora-1") is not None
    event.load()
    event.icalendar_component["SUMMARY"] = "Changed by dora"
    event.save()
    changed = store.get_item("bob/team", "dora-1.ics")
    assert changed is not None and changed.summary == "Changed by dora"
    event.delete()
    assert store.has_uid("bob/team", "dora-1") is None
    # the read-only one refuses writes and stores nothing
    with pytest.raises(DAVError):
        calendars["bob~board"].save_event(vevent("dora-2"))
    assert store.list_items("bob/board") == []
    # revoking: gone from the home at once
    store.set_grant("bob/board", "dora", None)
    assert [str(c.url).rsplit("/", 2)[-2] for c in principal.calendars()] == ["bob~team"]
    with pytest.raises(DAVError):
        calendars["bob~board"].events()
