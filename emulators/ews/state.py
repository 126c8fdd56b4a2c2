"""The EWS emulator's in-memory model: mailboxes, folders, calendar items, tombstones.

One :class:`EwsState` holds everything with one controllable clock and a global monotonic change
counter (``counter``).  Every item write bumps the counter and stores it on the item
(``Item.seq``; the ChangeKey encodes it) and per written field (``Item.field_seq``, used to
decide whether ``AutoResolve`` can merge a stale update).  Item properties are kept as the XML
elements the client sent (``Item.fields``, keyed by FieldURI or an extended-property key), so
what a client writes is what it reads back.  Handlers mutate the state only from the event loop
thread.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import struct
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from emulators.ews.controls import Config, Counters, FaultRule, RateLimit
from emulators.shared.clock import Clock

__all__ = [
    "EwsState",
    "Folder",
    "Item",
    "Mailbox",
    "Modified",
    "Subscription",
    "Tombstone",
    "change_key",
    "new_id",
    "parse_change_key",
]

_CK_PREFIX = b"\x0f\x00\x00\x00\x16\x00\x00\x00"  # what real ChangeKeys start with


def new_id() -> str:
    """An opaque EWS-style id (standard base64 starting ``AAMkA`` like Exchange's)."""
    return base64.b64encode(b"\x00\x03\x24\x00" + secrets.token_bytes(64)).decode()


def change_key(seq: int) -> str:
    """The ChangeKey for change counter ``seq``."""
    return base64.b64encode(_CK_PREFIX + struct.pack(">Q", seq)).decode()


def parse_change_key(value: str) -> int | None:
    """The change counter in a ChangeKey, or ``None`` when it is not one of ours."""
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    if len(raw) != len(_CK_PREFIX) + 8 or not raw.startswith(_CK_PREFIX):
        return None
    seq: int = struct.unpack(">Q", raw[len(_CK_PREFIX):])[0]
    return seq


@dataclass
class Mailbox:
    """A mailbox user: SMTP address, password (Basic/NTLM), display name, Windows zone."""

    email: str
    password: str
    name: str = ""
    domain: str = "CONTOSO"
    time_zone: str = "W. Europe Standard Time"

    @property
    def username(self) -> str:
        """The logon name (local part), as in ``CONTOSO\\adele``."""
        return self.email.split("@", 1)[0]


@dataclass
class Folder:
    """A folder of one mailbox (``root``, ``msgfolderroot``, ``calendar`` or a sub-calendar)."""

    id: str
    owner: str
    name: str
    parent_id: str | None
    folder_class: str | None = None
    distinguished: str | None = None
    seq: int = 0
    epoch: int = 0


@dataclass
class Modified:
    """A modified occurrence of a recurring master: its own fields over the master's."""

    fields: dict[str, ET.Element] = field(default_factory=dict)
    seq: int = 0


@dataclass
class Item:
    """A calendar item: single or recurring master (occurrences are derived)."""

    id: str
    folder_id: str
    owner: str
    created: dt.datetime
    modified: dt.datetime
    fields: dict[str, ET.Element] = field(default_factory=dict)
    field_seq: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    created_seq: int = 0
    exceptions: dict[str, Modified] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)


@dataclass
class Tombstone:
    """A deleted item, for ``Delete`` changes in SyncFolderItems."""

    id: str
    folder_id: str
    created_seq: int
    seq: int


@dataclass
class Subscription:
    """A push subscription: owner, folders, event types, status frequency (minutes), the
    subscriber's URL and the last watermark sent."""

    id: str
    owner: str
    folders: tuple[str, ...]
    events: frozenset[str]
    frequency: int
    url: str
    watermark: str


class EwsState:
    """Everything the emulator knows."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.config = Config()
        # Push delivery (:mod:`emulators.ews.push`) listens here; reset() keeps the listeners.
        self.change_listeners: list[Callable[[str, str, str, str], None]] = []
        self.subscription_listeners: list[Callable[[Subscription], None]] = []
        self.reset()

    def reset(self) -> None:
        """Forget everything (the clock and config knobs stay)."""
        self.mailboxes: dict[str, Mailbox] = {}
        self.folders: dict[str, Folder] = {}
        self.items: dict[str, Item] = {}
        self.tombstones: list[Tombstone] = []
        self.counter = 0
        self.counters = Counters()
        self.faults: list[FaultRule] = []
        self.rate_limit: RateLimit | None = None
        self.rate_hits: dict[str, deque[float]] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.watermarks: set[str] = set()

    def changed(self, folder_id: str, kind: str, item_id: str, seq: int) -> None:
        """Tell the push listeners that an item changed (``CreatedEvent``, ``ModifiedEvent``,
        ``DeletedEvent``) with its ChangeKey counter."""
        for listener in list(self.change_listeners):
            listener(folder_id, kind, item_id, change_key(seq))

    def on_subscription(self, subscription: Subscription) -> None:
        """Tell the push listeners about a new subscription."""
        for listener in list(self.subscription_listeners):
            listener(subscription)

    def end_subscription(self, subscription_id: str, reason: str) -> None:
        """Forget a subscription (unsubscribed, answered ``Unsubscribe``, undeliverable)."""
        if self.subscriptions.pop(subscription_id, None) is not None:
            self.counters.subscriptions_ended.append({"subscription": subscription_id,
                                                      "reason": reason})

    def bump(self) -> int:
        """Advance the change counter and return it."""
        self.counter += 1
        return self.counter

    def mailbox(self, email: str) -> Mailbox | None:
        """The mailbox with this SMTP address (case-insensitive)."""
        return self.mailboxes.get(email.lower())

    def add_mailbox(self, mailbox: Mailbox) -> None:
        """Add a mailbox with its root, Top of Information Store and Calendar folders."""
        key = mailbox.email.lower()
        self.mailboxes[key] = mailbox
        root = Folder(new_id(), key, "root", None, None, "root")
        top = Folder(new_id(), key, "Top of Information Store", root.id, "IPF.Note",
                     "msgfolderroot")
        cal = Folder(new_id(), key, "Calendar", top.id, "IPF.Appointment", "calendar")
        for folder in (root, top, cal):
            folder.seq = self.bump()
            self.folders[folder.id] = folder

    def distinguished(self, owner: str, name: str) -> Folder | None:
        """A mailbox's distinguished folder (``calendar``, ``root``, ``msgfolderroot``)."""
        for folder in self.folders.values():
            if folder.owner == owner.lower() and folder.distinguished == name:
                return folder
        return None

    def add_calendar(self, owner: str, name: str, parent_id: str | None = None,
                     folder_id: str | None = None) -> Folder:
        """A sub-calendar (below the Calendar folder unless ``parent_id`` is given)."""
        parent = parent_id or self.distinguished(owner, "calendar").id  # type: ignore[union-attr]
        folder = Folder(folder_id or new_id(), owner.lower(), name, parent, "IPF.Appointment")
        folder.seq = self.bump()
        self.folders[folder.id] = folder
        return folder

    def children(self, folder_id: str) -> list[Folder]:
        """Direct child folders, in creation order."""
        return [f for f in self.folders.values() if f.parent_id == folder_id]

    def descendants(self, folder_id: str) -> list[Folder]:
        """All folders below ``folder_id``, depth first."""
        result: list[Folder] = []
        for child in self.children(folder_id):
            result.append(child)
            result.extend(self.descendants(child.id))
        return result

    def items_in(self, folder_id: str) -> list[Item]:
        """The items of a folder, oldest first."""
        return [i for i in self.items.values() if i.folder_id == folder_id]
