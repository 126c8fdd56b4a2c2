"""The notification policy on its own (pure: no store, no clock)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from bridge.model import ItemRecord
from bridge.notify.planning import (
    NotifyPolicy,
    by_person,
    connection_importing,
    kind_of,
    moved,
    payload_of,
    recipients,
)
from tests.helpers import vevent


def record(**changes: object) -> ItemRecord:
    base = ItemRecord(
        collection_path="alice/praxis", href="a.ics", uid="a", component="VEVENT",
        text=vevent("a"), etag='"1"', start_ts=1000, end_ts=2000, recurring=False,
        content_hash="h1", summary="Termin", status="CONFIRMED", customer_name=None,
        customer_email="kunde@example.org", customer_phone=None, service=None, origin="api",
        created_at=0.0, modified_at=0.0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("old", "new", "kind"), [
    (None, record(), "confirmation"),
    (None, record(status="CANCELLED"), None),
    (record(), None, "cancellation"),
    (record(status="CANCELLED"), None, None),
    (record(), record(start_ts=1500), "confirmation"),
    (record(), record(status="CANCELLED"), "cancellation"),
    (record(), record(summary="other"), None),
])
def test_kind_of(old: ItemRecord | None, new: ItemRecord | None, kind: str | None) -> None:
    assert kind_of(old, new) == kind


def test_moved() -> None:
    assert not moved(None, record())
    assert moved(record(), None)
    assert not moved(record(), record(summary="other", content_hash="h2"))
    assert moved(record(), record(end_ts=2500))
    assert moved(record(), record(customer_email="neu@example.org"))
    # A series edit counts even when its first occurrence stays.
    assert moved(record(recurring=True), record(recurring=True, content_hash="h2"))


def test_by_person() -> None:
    states = {1: ("ok", json.dumps({"import": {"phase": "done"}})),
              2: ("ok", json.dumps({"import": {"phase": "running"}}))}

    def person(origin: str, *, importing: bool = False) -> bool:
        return by_person(origin, importing=importing, connection_state=states.get)

    assert person("api") and person("caldav")
    assert not person("import") and not person("something")
    assert person("google:1")
    assert not person("google:1", importing=True)
    assert not person("google:2") and not person("google:3") and not person("google:x")


def test_connection_importing() -> None:
    assert connection_importing("importing", "{}")
    assert connection_importing("ok", '{"phase": "resyncing"}')
    assert not connection_importing("ok", '{"phase": "idle", "import": {"phase": "done"}}')
    assert not connection_importing("ok", "not json")


def test_recipients_and_payload() -> None:
    assert recipients("") == [("webhook", "")]
    assert recipients("k@example.org") == [("email", "k@example.org"), ("webhook", "")]
    # No webhook configured: no webhook rows at all.
    assert recipients("", webhook=False) == []
    assert recipients("k@example.org", webhook=False) == [("email", "k@example.org")]
    text = vevent("a", extra="DESCRIPTION:Kunde max@example.org")
    item = record(text=text, customer_email=None)
    asked: list[bool] = []

    def owners() -> set[str]:
        asked.append(True)
        return set()

    def payload(policy: NotifyPolicy) -> tuple[dict[str, object], str]:
        return payload_of(item, path="alice/praxis", timezone="Europe/Berlin",
                          props={"D:displayname": "Praxis"}, policy=policy, owners=owners)

    snapshot, recipient = payload(NotifyPolicy())
    assert recipient == "" and snapshot["calendar"] == {"path": "alice/praxis", "name": "Praxis"}
    assert payload(NotifyPolicy(description_emails=True))[1] == "max@example.org"
    assert asked == []  # no attendee: the calendar's own addresses were never needed


def test_webhook_rows_only_with_a_webhook_url(tmp_path: Any) -> None:
    from bridge.config import load
    from bridge.notify.planning import policy_from_settings

    settings = load(tmp_path / "absent.toml", env={})
    assert policy_from_settings(settings).webhook is False
    hooked = settings.with_overrides(notifications={"webhook_url": "https://example.org/h"})
    assert policy_from_settings(hooked).webhook is True
