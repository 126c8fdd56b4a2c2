"""Calendar item rules: create, resolve ids (``ItemId``, ``OccurrenceItemId``,
``RecurringMasterItemId``), expand recurring masters, update with ChangeKey checks, delete.

An occurrence is addressed by its master and its original start (``View.original``, UTC text);
modifying one stores a :class:`~emulators.ews.state.Modified` on the master, deleting one adds
its original start to ``Item.deleted``.  Both bump the master's change counter, so
SyncFolderItems reports the master as updated, as Exchange does.
"""

from __future__ import annotations

import copy
import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from emulators.ews.fields import (
    COMPUTED,
    canonical,
    decode_occurrence_id,
    element_key,
    encode_occurrence_id,
    format_dt,
    parse_dt,
    path_key,
    zone_of,
)
from emulators.ews.recurrence import Series, parse_recurrence
from emulators.ews.soap import EwsError, local, t
from emulators.ews.state import (
    EwsState,
    Folder,
    Item,
    Modified,
    Tombstone,
    change_key,
    new_id,
    parse_change_key,
)

__all__ = ["View", "create_item", "delete_view", "duration", "occurrences", "resolve",
           "series_of", "start_end", "summary", "update_view", "view_fields"]

# Marks a master's property deleted on one occurrence (DeleteItemField on the occurrence).
_REMOVED = "{urn:termin-bridge:ews-emulator}Removed"
_RESETS_EXCEPTIONS = frozenset({"calendar:Recurrence", "calendar:Start",
                                "calendar:StartTimeZone"})


@dataclass
class View:
    """What an id addresses: a stored item, or one occurrence of a recurring master."""

    item: Item
    original: str | None = None

    @property
    def id(self) -> str:
        """The id the client sees."""
        if self.original is None:
            return self.item.id
        return encode_occurrence_id(self.item.id, self.original)

    @property
    def seq(self) -> int:
        """The change counter behind the ChangeKey."""
        if self.original is not None and self.original in self.item.exceptions:
            return self.item.exceptions[self.original].seq
        return self.item.seq

    @property
    def change_key(self) -> str:
        """The current ChangeKey."""
        return change_key(self.seq)


def _text(fields: dict[str, ET.Element], key: str) -> str | None:
    elem = fields.get(key)
    return elem.text if elem is not None else None


def start_end(fields: dict[str, ET.Element]) -> tuple[dt.datetime, dt.datetime]:
    """Start and end (UTC) of stored fields (always normalised to ``…Z``)."""
    return (parse_dt(_text(fields, "calendar:Start"), dt.UTC),
            parse_dt(_text(fields, "calendar:End"), dt.UTC))


def duration(item: Item) -> dt.timedelta:
    """The master's length."""
    start, end = start_end(item.fields)
    return end - start


def series_of(item: Item) -> Series | None:
    """The parsed recurrence of a master, ``None`` for a single item."""
    elem = item.fields.get("calendar:Recurrence")
    return parse_recurrence(elem) if elem is not None else None


def occurrences(state: EwsState, item: Item) -> list[dt.datetime]:
    """All original occurrence starts of a master (deleted ones included, as InstanceIndex
    counts them)."""
    series = series_of(item)
    if series is None:
        return []
    start, _ = start_end(item.fields)
    zone = zone_of(item.fields.get("calendar:StartTimeZone"), None)
    horizon = state.clock.now() + dt.timedelta(days=state.config.expansion_horizon_days)
    return series.starts(start, zone, state.config.max_occurrences, horizon)


def view_fields(view: View) -> dict[str, ET.Element]:
    """The stored properties as the view shows them (an occurrence: the master's with its
    own start and end, then its modifications)."""
    if view.original is None:
        return view.item.fields
    fields = {k: v for k, v in view.item.fields.items() if k != "calendar:Recurrence"}
    original = parse_dt(view.original, dt.UTC)
    fields["calendar:Start"] = _dt_elem("Start", original)
    fields["calendar:End"] = _dt_elem("End", original + duration(view.item))
    modified = view.item.exceptions.get(view.original)
    if modified is not None:
        fields.update(modified.fields)
    return {k: v for k, v in fields.items() if v.tag != _REMOVED}


def _dt_elem(name: str, when: dt.datetime) -> ET.Element:
    elem = ET.Element(t(name))
    elem.text = format_dt(when)
    return elem


def _occurrence(state: EwsState, item: Item, original: str) -> View:
    starts = {format_dt(s) for s in occurrences(state, item)}
    if original in item.deleted:
        raise EwsError("ErrorCalendarOccurrenceIsDeletedFromRecurrence",
                       "Occurrence has been deleted from the recurrence.")
    if original not in starts:
        raise EwsError("ErrorItemNotFound", "The specified object was not found in the store.")
    return View(item, original)


