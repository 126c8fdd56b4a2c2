"""The item operations: GetItem, CreateItem, UpdateItem, DeleteItem and FindItem (with
``m:CalendarView`` expansion or ``m:IndexedPageItemView`` paging).

Every id gets its own response message; per-item errors (``ErrorItemNotFound``,
``ErrorIrresolvableConflict`` …) are ``ResponseClass="Error"`` messages, as in Exchange.
Calendar items need the meeting attributes (``SendMeetingInvitations``,
``SendMeetingInvitationsOrCancellations``, ``SendMeetingCancellations``); sending ones are
recorded in the mail log instead of being sent.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from emulators.ews.calendar import (
    View,
    create_item,
    delete_view,
    occurrences,
    resolve,
    series_of,
    start_end,
    update_view,
    view_fields,
)
from emulators.ews.context import Ctx
from emulators.ews.fields import format_dt, parse_dt
from emulators.ews.folders import page_of, resolve_folder
from emulators.ews.render import parse_shape, render_item, render_item_id
from emulators.ews.restriction import matches
from emulators.ews.soap import EwsError, each_message, local, m, response_message, sub, t

__all__ = ["create", "delete", "find_item", "get_item", "update"]

_INVITES = ("SendToNone", "SendOnlyToAll", "SendToAllAndSaveCopy")
_UPDATE_INVITES = (*_INVITES, "SendOnlyToChanged", "SendToChangedAndSaveCopy")
_RESOLUTIONS = ("NeverOverwrite", "AutoResolve", "AlwaysOverwrite")
_DELETE_TYPES = ("HardDelete", "SoftDelete", "MoveToDeletedItems")


def _attr(body: ET.Element, name: str, allowed: tuple[str, ...], missing: str) -> str:
    value = body.get(name)
    if value is None:
        raise EwsError(missing, f"{name} is required for calendar items.")
    if value not in allowed:
        raise EwsError("ErrorSchemaValidation", f"Invalid {name} {value!r}.", fault=True)
    return value


def _mail(ctx: Ctx, mode: str, kind: str, view: View) -> None:
    fields = view_fields(view)
    attendees = [a.text for key in ("calendar:RequiredAttendees", "calendar:OptionalAttendees",
                                    "calendar:Resources") if key in fields
                 for a in fields[key].iter(t("EmailAddress"))]
    if mode != "SendToNone" and attendees:
        subject = fields.get("item:Subject")
        ctx.state.counters.mail.append({"kind": kind, "from": ctx.owner, "to": attendees,
                                        "subject": subject.text if subject is not None else "",
                                        "id": view.id})


def get_item(ctx: Ctx, body: ET.Element) -> list[ET.Element]:
    """``m:GetItem``."""
    shape = parse_shape(body.find(m("ItemShape")))

    def answer(elem: ET.Element) -> ET.Element:
        view = resolve(ctx.state, ctx.owner, elem)
        msg = response_message("GetItem")
        render_item(sub(msg, m("Items")), ctx.state, view, shape)
        return msg

    return each_message("GetItem", body, "ItemIds", answer)


def _id_message(service: str, view: View) -> ET.Element:
    msg = response_message(service)
    render_item_id(sub(sub(msg, m("Items")), t("CalendarItem")), view)
    return msg


def create(ctx: Ctx, body: ET.Element) -> list[ET.Element]:
    """``m:CreateItem`` into the calendar (or ``m:SavedItemFolderId``)."""
    target = body.find(m("SavedItemFolderId"))
    folder = resolve_folder(ctx, target[0]) if target is not None and len(target) else \
        ctx.state.distinguished(ctx.owner, "calendar")
    assert folder is not None
    if folder.folder_class != "IPF.Appointment":
        raise EwsError("ErrorInvalidRequest", "Only calendar folders are emulated.")

    def answer(elem: ET.Element) -> ET.Element:
        mode = _attr(body, "SendMeetingInvitations", _INVITES,
                     "ErrorSendMeetingInvitationsRequired")
        item = create_item(ctx.state, folder, elem, ctx.request.time_zone)
        ctx.log_write("create", item.id)
        ctx.state.changed(item.folder_id, "CreatedEvent", item.id, item.seq)
        _mail(ctx, mode, "invitation", View(item))
        return _id_message("CreateItem", View(item))

    return each_message("CreateItem", body, "Items", answer)


def update(ctx: Ctx, body: ET.Element) -> list[ET.Element]:
    """``m:UpdateItem`` with ``ConflictResolution`` and ChangeKey checks."""
    resolution = body.get("ConflictResolution")
    if resolution not in _RESOLUTIONS:
        raise EwsError("ErrorSchemaValidation", "ConflictResolution is required.", fault=True)

    def answer(change: ET.Element) -> ET.Element:
        mode = _attr(body, "SendMeetingInvitationsOrCancellations", _UPDATE_INVITES,
                     "ErrorSendMeetingInvitationsOrCancellationsRequired")
        id_elem = next((c for c in change if local(c.tag).endswith("Id")), None)
        updates = change.find(t("Updates"))
        if id_elem is None or updates is None:
            raise EwsError("ErrorSchemaValidation", "ItemChange needs an id and Updates.",
                           fault=True)
        view = resolve(ctx.state, ctx.owner, id_elem)
        conflicts = update_view(ctx.state, view, updates, id_elem.get("ChangeKey"),
                                resolution, ctx.request.time_zone)
        ctx.log_write("update", view.id, conflicts=conflicts)
        ctx.state.changed(view.item.folder_id, "ModifiedEvent", view.item.id, view.item.seq)
        _mail(ctx, mode, "update", view)
        msg = _id_message("UpdateItem", view)
        sub(sub(msg, m("ConflictResults")), t("Count"), str(conflicts))
        return msg

    return each_message("UpdateItem", body, "ItemChanges", answer)


def delete(ctx: Ctx, body: ET.Element) -> list[ET.Element]:
    """``m:DeleteItem`` of items, masters or occurrences."""
    if body.get("DeleteType") not in _DELETE_TYPES:
        raise EwsError("ErrorSchemaValidation", "DeleteType is required.", fault=True)

    def answer(elem: ET.Element) -> ET.Element:
        mode = _attr(body, "SendMeetingCancellations", _INVITES,
                     "ErrorSendMeetingCancellationsRequired")
        view = resolve(ctx.state, ctx.owner, elem)
        _mail(ctx, mode, "cancellation", view)
        delete_view(ctx.state, view)
        ctx.log_write("delete", view.id)
        if view.original is None:
            ctx.state.changed(view.item.folder_id, "DeletedEvent", view.item.id, view.item.seq)
        else:  # an occurrence: the master changed
            ctx.state.changed(view.item.folder_id, "ModifiedEvent", view.item.id, view.item.seq)
        return response_message("DeleteItem")

    return each_message("DeleteItem", body, "ItemIds", answer)


def _calendar_view(ctx: Ctx, folder_id: str, view: ET.Element) -> list[View]:
    zone = dt.UTC
    start = parse_dt(view.get("StartDate"), zone)
    end = parse_dt(view.get("EndDate"), zone)
    if end < start:
        raise EwsError("ErrorCalendarEndDateIsEarlierThanStartDate",
                       "EndDate is earlier than StartDate")
    if end - start > dt.timedelta(days=365 * 2 + 1):
        raise EwsError("ErrorCalendarViewRangeTooBig",
                       "The calendar view range is too big (at most two years).")
    found: list[tuple[dt.datetime, View]] = []
    for item in ctx.state.items_in(folder_id):
        candidates = [View(item)] if series_of(item) is None else [
            View(item, s) for s in (format_dt(o) for o in occurrences(ctx.state, item))
            if s not in item.deleted]
        for candidate in candidates:
            begin, finish = start_end(view_fields(candidate))
            if begin < end and (finish > start or (begin == finish and begin >= start)):
                found.append((begin, candidate))
    found.sort(key=lambda pair: pair[0])
    return [v for _, v in found]


def find_item(ctx: Ctx, body: ET.Element) -> list[ET.Element]:
    """``m:FindItem`` in calendar folders: ``CalendarView`` expands recurring masters into
    occurrences; ``IndexedPageItemView`` (or no view) lists singles and masters matching the
    ``Restriction``."""
    restriction = body.find(m("Restriction"))
    shape = parse_shape(body.find(m("ItemShape")))
    cal_view = body.find(m("CalendarView"))

    def answer(elem: ET.Element) -> ET.Element:
        folder = resolve_folder(ctx, elem)
        offset: int | None = None
        if cal_view is not None:
            if restriction is not None:
                raise EwsError("ErrorInvalidRestriction", "Restrictions are not allowed with "
                               "a calendar view.")
            views = _calendar_view(ctx, folder.id, cal_view)
            limit = int(cal_view.get("MaxEntriesReturned", str(len(views) or 1)))
            page, last = views[:limit], len(views) <= limit
        else:
            views = [View(i) for i in ctx.state.items_in(folder.id)
                     if restriction is None or matches(i.fields, restriction)]
            page, offset, last = page_of(views, body.find(m("IndexedPageItemView")))
        msg = response_message("FindItem")
        attrs = {"TotalItemsInView": str(len(views)),
                 "IncludesLastItemInRange": "true" if last else "false"}
        if offset is not None:
            attrs["IndexedPagingOffset"] = str(offset)
        container = sub(sub(msg, m("RootFolder"), **attrs), t("Items"))
        for view in page:
            render_item(container, ctx.state, view, shape)
        return msg

    return each_message("FindItem", body, "ParentFolderIds", answer)
