"""Single calendar items through unmodified exchangelib: create, get, update (SetItemField,
DeleteItemField), ChangeKey conflicts under the three ConflictResolution modes, delete,
extended properties (written, read back only when asked for, found by a restriction),
meeting invitations recorded instead of sent, and per-item errors."""

from __future__ import annotations

import datetime as dt

import pytest
from exchangelib import Account, CalendarItem, EWSDateTime, ExtendedProperty
from exchangelib.errors import ErrorAccessDenied, ErrorIrresolvableConflict, ErrorItemNotFound
from exchangelib.items import (
    ALWAYS_OVERWRITE,
    AUTO_RESOLVE,
    NEVER_OVERWRITE,
    SEND_TO_ALL_AND_SAVE_COPY,
    SEND_TO_NONE,
)
from exchangelib.properties import Attendee, Mailbox

from emulators.ews.server import EwsEmulatorServer
from tests.emulator.ews.conftest import TZ


class SyncId(ExtendedProperty):
    """Our own named property, as the provider registers it."""

    property_set_id = "c11ff724-aa03-4555-9952-8fa248a11c3e"
    property_name = "x-termin-sync-id"
    property_type = "String"


@pytest.fixture(autouse=True)
def _registered() -> object:
    CalendarItem.register("sync_id", SyncId)
    yield
    CalendarItem.deregister("sync_id")


def at(day: int, hour: int, minute: int = 0) -> EWSDateTime:
    """A Berlin time in January 2026."""
    return EWSDateTime(2026, 1, day, hour, minute, tzinfo=TZ)


def new(account: Account, subject: str = "Check-up", **fields: object) -> CalendarItem:
    item = CalendarItem(account=account, folder=account.calendar, subject=subject,
                        start=at(5, 9), end=at(5, 10), **fields)
    item.save(send_meeting_invitations=SEND_TO_NONE)
    return item


def test_create_and_get_round_trip(account: Account) -> None:
    item = new(account, location="Raum 2", body="Bitte nüchtern kommen", sync_id="tb-1",
               reminder_is_set=False, categories=["Praxis"])
    assert item.id and item.changekey
    got = account.calendar.get(id=item.id)
    assert (got.subject, got.location, got.body, got.sync_id) == (
        "Check-up", "Raum 2", "Bitte nüchtern kommen", "tb-1")
    assert got.categories == ["Praxis"]
    assert got.start == at(5, 9) and got.end == at(5, 10)
    assert got.type == "Single" and got.uid
    assert got.organizer.email_address == account.primary_smtp_address
    assert got.changekey == item.changekey
    assert got._start_timezone.key == "Europe/Berlin"


def test_times_come_back_in_utc_with_z(account: Account, ews_emu: EwsEmulatorServer) -> None:
    item = new(account)
    [digest] = ews_emu.hooks.items()
    assert (digest["id"], digest["start"], digest["end"]) == (
        item.id, "2026-01-05T08:00:00Z", "2026-01-05T09:00:00Z")


def test_all_day_item(account: Account) -> None:
    item = CalendarItem(account=account, folder=account.calendar, subject="Geschlossen",
                        is_all_day=True, start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 3))
    item.save()
    got = account.calendar.get(id=item.id)
    assert got.is_all_day is True
    assert (got.start, got.end) == (dt.date(2026, 3, 2), dt.date(2026, 3, 3))


def test_update_fields_and_change_key_moves(account: Account) -> None:
    item = new(account, sync_id="tb-2", location="Raum 1")
    old_key = item.changekey
    item.subject, item.location = "Moved", None
    item.start, item.end = at(6, 11), at(6, 12)
    item.save(update_fields=["subject", "location", "start", "end"],
              conflict_resolution=NEVER_OVERWRITE, send_meeting_invitations=SEND_TO_NONE)
    assert item.changekey != old_key
    got = account.calendar.get(id=item.id)
    assert (got.subject, got.location, got.start, got.end, got.sync_id) == (
        "Moved", None, at(6, 11), at(6, 12), "tb-2")


