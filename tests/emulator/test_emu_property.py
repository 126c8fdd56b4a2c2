"""Property: a replica kept by full + incremental sync always equals a fresh full list."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulators.google.server import ALICE, EmulatorServer, basic_seed

OPS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "patch", "delete", "undelete", "ui_insert", "ui_patch",
                         "ui_delete", "sync"]),
        st.integers(min_value=0, max_value=5),
    ),
    min_size=1,
    max_size=14,
)


def _pages(svc: Any, **params: Any) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        page = svc.events().list(calendarId="primary", maxResults=2, pageToken=token,
                                 **params).execute()
        items.extend(page["items"])
        token = page.get("nextPageToken")
        if token is None:
            return items, page["nextSyncToken"]
        assert "nextSyncToken" not in page


def _body(n: int, summary: str) -> dict[str, Any]:
    return {"summary": summary, "start": {"dateTime": f"2030-01-0{n + 1}T09:00:00Z"},
            "end": {"dateTime": f"2030-01-0{n + 1}T10:00:00Z"}}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_incremental_replica_matches_full_list(emu_server: EmulatorServer,
                                               ops: list[tuple[str, int]]) -> None:
    emu = emu_server
    emu.hooks.reset(basic_seed())
    svc = emu.service(emu.credentials(ALICE))
    items, token = _pages(svc)
    replica = {i["id"]: i for i in items}
    ids = [f"prop{n:06d}" for n in range(6)]
    for op, n in ops:
        eid = ids[n]
        known = {e["id"]: e for e in emu.hooks.stored_events(ALICE)}
        live = eid in known and known[eid]["status"] != "cancelled"
        if op == "insert" and eid not in known:
            svc.events().insert(calendarId="primary", body={**_body(n, op), "id": eid}).execute()
        elif op == "ui_insert":
            emu.hooks.external_change(ALICE, "insert", event=_body(n, op))
        elif op in ("patch", "ui_patch") and live:
            if op == "patch":
                svc.events().patch(calendarId="primary", eventId=eid,
                                   body={"summary": f"p{n}"}).execute()
            else:
                emu.hooks.external_change(ALICE, "patch", event_id=eid, event={"summary": "u"})
        elif op in ("delete", "ui_delete") and live:
            if op == "delete":
                svc.events().delete(calendarId="primary", eventId=eid).execute()
            else:
                emu.hooks.external_change(ALICE, "delete", event_id=eid)
        elif op == "undelete" and eid in known and not live:
            svc.events().patch(calendarId="primary", eventId=eid,
                               body={"status": "confirmed"}).execute()
        elif op == "sync":
            changes, token = _pages(svc, syncToken=token)
            for item in changes:
                if item["status"] == "cancelled":
                    replica.pop(item["id"], None)
                else:
                    replica[item["id"]] = item
    changes, token = _pages(svc, syncToken=token)
    for item in changes:
        if item["status"] == "cancelled":
            assert set(item) <= {"kind", "etag", "id", "status"}
            replica.pop(item["id"], None)
        else:
            replica[item["id"]] = item
    full, _ = _pages(svc)
    assert replica == {i["id"]: i for i in full}
