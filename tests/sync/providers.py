"""Providers under test: what the provider-parametrised scenario suite needs of each one.

A :class:`ProviderKit` names a provider, gives the engine its factory registry, connects a
calendar to the provider's emulator, and hands out :class:`RemoteControls`: what a person does
in the provider's own UI (create, edit, delete an appointment), the faults and expiries the
emulator can inject, and what the remote side holds now.  Scenario tests speak only these;
Google and Microsoft Graph are in :data:`KITS`, and another provider joins by adding its kit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol
from urllib.parse import quote

import pytest

from bridge.google.crypto import TokenCipher
from bridge.google.ids import event_id
from bridge.google.mapping_google_parse import item_uid
from bridge.microsoft.auth import MicrosoftEndpoints
from bridge.microsoft.factory import MicrosoftProviderFactory
from bridge.microsoft.mapping import item_uid as graph_uid
from bridge.microsoft.series import EXPAND
from bridge.store import SqlStore
from bridge.sync.engine import SyncEngine
from emulators.google.server import ALICE, EmulatorServer
from emulators.microsoft.server import ADELE, CLIENT_ID, CLIENT_SECRET, MsEmulatorServer
from tests.sync.conftest import (
    CAL,
    SECRET,
    TZ,
    Harness,
    connect,
    fast_options,
    gevent,
    make_engine,
)


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


# Adele's second calendar in the Microsoft emulator's basic seed.
PRAXIS = "AAMkAGCalPraxis"


@dataclass
class MsClock:
    """The Microsoft provider's clock in tests: the sync window is whole months around it, so
    the scenario dates (March 2030) lie inside; tests move it to move the window."""

    now: datetime = field(default_factory=lambda: datetime(2030, 2, 1, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class MicrosoftControls:
    """:class:`RemoteControls` over the Microsoft emulator (Adele's "Praxis" calendar)."""

    emu: MsEmulatorServer
    calendar: str = PRAXIS
    _token: str = ""

    _OPS: ClassVar[dict[str, str]] = {
        "list": "calendarView.delta", "insert": "events.create",
        "update": "events.update", "delete": "events.delete"}

    def graph(self, path: str) -> dict[str, Any]:
        """A Graph GET as Adele (outside the bridge: the test's own look)."""
        if not self._token:
            self._token = str(self.emu.hooks.tokens(ADELE)["access_token"])
        url = path if path.startswith("https://") else self.emu.graph_url + path
        status, _, text = self.emu.hooks.open(url, headers={
            "Authorization": "Bearer " + self._token, "Prefer": "odata.maxpagesize=500"})
        assert status == 200, text
        data: dict[str, Any] = json.loads(text)
        return data

    def masters(self) -> list[dict[str, Any]]:
        """Live singles and series masters with our UID property."""
        page = self.graph(f"/me/calendars/{self.calendar}/events?$expand={quote(EXPAND)}")
        rows = list(page.get("value") or [])
        while page.get("@odata.nextLink"):
            page = self.graph(str(page["@odata.nextLink"]))
            rows += page.get("value") or []
        return [r for r in rows if not r.get("isCancelled")]

    def _event_id(self, uid: str) -> str:
        return next(str(e["id"]) for e in self.masters() if graph_uid(e) == uid)

    def live(self) -> dict[str, str]:
        """Live events by our UID (the property, else ``iCalUId``)."""
        return {str(graph_uid(e)): str(e.get("subject") or "") for e in self.masters()}

    def create(self, summary: str, day: int = 12, hour: int = 9) -> str:
        """``external_change(create)``; the UID is Outlook's ``iCalUId``."""
        created = self.emu.hooks.external_change(self.calendar, "create", event={
            "subject": summary,
            "start": {"dateTime": f"2030-03-{day:02d}T{hour:02d}:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"2030-03-{day:02d}T{hour + 1:02d}:00:00", "timeZone": "UTC"}})
        return str(created["iCalUId"])

    def edit(self, uid: str, summary: str, *, later: float = 0.0) -> None:
        """``external_change(patch)`` after moving the emulator's clock."""
        if later:
            self.emu.hooks.call("POST", "clock", {"advance_seconds": later})
        self.emu.hooks.external_change(self.calendar, "patch", event_id=self._event_id(uid),
                                       event={"subject": summary})

    def delete(self, uid: str) -> None:
        """``external_change(delete)``."""
        self.emu.hooks.external_change(self.calendar, "delete", event_id=self._event_id(uid))

    def fail(self, operation: str, status: int, times: int = 1) -> None:
        """A fault on the matching Graph operation."""
        self.emu.hooks.fault(self._OPS[operation], status=status, times=times)

    def heal(self) -> None:
        """Clear every fault."""
        self.emu.hooks.call("DELETE", "faults")

    def expire_cursor(self) -> None:
        """Delta tokens answer 410 ``SyncStateNotFound``."""
        self.emu.hooks.call("POST", "invalidate_delta", {"calendarId": self.calendar})

    def revoke_grant(self) -> None:
        """Adele's sessions are revoked (refresh → ``invalid_grant``), access tokens too."""
        self.emu.hooks.call("POST", "revoke", {"account": ADELE, "mode": "sessions",
                                               "access_tokens": True})

    def reset_counters(self) -> None:
        """Reset the emulator's counters and write log."""
        self.emu.hooks.call("POST", "reset_counters")

    def writes(self) -> int:
        """Writes the bridge made (the emulator's write log, API source)."""
        return sum(1 for w in self.emu.hooks.state()["writes"] if w.get("source") == "api")

    def requests(self) -> dict[str, int]:
        """Graph requests by operation since the counters were reset."""
        counts: dict[str, int] = self.emu.hooks.state()["api_requests"]
        return counts


def ms_factory(emu: MsEmulatorServer, store: SqlStore | None, clock: MsClock, *,
               write_attendees: bool = False) -> MicrosoftProviderFactory:
    """A Microsoft factory against the emulator (msal trusting its CA)."""
    endpoints = MicrosoftEndpoints(CLIENT_ID, CLIENT_SECRET, emu.authority(), emu.graph_url,
                                   emu.ca_path)
    return MicrosoftProviderFactory(cipher=TokenCipher(SECRET), endpoints=endpoints,
                                    store=store, write_attendees=write_attendees, clock=clock)


def ms_engine(store: SqlStore, emu: MsEmulatorServer, clock: MsClock, **overrides: Any
              ) -> SyncEngine:
    """An engine whose only provider is Microsoft, against the emulator."""
    factory = ms_factory(emu, store, clock,
                         write_attendees=bool(overrides.pop("write_attendees", False)))
    return SyncEngine(store, fast_options(api_endpoint=emu.graph_url, **overrides),
                      providers={"microsoft": factory})


def ms_connect(store: SqlStore, emu: MsEmulatorServer, calendar: str = PRAXIS) -> int:
    """The calendar connected to Adele's calendar with a sealed emulator refresh token."""
    if store.get_collection(CAL) is None:
        store.create_user("alice", "x") if store.get_user("alice") is None else None
        store.create_collection(CAL, tag="VCALENDAR", timezone=TZ)
    tokens = emu.hooks.tokens(ADELE)
    cipher = TokenCipher(SECRET)
    record = store.create_connection(
        CAL, account_email=ADELE, remote_calendar_id=calendar, remote_calendar_name="Praxis",
        scopes="Calendars.ReadWrite User.Read",
        seal_token=lambda cid: cipher.encrypt(cid, str(tokens["refresh_token"])))
    store.update_connection(record.id, provider="microsoft")
    store.update_connection_state(record.id, {"calendar_tz": TZ, "import": {"phase": "running"},
                                              "phase": "importing"})
    store.activate_connection(record.id, push_existing=False)
    return record.id


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


def microsoft_kit(request: pytest.FixtureRequest) -> ProviderKit:
    """Microsoft Graph through its emulator (the worker's ``ms_emu``, https with its CA)."""
    emu: MsEmulatorServer = request.getfixturevalue("ms_emu")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # msal's verify= must count
        monkeypatch.delenv(name, raising=False)
    clock = MsClock()
    return ProviderKit("microsoft", lambda store: ms_engine(store, emu, clock),
                       lambda store: ms_connect(store, emu), MicrosoftControls(emu))


# Provider name → kit builder; the scenario suite runs once per entry.
KITS: dict[str, Callable[[pytest.FixtureRequest], ProviderKit]] = {
    "google": google_kit, "microsoft": microsoft_kit}
