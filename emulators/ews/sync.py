"""``m:SyncFolderItems``: incremental changes of a calendar folder behind an opaque SyncState.

The SyncState is a gzip'd, base64'd JSON of the folder id, the folder's sync epoch and the change
counter reached (Exchange's states are base64 blobs too).  Without a state every item arrives as
``Create``; with one, items written since are ``Create`` (new since the state) or ``Update``, and
deleted ones ``Delete`` (only when the client could have seen them).  Changes come oldest first,
at most ``MaxChangesReturned`` (1 to 512) per call; ``IncludesLastItemInRange`` is false while more
remain.  A state that does not decode, names another folder, or predates ``invalidate_sync``
answers ``ErrorInvalidSyncStateData``.  ``m:Ignore`` drops changes of the listed ids.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from emulators.ews.calendar import View
from emulators.ews.context import Ctx
from emulators.ews.folders import resolve_folder
from emulators.ews.render import parse_shape, render_item
from emulators.ews.soap import EwsError, m, response_message, sub, t
from emulators.ews.state import Folder, Item, Tombstone, change_key

__all__ = ["decode_state", "encode_state", "sync_folder_items"]


@dataclass(frozen=True)
class _Change:
    seq: int
    kind: str
    item: Item | None = None
    tombstone: Tombstone | None = None


def encode_state(folder: Folder, seq: int) -> str:
    """The opaque SyncState for ``folder`` at change counter ``seq``."""
    raw = json.dumps({"f": folder.id, "e": folder.epoch, "s": seq}).encode()
    return base64.b64encode(gzip.compress(raw, mtime=0)).decode()


def _invalid() -> EwsError:
    return EwsError("ErrorInvalidSyncStateData",
                    "Synchronization state data is corrupt or otherwise invalid.")


def decode_state(folder: Folder, text: str) -> int:
    """The change counter in a SyncState for ``folder``; ``ErrorInvalidSyncStateData``."""
    try:
        data = json.loads(gzip.decompress(base64.b64decode(text, validate=True)))
        seq, folder_id, epoch = int(data["s"]), str(data["f"]), int(data["e"])
    except (binascii.Error, OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise _invalid() from exc
    if folder_id != folder.id or epoch != folder.epoch:
        raise _invalid()
    return seq


def _changes(ctx: Ctx, folder: Folder, since: int, ignore: set[str]) -> list[_Change]:
    changes = [_Change(i.seq, "Create" if i.created_seq > since else "Update", item=i)
               for i in ctx.state.items_in(folder.id) if i.seq > since and i.id not in ignore]
    changes += [_Change(d.seq, "Delete", tombstone=d) for d in ctx.state.tombstones
                if d.folder_id == folder.id and d.seq > since and d.created_seq <= since
                and d.id not in ignore]
    return sorted(changes, key=lambda c: c.seq)


def _error(exc: EwsError) -> ET.Element:
    msg = response_message("SyncFolderItems", exc)
    sub(msg, m("SyncState"))
    sub(msg, m("IncludesLastItemInRange"), "true")
    return msg


def sync_folder_items(ctx: Ctx, body: ET.Element) -> list[ET.Element]:
    """``m:SyncFolderItems``: one response message."""
    shape = parse_shape(body.find(m("ItemShape")))
    target = body.find(m("SyncFolderId"))
    if target is None or len(target) != 1:
        raise EwsError("ErrorSchemaValidation", "SyncFolderId is required.", fault=True)
    size_elem = body.find(m("MaxChangesReturned"))
    try:
        size = int(size_elem.text or "") if size_elem is not None else -1
    except ValueError:
        size = -1
    if not 1 <= size <= ctx.state.config.max_changes_limit:
        raise EwsError("ErrorSchemaValidation", "MaxChangesReturned must be between 1 and "
                       f"{ctx.state.config.max_changes_limit}.", fault=True)
    ignore_elem = body.find(m("Ignore"))
    ignore = {e.get("Id", "") for e in ignore_elem} if ignore_elem is not None else set()
    try:
        folder = resolve_folder(ctx, target[0])
        state_elem = body.find(m("SyncState"))
        since = decode_state(folder, state_elem.text) if state_elem is not None and \
            state_elem.text else 0
    except EwsError as exc:
        return [_error(exc)]
    changes = _changes(ctx, folder, since, ignore)
    page = changes[:size]
    reached = page[-1].seq if len(changes) > size else max(since, ctx.state.counter)
    msg = response_message("SyncFolderItems")
    sub(msg, m("SyncState"), encode_state(folder, reached))
    sub(msg, m("IncludesLastItemInRange"), "false" if len(changes) > size else "true")
    container = sub(msg, m("Changes"))
    for change in page:
        elem = sub(container, t(change.kind))
        if change.item is not None:
            render_item(elem, ctx.state, View(change.item), shape)
        elif change.tombstone is not None:
            sub(elem, t("ItemId"), Id=change.tombstone.id,
                ChangeKey=change_key(change.tombstone.seq))
    return [msg]


