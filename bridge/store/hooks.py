"""The store's hooks: code of other packages that runs inside a write or after its commit.

Every :class:`~bridge.store.SqlStore` creates one :class:`Hooks` registry in its constructor
(``store.hooks``).  Two kinds of hook:

* **Item-write hooks** (:meth:`Hooks.on_item_write`) run inside the transaction of every item
  write with the :class:`WriteTx` and an :class:`ItemWrite`; the rows they write commit or roll
  back with the item (:mod:`bridge.notify.hooks` writes notifications this way).
* **Commit listeners** (:meth:`Hooks.add_listener`) run after the outermost transaction
  committed, once per :class:`Signal` the transaction raised (``OUTBOX_QUEUED`` wakes the push
  worker, ``NOTIFICATION_DUE`` the notification worker).

One :class:`WriteTx` describes the outermost write transaction running in this context: its
connection, whether it is an import (``importing``), and the signals it raised.  Nested store
calls join it (see :meth:`bridge.store.base.StoreBase._write`).
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy import Connection

from bridge.model import ItemRecord

__all__ = ["CURRENT_TX", "CommitListener", "Hooks", "ItemWrite", "ItemWriteHook", "Signal",
           "WriteTx"]

_LOGGER = logging.getLogger(__name__)


class Signal(enum.Enum):
    """What a committed transaction tells the commit listeners."""

    NOTIFICATION_DUE = "notification_due"
    OUTBOX_QUEUED = "outbox_queued"


@dataclass
class WriteTx:
    """The outermost write transaction of this context and what it queued for after the commit.

    ``importing`` is set by ``run_transaction(..., importing=True)`` (a first-connection import
    page): the writes inside are not edits by a person.
    """

    conn: Connection
    importing: bool = False
    signals: set[Signal] = field(default_factory=set)

    def signal(self, signal: Signal) -> None:
        """Call the listeners of ``signal`` once this transaction has committed."""
        self.signals.add(signal)


# The write transaction running in this context (thread or task), joined by nested store calls.
CURRENT_TX: ContextVar[WriteTx | None] = ContextVar("termin_bridge_tx", default=None)


@dataclass(frozen=True)
class ItemWrite:
    """One item write as item-write hooks see it: the item before and after.

    ``old`` is ``None`` on create, ``new`` is ``None`` on delete; both are full records of the
    same type (``collection_path`` is the written calendar's).
    """

    collection_id: int
    origin: str
    old: ItemRecord | None
    new: ItemRecord | None

    @property
    def current(self) -> ItemRecord:
        """The item after the write, or the deleted one."""
        item = self.new if self.new is not None else self.old
        assert item is not None, "an item write has an old or a new item"
        return item

    @property
    def href(self) -> str:
        """The written href."""
        return self.current.href

    @property
    def uid(self) -> str:
        """The written UID."""
        return self.current.uid


ItemWriteHook = Callable[[WriteTx, ItemWrite], None]
CommitListener = Callable[[], None]


class Hooks:
    """The registry of one store: item-write hooks by name and commit listeners by signal."""

    def __init__(self) -> None:
        self._item_write: dict[str, ItemWriteHook] = {}
        self._listeners: dict[Signal, list[CommitListener]] = {signal: [] for signal in Signal}
        self._lock = threading.Lock()

    # -- in-transaction ----------------------------------------------------------------------
    def on_item_write(self, name: str, hook: ItemWriteHook) -> None:
        """Run ``hook`` inside every item write; replaces the hook registered under ``name``."""
        with self._lock:
            self._item_write[name] = hook

    def item_write_hook(self, name: str) -> ItemWriteHook | None:
        """The item-write hook registered under ``name``, or ``None``."""
        return self._item_write.get(name)

    def remove_item_write(self, name: str) -> None:
        """Forget the item-write hook registered under ``name`` (no-op when none)."""
        with self._lock:
            self._item_write.pop(name, None)

    def item_written(self, tx: WriteTx, write: ItemWrite) -> None:
        """Run every item-write hook (in registration order) inside ``tx``."""
        for hook in list(self._item_write.values()):
            hook(tx, write)

    # -- after commit ------------------------------------------------------------------------
    def add_listener(self, signal: Signal, callback: CommitListener) -> None:
        """Call ``callback`` (from the committing thread) after each commit raising ``signal``."""
        with self._lock:
            self._listeners[signal].append(callback)

    def remove_listener(self, signal: Signal, callback: CommitListener) -> None:
        """Undo :meth:`add_listener` (no-op when not added)."""
        with self._lock:
            if callback in self._listeners[signal]:
                self._listeners[signal].remove(callback)

    def committed(self, signals: set[Signal]) -> None:
        """Call the listeners of every signal a transaction raised (after its commit)."""
        for signal in Signal:
            if signal not in signals:
                continue
            for callback in list(self._listeners[signal]):
                try:
                    callback()
                except Exception:  # a broken listener must not fail the write
                    _LOGGER.exception("%s listener failed", signal.value)
