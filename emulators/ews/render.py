"""Response shapes: which properties a ``m:ItemShape``/``m:FolderShape`` asks for, and items
and folders rendered as EWS returns them.

``IdOnly`` returns the id plus ``AdditionalProperties``; ``Default`` a calendar item's summary
properties; ``AllProperties`` every first-class property.  Extended properties are returned
only when named in ``AdditionalProperties``, as Exchange does.  Server-set properties
(ids, ``CalendarItemType``, ``Organizer``, ``FirstOccurrence``, ``ModifiedOccurrences`` …) are
computed at render time.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

from emulators.ews.calendar import View, occurrences, start_end, view_fields
from emulators.ews.fields import ORDER, format_dt, path_key
from emulators.ews.soap import local, sub, t
from emulators.ews.state import EwsState, Folder, Mailbox, change_key

__all__ = ["Shape", "parse_shape", "render_folder", "render_item", "render_item_id"]

_DEFAULT = frozenset({
    "item:ItemId", "item:ParentFolderId", "item:Subject", "item:Attachments",
    "item:ResponseObjects", "item:HasAttachments", "item:IsAssociated", "calendar:Start",
    "calendar:End", "calendar:LegacyFreeBusyStatus", "calendar:Location",
    "calendar:CalendarItemType", "calendar:Organizer"})
_NOT_IN_ALL = frozenset({"item:MimeContent", "item:UniqueBody"})
_FOLDER_ORDER = ("folder:FolderId", "folder:ParentFolderId", "folder:FolderClass",
                 "folder:DisplayName", "folder:TotalCount", "folder:ChildFolderCount",
                 "folder:EffectiveRights", "folder:DistinguishedFolderId", "folder:UnreadCount")
_FOLDER_DEFAULT = frozenset({"folder:FolderId", "folder:DisplayName", "folder:TotalCount",
                             "folder:ChildFolderCount", "folder:UnreadCount"})


@dataclass
class Shape:
    """The base shape and the additional property keys asked for."""

    base: str = "IdOnly"
    additional: set[str] = field(default_factory=set)

    def wants(self, key: str, default: frozenset[str] = _DEFAULT) -> bool:
        """Whether the response carries ``key``."""
        if key in self.additional or key in ("item:ItemId", "folder:FolderId"):
            return True
        if key.startswith("ext:"):
            return False
        if self.base == "AllProperties":
            return key not in _NOT_IN_ALL
        return self.base == "Default" and key in default


def parse_shape(elem: ET.Element | None) -> Shape:
    """Read ``m:ItemShape``/``m:FolderShape`` (missing: ``IdOnly``)."""
    if elem is None:
        return Shape()
    base = elem.find(t("BaseShape"))
    extra = elem.find(t("AdditionalProperties"))
    return Shape(base.text.strip() if base is not None and base.text else "IdOnly",
                 {path_key(p) for p in extra} if extra is not None else set())


def render_item_id(parent: ET.Element, view: View, tag: str = "ItemId") -> ET.Element:
    """``t:ItemId Id ChangeKey`` for a view."""
    return sub(parent, t(tag), Id=view.id, ChangeKey=view.change_key)


def _dt(parent: ET.Element, name: str, when: dt.datetime) -> None:
    sub(parent, t(name), format_dt(when))


def _iso_duration(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + \
        (f"{secs}S" if secs else "")
    return text + ("T" + clock if clock or not days else "")


class _Computed:
    """Server-set properties of one view."""

    def __init__(self, state: EwsState, view: View, owner: Mailbox) -> None:
        self.state, self.view, self.owner = state, view, owner
        self.fields = view_fields(view)
        self.master = view.original is None and "calendar:Recurrence" in view.item.fields

    def kind(self) -> str:
        if self.view.original is None:
            return "RecurringMaster" if self.master else "Single"
        return "Exception" if self.view.original in self.view.item.exceptions else "Occurrence"

    def render(self, parent: ET.Element, key: str) -> bool:
        """Append the computed property ``key``; ``False`` when it is not a computed one."""
        func: Callable[[ET.Element], None] | None = getattr(
            self, "_" + key.replace(":", "_"), None)
        if func is None:
            return False
        func(parent)
        return True

    def _item_ItemId(self, parent: ET.Element) -> None:
        render_item_id(parent, self.view)

    def _item_ParentFolderId(self, parent: ET.Element) -> None:
        folder = self.state.folders[self.view.item.folder_id]
        sub(parent, t("ParentFolderId"), Id=folder.id, ChangeKey=change_key(folder.seq))

    def _item_ItemClass(self, parent: ET.Element) -> None:
        stored = self.fields.get("item:ItemClass")
        sub(parent, t("ItemClass"), stored.text if stored is not None else "IPM.Appointment")

    def _item_DateTimeReceived(self, parent: ET.Element) -> None:
        _dt(parent, "DateTimeReceived", self.view.item.created)

    def _item_DateTimeCreated(self, parent: ET.Element) -> None:
        _dt(parent, "DateTimeCreated", self.view.item.created)

    def _item_LastModifiedTime(self, parent: ET.Element) -> None:
        _dt(parent, "LastModifiedTime", self.view.item.modified)

    def _item_LastModifiedName(self, parent: ET.Element) -> None:
        sub(parent, t("LastModifiedName"), self.owner.name or self.owner.email)

    def _item_Size(self, parent: ET.Element) -> None:
        size = sum(len(ET.tostring(e)) for e in self.fields.values())
        sub(parent, t("Size"), str(size))

    def _item_HasAttachments(self, parent: ET.Element) -> None:
        sub(parent, t("HasAttachments"), "false")

    def _item_IsAssociated(self, parent: ET.Element) -> None:
        sub(parent, t("IsAssociated"), "false")

    def _item_IsDraft(self, parent: ET.Element) -> None:
        sub(parent, t("IsDraft"), "false")

    def _calendar_DateTimeStamp(self, parent: ET.Element) -> None:
        _dt(parent, "DateTimeStamp", self.view.item.modified)

    def _calendar_OriginalStart(self, parent: ET.Element) -> None:
        if self.view.original is not None:
            sub(parent, t("OriginalStart"), self.view.original)

    def _calendar_RecurrenceId(self, parent: ET.Element) -> None:
        if self.view.original is not None:
            sub(parent, t("RecurrenceId"), self.view.original)

    def _calendar_IsMeeting(self, parent: ET.Element) -> None:
        attendees = any(k in self.fields for k in (
            "calendar:RequiredAttendees", "calendar:OptionalAttendees", "calendar:Resources"))
        sub(parent, t("IsMeeting"), "true" if attendees else "false")

    def _calendar_IsCancelled(self, parent: ET.Element) -> None:
        sub(parent, t("IsCancelled"), "false")

    def _calendar_IsRecurring(self, parent: ET.Element) -> None:
        # Exchange says false for the master; true for its occurrences and exceptions.
        sub(parent, t("IsRecurring"), "false" if self.view.original is None else "true")

    def _calendar_MeetingRequestWasSent(self, parent: ET.Element) -> None:
        sub(parent, t("MeetingRequestWasSent"), "false")

    def _calendar_CalendarItemType(self, parent: ET.Element) -> None:
        sub(parent, t("CalendarItemType"), self.kind())

    def _calendar_MyResponseType(self, parent: ET.Element) -> None:
        sub(parent, t("MyResponseType"), "Organizer")

    def _calendar_Organizer(self, parent: ET.Element) -> None:
        box = sub(sub(parent, t("Organizer")), t("Mailbox"))
        sub(box, t("Name"), self.owner.name or self.owner.email)
        sub(box, t("EmailAddress"), self.owner.email)
        sub(box, t("RoutingType"), "SMTP")
        sub(box, t("MailboxType"), "Mailbox")

    def _calendar_IsOrganizer(self, parent: ET.Element) -> None:
        sub(parent, t("IsOrganizer"), "true")

    def _calendar_Duration(self, parent: ET.Element) -> None:
        start, end = start_end(self.fields)
        sub(parent, t("Duration"), _iso_duration(end - start))

    def _calendar_AppointmentSequenceNumber(self, parent: ET.Element) -> None:
        sub(parent, t("AppointmentSequenceNumber"), "0")

    def _calendar_AppointmentState(self, parent: ET.Element) -> None:
        sub(parent, t("AppointmentState"), "0")

    def _occurrence(self, parent: ET.Element, tag: str, original: str) -> None:
        view = View(self.view.item, original)
        occ = sub(parent, t(tag))
        render_item_id(occ, view)
        start, end = start_end(view_fields(view))
        _dt(occ, "Start", start)
        _dt(occ, "End", end)
        sub(occ, t("OriginalStart"), original)

    def _live(self) -> list[str]:
        item = self.view.item
        return [s for s in (format_dt(o) for o in occurrences(self.state, item))
                if s not in item.deleted]

    def _calendar_FirstOccurrence(self, parent: ET.Element) -> None:
        live = self._live() if self.master else []
        if live:
            self._occurrence(parent, "FirstOccurrence", live[0])

    def _calendar_LastOccurrence(self, parent: ET.Element) -> None:
        series = self.fields.get("calendar:Recurrence")
        bounded = series is not None and len(series) == 2 and \
            local(series[1].tag) != "NoEndRecurrence"
        live = self._live() if self.master and bounded else []
        if live:
            self._occurrence(parent, "LastOccurrence", live[-1])

    def _calendar_ModifiedOccurrences(self, parent: ET.Element) -> None:
        item = self.view.item
        if self.master and item.exceptions:
            container = sub(parent, t("ModifiedOccurrences"))
            for original in sorted(item.exceptions):
                self._occurrence(container, "Occurrence", original)

    def _calendar_DeletedOccurrences(self, parent: ET.Element) -> None:
        item = self.view.item
        if self.master and item.deleted:
            container = sub(parent, t("DeletedOccurrences"))
            for original in sorted(item.deleted):
                sub(sub(container, t("DeletedOccurrence")), t("Start"), original)


def render_item(parent: ET.Element, state: EwsState, view: View, shape: Shape) -> ET.Element:
    """Append ``t:CalendarItem`` for a view with the properties the shape asks for."""
    elem = sub(parent, t("CalendarItem"))
    owner = state.mailboxes[view.item.owner]
    computed = _Computed(state, view, owner)
    fields = computed.fields
    for key in ORDER:
        if key == "item:ExtendedProperty":
            for ext_key, value in fields.items():
                if ext_key.startswith("ext:") and shape.wants(ext_key):
                    elem.append(value)
            continue
        if not shape.wants(key) or computed.render(elem, key):
            continue
        stored = fields.get(key)
        if stored is not None:
            elem.append(stored)
    return elem


def _folder_value(parent: ET.Element, state: EwsState, folder: Folder, key: str) -> None:
    if key == "folder:FolderId":
        sub(parent, t("FolderId"), Id=folder.id, ChangeKey=change_key(folder.seq))
    elif key == "folder:ParentFolderId" and folder.parent_id:
        parent_folder = state.folders[folder.parent_id]
        sub(parent, t("ParentFolderId"), Id=parent_folder.id,
            ChangeKey=change_key(parent_folder.seq))
    elif key == "folder:FolderClass" and folder.folder_class:
        sub(parent, t("FolderClass"), folder.folder_class)
    elif key == "folder:DisplayName":
        sub(parent, t("DisplayName"), folder.name)
    elif key == "folder:TotalCount":
        sub(parent, t("TotalCount"), str(len(state.items_in(folder.id))))
    elif key == "folder:ChildFolderCount":
        sub(parent, t("ChildFolderCount"), str(len(state.children(folder.id))))
    elif key == "folder:EffectiveRights":
        rights = sub(parent, t("EffectiveRights"))
        for name in ("CreateAssociated", "CreateContents", "CreateHierarchy", "Delete",
                     "Modify", "Read"):
            sub(rights, t(name), "true")
        sub(rights, t("ViewPrivateItems"), "true")
    elif key == "folder:DistinguishedFolderId" and folder.distinguished:
        sub(parent, t("DistinguishedFolderId"), folder.distinguished)
    elif key == "folder:UnreadCount" and folder.folder_class != "IPF.Appointment":
        sub(parent, t("UnreadCount"), "0")


def render_folder(parent: ET.Element, state: EwsState, folder: Folder,
                  shape: Shape) -> ET.Element:
    """Append ``t:CalendarFolder`` (``IPF.Appointment``) or ``t:Folder``."""
    tag = "CalendarFolder" if folder.folder_class == "IPF.Appointment" else "Folder"
    elem = sub(parent, t(tag))
    for key in _FOLDER_ORDER:
        if shape.wants(key, _FOLDER_DEFAULT):
            _folder_value(elem, state, folder, key)
    return elem


