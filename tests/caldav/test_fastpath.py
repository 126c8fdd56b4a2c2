"""Differential test of the CalDAV fast path: every request goes to both paths, same answers.

One store, one configuration, two applications: ``build_application(..., fast_path=True)`` and
the same with ``fast_path=False`` (Radicale answers everything).  Each request of the corpus
(bodies as iOS/macOS, DAVx5, Thunderbird, the caldav library and vdirsyncer send them, the last
two built with the libraries' own code or templates) and of the hypothesis-generated property
sets must get the same status, the same client-relevant headers and the same multistatus after
normalisation (namespace prefixes, element order).  The shapes the fast path claims are also
checked to be answered by it (its ``answered`` counter), so the comparison is not vacuous.
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from caldav.elements import cdav, dav
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from vdirsyncer.storage.dav import CalDAVStorage

from bridge.bootstrap import open_bridge_store
from bridge.ical import parse_resource
from bridge.store import SqlStore
from radicale_plugins.fastpath import FastPath
from radicale_plugins.server import build_application, build_configuration
from radicale_plugins.store_registry import register_store, unregister_store
from tests.caldav.caldav_support import (
    ROLES,
    Response,
    populate,
    settings_for,
    vevent,
    wsgi_request,
)

MAX_RESOURCE = 3000
EXTRA = {"auth": {"delay": "0.01"}, "server": {"max_resource_size": str(MAX_RESOURCE)}}
HEADERS = ("ETag", "Content-Type", "DAV", "Last-Modified", "Content-Encoding")
NON_ASCII = "tërmin ü.ics"  # non-ASCII and a space: percent-encoded in hrefs
D, C, CS = "DAV:", "urn:ietf:params:xml:ns:caldav", "http://calendarserver.org/ns/"


@dataclass
class Pair:
    """The same store behind the fast path and without it."""

    fast: Any
    slow: Any
    fast_path: FastPath
    store: SqlStore
    old_token: str  # a sync token from before a create, a change and a delete

    def both(self, method: str, path: str, body: str | bytes = b"", *, user: str = "alice",
             headers: dict[str, str] | None = None) -> tuple[Response, Response]:
        calls: list[str] = []
        fast = wsgi_request(self.fast, calls, method, path, body, user=user, headers=headers)
        slow = wsgi_request(self.slow, calls, method, path, body, user=user, headers=headers)
        return fast, slow

    def same(self, method: str, path: str, body: str | bytes = b"", *, user: str = "alice",
             headers: dict[str, str] | None = None, fast: bool | None = None) -> Response:
        """Send to both; assert equal answers (and, if given, whether the fast path answered)."""
        before = self.fast_path.answered
        got, want = self.both(method, path, body, user=user, headers=headers)
        where = f"{method} {path} as {user} {headers or ''}\n{body!r}"
        assert got.status == want.status, f"{where}\n{got.text[:400]}\n{want.text[:400]}"
        for name in HEADERS:
            assert got.headers.get(name) == want.headers.get(name), f"{name} of {where}"
        assert normalised(got) == normalised(want), f"{where}\n{got.text[:800]}\n{want.text[:800]}"
        if fast is not None:
            assert (self.fast_path.answered > before) == fast, f"fast path {fast}: {where}"
        return got


def _canonical(element: ET.Element) -> tuple[Any, ...]:
    children = sorted(_canonical(child) for child in element)
    text = (element.text or "").strip() if not len(element) else ""
    return (element.tag, text, tuple(children))


def normalised(response: Response) -> Any:
    """The body with namespaces resolved and element order ignored (XML), else the bytes."""
    body = response.body
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    if "xml" in response.headers.get("Content-Type", "") and body:
        return _canonical(ET.fromstring(body))
    return body


def _put(store: SqlStore, path: str, href: str, text: str) -> None:
    store.put_item(path, href, parse_resource(text), origin="test")


@pytest.fixture
def pair(store_url: str, tmp_path: Path) -> Iterator[Pair]:
    store = open_bridge_store(store_url)
    populate(store)
    for i in range(12):
        _put(store, "alice/work", f"ev-{i:02d}.ics", vevent(f"ev-{i:02d}"))
    _put(store, "alice/work", NON_ASCII, vevent("umlaut", summary="Tërmin & <Ü>"))
    _put(store, "alice/work", "allday.ics", vevent("allday", "20260110", "20260111"))
    _put(store, "alice/work", "weekly.ics", vevent("weekly", extra="RRULE:FREQ=WEEKLY"))
    _put(store, "alice/work", "big.ics",  # hidden: over max_resource_size
         vevent("big", extra="DESCRIPTION:" + "x" * (MAX_RESOURCE + 500)))
    for i in range(4):
        _put(store, "bob/shared", f"shared-{i}.ics", vevent(f"shared-{i}"))
        _put(store, "bob/private", f"private-{i}.ics", vevent(f"private-{i}"))
    register_store(store_url, store)
    configuration = build_configuration(settings_for(store_url, tmp_path), store_url=store_url,
                                        extra=EXTRA)
    fast = build_application(configuration, max_request_size=2_000_000, fast_path=True)
    slow = build_application(configuration, max_request_size=2_000_000, fast_path=False)
    fast_path = fast.app.app  # type: ignore[attr-defined]  # Guard → OneConnection → FastPath
    assert isinstance(fast_path, FastPath)
    record = store.get_collection("alice/work")
    assert record is not None
    old_token = f"http://termin-bridge.invalid/ns/sync/{record.sync_epoch}-{record.revision}"
    _put(store, "alice/work", "new.ics", vevent("new"))
    _put(store, "alice/work", "ev-03.ics", vevent("ev-03", summary="Changed"))
    store.delete_item("alice/work", "ev-04.ics", origin="test")
    for user in ROLES:  # the first request of a user creates the principal (Radicale does)
        wsgi_request(slow, [], "PROPFIND", "/", user=user, headers={"Depth": "0"})
    try:
        yield Pair(fast, slow, fast_path, store, old_token)
    finally:
        unregister_store(store_url)
        store.close()


# -- the clients' own request bodies -----------------------------------------------------------

def _tostring(element: Any) -> bytes:
    return bytes(etree.tostring(element.xmlelement(), encoding="utf-8", xml_declaration=True))


def caldav_sync(token: str) -> bytes:
    """python-caldav's sync-collection body (``get_objects_by_sync_token``)."""
    from caldav.davclient import DAVClient

    return bytes(DAVClient._build_sync_collection_body(sync_token=token, props=["getetag"]))


