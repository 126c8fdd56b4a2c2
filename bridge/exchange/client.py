"""The EWS client: exchangelib's blocking calls run in worker threads, a few at a time per
mailbox, every failure translated to the kinds of :mod:`bridge.errors` here and nowhere else.

* One exchangelib ``Account`` per connection, built without autodiscover and with the server
  version discovery found (``Configuration(version=…)``), so no request is spent on probing:
  an idle poll is exactly one ``SyncFolderItems``.
* :class:`BusyBackOff` (exchangelib's ``FaultTolerance``) makes exchangelib honour
  ``ErrorServerBusy``'s ``BackOffMilliseconds`` (and back off on transient failures, the wait
  doubling per retry) until one wait would exceed ``max_wait`` seconds; then the call fails as
  :class:`~bridge.errors.RemoteTransient` and the core retries it in a later round.
* Writes name their fields (``update_fields``), use ``ConflictResolution=NeverOverwrite``
  (a stale ChangeKey is ``ErrorIrresolvableConflict`` →
  :class:`~bridge.errors.RemotePreconditionFailed`) and send nothing to attendees
  (``SendToNone``); deletes are hard deletes, ``SendToNone`` too.
* Items leave the client as the mapping's dicts (:mod:`bridge.exchange.items`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from exchangelib import (
    BASIC,
    DELEGATE,
    NTLM,
    Account,
    Build,
    CalendarItem,
    Configuration,
    Credentials,
    FaultTolerance,
    Version,
)
from exchangelib import errors as ews_errors
from exchangelib.fields import FieldPath
from exchangelib.folders import Calendar, Root
from exchangelib.items import HARD_DELETE, NEVER_OVERWRITE, SAVE_ONLY, SEND_TO_NONE
from exchangelib.properties import ItemId, OccurrenceItemId
from exchangelib.services import (
    CreateItem,
    DeleteItem,
    GetItem,
    SyncFolderItems,
    UpdateItem,
)

from bridge.errors import (
    CursorExpired,
    RemoteAuthError,
    RemoteError,
    RemoteForbidden,
    RemoteNotFound,
    RemotePreconditionFailed,
    RemoteTransient,
)
from bridge.exchange.items import (
    READ_FIELDS,
    item_fields,
    item_to_dict,
    new_item,
    write_fields,
)
from bridge.providers.http import ClientStats
from bridge.providers.netguard import UnsafeTarget

__all__ = ["PUSH_EVENTS", "EwsClient", "EwsLogin", "SyncPage", "translate"]

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
AUTH_TYPES = {"basic": BASIC, "ntlm": NTLM}


@dataclass(frozen=True)
class EwsLogin:
    """What a connection signs in with (the sealed credential blob): the EWS URL, the user,
    the password (secret: never log it), the authentication (``basic``/``ntlm``), the
    mailbox's address and the server build discovery found."""

    endpoint: str
    username: str
    password: str = field(repr=False)
    auth: str = "ntlm"
    email: str = ""
    build: str = ""

    def dump(self) -> str:
        """The blob's JSON text (sealed by the factory)."""
        return json.dumps({"v": 1, "endpoint": self.endpoint, "username": self.username,
                           "password": self.password, "auth": self.auth, "email": self.email,
                           "build": self.build})

    @classmethod
    def load(cls, text: str) -> EwsLogin:
        """The login of a blob; ``ValueError`` if it is none."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != 1:
            raise ValueError("not an Exchange credential blob")
        return cls(str(data["endpoint"]), str(data["username"]), str(data["password"]),
                   str(data.get("auth") or "ntlm"), str(data.get("email") or ""),
                   str(data.get("build") or ""))


def version_of(build: str) -> Version | None:
    """exchangelib's ``Version`` of a build string (``15.1.2507.6``), ``None`` if unparseable."""
    try:
        parts = [int(p) for p in build.split(".")]
    except ValueError:
        return None
    if len(parts) < 2:
        return None
    return Version(build=Build(*parts[:4]))


