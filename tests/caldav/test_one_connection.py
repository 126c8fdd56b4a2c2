"""Each CalDAV request runs on one store connection (``OneConnection``): a ``PUT`` reads the
collection and the item, takes the write lock and writes in several transactions, and checked a
connection out (on PostgreSQL: and pinged it) for each before."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.caldav.caldav_support import Dav, vevent


def test_each_request_checks_out_one_connection(dav: Dav) -> None:
    count = [0]

    def counted(*_args: Any) -> None:
        count[0] += 1

    event.listen(dav.store.engine, "checkout", counted)
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    created = dav.request("PUT", "/alice/work/one.ics", vevent("one@x"),
                          headers=headers | {"If-None-Match": "*"})
    assert created.status == 201 and count[0] == 1
    changed = dav.request("PUT", "/alice/work/one.ics", vevent("one@x", summary="Moved"),
                          headers=headers | {"If-Match": created.headers["ETag"]})
    assert changed.status == 204 and count[0] == 2
    got = dav.request("GET", "/alice/work/one.ics")
    assert got.status == 200 and "SUMMARY:Moved" in got.text and count[0] == 3
    assert dav.request("DELETE", "/alice/work/one.ics").status == 200 and count[0] == 4
    assert dav.store.get_item("alice/work", "one.ics") is None