def caldav_multiget(hrefs: list[str]) -> bytes:
    """python-caldav's calendar-multiget body (``Calendar._build_multiget_root``)."""
    prop = dav.Prop() + [cdav.CalendarData(), dav.GetEtag(), cdav.ScheduleTag()]  # noqa: RUF005
    return _tostring(cdav.CalendarMultiGet() + prop + [dav.Href(value=h) for h in hrefs])


def caldav_propfind_etags() -> bytes:
    """python-caldav's fallback listing: PROPFIND Depth 1 for getetag."""
    return _tostring(dav.Propfind() + (dav.Prop() + [dav.GetEtag()]))  # noqa: RUF005


VDIRSYNCER_LIST = b"""<?xml version="1.0" encoding="utf-8" ?>
            <propfind xmlns="DAV:">
                <prop>
                    <resourcetype/>
                    <getcontenttype/>
                    <getetag/>
                </prop>
            </propfind>
            """  # vdirsyncer/storage/dav.py DAVStorage.list (Depth: 1)


def vdirsyncer_multiget(hrefs: list[str]) -> str:
    refs = "\n".join(f"<href>{h}</href>" for h in hrefs)
    return str(CalDAVStorage.get_multi_template).format(hrefs=refs)


def thunderbird_sync(token: str) -> str:
    tag = f"<sync-token>{token}</sync-token>" if token else "<sync-token/>"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<sync-collection xmlns="DAV:">\n'
            f'  {tag}\n  <sync-level>1</sync-level>\n  <prop>\n    <getcontenttype/>\n'
            '    <getetag/>\n  </prop>\n</sync-collection>')


THUNDERBIRD_LIST = ('<?xml version="1.0" encoding="UTF-8"?>\n<D:propfind xmlns:D="DAV:">'
                    '<D:prop><D:getcontenttype/><D:resourcetype/><D:getetag/></D:prop>'
                    '</D:propfind>')


def thunderbird_multiget(hrefs: list[str]) -> str:
    refs = "".join(f"<D:href>{h}</D:href>" for h in hrefs)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<C:calendar-multiget xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/>'
            f'</D:prop>{refs}</C:calendar-multiget>')