class BusyBackOff(FaultTolerance):  # type: ignore[misc]
    """exchangelib's ``FaultTolerance`` (honour ``ErrorServerBusy``'s back-off, double the wait
    of every retry, give up once one wait exceeds ``max_wait``), except that HTTP 401 is a
    login failure: ``FaultTolerance`` retries 401 as throttling, which would turn a changed
    password into endless back-off instead of "needs reconnect"."""

    def raise_response_errors(self, response: Any) -> Any:
        """401 → ``UnauthorizedError`` at once; everything else as ``FaultTolerance``."""
        if response.status_code == 401:
            raise ews_errors.UnauthorizedError(f"Invalid credentials for {response.url}")
        return super().raise_response_errors(response)


def make_account(login: EwsLogin, *, max_connections: int, max_wait: int,
                 timeout: float | None = None) -> Account:
    """An exchangelib account for ``login`` (no request is made here)."""
    config = Configuration(
        service_endpoint=login.endpoint,
        credentials=Credentials(login.username, login.password),
        auth_type=AUTH_TYPES.get(login.auth, NTLM),
        version=version_of(login.build) if login.build else None,
        retry_policy=BusyBackOff(max_wait=max_wait),
        max_connections=max_connections)
    account = Account(login.email or login.username, config=config, autodiscover=False,
                      access_type=DELEGATE)
    if timeout is not None:
        account.protocol.TIMEOUT = timeout
    return account


_CONFLICT = (ews_errors.ErrorIrresolvableConflict, ews_errors.ErrorStaleObject,
             ews_errors.ErrorChangeKeyRequiredForWriteOperations)
_GONE = (ews_errors.ErrorItemNotFound, ews_errors.ErrorFolderNotFound,
         ews_errors.ErrorSyncFolderNotFound,
         ews_errors.ErrorCalendarOccurrenceIsDeletedFromRecurrence,
         ews_errors.ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange)
_BUSY = (ews_errors.ErrorServerBusy, ews_errors.ErrorTimeoutExpired,
         ews_errors.ErrorTooManyObjectsOpened, ews_errors.ErrorInternalServerTransientError,
         ews_errors.ErrorExceededConnectionCount, ews_errors.RateLimitError,
         ews_errors.ErrorMailboxStoreUnavailable, ews_errors.ErrorMailboxMoveInProgress)
_DENIED = (ews_errors.ErrorAccessDenied, ews_errors.ErrorNoPublicFolderReplicaAvailable,
           ews_errors.ErrorInvalidOperation)


def translate(exc: BaseException) -> RemoteError:
    """The :mod:`bridge.errors` kind of an exchangelib (or transport) failure."""
    name = type(exc).__name__
    text = f"EWS {name}: {exc}"[:500]
    if isinstance(exc, ews_errors.RedirectError):
        # The stored EWS URL (found by autodiscover or entered) has moved: retried, and named
        # so the status page can say what to do.
        return RemoteTransient(f"the Exchange server redirects its EWS URL to "
                               f"{str(exc.url)[:300]}; connect again so autodiscover finds "
                               "the new address", status=None, reason="moved")
    if isinstance(exc, ews_errors.ErrorInvalidSyncStateData):
        return CursorExpired(text, reason="sync_state")
    if isinstance(exc, _CONFLICT):
        return RemotePreconditionFailed(text, status=412, reason=name)
    if isinstance(exc, _GONE):
        return RemoteNotFound(text, status=404, reason=name)
    if isinstance(exc, ews_errors.UnauthorizedError | ews_errors.ErrorAccountDisabled):
        return RemoteAuthError(text, status=401, reason=name)
    if isinstance(exc, (*_DENIED, UnsafeTarget)):
        return RemoteForbidden(text, status=403, reason=name)
    if isinstance(exc, _BUSY):
        return RemoteTransient(text, status=503, reason=name)
    if isinstance(exc, ews_errors.TransportError | requests.RequestException | ssl.SSLError
                  | OSError):
        return RemoteTransient(text, status=None, reason=name)
    if isinstance(exc, ews_errors.ResponseMessageError):
        return RemoteError(text, status=None, reason=name)
    return RemoteError(text, reason=name)


