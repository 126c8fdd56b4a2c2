"""Providers under test: what the provider-parametrised scenario suite needs of each one.

A :class:`ProviderKit` names a provider, gives the engine its factory registry, connects a
calendar to the provider's emulator, and hands out :class:`RemoteControls`: what a person does
in the provider's own UI (create, edit, delete an appointment), the faults and expiries the
emulator can inject, and what the remote side holds now.  Scenario tests speak only these, so
a second provider (Microsoft Graph next) joins the suite by adding its kit to :data:`KITS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import pytest

from bridge.google.ids import event_id
from bridge.google.mapping_google_parse import item_uid
from bridge.store import SqlStore
from bridge.sync.engine import SyncEngine
from emulators.google.server import ALICE, EmulatorServer
from tests.sync.conftest import CAL, Harness, connect, gevent, make_engine


class RemoteControls(Protocol):
    """The provider's side of a scenario (its emulator)."""

    def live(self) -> dict[str, str]:
        """Live appointments by our UID: their titles (one entry per series)."""

    def create(self, summary: str, day: int = 12, hour: int = 9) -> str:
        """An appointment made in the provider's UI; returns the UID it arrives with."""

    def edit(self, uid: str, summary: str, *, later: float = 0.0) -> None:
        """Retitle an appointment in the provider's UI, ``later`` seconds on its clock."""

    def delete(self, uid: str) -> None:
        """Delete an appointment in the provider's UI."""

    def fail(self, operation: str, status: int, times: int = 1) -> None:
        """The next ``times`` requests of ``operation`` (``list``/``insert``/``update``/
        ``delete``) fail with ``status``."""

    def heal(self) -> None:
        """No more faults."""

    def expire_cursor(self) -> None:
        """Every stored change cursor of the calendar becomes invalid."""

    def revoke_grant(self) -> None:
        """The refresh token stops working (the user revoked access)."""

    def reset_counters(self) -> None:
        """Forget the requests counted so far."""

    def writes(self) -> int:
        """Writes the bridge made since the counters were reset."""


@dataclass
class GoogleControls:
    """:class:`RemoteControls` over the Google emulator (Alice's primary calendar)."""

    emu: EmulatorServer
    calendar: str = ALICE

    _METHODS: ClassVar[dict[str, str]] = {
        "list": "calendar.events.list", "insert": "calendar.events.insert",
        "update": "calendar.events.update", "delete": "calendar.events.delete"}

    def _masters(self) -> list[dict[str, Any]]:
        return [e for e in self.emu.hooks.stored_events(self.calendar)
                if e.get("status") != "cancelled" and not e.get("recurringEventId")]

    def _event_id(self, uid: str) -> str:
        for event in self._masters():
            if item_uid(event) == uid:
                return str(event["id"])
        return event_id(CAL, uid)

    def live(self) -> dict[str, str]:
        """Live masters by our UID (``terminUid``, else ``iCalUID``)."""
        return {str(item_uid(e)): str(e.get("summary") or "") for e in self._masters()}

    def create(self, summary: str, day: int = 12, hour: int = 9) -> str:
        """``external_change(insert)``; the UID is Google's ``iCalUID``."""
        created = self.emu.hooks.external_change(self.calendar, "insert",
                                                 event=gevent(summary, day=day, hour=hour))
        if created.get("iCalUID"):
            return str(created["iCalUID"])
        return next(str(e["iCalUID"]) for e in self._masters() if e["id"] == created["id"])

    def edit(self, uid: str, summary: str, *, later: float = 0.0) -> None:
        """``external_change(patch)`` after moving Google's clock."""
        if later:
            self.emu.hooks.advance_clock(later)
        self.emu.hooks.external_change(self.calendar, "patch", event_id=self._event_id(uid),
                                       event={"summary": summary})

    def delete(self, uid: str) -> None:
        """``external_change(delete)``."""
        self.emu.hooks.external_change(self.calendar, "delete", event_id=self._event_id(uid))

    def fail(self, operation: str, status: int, times: int = 1) -> None:
        """A fault on the matching ``calendar.events.*`` method."""
        self.emu.hooks.fault(self._METHODS[operation], status=status, times=times)

    def heal(self) -> None:
        """Clear every fault."""
        self.emu.hooks.clear_faults()

    def expire_cursor(self) -> None:
        """Sync tokens answer 410 ``fullSyncRequired``."""
        self.emu.hooks.expire_sync_tokens(self.calendar)

    def revoke_grant(self) -> None:
        """Refresh tokens expire at once (``invalid_grant``)."""
        self.emu.hooks.config(refresh_token_ttl=1)
        self.emu.hooks.advance_clock(7200)

    def reset_counters(self) -> None:
        """Reset the emulator's request log."""
        self.emu.hooks.reset_counters()

    def writes(self) -> int:
        """Writes the emulator recorded."""
        return len(self.emu.hooks.state()["writes"])


@dataclass(frozen=True)
class ProviderKit:
    """One provider under test: its name, an engine with its factory registry (fast test
    options), how a calendar gets connected to it, and its remote controls."""

    name: str
    make_engine: Callable[[SqlStore], SyncEngine]
    connect: Callable[[SqlStore], int]
    remote: RemoteControls


@dataclass
class ScenarioHarness(Harness):
    """A connected, imported harness with the provider's remote controls."""

    kit: ProviderKit | None = None

    @property
    def remote(self) -> RemoteControls:
        """The provider's side."""
        assert self.kit is not None
        return self.kit.remote


def google_kit(request: pytest.FixtureRequest) -> ProviderKit:
    """Google through its emulator (the session's ``emu``)."""
    emu: EmulatorServer = request.getfixturevalue("emu")
    return ProviderKit("google", lambda store: make_engine(store, emu),
                       lambda store: connect(store, emu), GoogleControls(emu))


# Provider name → kit builder; the scenario suite runs once per entry.
KITS: dict[str, Callable[[pytest.FixtureRequest], ProviderKit]] = {"google": google_kit}