def davx5_sync(token: str) -> str:
    tag = f"<sync-token>{token}</sync-token>" if token else "<sync-token />"
    return ("<?xml version='1.0' encoding='UTF-8' ?><sync-collection xmlns=\"DAV:\" "
            'xmlns:CAL="urn:ietf:params:xml:ns:caldav" xmlns:CARD="urn:ietf:params:xml:ns:'
            f'carddav">{tag}<sync-level>1</sync-level><prop><getetag /><resourcetype /></prop>'
            "</sync-collection>")


def davx5_multiget(hrefs: list[str]) -> str:
    refs = "".join(f"<href>{h}</href>" for h in hrefs)
    return ("<?xml version='1.0' encoding='UTF-8' ?><CAL:calendar-multiget xmlns=\"DAV:\" "
            'xmlns:CAL="urn:ietf:params:xml:ns:caldav"><prop><getcontenttype /><getetag />'
            f"<CAL:schedule-tag /><CAL:calendar-data /></prop>{refs}</CAL:calendar-multiget>")


IOS_LIST = ('<?xml version="1.0" encoding="UTF-8"?>\n<A:propfind xmlns:A="DAV:">\n  <A:prop>\n'
            '    <A:getcontenttype/>\n    <A:getetag/>\n  </A:prop>\n</A:propfind>\n')
IOS_CTAG_LIST = ('<?xml version="1.0" encoding="UTF-8"?><A:propfind xmlns:A="DAV:" '
                 'xmlns:B="http://calendarserver.org/ns/"><A:prop><B:getctag/><A:sync-token/>'
                 '<A:displayname/><A:resourcetype/><A:getlastmodified/></A:prop></A:propfind>')


def ios_sync(token: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<A:sync-collection xmlns:A="DAV:">\n'
            f'  <A:sync-token>{token}</A:sync-token>\n  <A:sync-level>1</A:sync-level>\n'
            '  <A:prop>\n    <A:getetag/>\n  </A:prop>\n</A:sync-collection>\n')


def ios_multiget(hrefs: list[str]) -> str:
    refs = "".join(f'<A:href xmlns:A="DAV:">\n  {h}\n</A:href>' for h in hrefs)  # Reminders
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<B:calendar-multiget '
            'xmlns:B="urn:ietf:params:xml:ns:caldav">\n<A:prop xmlns:A="DAV:">\n<A:getetag/>\n'
            f'<B:calendar-data/>\n</A:prop>\n{refs}</B:calendar-multiget>\n')


WORK = "/alice/work/"
ITEMS = [f"{WORK}ev-{i:02d}.ics" for i in (0, 1, 3, 4, 7)] + [
    WORK + quote(NON_ASCII), WORK + "missing.ics", WORK + "big.ics", "/bob/private/private-0.ics",
    WORK + "weekly.ics"]


def test_client_corpus(pair: Pair) -> None:
    """Each client's listing, sync and multiget, initial and delta, own and shared calendars."""
    old = pair.old_token
    for body in (IOS_LIST, IOS_CTAG_LIST, THUNDERBIRD_LIST, VDIRSYNCER_LIST,
                 caldav_propfind_etags()):
        pair.same("PROPFIND", WORK, body, headers={"Depth": "1"}, fast=True)
    for make in (thunderbird_sync, davx5_sync, ios_sync, caldav_sync):
        for token in ("", old):
            pair.same("REPORT", WORK, make(token), headers={"Depth": "1"}, fast=True)
            pair.same("REPORT", WORK, make(token), headers={"Depth": "0"}, fast=True)
    for make_multi in (thunderbird_multiget, davx5_multiget, ios_multiget, vdirsyncer_multiget):
        pair.same("REPORT", WORK, make_multi(ITEMS), headers={"Depth": "1"}, fast=True)
    pair.same("REPORT", WORK, caldav_multiget(ITEMS), fast=True)
    # Shared calendars: the owner's path with a grant, the alias, and no grant at all.
    for user, path in (("carol", "/bob/shared/"), ("carol", "/carol/bob~shared/"),
                       ("carol", "/bob/private/"), ("bob", "/bob/shared/")):
        pair.same("PROPFIND", path, THUNDERBIRD_LIST, user=user, headers={"Depth": "1"},
                  fast=True)
        pair.same("REPORT", path, thunderbird_sync(""), user=user, fast=True)
        hrefs = [f"{path}shared-0.ics", f"{path}private-1.ics", f"{path}nope.ics"]
        pair.same("REPORT", path, thunderbird_multiget(hrefs), user=user, fast=True)
        pair.same("GET", f"{path}shared-1.ics", user=user)
    for user, path in (("alice", "/bob/shared/"), ("alice", "/carol/bob~shared/"),
                       ("bob", "/carol/bob~shared/"), ("boss", "/carol/bob~shared/"),
                       ("carol", "/carol/bob~private2/"), ("alice", "/alice/nothing/")):
        pair.same("PROPFIND", path, THUNDERBIRD_LIST, user=user, headers={"Depth": "1"},
                  fast=False)
        pair.same("REPORT", path, davx5_sync(""), user=user, fast=False)
        pair.same("GET", f"{path}shared-1.ics", user=user, fast=False)
    pair.same("PROPFIND", "/bob/shared/", THUNDERBIRD_LIST, user="boss", headers={"Depth": "1"},
              fast=True)  # admins read every calendar


