"""Cross-user access, hostile XML and request framing, auth: always 4xx, server keeps answering."""

from __future__ import annotations

import base64
import socket
import time
from pathlib import Path

import pytest

from bridge.store import SqlStore
from radicale_plugins.auth import USER_SECONDS, Auth
from radicale_plugins.guard import RAW_CHUNKED
from radicale_plugins.server import build_application, build_configuration
from tests.caldav.caldav_support import (
    PROPFIND_ETAG,
    Dav,
    Served,
    calendar_query,
    radicale_of,
    settings_for,
    sync_collection,
    vevent,
)

PROPPATCH = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
             '<D:displayname>pwned</D:displayname></D:prop></D:set></D:propertyupdate>')
MKCAL = ('<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" '
         'xmlns:C="urn:ietf:params:xml:ns:caldav"/>')

TARGETS = [
    "/bob/", "/bob/private/", "/bob/private/secret.ics", "/bob/new/", "/bob/private/new.ics",
    "/nosuchuser/", "/nosuchuser/cal/", "/nosuchuser/cal/x.ics", "/alice/../bob/private/",
    "/alice/work/../../bob/private/secret.ics", "//bob/private/", "/BOB/private/",
    "/bob/private/secret.ics/", "/bob//private/secret.ics", "/bob/private/sub/x.ics",
]
METHODS = [
    ("GET", ""), ("HEAD", ""), ("PROPFIND", PROPFIND_ETAG), ("PUT", vevent("intruder")),
    ("DELETE", ""), ("PROPPATCH", PROPPATCH), ("MKCOL", ""), ("MKCALENDAR", MKCAL),
    ("REPORT", sync_collection()), ("REPORT", calendar_query(None, None)),
    ("MOVE", ""),
]


def _assert_bob_untouched(store: SqlStore) -> None:
    items = store.list_items("bob/private")
    assert [i.uid for i in items] == ["secret"]
    record = store.get_collection("bob/private")
    assert record is not None and record.display_name == "Private"
    assert store.get_collection("bob/new") is None


def test_cross_user_matrix_is_forbidden(dav: Dav) -> None:
    assert dav.request("PUT", "/bob/private/secret.ics", vevent("secret"), user="bob"
                       ).status == 201
    seen = 0
    for path in TARGETS:
        for method, body in METHODS:
            headers = {"Depth": "1"}
            if method == "MOVE":
                headers["Destination"] = "http://localhost:5232/alice/work/stolen.ics"
            resp = dav.request(method, path, body, headers=headers)
            assert resp.status in (400, 403), (method, path, resp.status)
            assert b"SUMMARY" not in resp.body and b"Private" not in resp.body
            seen += 1
    # MOVE of own item into someone else's calendar (also via traversal)
    dav.request("PUT", "/alice/work/mine.ics", vevent("mine"))
    for dest in ("/bob/private/x.ics", "/alice/../bob/private/x.ics", "/nosuchuser/c/x.ics"):
        resp = dav.request("MOVE", "/alice/work/mine.ics",
                           headers={"Destination": f"http://localhost:5232{dest}"})
        assert resp.status in (400, 403), dest
    assert seen == len(TARGETS) * len(METHODS)
    # no oracle: another user's paths answer exactly like paths of users that do not exist
    for method, body in METHODS:
        pairs = [("/bob/private/secret.ics", "/nosuchuser/cal/x.ics"),
                 ("/bob/private/", "/nosuchuser/cal/"), ("/bob/", "/nosuchuser/")]
        for existing, missing in pairs:
            a = dav.request(method, existing, body, headers={"Depth": "1"})
            b = dav.request(method, missing, body, headers={"Depth": "1"})
            assert (a.status, a.body) == (b.status, b.body), (method, existing)
    _assert_bob_untouched(dav.store)
    assert dav.request("GET", "/alice/work/mine.ics").status == 200


