"""The one exception tree of termin-bridge.

Each boundary translates these into its own protocol: HTTP handlers into 4xx answers, the Radicale
plugin into Radicale's ``ValueError``/precondition exceptions, the CLI into one line and a non-zero
exit.  Exceptions carry fields, not only strings.  This module imports nothing from ``bridge``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AlreadyExists",
    "BridgeError",
    "ConfigError",
    "ConfigProblem",
    "CursorExpired",
    "DuplicateUid",
    "EmulatorMissing",
    "EtagMismatch",
    "FlowError",
    "InvalidICalendar",
    "MappingError",
    "NotFound",
    "RemoteAuthError",
    "RemoteError",
    "RemoteForbidden",
    "RemoteNotFound",
    "RemotePreconditionFailed",
    "RemoteTransient",
    "StoreError",
    "SyncTokenInvalid",
]


class BridgeError(Exception):
    """Base of every error termin-bridge raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One configuration problem: which key, where it came from, what is wrong."""

    key: str
    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.key} ({self.source}): {self.message}"


class ConfigError(BridgeError):
    """The configuration has one or more problems; all of them are listed."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} configuration problem(s):\n{lines}")


class InvalidICalendar(BridgeError):
    """An iCalendar resource was rejected by validation.

    ``status`` is the HTTP status a boundary should answer (400, 413 or 415), ``line`` the
    1-based line of the offending content when known.
    """

    def __init__(
        self, message: str, *, status: int = 400, uid: str | None = None, line: int | None = None
    ) -> None:
        self.message = message
        self.status = status
        self.uid = uid
        self.line = line
        super().__init__(message)


class StoreError(BridgeError):
    """A store operation could not be done as asked."""


class NotFound(StoreError):
    """The addressed row does not exist."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"not found: {what}")


class AlreadyExists(StoreError):
    """A row with that name or path already exists."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"already exists: {what}")


class EtagMismatch(StoreError):
    """A write's precondition (expected etag, or must-not-exist) did not hold."""

    def __init__(self, expected: str | None, got: str | None) -> None:
        self.expected = expected
        self.got = got
        super().__init__(f"precondition failed: expected etag {expected!r}, current {got!r}")


class DuplicateUid(StoreError):
    """Another resource of the same calendar already uses that UID."""

    def __init__(self, uid: str, existing_href: str) -> None:
        self.uid = uid
        self.existing_href = existing_href
        super().__init__(f"UID {uid!r} is already used by {existing_href!r}")


class SyncTokenInvalid(StoreError):
    """A change-log revision is unknown or older than the kept history."""

    def __init__(self, token: str) -> None:
        self.token = token
        super().__init__(f"sync token not valid: {token!r}")


class FlowError(BridgeError):
    """A connect flow's callback cannot be accepted (state unknown/used/expired, access denied,
    no refresh token, no writable calendar); ``reason`` is a short code for the admin page."""

    def __init__(self, reason: str, message: str, *, account_email: str = "") -> None:
        self.reason = reason
        self.account_email = account_email
        super().__init__(message)


class MappingError(BridgeError):
    """An iCalendar resource and a provider's events cannot be mapped to each other."""


class RemoteError(BridgeError):
    """A calendar provider answered with an error (each provider's client translates its
    HTTP or protocol failures to these kinds in one place, e.g. ``bridge.google.client``)."""

    def __init__(
        self, message: str, *, status: int | None = None, reason: str | None = None
    ) -> None:
        self.message = message
        self.status = status
        self.reason = reason
        super().__init__(message)


class RemoteAuthError(RemoteError):
    """The grant is gone (``invalid_grant``, revoked): the connection needs a reconnect."""


class RemoteForbidden(RemoteError):
    """A permanent refusal (403: scope, access level, organizer rules)."""


class RemoteNotFound(RemoteError):
    """The addressed remote resource does not exist (404, or 410 gone)."""


class RemotePreconditionFailed(RemoteError):
    """An etag precondition failed (412): the remote resource changed since we read it."""


class RemoteTransient(RemoteError):
    """A retryable failure (5xx, 429, rate limits, network) after the client's retries."""


class CursorExpired(RemoteError):
    """The stored change cursor is no longer valid (Google's 410 ``fullSyncRequired``, Graph's
    410 ``SyncStateNotFound``, CalDAV's invalid ``sync-token``): drop it and list in full."""


class EmulatorMissing(BridgeError):
    """The ``emulators`` extra is not installed (``google-emulator``, ``microsoft-emulator``,
    ``ews-emulator``, ``serve --demo``)."""

    def __init__(self, exc: ModuleNotFoundError, provider: str = "Google") -> None:
        super().__init__(f"the {provider} emulator is not installed (no module named "
                         f"{exc.name!r}); "
                         "install the 'emulators' extra: pip install -e '.[emulators]'")