def test_sync_tokens(pair: Pair) -> None:
    """Deltas with 404 rows for deleted items, the unchanged token, and invalid tokens."""
    got = pair.same("REPORT", WORK, davx5_sync(pair.old_token), fast=True)
    root = ET.fromstring(got.body)
    statuses = {r.findtext(f"{{{D}}}href"): r.findtext(f"{{{D}}}status")
                for r in root.iter(f"{{{D}}}response")}
    assert statuses[f"{WORK}ev-04.ics"] == "HTTP/1.1 404 Not Found"
    assert set(statuses) == {f"{WORK}ev-03.ics", f"{WORK}ev-04.ics", f"{WORK}new.ics"}
    current = root.findtext(f"{{{D}}}sync-token")
    assert current
    pair.same("REPORT", WORK, davx5_sync(current), fast=True)  # no change: same token, no rows
    for bad in ("http://termin-bridge.invalid/ns/sync/nope-1", "garbage", current + "0",
                "http://radicale.org/ns/sync/" + "0" * 64):
        response = pair.same("REPORT", WORK, thunderbird_sync(bad), fast=False)
        assert response.status == 403 and b"valid-sync-token" in response.body


def test_get_and_head(pair: Pair) -> None:
    """GET/HEAD of items (non-ASCII names, hidden, missing); If-* headers go to Radicale."""
    # PATH_INFO is decoded (radicale.server: unquote of the request path).
    for path in (f"{WORK}ev-01.ics", WORK + NON_ASCII, f"{WORK}weekly.ics"):
        response = pair.same("GET", path, fast=True)
        assert response.status == 200 and response.headers["ETag"]
        pair.same("HEAD", path, fast=True)
        pair.same("GET", path, headers={"Accept-Encoding": "gzip, deflate"}, fast=True)
        etag = response.headers["ETag"]
        # Radicale 3.9 has no conditional GET: If-None-Match with the current ETag is a 200,
        # not a 304; the fast path leaves such requests to Radicale so the answer stays its.
        again = pair.same("GET", path, headers={"If-None-Match": etag}, fast=False)
        assert again.status == 200
        pair.same("GET", path, headers={"If-None-Match": '"other"'}, fast=False)
        pair.same("GET", path, headers={"If-Match": etag}, fast=False)
    for path in (f"{WORK}big.ics", f"{WORK}missing.ics", f"{WORK}ev-04.ics",
                 "/bob/private/private-0.ics", "/alice/work/ev-01.ics/"):
        pair.same("GET", path, fast=False)
    pair.same("GET", f"{WORK}ev-01.ics", user="carol", fast=False)  # no grant: 403
    calls: list[str] = []
    wrong = wsgi_request(pair.fast, calls, "GET", f"{WORK}ev-01.ics", pw="wrong")
    assert wrong.status == 401


