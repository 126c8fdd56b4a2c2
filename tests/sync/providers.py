"""Providers under test: what the provider-parametrised scenario suite needs of each one.

A :class:`ProviderKit` names a provider, gives the engine its factory registry, connects a
calendar to the provider's emulator, and hands out :class:`RemoteControls`: what a person does
in the provider's own UI (create, edit, delete an appointment), the faults and expiries the
emulator can inject, and what the remote side holds now.  Scenario tests speak only these;
Google and Microsoft Graph are in :data:`KITS`, and another provider joins by adding its kit.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import quote, urlsplit

import aiohttp
import pytest
from icalendar import Calendar

from bridge.caldav.davxml import CALDAV, DAV, parse_multistatus
from bridge.caldav.factory import ICLOUD, CaldavProviderFactory, Preset
from bridge.google.crypto import TokenCipher
from bridge.google.ids import event_id
from bridge.google.mapping_google_parse import item_uid
from bridge.microsoft.auth import MicrosoftEndpoints
from bridge.microsoft.factory import MicrosoftProviderFactory
from bridge.microsoft.mapping import item_uid as graph_uid
from bridge.microsoft.reader import EXPAND
from bridge.providers.netguard import GuardedResolver, NetGuard, parse_networks
from bridge.store import SqlStore
from bridge.sync.engine import SyncEngine
from emulators.ews.server import ADELE as EWS_ADELE
from emulators.ews.server import ADELE_PASSWORD, EwsEmulatorServer
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
from tests.sync.davpeer import (
    PASSWORD,
    USER,
    DavProxy,
    LoopbackNames,
    RadicaleServer,
    XandikosServer,
    dav,
)

if TYPE_CHECKING:  # exchangelib (16 MB) is imported only where Exchange is tested
    from bridge.exchange.client import EwsLogin
    from bridge.exchange.factory import ExchangeProviderFactory


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

    @property
    def remote_name(self) -> str:
        """The provider's name (``connections.provider``)."""
        assert self.kit is not None
        return self.kit.name


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


@dataclass
class ExchangeControls:
    """:class:`RemoteControls` over the EWS emulator: Adele's "Praxis" calendar, changed the
    way Outlook changes it (exchangelib as Adele, outside the bridge)."""

    emu: EwsEmulatorServer
    password: str = ADELE_PASSWORD
    _account: Any = None

    _OPS: ClassVar[dict[str, str]] = {
        "list": "SyncFolderItems", "insert": "CreateItem", "update": "UpdateItem",
        "delete": "DeleteItem"}

    def folder_id(self) -> str:
        """The id of Adele's "Praxis" calendar."""
        return next(str(f["id"]) for f in self.emu.hooks.state()["folders"]
                    if f["name"] == "Praxis" and f["owner"] == EWS_ADELE)

    def login(self) -> EwsLogin:
        """Adele's login (Basic) as the bridge stores it."""
        from bridge.exchange.client import EwsLogin

        return EwsLogin(self.emu.ews_url, EWS_ADELE, self.password, "basic", EWS_ADELE,
                        "15.1.2507.6")

    def folder(self) -> Any:
        """The calendar folder as exchangelib sees it."""
        from exchangelib.folders import Calendar, Root

        from bridge.exchange.client import make_account

        if self._account is None:
            self._account = make_account(self.login(), max_connections=1, max_wait=5)
        return Calendar(root=Root(account=self._account), id=self.folder_id())

    def _items(self) -> list[Any]:
        return [i for i in self.folder().all().only("id", "changekey", "uid", "subject",
                                                    "bridge_uid")
                if not isinstance(i, Exception)]

    def _item(self, uid: str) -> Any:
        return next(i for i in self._items() if (i.bridge_uid or i.uid) == uid)

    def live(self) -> dict[str, str]:
        """Items by our UID property (else EWS's UID): their subjects."""
        return {str(i.bridge_uid or i.uid): str(i.subject or "") for i in self._items()}

    def create(self, summary: str, day: int = 12, hour: int = 9) -> str:
        """A new appointment (UTC); the UID EWS gives it."""
        from exchangelib import CalendarItem
        from exchangelib.ewsdatetime import EWSDateTime, EWSTimeZone

        folder = self.folder()
        utc = EWSTimeZone("UTC")
        item = CalendarItem(account=folder.account, folder=folder, subject=summary,
                            start=EWSDateTime(2030, 3, day, hour, tzinfo=utc),
                            end=EWSDateTime(2030, 3, day, hour + 1, tzinfo=utc))
        item.save()
        item.refresh()  # GetItem: the UID the server gave it
        return str(item.uid)

    def edit(self, uid: str, summary: str, *, later: float = 0.0) -> None:
        """Retitle (``update_fields=["subject"]``) after moving the emulator's clock."""
        if later:
            self.emu.hooks.call("POST", "clock", {"advance_seconds": later})
        item = self._item(uid)
        item.subject = summary
        item.save(update_fields=["subject"])

    def delete(self, uid: str) -> None:
        """Delete the item."""
        self._item(uid).delete()

    def fail(self, operation: str, status: int, times: int = 1) -> None:
        """A bare HTTP status (500: the ``ErrorInternalServerError`` fault) on the matching
        EWS operation."""
        self.emu.hooks.fault(self._OPS[operation], status=status, times=times)

    def heal(self) -> None:
        """Clear every fault."""
        self.emu.hooks.clear_faults()

    def expire_cursor(self) -> None:
        """Every SyncState issued so far answers ``ErrorInvalidSyncStateData``."""
        self.emu.hooks.invalidate_sync()

    def revoke_grant(self) -> None:
        """Adele's password changes (the stored login stops working)."""
        self.password = "Changed-Secret-2"
        self._account = None
        self.emu.run(lambda state: setattr(state.mailboxes[EWS_ADELE], "password",
                                           self.password))

    def reset_counters(self) -> None:
        """Reset the emulator's counters and write log."""
        self.emu.hooks.call("POST", "reset_counters")

    def writes(self) -> int:
        """Writes made since the counters were reset."""
        return len(self.emu.hooks.state()["writes"])

    def requests(self) -> dict[str, int]:
        """EWS requests by operation since the counters were reset."""
        counts: dict[str, int] = self.emu.hooks.state()["requests"]
        return counts


