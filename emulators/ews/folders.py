"""Folder addressing and the folder operations: GetFolder and FindFolder.

``t:DistinguishedFolderId`` resolves ``root``, ``msgfolderroot`` and ``calendar`` (other
well-known names answer ``ErrorFolderNotFound``, which exchangelib skips while mapping the
folder tree); ``t:FolderId`` any folder of the caller's mailbox.  FindFolder pages with
``m:IndexedPageFolderView`` (``MaxEntriesReturned``, ``Offset``, ``BasePoint``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TypeVar

from emulators.ews.context import Ctx
from emulators.ews.render import parse_shape, render_folder
from emulators.ews.soap import EwsError, each_message, local, m, response_message, sub, t
from emulators.ews.state import Folder

__all__ = ["find_folder", "get_folder", "page_of", "resolve_folder"]

T = TypeVar("T")


def resolve_folder(ctx: Ctx, elem: ET.Element) -> Folder:
    """The folder a ``t:FolderId``/``t:DistinguishedFolderId`` names."""
    kind = local(elem.tag)
    if kind == "DistinguishedFolderId":
        address = elem.find(f"{t('Mailbox')}/{t('EmailAddress')}")
        owner = address.text.strip().lower() if address is not None and address.text else \
            ctx.mailbox.email.lower()
        if owner != ctx.mailbox.email.lower():
            if ctx.state.mailbox(owner) is None:
                raise EwsError("ErrorNonExistentMailbox",
                               f"No mailbox with such guid or SMTP address {owner!r}.")
            raise EwsError("ErrorAccessDenied", "Access is denied. Check credentials and try "
                           "again.")
        folder = ctx.state.distinguished(owner, elem.get("Id", ""))
        if folder is None:
            raise EwsError("ErrorFolderNotFound", "The specified folder could not be found in "
                           "the store.")
        return folder
    if kind == "FolderId":
        folder = ctx.state.folders.get(elem.get("Id", ""))
        if folder is None:
            raise EwsError("ErrorFolderNotFound", "The specified folder could not be found in "
                           "the store.")
        if folder.owner != ctx.mailbox.email.lower():
            raise EwsError("ErrorAccessDenied", "Access is denied. Check credentials and try "
                           "again.")
        return folder
    raise EwsError("ErrorInvalidIdMalformed", f"Unsupported folder id {kind}.")


def get_folder(ctx: Ctx, body: ET.Element) -> list[ET.Element]:
    """``m:GetFolder``: one response message per folder id."""
    shape = parse_shape(body.find(m("FolderShape")))

    def answer(elem: ET.Element) -> ET.Element:
        folder = resolve_folder(ctx, elem)
        msg = response_message("GetFolder")
        render_folder(sub(msg, m("Folders")), ctx.state, folder, shape)
        return msg

    return each_message("GetFolder", body, "FolderIds", answer)


def find_folder(ctx: Ctx, body: ET.Element) -> list[ET.Element]:
    """``m:FindFolder`` (``Traversal`` Shallow or Deep), paged."""
    traversal = body.get("Traversal", "Shallow")
    if traversal not in ("Shallow", "Deep", "SoftDeleted"):
        raise EwsError("ErrorSchemaValidation", f"Invalid Traversal {traversal!r}.", fault=True)
    if body.find(m("Restriction")) is not None:
        raise EwsError("ErrorUnsupportedQueryFilter",
                       "Restrictions are not supported by this emulator.", fault=True)
    shape = parse_shape(body.find(m("FolderShape")))
    view = body.find(m("IndexedPageFolderView"))

    def answer(elem: ET.Element) -> ET.Element:
        parent = resolve_folder(ctx, elem)
        found = [] if traversal == "SoftDeleted" else (
            ctx.state.descendants(parent.id) if traversal == "Deep"
            else ctx.state.children(parent.id))
        page, offset, last = page_of(found, view)
        msg = response_message("FindFolder")
        root = sub(msg, m("RootFolder"), IndexedPagingOffset=str(offset),
                   TotalItemsInView=str(len(found)),
                   IncludesLastItemInRange="true" if last else "false")
        container = sub(root, t("Folders"))
        for folder in page:
            render_folder(container, ctx.state, folder, shape)
        return msg

    return each_message("FindFolder", body, "ParentFolderIds", answer)


def page_of(rows: Sequence[T], view: ET.Element | None) -> tuple[list[T], int, bool]:
    """The page of ``rows`` an ``Indexed…View`` asks for: (page, next offset, last?)."""
    total = len(rows)
    if view is None:
        return list(rows), total, True
    try:
        size = int(view.get("MaxEntriesReturned", str(total or 1)))
        offset = int(view.get("Offset", "0"))
    except ValueError as exc:
        raise EwsError("ErrorSchemaValidation", "Invalid paging values.", fault=True) from exc
    if view.get("BasePoint", "Beginning") == "End":
        offset = max(total - offset - size, 0)
    page = list(rows[offset:offset + size])
    end = offset + len(page)
    return page, end, end >= total