def test_not_recognised_goes_to_radicale(pair: Pair) -> None:
    """Other properties, depths, allprop, headers, limits and filters are Radicale's."""
    etag = '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>'
    for depth in ("0", "infinity", None):
        pair.same("PROPFIND", WORK, etag, headers={"Depth": depth} if depth else None, fast=False)
    for body in ('<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>',
                 '<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>', "",
                 '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:owner/></D:prop>'
                 '</D:propfind>',
                 '<D:propfind xmlns:D="DAV:"><D:prop><X:getetag xmlns:X="urn:x"/></D:prop>'
                 '</D:propfind>'):
        pair.same("PROPFIND", WORK, body, headers={"Depth": "1"}, fast=False)
    for headers in ({"Prefer": "return=minimal"}, {"Brief": "t"}):
        pair.same("PROPFIND", WORK, IOS_LIST, headers={"Depth": "1", **headers}, fast=False)
    limited = ('<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level>'
               '<D:limit><D:nresults>2</D:nresults></D:limit><D:prop><D:getetag/></D:prop>'
               '</D:sync-collection>')
    pair.same("REPORT", WORK, limited, fast=False)
    pair.same("REPORT", WORK, thunderbird_sync("").replace(">1<", ">infinite<"), fast=False)
    pair.same("REPORT", WORK, thunderbird_multiget([WORK]), fast=False)  # the collection
    expand = ('<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
              '<D:prop><C:calendar-data><C:expand start="20260101T000000Z" '
              f'end="20260201T000000Z"/></C:calendar-data></D:prop><D:href>{WORK}weekly.ics'
              '</D:href></C:calendar-multiget>')
    pair.same("REPORT", WORK, expand, fast=False)
    pair.same("REPORT", f"{WORK}ev-01.ics", thunderbird_sync(""), fast=False)


_PROPS = [f"{{{D}}}getetag", f"{{{D}}}getcontenttype", f"{{{D}}}resourcetype",
          f"{{{D}}}displayname", f"{{{D}}}getlastmodified", f"{{{D}}}sync-token",
          f"{{{CS}}}getctag", f"{{{C}}}calendar-data", f"{{{D}}}owner",
          f"{{{D}}}current-user-privilege-set", f"{{{C}}}schedule-tag",
          f"{{{D}}}getcontentlength", "{http://apple.com/ns/ical/}calendar-color",
          "{urn:x-unknown}thing"]
_TARGETS = [("alice", WORK), ("carol", "/carol/bob~shared/"), ("carol", "/bob/private/"),
            ("alice", "/bob/private/"), ("bob", "/bob/shared/")]
_HREFS = [*ITEMS, "/carol/bob~shared/shared-2.ics", "/bob/shared/shared-3.ics",
          "http://localhost:5232" + WORK + "ev-05.ics", WORK + "new.ics", WORK + "..%2Fx.ics",
          "/elsewhere/x.ics"]


def _body(root: str, props: list[str], extra: str = "", *, default_ns: bool = False) -> str:
    """A body with the properties spelled with prefixes or as default-namespace elements."""
    names: dict[str, str] = {}
    parts = []
    for i, clark in enumerate(props):
        namespace, _, local = clark[1:].partition("}")
        if namespace == D and default_ns:
            parts.append(f"<{local}/>")
            continue
        prefix = names.setdefault(namespace, f"n{i}")
        parts.append(f'<{prefix}:{local} xmlns:{prefix}="{namespace}"/>')
    prop = f"<prop>{''.join(parts)}</prop>"
    return f'<?xml version="1.0"?><{root} xmlns="DAV:" xmlns:C="{C}">{extra}{prop}</{root}>'


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(props=st.lists(st.sampled_from(_PROPS), min_size=1, max_size=6),
       target=st.sampled_from(_TARGETS), depth=st.sampled_from(["1", "1", "0", "infinity"]),
       kind=st.sampled_from(["propfind", "sync", "multiget"]),
       token=st.sampled_from(["", "old", "bad"]),
       hrefs=st.lists(st.sampled_from(_HREFS), min_size=1, max_size=8),
       default_ns=st.booleans(), gzip_wanted=st.booleans())
def test_random_property_sets(pair: Pair, props: list[str], target: tuple[str, str], depth: str,
                              kind: str, token: str, hrefs: list[str], default_ns: bool,
                              gzip_wanted: bool) -> None:
    """Random property sets, depths, tokens and href lists: both paths answer the same."""
    user, path = target
    headers = {"Depth": depth, **({"Accept-Encoding": "gzip"} if gzip_wanted else {})}
    if kind == "propfind":
        body = _body("propfind", props, default_ns=default_ns)
    elif kind == "sync":
        value = {"": "", "old": pair.old_token, "bad": "urn:bad"}[token]
        body = _body("sync-collection", props, f"<sync-token>{value}</sync-token>"
                     "<sync-level>1</sync-level>", default_ns=default_ns)
    else:
        refs = "".join(f"<href>{h}</href>" for h in hrefs)
        body = _body("C:calendar-multiget", props, refs, default_ns=default_ns)
    pair.same("PROPFIND" if kind == "propfind" else "REPORT", path, body, user=user,
              headers=headers)