def ex_factory(**options: Any) -> ExchangeProviderFactory:
    """An Exchange factory for the emulator (loopback allowed, short busy back-off)."""
    from bridge.exchange.factory import ExchangeOptions, ExchangeProviderFactory

    return ExchangeProviderFactory(cipher=TokenCipher(SECRET),
                                   guard=NetGuard(parse_networks("127.0.0.0/8")),
                                   options=ExchangeOptions(**{"max_wait": 5, **options}))


def ex_engine(store: SqlStore, **overrides: Any) -> SyncEngine:
    """An engine whose only provider is Exchange, against the emulator."""
    factory = ex_factory(**overrides.pop("exchange", {}))
    return SyncEngine(store, fast_options(**overrides), providers={"exchange": factory})


def ex_connect(store: SqlStore, controls: ExchangeControls) -> int:
    """The calendar connected to Adele's "Praxis" calendar with her sealed login."""
    if store.get_collection(CAL) is None:
        store.create_user("alice", "x") if store.get_user("alice") is None else None
        store.create_collection(CAL, tag="VCALENDAR", timezone=TZ)
    cipher = TokenCipher(SECRET)
    blob = controls.login().dump()
    record = store.create_connection(
        CAL, account_email=EWS_ADELE, remote_calendar_id=controls.folder_id(),
        remote_calendar_name="Praxis", scopes="ews",
        seal_token=lambda cid: cipher.encrypt(cid, blob))
    store.update_connection(record.id, provider="exchange")
    store.update_connection_state(record.id, {"calendar_tz": TZ, "import": {"phase": "running"},
                                              "phase": "importing"})
    store.activate_connection(record.id, push_existing=False)
    return record.id


def exchange_kit(request: pytest.FixtureRequest) -> ProviderKit:
    """Exchange (EWS) through its emulator (the worker's ``ews_emu``), exchangelib unmodified."""
    emu: EwsEmulatorServer = request.getfixturevalue("ews_emu")
    controls = ExchangeControls(emu)
    return ProviderKit("exchange", ex_engine, lambda store: ex_connect(store, controls),
                       controls)


# Provider name → kit builder; the scenario suite runs once per entry.
KITS: dict[str, Callable[[pytest.FixtureRequest], ProviderKit]] = {
    "google": google_kit, "microsoft": microsoft_kit, "exchange": exchange_kit}


# -- CalDAV: stock Radicale and Xandikos, each behind the test proxy (tests/sync/davpeer.py) ------

CALDAV_NAMES = ("radicale", "xandikos")
_CAL_QUERY = (
    '<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" '
    'xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>'
    '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/></c:comp-filter>'
    "</c:filter></c:calendar-query>")