def _stored(state: EwsState, owner: str, item_id: str | None) -> Item:
    if not item_id:
        raise EwsError("ErrorInvalidIdEmpty", "Id is empty.")
    item = state.items.get(item_id)
    if item is None:
        decode_occurrence_id(item_id)  # malformed ids are ErrorInvalidIdMalformed
        raise EwsError("ErrorItemNotFound", "The specified object was not found in the store.")
    if item.owner != owner:
        raise EwsError("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    return item


def resolve(state: EwsState, owner: str, elem: ET.Element) -> View:
    """The view an id element addresses; EWS errors for unknown, malformed or deleted ids."""
    kind = local(elem.tag)
    if kind == "ItemId":
        item_id = elem.get("Id") or ""
        occ = decode_occurrence_id(item_id) if item_id not in state.items else None
        if occ is not None:
            return _occurrence(state, _stored(state, owner, occ[0]), occ[1])
        return View(_stored(state, owner, item_id))
    if kind == "OccurrenceItemId":
        master = _stored(state, owner, elem.get("RecurringMasterId"))
        try:
            index = int(elem.get("InstanceIndex", ""))
        except ValueError as exc:
            raise EwsError("ErrorInvalidValueForProperty", "InstanceIndex is invalid.") from exc
        starts = occurrences(state, master)
        if index < 1 or index > len(starts):
            raise EwsError("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
                           "Occurrence index is out of recurrence range.")
        return _occurrence(state, master, format_dt(starts[index - 1]))
    if kind == "RecurringMasterItemId":
        occ_id = elem.get("OccurrenceId") or ""
        occ = decode_occurrence_id(occ_id)
        if occ is None:
            item = _stored(state, owner, occ_id)
            if series_of(item) is None:
                raise EwsError("ErrorItemNotFound", "The item is not an occurrence.")
            return View(item)
        return View(_stored(state, owner, occ[0]))
    raise EwsError("ErrorInvalidIdMalformed", f"Unsupported id element {kind}.")


def _normalise(fields: dict[str, ET.Element], zone_name: str | None) -> None:
    """Start/End to UTC ``…Z`` (a value without offset is local in its time zone)."""
    for name, tz_key in (("Start", "calendar:StartTimeZone"), ("End", "calendar:EndTimeZone")):
        key = f"calendar:{name}"
        if key in fields:
            tz_elem = fields.get(tz_key)
            if tz_elem is None:
                tz_elem = fields.get("calendar:StartTimeZone")
            zone = zone_of(tz_elem, zone_name)
            fields[key] = _dt_elem(name, parse_dt(fields[key].text, zone))


def _check(state: EwsState, fields: dict[str, ET.Element], master: bool) -> None:
    start, end = start_end(fields)
    if end < start:
        raise EwsError("ErrorCalendarEndDateIsEarlierThanStartDate",
                       "EndDate is earlier than StartDate")
    if master and "calendar:Recurrence" in fields:
        item = Item("", "", "", start, start, fields)
        if not occurrences(state, item):
            raise EwsError("ErrorRecurrenceHasNoOccurrence",
                           "The recurrence pattern has no occurrences.")


def _value_fields(container: ET.Element) -> dict[str, ET.Element]:
    fields: dict[str, ET.Element] = {}
    for child in container:
        key = element_key(child)
        if key in COMPUTED:
            raise EwsError("ErrorInvalidPropertySet", "Set action is invalid for property.")
        fields[key] = canonical(copy.deepcopy(child))
    return fields


def _default_times(state: EwsState, fields: dict[str, ET.Element]) -> None:
    now = state.clock.now().replace(second=0, microsecond=0)
    start = now + dt.timedelta(minutes=30 - now.minute % 30)
    fields.setdefault("calendar:Start", _dt_elem("Start", start))
    if "calendar:End" not in fields:
        begin = parse_dt(fields["calendar:Start"].text, dt.UTC)
        fields["calendar:End"] = _dt_elem("End", begin + dt.timedelta(minutes=30))


def create_item(state: EwsState, folder: Folder, elem: ET.Element,
                zone_name: str | None) -> Item:
    """Store a new calendar item from a ``t:CalendarItem`` element."""
    if local(elem.tag) != "CalendarItem":
        raise EwsError("ErrorObjectTypeChanged",
                       "Only calendar items can be saved in a calendar folder.")
    fields = _value_fields(elem)
    for tz_key in ("calendar:StartTimeZone", "calendar:EndTimeZone"):
        if tz_key not in fields and zone_name:
            fields[tz_key] = ET.Element(t(tz_key.split(":")[1]), {"Id": zone_name})
    _normalise(fields, zone_name)
    _default_times(state, fields)
    _check(state, fields, True)
    if "calendar:UID" not in fields:
        uid = ET.Element(t("UID"))
        uid.text = "040000008200E00074C5B7101A82E00800000000" + new_id().encode().hex()[:64]
        fields["calendar:UID"] = uid
    now = state.clock.now()
    seq = state.bump()
    item = Item(new_id(), folder.id, folder.owner, now, now, fields,
                dict.fromkeys(fields, seq), seq, seq)
    state.items[item.id] = item
    return item


def _apply(fields: dict[str, ET.Element], update: ET.Element) -> str:
    """One SetItemField/AppendToItemField/DeleteItemField on ``fields``; returns its key."""
    action = local(update.tag)
    path = next((c for c in update if local(c.tag).endswith("FieldURI")), None)
    if path is None:
        raise EwsError("ErrorSchemaValidation", f"{action} without a property path.")
    key = path_key(path)
    if key in COMPUTED:
        raise EwsError("ErrorInvalidPropertySet", f"{action} is invalid for property.")
    if action == "DeleteItemField":
        if key in ("calendar:Start", "calendar:End"):
            raise EwsError("ErrorInvalidPropertyDelete", "This property can not be deleted.")
        fields.pop(key, None)
        return key
    container = next((c for c in update if not local(c.tag).endswith("FieldURI")), None)
    values = list(container) if container is not None else []
    if len(values) != 1 or element_key(values[0]) != key:
        raise EwsError("ErrorIncorrectUpdatePropertyCount",
                       "An object within a change description must contain one and only one "
                       "property to modify.")
    value = canonical(copy.deepcopy(values[0]))
    if action == "SetItemField":
        fields[key] = value
    elif action == "AppendToItemField":
        current = fields.get(key)
        if current is None:
            fields[key] = value
        elif len(value):
            current.extend(list(value))
        else:
            current.text = (current.text or "") + (value.text or "")
    else:
        raise EwsError("ErrorSchemaValidation", f"Unknown update {action}.")
    return key


def _conflict(view: View, keys: list[str], sent: str | None, resolution: str) -> int:
    """Check the ChangeKey against the item; returns the number of merged conflicts."""
    if not sent:
        return 0
    seq = parse_change_key(sent)
    if seq is None or seq > view.seq:
        raise EwsError("ErrorInvalidChangeKey", "The change key is invalid.")
    if seq == view.seq or resolution == "AlwaysOverwrite":
        return 0
    irresolvable = EwsError(
        "ErrorIrresolvableConflict",
        "The send or update operation could not be performed because the change key passed in "
        "the request does not match the current change key for the item.")
    if resolution == "NeverOverwrite":
        raise irresolvable
    field_seq = view.item.field_seq
    if view.original is not None and view.original in view.item.exceptions:
        field_seq = {k: view.item.exceptions[view.original].seq
                     for k in view.item.exceptions[view.original].fields}
    if any(field_seq.get(k, 0) > seq for k in keys):
        raise irresolvable
    return 1


def update_view(state: EwsState, view: View, updates: ET.Element, sent_key: str | None,
                resolution: str, zone_name: str | None) -> int:
    """Apply ``t:Updates`` to an item or occurrence; returns the merged-conflict count."""
    target = dict(view_fields(view)) if view.original is not None else dict(view.item.fields)
    keys = [_apply(target, u) for u in updates]
    conflicts = _conflict(view, keys, sent_key, resolution)
    if view.original is not None and "calendar:Recurrence" in keys:
        raise EwsError("ErrorCalendarCannotUseIdForOccurrenceId",
                       "An occurrence cannot have a recurrence.")
    _normalise(target, zone_name)
    _check(state, target, view.original is None)
    seq = state.bump()
    item = view.item
    if view.original is None:
        item.fields = target
        if _RESETS_EXCEPTIONS & set(keys) and series_of(item) is not None:
            item.exceptions.clear()
            item.deleted.clear()
    else:
        modified = item.exceptions.setdefault(view.original, Modified())
        for key in keys:
            modified.fields[key] = target[key] if key in target else ET.Element(_REMOVED)
        modified.seq = seq
    for key in keys:
        item.field_seq[key] = seq
    item.seq, item.modified = seq, state.clock.now()
    return conflicts


def delete_view(state: EwsState, view: View) -> None:
    """Delete an item (a tombstone for sync) or one occurrence of a master."""
    item = view.item
    if view.original is not None:
        item.exceptions.pop(view.original, None)
        item.deleted.add(view.original)
        item.seq, item.modified = state.bump(), state.clock.now()
        return
    del state.items[item.id]
    state.tombstones.append(Tombstone(item.id, item.folder_id, item.created_seq, state.bump()))


def summary(item: Item) -> dict[str, Any]:
    """A JSON digest of an item for ``GET /_emulator/items``."""
    start, end = start_end(item.fields)
    return {"id": item.id, "change_key": change_key(item.seq), "folder_id": item.folder_id,
            "subject": _text(item.fields, "item:Subject"), "start": format_dt(start),
            "end": format_dt(end), "recurring": "calendar:Recurrence" in item.fields,
            "modified_occurrences": sorted(item.exceptions), "deleted_occurrences":
            sorted(item.deleted), "extended": sorted(k for k in item.fields
                                                     if k.startswith("ext:"))}