def test_grants_and_admin(dav: Dav) -> None:
    assert dav.request("PUT", "/bob/private/secret.ics", vevent("secret"), user="bob"
                       ).status == 201
    # carol: read on bob/private, write on bob/shared, nothing on bob/ itself
    assert dav.request("GET", "/bob/private/secret.ics", user="carol").status == 200
    assert dav.request("PUT", "/bob/private/c.ics", vevent("c"), user="carol").status == 403
    assert dav.request("DELETE", "/bob/private/secret.ics", user="carol").status == 403
    assert dav.request("PUT", "/bob/shared/c.ics", vevent("c"), user="carol").status == 201
    assert dav.request("PROPFIND", "/bob/", PROPFIND_ETAG, user="carol").status == 403
    # admin sees and manages everything
    assert dav.request("GET", "/bob/private/secret.ics", user="boss").status == 200
    listing = dav.request("PROPFIND", "/bob/", PROPFIND_ETAG, user="boss",
                          headers={"Depth": "1"})
    assert "/bob/private/" in listing.text
    assert dav.request("PUT", "/alice/work/b.ics", vevent("b"), user="boss").status == 201


def test_authentication(dav: Dav) -> None:
    assert dav.request("PROPFIND", "/alice/", PROPFIND_ETAG, user=None).status == 401
    wrong = dav.request("PROPFIND", "/alice/", PROPFIND_ETAG, pw="wrong")
    assert wrong.status == 401 and "WWW-Authenticate" in wrong.headers
    assert dav.request("PROPFIND", "/alice/", PROPFIND_ETAG, user="Alice",
                       pw="alice-secret").status == 207
    for name in (".*", "alice/..", "a@b@c", "al ice", "../bob"):
        resp = dav.request("PROPFIND", "/alice/", PROPFIND_ETAG, user=name, pw="x")
        assert resp.status in (400, 401, 403), name
    garbage = dav.request("PROPFIND", "/alice/", PROPFIND_ETAG, user=None,
                          headers={"Authorization": "Basic !!!notbase64"})
    assert garbage.status == 400
    no_colon = base64.b64encode(b"alice").decode()
    assert dav.request("GET", "/alice/", user=None, headers={"Authorization": "Basic " + no_colon}
                       ).status == 400


def test_auth_cache_is_keyed_by_hmac_and_follows_password_changes(dav: Dav) -> None:
    from bridge.passwords import hash_password

    auth: Auth = radicale_of(dav.app)._auth
    assert auth._login("alice", "alice-secret") == "alice"
    assert all(len(k) == 32 and b"alice" not in k for k in auth._verified)
    start = time.process_time()  # CPU time: a busy machine must not fail this
    for _ in range(20):
        assert auth._login("alice", "alice-secret") == "alice"
    assert time.process_time() - start < 0.5  # cached: no argon2 per request
    assert auth._login("alice", "wrong") == ""
    now = [time.monotonic()]
    auth.clock = lambda: now[0]
    dav.store.set_password_hash("alice", hash_password("new-secret"))
    now[0] += USER_SECONDS + 0.1  # the account row is re-read: the old password stops working
    assert auth._login("alice", "alice-secret") == ""
    assert auth._login("alice", "new-secret") == "alice"


def test_auth_none_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sqlite_url, tmp_path)
    configuration = build_configuration(settings, extra={"auth": {"type": "none"}})
    with pytest.raises(RuntimeError, match="none"):
        build_application(configuration, max_request_size=1000)
    from radicale_plugins.storage import Storage

    with pytest.raises(RuntimeError, match="none"):
        Storage(configuration)


_LOL = ["&lol;" * 10] + [f"&lol{i - 1};" * 10 for i in range(2, 10)]
BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{_LOL[i - 1]}">' for i in range(1, 10))
                  + ']><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop>&lol9;</D:propfind>')
XXE = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
       '<D:propfind xmlns:D="DAV:"><D:prop>&e;</D:prop></D:propfind>')


@pytest.mark.parametrize("body", [
    BILLION_LAUGHS,
    XXE,
    "<a>" * 5_000 + "</a>" * 5_000,
    "<a>" * 200_000 + "</a>" * 200_000,
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>',
    "\x00\x01garbage",
], ids=["billion-laughs", "xxe", "nest-5k", "nest-200k", "malformed", "binary"])
def test_hostile_xml_is_refused(dav: Dav, body: str) -> None:
    for method in ("PROPFIND", "REPORT", "PROPPATCH"):
        resp = dav.request(method, "/alice/work/", body, headers={"Depth": "1"})
        assert 400 <= resp.status < 500, (method, resp.status)
        assert resp.body.startswith(b"termin-bridge:")
    assert dav.request("PROPFIND", "/alice/work/", PROPFIND_ETAG).status == 207


