"""Real clients over HTTP (``caldav`` library, ``vdirsyncer``) and replays of phone sequences."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import caldav
import pytest

from tests.caldav.caldav_support import (
    Dav,
    Served,
    calendar_query,
    multiget,
    password,
    sync_collection,
    vevent,
)


def _client(served: Served, user: str = "alice") -> caldav.DAVClient:
    return caldav.DAVClient(url=served.url + ".well-known/caldav", username=user,
                            password=password(user))


def test_caldav_library_end_to_end(served: Served) -> None:
    client = _client(served)
    principal = client.principal()
    assert str(principal.url).endswith("/alice/")
    calendars = principal.calendars()
    assert [str(c.url).rsplit("/", 2)[-2] for c in calendars] == ["work"]
    cal = principal.make_calendar(name="Library", cal_id="library")
    event = cal.save_event(vevent("lib-1", "20260110T100000Z", "20260110T110000Z"))
    cal.save_event(vevent("lib-allday", "20260112", "20260113"))
    cal.save_event(vevent("lib-weekly", "20251201T090000Z", "20251201T100000Z",
                          extra="RRULE:FREQ=WEEKLY"))
    cal.save_event(vevent("lib-old", "20250110T100000Z", "20250110T110000Z"))
    found = cal.search(start=datetime(2026, 1, 1, tzinfo=UTC),
                       end=datetime(2026, 2, 1, tzinfo=UTC), event=True)
    assert sorted(str(e.icalendar_component["UID"]) for e in found) == [
        "lib-1", "lib-allday", "lib-weekly"]
    # modify with the etag, then a stale write fails
    event.load()
    event.icalendar_component["SUMMARY"] = "Changed"
    event.save()
    again = cal.event_by_uid("lib-1")
    assert str(again.icalendar_component["SUMMARY"]) == "Changed"
    # sync tokens: incremental
    state = cal.objects_by_sync_token(load_objects=False)
    token = state.sync_token
    cal.save_event(vevent("lib-2", "20260111T100000Z", "20260111T110000Z"))
    cal.event_by_uid("lib-old").delete()
    delta = cal.objects_by_sync_token(sync_token=token, load_objects=False)
    changed = sorted(str(o.url).rsplit("/", 1)[-1] for o in delta)
    assert changed == ["lib-2.ics", "lib-old.ics"]
    # multiget
    objs = cal.calendar_multiget([cal.url.join("lib-1.ics"), cal.url.join("lib-2.ics")])
    assert sorted(str(o.icalendar_component["UID"]) for o in objs) == ["lib-1", "lib-2"]
    event = cal.event_by_uid("lib-2")
    event.delete()
    with pytest.raises(caldav.lib.error.NotFoundError):
        cal.event_by_uid("lib-2")
    cal.delete()


def _vdirsyncer(config: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "vdirsyncer", "-c", str(config), *args], check=True,
                   input=b"y\n" * 10, capture_output=True, timeout=120)


def test_vdirsyncer_two_way_sync(served: Served, tmp_path: Path) -> None:
    served.store.create_collection("alice/vsync", tag="VCALENDAR", exist_ok=True)
    local = tmp_path / "local"
    (local / "vsync").mkdir(parents=True)
    config = tmp_path / "config"
    config.write_text(textwrap.dedent(f"""
        [general]
        status_path = "{tmp_path / 'status'}"

        [pair cal]
        a = "local"
        b = "remote"
        collections = ["vsync"]
        conflict_resolution = "b wins"

        [storage local]
        type = "filesystem"
        path = "{local}"
        fileext = ".ics"

        [storage remote]
        type = "caldav"
        url = "{served.url}alice/"
        username = "alice"
        password = "{password('alice')}"
    """))
    (local / "vsync" / "local-1.ics").write_text(vevent("local-1"))
    client = _client(served)
    cal = client.calendar(url=served.url + "alice/vsync/")
    cal.save_event(vevent("remote-1"))
    _vdirsyncer(config, "discover")
    _vdirsyncer(config, "sync")
    local_uids = {p.read_text().split("UID:", 1)[1].split()[0] for p in (local / "vsync").iterdir()}
    remote_uids = {i.uid for i in served.store.list_items("alice/vsync")}
    assert local_uids == remote_uids == {"local-1", "remote-1"}
    # edits on both sides arrive
    remote_event = cal.event_by_uid("local-1")
    remote_event.icalendar_component["SUMMARY"] = "edited-remote"
    remote_event.save()
    local_file = next(p for p in (local / "vsync").iterdir() if "remote-1" in p.read_text())
    local_file.write_text(vevent("remote-1", summary="edited-local"))
    _vdirsyncer(config, "sync")
    assert "edited-local" in cal.event_by_uid("remote-1").data
    assert any("edited-remote" in p.read_text() for p in (local / "vsync").iterdir())
    # deletes propagate both ways
    local_file.unlink()
    cal.event_by_uid("local-1").delete()
    _vdirsyncer(config, "sync")
    assert list((local / "vsync").iterdir()) == []
    assert served.store.list_items("alice/vsync") == []


# -- replays of real clients' sequences (caldav-clients.md §5), through the WSGI app --------------

def _hrefs(body: str, status: str = "200 OK") -> list[str]:
    return sorted(re.search(r"<href>(.*?)</href>", r).group(1)  # type: ignore[union-attr]
                  for r in re.findall(r"<response>(.*?)</response>", body, re.S) if status in r)


def test_replay_ios_macos(dav: Dav) -> None:
    dav.request("PUT", "/alice/work/a.ics", vevent("a"))
    brief = {"Depth": "0", "Prefer": "return=minimal", "Brief": "t"}
    discovery = ('<?xml version="1.0"?><A:propfind xmlns:A="DAV:"><A:prop>'
                 '<A:current-user-principal/><A:principal-URL/><A:resourcetype/></A:prop>'
                 '</A:propfind>')
    redirect = dav.request("PROPFIND", "/.well-known/caldav", discovery, headers=brief)
    assert redirect.status == 301 and redirect.headers["Location"] == "/"
    root = dav.request("PROPFIND", "/", discovery, headers=brief)
    assert "<current-user-principal><href>/alice/</href>" in root.text
    options = dav.request("OPTIONS", "/alice/")
    assert "calendar-access" in options.headers["DAV"]
    principal = ('<?xml version="1.0"?><A:propfind xmlns:A="DAV:" '
                 'xmlns:B="urn:ietf:params:xml:ns:caldav" xmlns:C="http://calendarserver.org/ns/">'
                 '<A:prop><B:calendar-home-set/><B:calendar-user-address-set/>'
                 '<A:current-user-principal/><A:displayname/><A:principal-collection-set/>'
                 '<A:principal-URL/><C:dropbox-home-URL/><C:email-address-set/>'
                 '<C:notification-URL/><B:schedule-inbox-URL/><B:schedule-outbox-URL/>'
                 '</A:prop></A:propfind>')
    resp = dav.request("PROPFIND", "/alice/", principal, headers={"Depth": "0"})
    assert resp.status == 207 and "calendar-home-set><href>/alice/</href>" in resp.text
    home_props = "".join(f"<{p}/>" for p in (
        "A:add-member", "C:allowed-sharing-modes", "E:autoprovisioned", "F:bulk-requests",
        "B:calendar-alarm", "E:calendar-color", "B:calendar-description",
        "B:calendar-free-busy-set", "E:calendar-order", "B:calendar-timezone",
        "A:current-user-privilege-set", "B:default-alarm-vevent-date",
        "B:default-alarm-vevent-datetime", "A:displayname", "E:language-code",
        "E:location-code", "A:owner", "C:pre-publish-url", "C:publish-url",
        "C:push-transports", "C:pushkey", "A:quota-available-bytes", "A:quota-used-bytes",
        "E:refreshrate", "A:resource-id", "A:resourcetype", "B:schedule-calendar-transp",
        "B:schedule-default-calendar-URL", "C:source", "C:subscribed-strip-alarms",
        "C:subscribed-strip-attachments", "C:subscribed-strip-todos",
        "B:supported-calendar-component-set", "B:supported-calendar-component-sets",
        "A:supported-report-set", "A:sync-token", "C:getctag", "B:max-resource-size"))
    home = ('<?xml version="1.0"?><A:propfind xmlns:A="DAV:" '
            'xmlns:B="urn:ietf:params:xml:ns:caldav" xmlns:C="http://calendarserver.org/ns/" '
            'xmlns:E="http://apple.com/ns/ical/" xmlns:F="http://me.com/_namespace/">'
            f'<A:prop>{home_props}</A:prop></A:propfind>')
    listing = dav.request("PROPFIND", "/alice/", home, headers={"Depth": "1"})
    assert listing.status == 207 and "/alice/work/" in listing.text
    assert "getctag>\"" in listing.text and "sync-collection" in listing.text
    sync = dav.request("REPORT", "/alice/work/", sync_collection(), headers={"Depth": "1"})
    assert _hrefs(sync.text) == ["/alice/work/a.ics"]
    query = dav.request("REPORT", "/alice/work/", calendar_query(
        "20251201T000000Z", None, props="<D:getetag/><D:resourcetype/>"), headers={"Depth": "1"})
    assert _hrefs(query.text) == ["/alice/work/a.ics"]
    reminders = ('<?xml version="1.0"?><B:calendar-multiget xmlns:A="DAV:" '
                 'xmlns:B="urn:ietf:params:xml:ns:caldav"><A:prop><A:getetag/>'
                 '<B:calendar-data/></A:prop><A:href>\n  /alice/work/a.ics  \n</A:href>'
                 '</B:calendar-multiget>')
    fetched = dav.request("REPORT", "/alice/work/", reminders, headers={"Depth": "1"})
    assert "UID:a" in fetched.text
    color = ('<?xml version="1.0"?><A:propertyupdate xmlns:A="DAV:" '
             'xmlns:E="http://apple.com/ns/ical/"><A:set><A:prop><E:calendar-color>#FF2968FF'
             '</E:calendar-color><E:calendar-order>3</E:calendar-order></A:prop></A:set>'
             '</A:propertyupdate>')
    assert dav.request("PROPPATCH", "/alice/work/", color).status == 207
    assert dav.request("PROPPATCH", "/bob/private/", color, user="carol").status == 403


def test_replay_davx5(dav: Dav) -> None:
    now = datetime.now(UTC)
    fmt = "%Y%m%dT%H%M%SZ"
    recent = (now - timedelta(days=10)).strftime(fmt)
    ancient = (now - timedelta(days=400)).strftime(fmt)
    for i in range(25):
        dav.request("PUT", f"/alice/work/r{i}.ics", vevent(f"r{i}", recent, None))
    dav.request("PUT", "/alice/work/old.ics", vevent("old", ancient, None))
    dav.request("PUT", "/alice/work/series.ics",
                vevent("series", ancient, None, extra="RRULE:FREQ=MONTHLY"))
    poll = ('<?xml version="1.0"?><propfind xmlns="DAV:" xmlns:CAL="urn:ietf:params:xml:ns:'
            'caldav" xmlns:CS="http://calendarserver.org/ns/"><prop><supported-report-set/>'
            '<sync-token/><CS:getctag/><CAL:max-resource-size/></prop></propfind>')
    first = dav.request("PROPFIND", "/alice/work/", poll, headers={"Depth": "0"})
    second = dav.request("PROPFIND", "/alice/work/", poll, headers={"Depth": "0"})
    assert first.text == second.text  # unchanged: DAVx5 stops here
    since = (now - timedelta(days=90)).strftime(fmt)
    query = dav.request("REPORT", "/alice/work/", calendar_query(since, None),
                        headers={"Depth": "1"})
    found = _hrefs(query.text)
    assert "/alice/work/old.ics" not in found and "/alice/work/series.ics" in found
    assert len(found) == 26
    for i in range(0, len(found), 10):
        batch = dav.request("REPORT", "/alice/work/", multiget(found[i:i + 10]),
                            headers={"Depth": "0"})
        assert batch.text.count("BEGIN:VCALENDAR") == len(found[i:i + 10])
    put = dav.request("PUT", "/alice/work/new.ics", vevent("new", recent, None),
                      headers={"If-None-Match": "*"})
    assert put.status == 201 and put.headers["ETag"]
    third = dav.request("PROPFIND", "/alice/work/", poll, headers={"Depth": "0"})
    assert third.text != second.text
    bad = dav.request("REPORT", "/alice/work/", sync_collection("http://x/invalid"))
    assert bad.status == 403 and "valid-sync-token" in bad.text


def test_replay_thunderbird(dav: Dav) -> None:
    check = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.'
             'org/ns/" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:resourcetype/>'
             '<D:owner/><D:current-user-principal/><D:current-user-privilege-set/>'
             '<D:supported-report-set/><C:supported-calendar-component-set/><CS:getctag/>'
             '</D:prop></D:propfind>')
    resp = dav.request("PROPFIND", "/alice/work/", check, headers={"Depth": "0"})
    assert resp.status == 207 and "<write />" in resp.text.replace("<write/>", "<write />")
    readonly = dav.request("PROPFIND", "/bob/private/", check, user="carol",
                           headers={"Depth": "0"})
    assert readonly.status == 207 and "<write" not in readonly.text
    props = "<D:getcontenttype/><D:getetag/>"
    initial = dav.request("REPORT", "/alice/work/", sync_collection(props=props),
                          headers={"Depth": "1"})
    token = re.search(r"<sync-token>(.*?)</sync-token>", initial.text).group(1)  # type: ignore[union-attr]
    put = dav.request("PUT", "/alice/work/tb.ics", vevent("tb"), headers={"If-None-Match": "*"})
    assert put.status == 201
    refetch = dav.request("REPORT", "/alice/work/", multiget(["/alice/work/tb.ics"]),
                          headers={"Depth": "1"})
    assert put.headers["ETag"] in refetch.text.replace("&quot;", '"')
    delta = dav.request("REPORT", "/alice/work/", sync_collection(token, props),
                        headers={"Depth": "1"})
    assert _hrefs(delta.text) == ["/alice/work/tb.ics"]
    assert "text/calendar" in delta.text
    etag = put.headers["ETag"]
    assert dav.request("DELETE", "/alice/work/tb.ics", headers={"If-Match": '"stale"'}
                       ).status == 412
    assert dav.request("HEAD", "/alice/work/tb.ics").status == 200
    assert dav.request("DELETE", "/alice/work/tb.ics", headers={"If-Match": etag}).status == 200
    gone = dav.request("REPORT", "/alice/work/", sync_collection(token, props))
    assert "/alice/work/tb.ics</href><status>HTTP/1.1 404" in gone.text