def test_stale_change_key_never_overwrite_is_irresolvable(account: Account) -> None:
    item = new(account)
    other = account.calendar.get(id=item.id)
    other.subject = "changed in Outlook"
    other.save(update_fields=["subject"])
    item.location = "Raum 3"
    with pytest.raises(ErrorIrresolvableConflict, match="change key"):
        item.save(update_fields=["location"], conflict_resolution=NEVER_OVERWRITE)
    item.refresh()
    item.location = "Raum 3"
    item.save(update_fields=["location"], conflict_resolution=NEVER_OVERWRITE)
    got = account.calendar.get(id=item.id)
    assert (got.subject, got.location) == ("changed in Outlook", "Raum 3")


def test_auto_resolve_merges_other_fields_but_not_the_same_one(account: Account) -> None:
    item = new(account)
    other = account.calendar.get(id=item.id)
    other.subject = "Outlook"
    other.save(update_fields=["subject"])
    item.location = "Raum 4"
    item.save(update_fields=["location"], conflict_resolution=AUTO_RESOLVE)
    stale = account.calendar.get(id=item.id)
    other.refresh()
    other.subject = "Outlook again"
    other.save(update_fields=["subject"])
    stale.subject = "ours"
    with pytest.raises(ErrorIrresolvableConflict):
        stale.save(update_fields=["subject"], conflict_resolution=AUTO_RESOLVE)
    stale.save(update_fields=["subject"], conflict_resolution=ALWAYS_OVERWRITE)
    got = account.calendar.get(id=item.id)
    assert (got.subject, got.location) == ("ours", "Raum 4")


def test_delete_and_then_not_found(account: Account, ews_emu: EwsEmulatorServer) -> None:
    item = new(account)
    item_id = item.id
    item.delete(send_meeting_cancellations=SEND_TO_NONE)
    with pytest.raises(ErrorItemNotFound):
        account.calendar.get(id=item_id)
    assert ews_emu.hooks.items() == []
    assert [w["op"] for w in ews_emu.hooks.state()["writes"]] == ["create", "delete"]


def test_extended_property_only_when_asked_for(account: Account) -> None:
    new(account, sync_id="tb-3")
    [plain] = list(account.calendar.all().only("subject"))
    assert plain.sync_id is None
    [full] = list(account.calendar.all().only("subject", "sync_id"))
    assert full.sync_id == "tb-3"


def test_find_by_extended_property(account: Account) -> None:
    wanted = new(account, "A", sync_id="tb-a")
    new(account, "B", sync_id="tb-b")
    new(account, "C")
    found = list(account.calendar.filter(sync_id="tb-a").only("id", "changekey"))
    assert [f.id for f in found] == [wanted.id]
    assert sorted(i.subject for i in account.calendar.filter(subject__contains="B")) == ["B"]
    # MAPI semantics: a comparison with a property the item lacks is false, even "not equal"
    assert sorted(i.subject for i in account.calendar.exclude(sync_id="tb-a")) == ["B"]


def test_invitations_are_recorded_not_sent(account: Account, ews_emu: EwsEmulatorServer) -> None:
    item = CalendarItem(account=account, folder=account.calendar, subject="Team",
                        start=at(7, 9), end=at(7, 10), required_attendees=[
                            Attendee(mailbox=Mailbox(email_address="megan@contoso.example"))])
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    item.delete(send_meeting_cancellations=SEND_TO_NONE)
    mail = ews_emu.hooks.state()["mail"]
    assert [(m["kind"], m["to"]) for m in mail] == [("invitation", ["megan@contoso.example"])]


def test_other_mailbox_items_are_denied(account_for: object) -> None:
    from emulators.ews.server import MEGAN, MEGAN_PASSWORD

    adele = account_for()  # type: ignore[operator]
    item = new(adele)
    megan = account_for(email=MEGAN, password=MEGAN_PASSWORD)  # type: ignore[operator]
    with pytest.raises(ErrorAccessDenied):
        list(megan.fetch(ids=[(item.id, item.changekey)]))
