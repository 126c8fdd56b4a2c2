"""What an operation handler gets: the state, the signed-in mailbox and the parsed request."""

from __future__ import annotations

from dataclasses import dataclass

from emulators.ews.soap import Request
from emulators.ews.state import EwsState, Mailbox

__all__ = ["Ctx"]


@dataclass
class Ctx:
    """One request's context."""

    state: EwsState
    mailbox: Mailbox
    request: Request

    @property
    def owner(self) -> str:
        """The mailbox key (lower-case SMTP address)."""
        return self.mailbox.email.lower()

    def log_write(self, op: str, item_id: str, **extra: object) -> None:
        """Append to the write log tests read from ``/_emulator/state``."""
        self.state.counters.writes.append({"op": op, "id": item_id, "account": self.owner,
                                           **extra})
