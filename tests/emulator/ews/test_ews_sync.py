"""SyncFolderItems through exchangelib's ``sync_items()``: the first sync as creates, paging by
MaxChangesReturned until IncludesLastItemInRange, incremental create/update/delete from a
saved state, occurrence changes as master updates, ``Ignore``, invalid states."""

from __future__ import annotations

from typing import Any

import pytest
from exchangelib import Account, CalendarItem, EWSDateTime
from exchangelib.errors import ErrorInvalidSyncStateData
from exchangelib.folders import Calendar
from exchangelib.properties import ItemId
from exchangelib.recurrence import DailyPattern, Recurrence

from emulators.ews.server import EwsEmulatorServer
from tests.emulator.ews.conftest import TZ


def at(day: int, hour: int) -> EWSDateTime:
    return EWSDateTime(2026, 2, day, hour, tzinfo=TZ)


def make(account: Account, subject: str, day: int = 2, **extra: Any) -> CalendarItem:
    item = CalendarItem(account=account, folder=account.calendar, subject=subject,
                        start=at(day, 9), end=at(day, 10), **extra)
    item.save()
    return item


def changes(folder: Calendar, state: str | None, **kw: Any) -> tuple[list[tuple[str, str]], str]:
    """(change type, subject or id) pairs and the new state (``state=None``: from scratch;
    exchangelib would otherwise resume from the folder's last state)."""
    folder.item_sync_state = state
    seen = []
    for kind, item in folder.sync_items(**kw):
        seen.append((kind, item.id if isinstance(item, ItemId) else item.subject))
    return seen, folder.item_sync_state


def test_first_sync_pages_until_last_item(account: Account,
                                          ews_emu: EwsEmulatorServer) -> None:
    for i in range(5):
        make(account, f"T{i}", day=2 + i)
    before = ews_emu.hooks.state()["requests"].get("SyncFolderItems", 0)
    seen, state = changes(account.calendar, None, max_changes_returned=2)
    assert seen == [("create", f"T{i}") for i in range(5)]
    assert ews_emu.hooks.state()["requests"]["SyncFolderItems"] - before == 3
    again, same = changes(account.calendar, state)
    assert again == [] and same


def test_incremental_changes(account: Account) -> None:
    keep, gone = make(account, "keep"), make(account, "gone")
    _, state = changes(account.calendar, None)
    keep.subject = "kept"
    keep.save(update_fields=["subject"])
    gone_id = gone.id
    gone.delete()
    make(account, "new")
    flash = make(account, "flash")
    flash.delete()
    seen, state = changes(account.calendar, state)
    assert seen == [("update", "kept"), ("delete", gone_id), ("create", "new")]
    assert changes(account.calendar, state)[0] == []


def test_occurrence_change_is_a_master_update(account: Account) -> None:
    master = make(account, "daily", recurrence=Recurrence(
        pattern=DailyPattern(interval=1), start=at(2, 9).date(), number=3))
    _, state = changes(account.calendar, None)
    occ = master.occurrence(2)
    occ.refresh()
    occ.subject = "moved"
    occ.save(update_fields=["subject"])
    seen, state = changes(account.calendar, state)
    assert seen == [("update", "daily")]
    master.occurrence(3).delete()
    assert changes(account.calendar, state)[0] == [("update", "daily")]


def test_ignore_drops_own_changes(account: Account) -> None:
    ours = make(account, "ours")
    _, state = changes(account.calendar, None)
    ours.subject = "ours 2"
    ours.save(update_fields=["subject"])
    make(account, "theirs")
    seen, _ = changes(account.calendar, state, ignore=[ItemId(id=ours.id)])
    assert seen == [("create", "theirs")]


def test_sub_calendar_has_its_own_changes(account: Account) -> None:
    [praxis] = [c for c in account.calendar.children if c.name == "Praxis"]
    item = CalendarItem(account=account, folder=praxis, subject="in Praxis",
                        start=at(3, 9), end=at(3, 10))
    item.save()
    make(account, "in Calendar")
    assert changes(praxis, None)[0] == [("create", "in Praxis")]
    _, main_state = changes(account.calendar, None)
    with pytest.raises(ErrorInvalidSyncStateData):
        changes(praxis, main_state)


@pytest.mark.parametrize("how", ["hook", "garbage"])
def test_invalid_state(account: Account, ews_emu: EwsEmulatorServer, how: str) -> None:
    make(account, "x")
    _, state = changes(account.calendar, None)
    if how == "hook":
        assert ews_emu.hooks.invalidate_sync() >= 1
    else:
        state = "H4sIAAAAAAAEAO29B2AcSZYlJi9tynt/SvVK1+B0"
    with pytest.raises(ErrorInvalidSyncStateData):
        changes(account.calendar, state)
    # Starting over without a state works.
    assert changes(account.calendar, None)[0] == [("create", "x")]
