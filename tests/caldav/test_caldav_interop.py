"""Interop with what real clients send (issue 12, item 13), next to stock Radicale 3.9.

* A floating DTSTART with ``DTEND;TZID=…`` (and the reverse), as some web clients write it: stock
  Radicale stores it; so do we, keeping the text as sent and reading the floating time in the
  other property's zone for the index and the Google mapping.
* PROPPATCH on the root collection ``/`` answers what stock Radicale answers under the same rights.
* An invalid sync token is one log line, not a traceback.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.google.mapping import ical_to_google
from radicale_plugins.store_registry import unregister_store
from tests.caldav.caldav_support import (
    FAST,
    Dav,
    StockDav,
    calendar_query,
    make_dav,
    make_stock_dav,
    sync_collection,
)

# Europe/Brussels is UTC+1 in January: 09:00 to 10:00 there is 08:00 to 09:00 UTC.
FLOATING_START = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Web client//EN\r\nBEGIN:VEVENT\r\n"
    "UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20300110T090000\r\n"
    "DTEND;TZID=Europe/Brussels:20300110T100000\r\nSUMMARY:Beratung\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
FLOATING_END = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Web client//EN\r\nBEGIN:VEVENT\r\n"
    "UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART;TZID=Europe/Brussels:20300110T090000\r\n"
    "DTEND:20300110T100000\r\nSUMMARY:Beratung\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
PROPPATCH_NAME = (
    '<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
    "<D:displayname>Praxis</D:displayname></D:prop></D:set></D:propertyupdate>"
)
PROPFIND_NAME = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:displayname/>'
                 "</D:prop></D:propfind>")


def _ts(hour: int) -> int:
    return int(datetime(2030, 1, 10, hour, tzinfo=UTC).timestamp())


def _unfolded(text: str) -> str:
    return text.replace("\r\n ", "").replace("\n ", "")


@pytest.fixture
def stock(tmp_path: Path) -> StockDav:
    """Stock Radicale (owner_only rights) with a calendar at /alice/work/."""
    client = make_stock_dav(tmp_path / "stock")
    mk = client.request("MKCALENDAR", "/alice/work/")
    assert mk.status == 201, mk.text
    return client


@pytest.mark.parametrize("template", [FLOATING_START, FLOATING_END],
                         ids=["floating-start", "floating-end"])
def test_mixed_floating_and_zoned_times_are_stored_like_stock(
    dav: Dav, stock: StockDav, template: str
) -> None:
    text = template.format(uid="mixed@web")
    for client in (dav, stock):
        put = client.request("PUT", "/alice/work/mixed.ics", text,
                             headers={"Content-Type": "text/calendar"})
        assert put.status == 201, (client, put.status, put.text)
    ours = _unfolded(dav.request("GET", "/alice/work/mixed.ics").text)
    theirs = _unfolded(stock.request("GET", "/alice/work/mixed.ics").text)
    # The text is kept as sent (only interpreted): the floating property stays floating.
    for line in text.split("\r\n")[5:7]:
        assert line in ours and line in theirs
    item = dav.store.get_item_by_uid("alice/work", "mixed@web")
    assert item is not None
    # The floating wall time is read in Europe/Brussels, not as UTC.
    assert (item.start_ts, item.end_ts) == (_ts(8), _ts(9))
    hits = dav.request("REPORT", "/alice/work/",
                       calendar_query("20300110T083000Z", "20300110T084500Z"),
                       headers={"Depth": "1"})
    assert hits.status == 207 and "mixed.ics" in hits.text
    # Google gets both ends in Brussels, and no "floating" marker.
    body = ical_to_google(item.text, calendar_key="alice/work", calendar_tz="Europe/Berlin").master
    assert body["start"] == {"dateTime": "2030-01-10T09:00:00+01:00",
                             "timeZone": "Europe/Brussels"}
    assert body["end"] == {"dateTime": "2030-01-10T10:00:00+01:00",
                           "timeZone": "Europe/Brussels"}
    assert body["extendedProperties"]["private"]["terminFloating"] == ""


def _status_lines(text: str) -> list[str]:
    return [str(e.text) for e in ET.fromstring(text).iter("{DAV:}status")]


def test_proppatch_on_root_answers_like_stock(
    store_url: str, tmp_path: Path
) -> None:
    """Under rights that let the user write ``/``: 207 and the property is kept, as in stock.

    termin-bridge's own rights give nobody write access to ``/`` (like stock ``owner_only``):
    there both answer 403.
    """
    extra = {**FAST, "rights": {"type": "authenticated"}}
    ours, store = make_dav(store_url, tmp_path / "ours", extra=extra)
    try:
        stock = make_stock_dav(tmp_path / "stock", rights="authenticated")
        for client in (ours, stock):
            patched = client.request("PROPPATCH", "/", PROPPATCH_NAME, user="boss")
            assert patched.status == 207, (client, patched.status, patched.text)
            assert _status_lines(patched.text) == ["HTTP/1.1 200 OK"]
            found = client.request("PROPFIND", "/", PROPFIND_NAME, user="boss",
                                   headers={"Depth": "0"})
            assert found.status == 207 and "Praxis" in found.text
        assert store.get_root_props() == {"D:displayname": "Praxis"}
        # The root never becomes a calendar; its listing is unchanged.
        listing = ours.request("PROPFIND", "/", PROPFIND_NAME, user="boss",
                               headers={"Depth": "1"})
        assert listing.status == 207 and "/alice/" in listing.text
    finally:
        unregister_store(store_url)
        store.close()


def test_proppatch_on_root_with_our_rights_is_refused_like_owner_only(
    dav: Dav, tmp_path: Path
) -> None:
    stock = make_stock_dav(tmp_path / "stock", rights="owner_only")
    for client in (dav, stock):
        assert client.request("PROPPATCH", "/", PROPPATCH_NAME, user="boss").status == 403


def test_invalid_sync_token_is_one_log_line(dav: Dav, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    first = dav.request("REPORT", "/alice/work/", sync_collection(), headers={"Depth": "1"})
    token = first.text.split("sync-token>")[1].split("</")[0]
    epoch = token.rsplit("/", 1)[1].rsplit("-", 1)[0]
    stale = token.replace(epoch, "0" * len(epoch))
    for bad in ("http://example.invalid/not-ours", stale):
        caplog.clear()
        resp = dav.request("REPORT", "/alice/work/", sync_collection(bad),
                           headers={"Depth": "1"})
        assert resp.status == 403 and "valid-sync-token" in resp.text
        records = [r for r in caplog.records if "invalid sync token" in r.getMessage()]
        assert len(records) == 1, [r.getMessage() for r in caplog.records]
        record = records[0]
        assert record.exc_info is None and not record.exc_text
        assert "Traceback" not in caplog.text and "\n" not in record.getMessage()
