"""Microsoft identity platform: the connect flow and access tokens, through msal.

* :func:`msal_app` builds msal's ``ConfidentialClientApplication`` for ``[microsoft]``: the
  authority (``https://login.microsoftonline.com/common`` or a tenant; the offline emulator's
  https authority in tests and demos, with its CA file), the client id and secret.
* The connect flow is msal's auth-code flow with PKCE (:func:`start_flow` →
  :func:`finish_flow`); the flow dict msal returns holds the PKCE verifier and the nonce, so the
  caller keeps it sealed server-side until the callback.
* :class:`MsalTokenProvider` turns the stored refresh token into access tokens.  Microsoft rotates
  refresh tokens on every use (the old one is not revoked); each new one is handed to
  ``on_rotate`` so the caller seals and stores it before the access token is used.
* Errors: ``invalid_grant`` (revoked, expired, consent withdrawn) → :class:`RemoteAuthError`;
  a tenant that requires admin approval → :class:`~bridge.errors.BridgeError` subclass
  :class:`ConsentError` with ``reason="admin_approval"``; other token-endpoint failures are
  transient.  Tokens, codes and msal's own messages (which quote the ``state``) are never logged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msal
import requests

from bridge.errors import BridgeError, RemoteAuthError, RemoteTransient

__all__ = [
    "SCOPES",
    "ConsentError",
    "MicrosoftEndpoints",
    "MsalTokenProvider",
    "TokenSet",
    "finish_flow",
    "msal_app",
    "start_flow",
]

_LOGGER = logging.getLogger(__name__)

# What the connection needs; msal adds openid, profile and offline_access itself (and refuses
# them when passed).
SCOPES = ("Calendars.ReadWrite", "User.Read")
_TIMEOUT = 30
_MICROSOFT_HOSTS = ("login.microsoftonline.com", "login.microsoft.com", "login.live.com")
_AADSTS = re.compile(r"AADSTS(\d+)")
# AADSTS codes that mean "a tenant administrator must approve this app" (Need admin approval).
_ADMIN_CODES = frozenset({90093, 90094, 90095})
# AADSTS codes that mean the user declined on the consent page.
_DECLINED_CODES = frozenset({65004})


class ConsentError(BridgeError):
    """The sign-in cannot finish: the user declined, the tenant needs admin approval, or the
    answer does not belong to the started flow.  ``reason``: ``declined``, ``admin_approval``,
    ``consent_required``, ``state``, ``no_refresh_token``, ``scope`` or the OAuth error code."""

    def __init__(self, reason: str, message: str, *, code: int | None = None) -> None:
        self.reason = reason
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class MicrosoftEndpoints:
    """Client id/secret, the authority and the Graph root of ``[microsoft]``."""

    client_id: str
    client_secret: str
    authority: str
    graph_endpoint: str
    ca_file: str | None = None


@dataclass(frozen=True)
class TokenSet:
    """The answer of a code exchange (secret: never log it)."""

    access_token: str
    refresh_token: str
    scopes: tuple[str, ...]
    expires_in: int
    account: str
    home_account_id: str

    def __repr__(self) -> str:
        return f"TokenSet(account={self.account!r}, scopes={self.scopes!r})"


def msal_app(endpoints: MicrosoftEndpoints) -> msal.ConfidentialClientApplication:
    """msal's confidential client for ``endpoints`` (blocking construction: no network yet).

    Instance discovery (a call to login.microsoftonline.com) is skipped for any other
    authority host, so the offline emulator works without the internet.
    """
    host = (urlsplit(endpoints.authority).hostname or "").lower()
    options: dict[str, Any] = {"verify": True, "timeout": _TIMEOUT}
    if endpoints.ca_file:
        options = {"http_client": _pinned_session(endpoints.ca_file)}
    return msal.ConfidentialClientApplication(
        endpoints.client_id,
        client_credential=endpoints.client_secret,
        authority=endpoints.authority,
        instance_discovery=host in _MICROSOFT_HOSTS,
        **options,
    )


def _pinned_session(ca_file: str) -> requests.Session:
    """A requests session that trusts exactly ``ca_file``.

    msal's own ``verify=`` loses to ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` in the environment
    (requests merges the environment over a session's ``verify``), so a configured CA file would
    be ignored wherever those are set; this session does not read the environment.
    """
    session = requests.Session()
    session.verify = ca_file
    session.trust_env = False
    session.request = functools.partial(session.request, timeout=_TIMEOUT)  # type: ignore[method-assign]
    return session


def _aadsts(result: Mapping[str, Any]) -> int | None:
    codes = result.get("error_codes")
    if isinstance(codes, list) and codes and isinstance(codes[0], int):
        return codes[0]
    match = _AADSTS.search(str(result.get("error_description") or ""))
    return int(match.group(1)) if match else None


def _refused(result: Mapping[str, Any]) -> ConsentError:
    """A ``ConsentError`` naming what the identity platform refused (no token, no state)."""
    error = str(result.get("error") or "error")
    code = _aadsts(result)
    if code in _DECLINED_CODES or error == "access_denied":
        return ConsentError("declined", "the sign-in was cancelled on Microsoft's page",
                            code=code)
    if code in _ADMIN_CODES:
        return ConsentError("admin_approval", "the organisation's administrator must approve "
                            "this app before it can read the calendar", code=code)
    if error == "consent_required" or code == 65001:
        return ConsentError("consent_required", "calendar access was not granted", code=code)
    suffix = f" (AADSTS{code})" if code else ""
    return ConsentError(error, f"Microsoft refused the sign-in: {error}{suffix}", code=code)


def start_flow(app: msal.ConfidentialClientApplication, redirect_uri: str, *,
               login_hint: str | None = None) -> dict[str, Any]:
    """msal's auth-code flow (PKCE S256, state, nonce): keep it sealed until the callback.

    ``prompt=select_account`` lets the admin pick which Microsoft account to connect.
    """
    return dict(app.initiate_auth_code_flow(
        list(SCOPES), redirect_uri=redirect_uri, login_hint=login_hint,
        prompt="select_account"))


def _scopes(result: Mapping[str, Any]) -> tuple[str, ...]:
    raw = result.get("scope") or ""
    names = raw.split() if isinstance(raw, str) else [str(s) for s in raw]
    # Graph scopes may come back fully qualified (https://graph.microsoft.com/Calendars.ReadWrite).
    return tuple(n.rsplit("/", 1)[-1] for n in names)


def finish_flow(app: msal.ConfidentialClientApplication, flow: dict[str, Any],
                query: Mapping[str, str]) -> TokenSet:
    """Redeem the callback's code (blocking; run it in a thread)."""
    if query.get("error"):
        raise _refused(query)
    try:
        result = app.acquire_token_by_auth_code_flow(flow, dict(query), scopes=list(SCOPES))
    except ValueError:  # state mismatch or a replayed answer: msal's message quotes the state
        raise ConsentError("state", "the sign-in answer does not belong to this sign-in; "
                           "start again") from None
    if "error" in result:
        if str(result.get("error")) in ("temporarily_unavailable", "server_error"):
            raise RemoteTransient("the Microsoft token endpoint failed",
                                  reason=str(result["error"]))
        raise _refused(result)
    if "Calendars.ReadWrite" not in _scopes(result):
        raise ConsentError("scope", "calendar access was not granted")
    refresh = result.get("refresh_token")
    if not refresh:
        raise ConsentError("no_refresh_token", "Microsoft sent no refresh token; connect again")
    claims = result.get("id_token_claims") or {}
    account = str(claims.get("preferred_username") or claims.get("email") or "")
    info = (result.get("client_info") or {}) if isinstance(result.get("client_info"), dict) \
        else {}
    home = f"{info.get('uid', '')}.{info.get('utid', '')}".strip(".") \
        or str(claims.get("oid") or "")
    return TokenSet(str(result["access_token"]), str(refresh), _scopes(result),
                    int(result.get("expires_in") or 3600), account, home)


class MsalTokenProvider:
    """Access tokens from a (rotating) refresh token, refreshed early and once at a time."""

    def __init__(
        self,
        app: msal.ConfidentialClientApplication,
        refresh_token: str,
        *,
        on_rotate: Callable[[str], None],
        margin: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._refresh_token = refresh_token
        self._on_rotate = on_rotate
        self._token: str | None = None
        self._valid_until = 0.0
        self._margin = margin
        self._clock = clock
        self._lock = asyncio.Lock()
        self.refreshes = 0

    def _refresh_sync(self) -> tuple[str, float]:
        started = self._clock()
        try:
            result = self._app.acquire_token_by_refresh_token(self._refresh_token, list(SCOPES))
        except (OSError, ValueError) as exc:
            raise RemoteTransient(f"token endpoint unreachable: {type(exc).__name__}",
                                  reason="network") from None
        if "error" in result:
            error = str(result.get("error"))
            if error in ("invalid_grant", "interaction_required", "consent_required",
                         "invalid_client", "unauthorized_client"):
                raise RemoteAuthError("the Microsoft grant was revoked or expired",
                                      reason=error)
            raise RemoteTransient("token refresh failed temporarily", reason=error)
        rotated = result.get("refresh_token")
        if rotated and rotated != self._refresh_token:
            # Store the newest before using the access token: a crash now must not leave the
            # database with an older token than Microsoft expects next.
            self._on_rotate(str(rotated))
            self._refresh_token = str(rotated)
        lifetime = float(result.get("expires_in") or 3600)
        return str(result["access_token"]), started + lifetime

    async def access_token(self) -> str:
        """A cached access token, refreshed ``margin`` seconds before it expires."""
        async with self._lock:
            if self._token is None or self._clock() >= self._valid_until - self._margin:
                self._token, self._valid_until = await asyncio.to_thread(self._refresh_sync)
                self.refreshes += 1
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Drop the cached token so the next call refreshes."""
        self._token = None