@dataclass
class CaldavControls:
    """:class:`RemoteControls` over a real CalDAV server: the test's own requests go straight
    to the peer (a person's calendar app), faults and counters are the proxy's."""

    peer: RadicaleServer | XandikosServer
    proxy: DavProxy
    path: str
    password: str = PASSWORD

    @property
    def emu(self) -> None:
        """No emulator (the harness's ``emu`` stays empty)."""
        return None

    def _resources(self) -> dict[str, tuple[str, str, Calendar]]:
        """UID → (path, etag, calendar) of every event resource."""
        status, _, body = dav("REPORT", self.peer.base + self.path, _CAL_QUERY,
                              password=self.password, headers={"Depth": "1"})
        assert status == 207, (status, body[:300])
        out: dict[str, tuple[str, str, Calendar]] = {}
        for row in parse_multistatus(body).responses:
            data = row.text(CALDAV, "calendar-data")
            if not data:
                continue
            cal = Calendar.from_ical(data)
            uid = str(cal.walk("VEVENT")[0]["UID"])
            out[uid] = (urlsplit(row.href).path, row.text(DAV, "getetag") or "", cal)
        return out

    def live(self) -> dict[str, str]:
        """UID → the master's SUMMARY."""
        out = {}
        for uid, (_, _, cal) in self._resources().items():
            master = next(e for e in cal.walk("VEVENT") if "RECURRENCE-ID" not in e)
            out[uid] = str(master.get("SUMMARY") or "")
        return out

    def create(self, summary: str, day: int = 12, hour: int = 9) -> str:
        """PUT a new event as another client would (UTC times)."""
        uid = f"{uuid.uuid4()}@peer"
        text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//peer//EN\r\nBEGIN:VEVENT\r\n"
                f"UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\n"
                f"DTSTART:203003{day:02d}T{hour:02d}0000Z\r\n"
                f"DTEND:203003{day:02d}T{hour + 1:02d}0000Z\r\n"
                f"SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
        status, _, body = dav("PUT", f"{self.peer.base}{self.path}{uuid.uuid4().hex}.ics", text,
                              password=self.password,
                              headers={"Content-Type": "text/calendar", "If-None-Match": "*"})
        assert status in (201, 204), (status, body)
        return uid

    def edit(self, uid: str, summary: str, *, later: float = 0.0) -> None:
        """Retitle the master, LAST-MODIFIED ``later`` seconds from now (the editor's clock)."""
        path, etag, cal = self._resources()[uid]
        stamp = datetime.fromtimestamp(time.time() + later, UTC)
        for event in cal.walk("VEVENT"):
            if "RECURRENCE-ID" not in event:
                event.pop("SUMMARY", None)
                event.add("SUMMARY", summary)
            event.pop("LAST-MODIFIED", None)
            event.add("LAST-MODIFIED", stamp)
        status, _, body = dav("PUT", self.peer.base + path, cal.to_ical(), password=self.password,
                              headers={"Content-Type": "text/calendar", "If-Match": etag})
        assert status in (201, 204), (status, body)

    def delete(self, uid: str) -> None:
        """DELETE the resource."""
        path, _, _ = self._resources()[uid]
        status, _, _ = dav("DELETE", self.peer.base + path, password=self.password)
        assert status in (200, 204), status

    def fail(self, operation: str, status: int, times: int = 1) -> None:
        """The proxy answers the next ``times`` requests of ``operation`` with ``status``."""
        self.proxy.faults[operation] = [status] * times

    def heal(self) -> None:
        """No more faults."""
        self.proxy.faults.clear()

    def expire_cursor(self) -> None:
        """Every sync token handed out so far answers 403 ``valid-sync-token``."""
        self.proxy.expire()

    def revoke_grant(self) -> None:
        """The user changes the password (the stored one stops working)."""
        new = "changed-" + uuid.uuid4().hex
        if self.proxy.check_auth or self.proxy.icloud:
            self.proxy.password = new  # the proxy does the auth (Xandikos, iCloud's shape)
        else:
            self.peer.set_password(new)
            self.password = new

    def reset_counters(self) -> None:
        """Forget the writes counted so far."""
        self.proxy.counts.clear()

    def writes(self) -> int:
        """PUTs and DELETEs the bridge sent."""
        return self.proxy.writes()


LOOPBACK = NetGuard(parse_networks("127.0.0.0/8, ::1/128"))