# The item events that wake a pull (StatusEvent keepalives come without asking).
PUSH_EVENTS = ("CreatedEvent", "ModifiedEvent", "DeletedEvent", "MovedEvent", "CopiedEvent")


@dataclass(frozen=True)
class SyncPage:
    """One ``SyncFolderItems`` answer: changes as ``("create"|"update", item dict)`` or
    ``("delete", item id)``, the new SyncState, and whether it was the last page."""

    changes: list[tuple[str, Any]]
    state: str
    last: bool


class EwsClient:
    """One connection's EWS calendar folder (see the module doc)."""

    def __init__(self, account: Account, folder_id: str, *, limiter: asyncio.Semaphore,
                 stats: ClientStats | None = None) -> None:
        self.account = account
        self.folder_id = folder_id
        self.limiter = limiter
        self.stats = stats if stats is not None else ClientStats()
        self._folder = Calendar(root=Root(account=account), id=folder_id)

    # -- plumbing --------------------------------------------------------------------------------
    async def _run(self, what: str, fn: Callable[[], T]) -> T:
        """``fn`` in a worker thread under the mailbox's limiter; counted by outcome as the
        HTTP-based clients count (``200``, or the translated status: ``412`` a conflict…)."""
        async with self.limiter:
            try:
                result = await asyncio.to_thread(fn)
            except RemoteError as exc:
                self.stats.by_status[str(exc.status or exc.reason or "error")] += 1
                raise
            except Exception as exc:  # exchangelib raises many kinds; all are translated
                error = translate(exc)
                self.stats.by_status[str(error.status or error.reason or "error")] += 1
                _LOGGER.debug("EWS %s failed: %s", what, error.reason)
                raise error from exc
        self.stats.by_status["200"] += 1
        return result

    def _fields(self) -> set[Any]:
        version = self.account.version
        return {FieldPath(field=CalendarItem.get_field_by_fieldname(name))
                for name in READ_FIELDS
                if CalendarItem.get_field_by_fieldname(name).supports_version(version)}

    @staticmethod
    def _raise(found: Any) -> None:
        if isinstance(found, Exception):
            raise translate(found) from found

    # -- reading ---------------------------------------------------------------------------------
    async def sync_page(self, state: str | None, page_size: int) -> SyncPage:
        """One ``SyncFolderItems`` round from ``state`` (``None``: everything)."""

        def call() -> SyncPage:
            svc = SyncFolderItems(account=self.account)
            changes: list[tuple[str, Any]] = []
            for kind, value in svc.call(folder=self._folder, shape="IdOnly",
                                        additional_fields=self._fields(), sync_state=state,
                                        ignore=None, max_changes_returned=max(1, page_size),
                                        sync_scope=None):
                if isinstance(value, Exception):
                    raise value
                if kind == "delete":
                    changes.append(("delete", value.id))
                elif kind in ("create", "update") and isinstance(value, CalendarItem):
                    changes.append((kind, item_to_dict(value)))
            last = bool(svc.includes_last_item_in_range) or svc.sync_state == state
            return SyncPage(changes, str(svc.sync_state), last)

        return await self._run("SyncFolderItems", call)

    async def get_items(self, ids: Sequence[str]) -> list[dict[str, Any] | None]:
        """Items by id (``None`` for each one gone), in one ``GetItem`` per 100."""
        if not ids:
            return []

        def call() -> list[dict[str, Any] | None]:
            out: list[dict[str, Any] | None] = []
            found = GetItem(account=self.account).call(
                items=[ItemId(id=i) for i in ids], additional_fields=self._fields(),
                shape="IdOnly")
            for item in found:
                if isinstance(item, _GONE):
                    out.append(None)
                    continue
                self._raise(item)
                out.append(item_to_dict(item))
            return out

        return await self._run("GetItem", call)

    async def get_occurrence(self, master_id: str, index: int) -> dict[str, Any] | None:
        """The occurrence ``index`` (1-based) of a series (``None``: deleted or out of range)."""

        def call() -> dict[str, Any] | None:
            found = list(GetItem(account=self.account).call(
                items=[OccurrenceItemId(id=master_id, instance_index=index)],
                additional_fields=self._fields(), shape="IdOnly"))
            if not found or isinstance(found[0], _GONE):
                return None
            self._raise(found[0])
            return item_to_dict(found[0])

        return await self._run("GetItem", call)

    async def find_by_uid(self, uid: str) -> list[str]:
        """Ids of the items holding our UID property ``uid`` (``FindItem`` with a restriction
        on the extended property)."""

        def call() -> list[str]:
            query = self._folder.filter(bridge_uid=uid).only("id", "bridge_uid")
            return [str(i.id) for i in query if not isinstance(i, Exception)]

        return await self._run("FindItem", call)

    # -- writing ---------------------------------------------------------------------------------
    async def create(self, item: dict[str, Any]) -> tuple[str, str]:
        """``CreateItem`` (SaveOnly, SendToNone) into the folder; the new id and ChangeKey."""

        def call() -> tuple[str, str]:
            made = CreateItem(account=self.account).get(
                items=[new_item(item, account=self.account, folder=self._folder)],
                folder=self._folder, message_disposition=SAVE_ONLY,
                send_meeting_invitations=SEND_TO_NONE)
            self._raise(made)
            return str(made.id), str(made.changekey)

        return await self._run("CreateItem", call)

    async def update(self, item_id: str, changekey: str | None, item: dict[str, Any]
                     ) -> tuple[str, str]:
        """``UpdateItem`` of every mapped field under ``NeverOverwrite`` with ``changekey``
        (``None``: the current one is read first); the new id and ChangeKey."""

        def call() -> tuple[str, str]:
            key = changekey
            if key is None:
                current = list(GetItem(account=self.account).call(
                    items=[ItemId(id=item_id)], additional_fields=set(), shape="IdOnly"))
                self._raise(current[0])
                key = current[0].changekey
            target = CalendarItem(account=self.account, folder=self._folder, id=item_id,
                                  changekey=key, **item_fields(item))
            done = UpdateItem(account=self.account).get(
                items=[(target, write_fields(item))], conflict_resolution=NEVER_OVERWRITE,
                message_disposition=SAVE_ONLY,
                send_meeting_invitations_or_cancellations=SEND_TO_NONE,
                suppress_read_receipts=True)
            self._raise(done)
            return str(done[0]), str(done[1])

        return await self._run("UpdateItem", call)

    async def delete(self, item_id: str, *, occurrence: int | None = None) -> None:
        """``DeleteItem`` (HardDelete, SendToNone) of an item or of the occurrence
        ``occurrence`` of the series ``item_id``."""

        def call() -> None:
            target: Any = (OccurrenceItemId(id=item_id, instance_index=occurrence)
                           if occurrence is not None else ItemId(id=item_id))
            for result in DeleteItem(account=self.account).call(
                    items=[target], delete_type=HARD_DELETE,
                    send_meeting_cancellations=SEND_TO_NONE,
                    affected_task_occurrences="AllOccurrences", suppress_read_receipts=True):
                self._raise(result)

        await self._run("DeleteItem", call)

    # -- push subscriptions ----------------------------------------------------------------------
    async def subscribe_push(self, url: str, status_frequency: int) -> tuple[str, str]:
        """``Subscribe`` (push) on the calendar folder: the server POSTs ``SendNotification`` to
        ``url`` (a secret: never logged) on item changes and every ``status_frequency``
        minutes; returns (subscription id, watermark)."""

        def call() -> tuple[str, str]:
            sid, watermark = self._folder.subscribe_to_push(
                url, event_types=list(PUSH_EVENTS), status_frequency=status_frequency)
            return str(sid), str(watermark)

        return await self._run("Subscribe", call)

    async def unsubscribe(self, subscription_id: str) -> None:
        """``Unsubscribe`` (Exchange documents it for pull and streaming subscriptions; a push
        subscription ends for sure when our receiver answers ``Unsubscribe``)."""

        def call() -> None:
            self._folder.unsubscribe(subscription_id)

        await self._run("Unsubscribe", call)
