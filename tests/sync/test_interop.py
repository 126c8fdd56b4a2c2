"""Real clients' files through the sync (issue 12, item 13): mixed floating/zoned times.

A floating DTSTART with ``DTEND;TZID=Europe/Brussels`` (or the reverse) reaches Google with both
ends in Brussels; Google's answer comes back equal, so the stored text (kept as the client sent
it) is not rewritten.
"""

from __future__ import annotations

import pytest

from bridge.google.ids import event_id
from tests.caldav.test_caldav_interop import FLOATING_END, FLOATING_START
from tests.sync.conftest import CAL, Harness


@pytest.mark.parametrize("template", [FLOATING_START, FLOATING_END],
                         ids=["floating-start", "floating-end"])
async def test_mixed_event_maps_to_google_in_the_zoned_properties_zone(
    h: Harness, template: str
) -> None:
    text = template.format(uid="web@client")
    before = h.put("web@client", text)
    await h.push()
    event = h.google_masters()[event_id(CAL, "web@client")]
    assert event["start"]["timeZone"] == event["end"]["timeZone"] == "Europe/Brussels"
    assert event["start"]["dateTime"] == "2030-01-10T09:00:00+01:00"
    assert event["end"]["dateTime"] == "2030-01-10T10:00:00+01:00"
    assert event["extendedProperties"]["private"].get("terminFloating", "") == ""
    await h.sync()
    after = h.local()["web@client"]
    assert after.etag == before.etag and after.text == before.text  # no echo, no rewrite
    assert [e.action for e in h.store.query_ledger(connection_id=h.connection_id)
            if e.uid == "web@client"] == ["create"]