def caldav_factory(store: SqlStore | None, name: str = "caldav", **kwargs: Any
                   ) -> CaldavProviderFactory:
    """A CalDAV factory allowed to reach the test peers on loopback."""
    preset = kwargs.pop("preset", None) or Preset(name)
    return CaldavProviderFactory(cipher=TokenCipher(SECRET), preset=preset,
                                 guard=kwargs.pop("guard", LOOPBACK), store=store, **kwargs)


def caldav_connect(store: SqlStore, base: str, calendar_url: str, *, name: str = "caldav",
                   password: str = PASSWORD, collection: str = CAL) -> int:
    """The calendar ``collection`` connected to ``calendar_url`` with sealed credentials."""
    if store.get_collection(collection) is None:
        store.create_user("alice", "x") if store.get_user("alice") is None else None
        store.create_collection(collection, tag="VCALENDAR", timezone=TZ)
    cipher = TokenCipher(SECRET)
    blob = json.dumps({"url": base + "/", "user": USER, "password": password})
    record = store.create_connection(
        collection, account_email=USER, remote_calendar_id=calendar_url, remote_calendar_name="Cal",
        scopes="caldav", seal_token=lambda cid: cipher.encrypt(cid, blob))
    store.update_connection(record.id, provider=name)
    store.update_connection_state(record.id, {"calendar_tz": TZ, "import": {"phase": "running"},
                                              "phase": "importing"})
    store.activate_connection(record.id, push_existing=False)
    return record.id


def icloud_preset(proxy: DavProxy) -> Preset:
    """iCloud's preset with the test's host names (``*.icloud.test`` on the proxy)."""
    return replace(ICLOUD, default_url=f"http://caldav.icloud.test:{proxy.port}/",
                   credential_hosts=("*.icloud.test",))


def icloud_sessions(guard: NetGuard) -> aiohttp.ClientSession:
    """Sessions whose guarded resolver finds ``*.icloud.test`` on loopback."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(
        resolver=GuardedResolver(guard, LoopbackNames(".icloud.test")), use_dns_cache=False))


def caldav_kit_for(request: pytest.FixtureRequest, peer_fixture: str, **modes: Any
                   ) -> ProviderKit:
    """A kit over a fresh calendar of a peer, through its proxy in ``modes``."""
    peer, proxy = request.getfixturevalue(peer_fixture)
    proxy.reset()
    for key, value in modes.items():
        setattr(proxy, key, value)
    proxy.password = PASSWORD
    peer.set_password(PASSWORD)
    path = peer.new_calendar()
    controls = CaldavControls(peer, proxy, path)
    name, base, cal_base, extra = "caldav", proxy.base, proxy.base, {}
    if proxy.icloud:
        name, base = "icloud", f"http://caldav.icloud.test:{proxy.port}"
        cal_base = f"http://p42-caldav.icloud.test:{proxy.port}"
        extra = {"preset": icloud_preset(proxy), "session_factory": icloud_sessions}
    return ProviderKit(
        name,
        lambda store: SyncEngine(store, fast_options(), providers={
            name: caldav_factory(store, name, **extra)}),
        lambda store: caldav_connect(store, base, cal_base + path, name=name),
        controls)


def radicale_kit(request: pytest.FixtureRequest) -> ProviderKit:
    """Stock Radicale (sync-collection), through the proxy."""
    return caldav_kit_for(request, "radicale_peer")


def xandikos_kit(request: pytest.FixtureRequest) -> ProviderKit:
    """Xandikos (sync-collection), through the proxy (which does its auth)."""
    return caldav_kit_for(request, "xandikos_peer")


def radicale_listing_kit(request: pytest.FixtureRequest) -> ProviderKit:
    """Stock Radicale with sync-collection refused: ctag + etag listing + multiget."""
    return caldav_kit_for(request, "radicale_peer", no_sync=True)


def radicale_icloud_kit(request: pytest.FixtureRequest) -> ProviderKit:
    """Stock Radicale in iCloud's shape: two host names, the 401 scheme, VTODO refused."""
    return caldav_kit_for(request, "radicale_peer", icloud=True)


def radicale_rewriting_kit(request: pytest.FixtureRequest) -> ProviderKit:
    """Stock Radicale behind a proxy that rewrites PRODID/DTSTAMP/VTIMEZONE of every PUT and
    answers it without an ETag."""
    return caldav_kit_for(request, "radicale_peer", rewrite=True)


KITS.update({"radicale": radicale_kit, "xandikos": xandikos_kit,
             "radicale-listing": radicale_listing_kit,
             "radicale-rewriting": radicale_rewriting_kit, "icloud": radicale_icloud_kit})
