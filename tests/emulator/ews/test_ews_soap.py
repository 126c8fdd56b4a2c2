"""Hand-written SOAP against the emulator for what exchangelib never sends wrong: required
meeting attributes, read-only and per-change property rules, AppendToItemField, malformed and
unknown ids answered per message, MaxChangesReturned bounds, the shape of an invalid-SyncState
answer, unknown operations, and attributes newer than the requested schema."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest

from emulators.ews.server import EwsEmulatorServer
from tests.emulator.ews.conftest import M, T, raw

CAL = "<t:DistinguishedFolderId Id=\"calendar\"/>"
ITEM = ("<t:CalendarItem><t:Subject>Raw</t:Subject><t:Body BodyType=\"Text\">A</t:Body>"
        "<t:Start>2026-05-04T09:00:00Z</t:Start><t:End>2026-05-04T10:00:00Z</t:End>"
        "{extra}</t:CalendarItem>")
ALL = "<m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>"


def messages(resp: object) -> list[ET.Element]:
    root = ET.fromstring(resp.content)  # type: ignore[attr-defined]
    found = root.find(f".//{M}ResponseMessages")
    assert found is not None, resp.content  # type: ignore[attr-defined]
    return list(found)


def code(msg: ET.Element) -> str:
    return msg.findtext(f"{M}ResponseCode") or ""


def create(emu: EwsEmulatorServer, extra: str = "", attrs: str = 'SendMeetingInvitations='
           '"SendToNone"') -> ET.Element:
    body = (f"<m:CreateItem MessageDisposition=\"SaveOnly\" {attrs}><m:SavedItemFolderId>{CAL}"
            f"</m:SavedItemFolderId><m:Items>{ITEM.format(extra=extra)}</m:Items>"
            "</m:CreateItem>")
    [msg] = messages(raw(emu, body))
    return msg


def created_id(emu: EwsEmulatorServer) -> tuple[str, str]:
    msg = create(emu)
    item_id = msg.find(f".//{T}ItemId")
    assert item_id is not None
    return item_id.get("Id", ""), item_id.get("ChangeKey", "")


def update(emu: EwsEmulatorServer, item_id: str, updates: str, key: str = "",
           version: str = "Exchange2016", extra_attrs: str = "") -> object:
    change_key = f' ChangeKey="{key}"' if key else ""
    return raw(emu, (
        "<m:UpdateItem ConflictResolution=\"AlwaysOverwrite\" MessageDisposition=\"SaveOnly\" "
        f"SendMeetingInvitationsOrCancellations=\"SendToNone\"{extra_attrs}><m:ItemChanges>"
        f"<t:ItemChange><t:ItemId Id=\"{item_id}\"{change_key}/><t:Updates>{updates}"
        "</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"), version=version)


def get(emu: EwsEmulatorServer, *ids: str) -> list[ET.Element]:
    id_elems = "".join(f'<t:ItemId Id="{i}"/>' for i in ids)
    return messages(raw(emu, f"<m:GetItem>{ALL}<m:ItemIds>{id_elems}</m:ItemIds></m:GetItem>"))


def test_create_needs_the_meeting_attribute(ews_emu: EwsEmulatorServer) -> None:
    msg = create(ews_emu, attrs="")
    assert (msg.get("ResponseClass"), code(msg)) == ("Error",
                                                     "ErrorSendMeetingInvitationsRequired")


def test_server_set_properties_are_read_only(ews_emu: EwsEmulatorServer) -> None:
    msg = create(ews_emu, extra="<t:CalendarItemType>Single</t:CalendarItemType>")
    assert code(msg) == "ErrorInvalidPropertySet"
    item_id, _ = created_id(ews_emu)
    [msg] = messages(update(ews_emu, item_id, (
        '<t:SetItemField><t:FieldURI FieldURI="calendar:Organizer"/><t:CalendarItem>'
        "<t:Organizer/></t:CalendarItem></t:SetItemField>")))
    assert code(msg) == "ErrorInvalidPropertySet"


def test_one_property_per_change_and_start_cannot_go(ews_emu: EwsEmulatorServer) -> None:
    item_id, _ = created_id(ews_emu)
    [msg] = messages(update(ews_emu, item_id, (
        '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem>'
        "<t:Subject>a</t:Subject><t:Location>b</t:Location></t:CalendarItem></t:SetItemField>")))
    assert code(msg) == "ErrorIncorrectUpdatePropertyCount"
    [msg] = messages(update(ews_emu, item_id, (
        '<t:DeleteItemField><t:FieldURI FieldURI="calendar:Start"/></t:DeleteItemField>')))
    assert code(msg) == "ErrorInvalidPropertyDelete"


def test_append_and_delete_fields(ews_emu: EwsEmulatorServer) -> None:
    item_id, key = created_id(ews_emu)
    [msg] = messages(update(ews_emu, item_id, (
        '<t:AppendToItemField><t:FieldURI FieldURI="item:Body"/><t:CalendarItem>'
        '<t:Body BodyType="Text">B</t:Body></t:CalendarItem></t:AppendToItemField>'
        '<t:DeleteItemField><t:FieldURI FieldURI="item:Subject"/></t:DeleteItemField>'), key))
    assert code(msg) == "NoError"
    new_key = msg.find(f".//{T}ItemId").get("ChangeKey")  # type: ignore[union-attr]
    assert new_key != key
    assert msg.findtext(f"{M}ConflictResults/{T}Count") == "0"
    [got] = get(ews_emu, item_id)
    assert got.findtext(f".//{T}Body") == "AB"
    assert got.find(f".//{T}Subject") is None


def test_ids_answered_per_message(ews_emu: EwsEmulatorServer) -> None:
    item_id, _ = created_id(ews_emu)
    unknown = base64.b64encode(b"\x00\x00\x1b\x00" + b"x" * 64).decode()
    ok, missing, malformed = get(ews_emu, item_id, unknown, "not base64!")
    assert code(ok) == "NoError" and ok.findtext(f".//{T}Subject") == "Raw"
    assert ok.findtext(f".//{T}CalendarItemType") == "Single"
    assert code(missing) == "ErrorItemNotFound"
    assert code(malformed) == "ErrorInvalidIdMalformed"
    assert missing.get("ResponseClass") == "Error" and missing.findtext(f"{M}MessageText")


@pytest.mark.parametrize("size", ["0", "513", "many"])
def test_max_changes_returned_bounds(ews_emu: EwsEmulatorServer, size: str) -> None:
    resp = raw(ews_emu, (
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"
        f"<m:SyncFolderId>{CAL}</m:SyncFolderId><m:MaxChangesReturned>{size}"
        "</m:MaxChangesReturned></m:SyncFolderItems>"))
    assert resp.status_code == 500 and b"ErrorSchemaValidation" in resp.content


def test_invalid_sync_state_answer(ews_emu: EwsEmulatorServer) -> None:
    [msg] = messages(raw(ews_emu, (
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"
        f"<m:SyncFolderId>{CAL}</m:SyncFolderId><m:SyncState>bm9wZQ==</m:SyncState>"
        "<m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>")))
    assert code(msg) == "ErrorInvalidSyncStateData"
    assert msg.find(f"{M}SyncState") is not None
    assert msg.findtext(f"{M}IncludesLastItemInRange") == "true"


def test_unknown_operation_and_too_new_attribute(ews_emu: EwsEmulatorServer) -> None:
    resp = raw(ews_emu, "<m:GetRoomLists/>")
    assert resp.status_code == 500 and b"ErrorSchemaValidation" in resp.content
    item_id, _ = created_id(ews_emu)
    old = update(ews_emu, item_id, "", version="Exchange2010_SP2",
                 extra_attrs=' SuppressReadReceipts="true"')
    assert old.status_code == 500  # type: ignore[attr-defined]
    assert b"SuppressReadReceipts" in old.content  # type: ignore[attr-defined]