def test_charset_size_and_expansion_limits(dav: Dav) -> None:
    bogus = dav.request("PUT", "/alice/work/a.ics", vevent("a"),
                        headers={"Content-Type": "text/calendar; charset=x-bogus"})
    assert bogus.status == 415
    latin1 = vevent("l1", summary="Caf\u00e9").encode("latin-1")
    assert dav.request("PUT", "/alice/work/l1.ics", latin1).status == 415
    utf16 = PROPFIND_ETAG.replace('"1.0"?', '"1.0" encoding="utf-16"?').encode("utf-16")
    ok16 = dav.request("PROPFIND", "/alice/work/", utf16,
                       headers={"Content-Type": "application/xml; charset=utf-16"})
    assert ok16.status == 207
    huge = dav.request("PUT", "/alice/work/big.ics", b"x",
                       headers={"Content-Length": str(50_000_000)})
    assert huge.status == 413
    neg = dav.request("PUT", "/alice/work/big.ics", b"x", headers={"Content-Length": "-1"})
    assert neg.status == 400
    expand = ('<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
              'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:expand '
              'start="20200101T000000Z" end="20990101T000000Z"/></C:calendar-data></D:prop>'
              '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
              '<C:time-range start="20200101T000000Z" end="20990101T000000Z"/></C:comp-filter>'
              '</C:comp-filter></C:filter></C:calendar-query>')
    assert dav.request("REPORT", "/alice/work/", expand).status == 400
    small = expand.replace("20990101", "20200201")
    assert dav.request("REPORT", "/alice/work/", small).status == 207
    freebusy = ('<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
                '<C:time-range start="20200101T000000Z"/></C:free-busy-query>')
    assert dav.request("REPORT", "/alice/work/", freebusy).status == 400
    infinity = dav.request("PROPFIND", "/", PROPFIND_ETAG, headers={"Depth": "infinity"})
    assert infinity.status in (207, 403) and "/bob/" not in infinity.text
    unauth = dav.request("PROPFIND", "/alice/work/", PROPFIND_ETAG, user=None)
    assert unauth.status == 401
    for path in ("/alice/work/%2e%2e/x.ics", "/alice/work/..\\..\\x.ics", "/alice/.hidden/",
                 "/alice/work/a\x00.ics", "/alice/work/./a.ics"):
        assert dav.request("GET", path).status == 400, path
    remote = dav.request("MOVE", "/alice/work/a.ics",
                         headers={"Destination": "http://evil.example/alice/work/b.ics"})
    assert remote.status == 400


def test_chunked_body_over_the_limit(dav: Dav) -> None:
    endless = b"".join(b"4000\r\n" + b"A" * 0x4000 + b"\r\n" for _ in range(200))
    resp = dav.request("PUT", "/alice/work/endless.ics", endless,
                       headers={"Content-Length": "", "Transfer-Encoding": "chunked"},
                       environ_extra={RAW_CHUNKED: True})
    assert resp.status == 413


def _raw(served: Served, data: bytes, timeout: float = 10.0) -> bytes:
    host, port = served.url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _auth(user: str = "alice") -> bytes:
    return b"Authorization: Basic " + base64.b64encode(f"{user}:{user}-secret".encode())


def test_http_framing_chunked_and_lying_lengths(served: Served) -> None:
    body = vevent("chunky").encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 100]), body[i:i + 100])
                       for i in range(0, len(body), 100)) + b"0\r\n\r\n"
    head = (b"PUT /alice/work/chunky.ics HTTP/1.1\r\nHost: x\r\n" + _auth()
            + b"\r\nTransfer-Encoding: chunked\r\nContent-Type: text/calendar\r\n\r\n")
    assert _raw(served, head + chunked).startswith(b"HTTP/1.0 201")
    truncated = _raw(served, head.replace(b"chunky", b"cut") + chunked[:150])
    assert truncated.startswith(b"HTTP/1.0 400")
    short = (b"PROPFIND /alice/work/ HTTP/1.1\r\nHost: x\r\n" + _auth()
             + b"\r\nContent-Length: 5000\r\n\r\n" + PROPFIND_ETAG.encode())
    assert _raw(served, short).startswith(b"HTTP/1.0 400")
    unauth = (b"PROPFIND /alice/work/ HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n\r\n"
              + b"<" * 1000)
    assert _raw(served, unauth).startswith(b"HTTP/1.0 401")
    ok = (b"GET /alice/work/chunky.ics HTTP/1.1\r\nHost: x\r\n" + _auth() + b"\r\n\r\n")
    assert _raw(served, ok).startswith(b"HTTP/1.0 200")
