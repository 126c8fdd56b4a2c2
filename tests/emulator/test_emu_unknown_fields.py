"""Google drops fields the Event resource does not have, on every write; so does the emulator
(``events.patch`` used to store them).  Fields it does have are kept by patch and replaced by
update, with the bridge's flags ``conferenceDataVersion=1`` and ``supportsAttachments``."""

from __future__ import annotations

from typing import Any

from emulators.google.server import ALICE, EmulatorServer
from tests.emulator.conftest import timed

BODY = timed("2030-01-07T09:00:00+01:00", "2030-01-07T10:00:00+01:00", summary="Visit")


def stored(emu: EmulatorServer, event_id: str) -> dict[str, Any]:
    return next(e for e in emu.hooks.stored_events(ALICE) if e["id"] == event_id)


def test_unknown_fields_are_dropped_by_insert_update_and_patch(
        svc: Any, emu: EmulatorServer) -> None:
    ev = svc.events().insert(calendarId="primary",
                             body={**BODY, "notAField": 1, "colorId": "3"}).execute()
    assert "notAField" not in ev and "notAField" not in stored(emu, ev["id"])
    out = svc.events().patch(calendarId="primary", eventId=ev["id"],
                             body={"madeUp": {"a": 1}, "summary": "Patched"}).execute()
    assert "madeUp" not in out and "madeUp" not in stored(emu, ev["id"])
    assert out["summary"] == "Patched" and out["colorId"] == "3"  # patch keeps the rest
    out = svc.events().update(calendarId="primary", eventId=ev["id"],
                              body={**BODY, "madeUp": 2}, conferenceDataVersion=1,
                              supportsAttachments=True).execute()
    assert "madeUp" not in out and "colorId" not in out  # update replaces everything


def test_patch_through_the_hook_drops_unknown_fields(svc: Any, emu: EmulatorServer) -> None:
    ev = svc.events().insert(calendarId="primary", body=BODY).execute()
    emu.hooks.external_change(ALICE, "patch", event_id=ev["id"],
                              event={"inventedByTest": True, "colorId": "7"})
    data = stored(emu, ev["id"])
    assert "inventedByTest" not in data and data["colorId"] == "7"
