"""Google OAuth: access tokens for the client, and the connect flow for the admin page.

* :class:`RefreshTokenProvider` turns a refresh token into access tokens with google-auth
  (``Credentials.refresh`` against the configured ``token_uri``), caching the token until shortly
  before it expires.  ``invalid_grant`` raises :class:`~bridge.errors.RemoteAuthError` (the engine
  marks the connection ``needs_reconnect``); other refresh failures are transient.
* The connect flow: :class:`~bridge.providers.flows.PendingFlows` keeps ``state`` → (PKCE
  verifier, session, calendar) server-side in the database (any sidecar can finish it) for ten
  minutes and hands each one out once; :func:`authorization_url` builds the
  consent URL (``access_type=offline``, ``prompt=consent``, PKCE S256) and
  :func:`exchange_code` trades the code for tokens.  :func:`revoke` revokes a token on disconnect.

Tokens and codes are never logged.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials

from bridge.config import Settings
from bridge.errors import FlowError, RemoteAuthError, RemoteTransient
from bridge.providers.flows import PendingFlow

__all__ = [
    "DEFAULT_SCOPES",
    "OAuthEndpoints",
    "RefreshTokenProvider",
    "StaticTokenProvider",
    "TokenProvider",
    "TokenSet",
    "authorization_url",
    "exchange_code",
    "revoke",
]

_LOGGER = logging.getLogger(__name__)

SCOPE_BASE = "https://www.googleapis.com/auth/"
DEFAULT_SCOPES = (SCOPE_BASE + "calendar.events", SCOPE_BASE + "calendar.calendarlist.readonly")
_EVENT_SCOPES = frozenset({SCOPE_BASE + "calendar", SCOPE_BASE + "calendar.events"})


class TokenProvider(Protocol):
    """Gives the client access tokens (injected; tests use :class:`StaticTokenProvider`)."""

    async def access_token(self) -> str:
        """A valid access token."""

    def invalidate(self) -> None:
        """Forget the cached access token (it was refused with 401)."""


class StaticTokenProvider:
    """A fixed access token (tests, one-off scripts)."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def access_token(self) -> str:
        """The fixed token."""
        return self.token

    def invalidate(self) -> None:
        """Nothing to forget."""


@dataclass(frozen=True)
class OAuthEndpoints:
    """Client id/secret and the OAuth endpoints of ``[google]``."""

    client_id: str
    client_secret: str
    auth_uri: str
    token_uri: str
    revoke_uri: str

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuthEndpoints:
        """Read ``[google]``."""
        g = settings.google
        return cls(g.client_id, g.client_secret, g.auth_uri, g.token_uri, g.revoke_uri)


class RefreshTokenProvider:
    """Access tokens from a refresh token via google-auth, refreshed early and once at a time."""

    def __init__(
        self,
        endpoints: OAuthEndpoints,
        refresh_token: str,
        *,
        scopes: tuple[str, ...] = (),
        margin: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 30.0,
    ) -> None:
        self.endpoints = endpoints
        self._creds = Credentials(  # type: ignore[no-untyped-call]
            token=None, refresh_token=refresh_token, token_uri=endpoints.token_uri,
            client_id=endpoints.client_id, client_secret=endpoints.client_secret,
            scopes=list(scopes) or None,
        )
        self._token: str | None = None
        self._valid_until = 0.0
        self._margin = margin
        self._clock = clock
        self._timeout = timeout
        self._lock = asyncio.Lock()
        self.refreshes = 0

    def _refresh_sync(self) -> tuple[str, float]:
        from google_auth_httplib2 import Request

        started = self._clock()
        try:
            self._creds.refresh(  # type: ignore[no-untyped-call]
                Request(httplib2.Http(timeout=self._timeout)))
        except RefreshError as exc:
            text = str(exc.args[0]) if exc.args else ""
            if "invalid_grant" in text or not getattr(exc, "retryable", False):
                raise RemoteAuthError("the Google grant was revoked or expired",
                                      reason="invalid_grant" if "invalid_grant" in text
                                      else "refresh_failed") from None
            raise RemoteTransient("token refresh failed temporarily", reason="refresh") from None
        except (TransportError, OSError, httplib2.HttpLib2Error) as exc:
            raise RemoteTransient(f"token endpoint unreachable: {type(exc).__name__}",
                                  reason="network") from None
        token = str(self._creds.token)
        expiry = self._creds.expiry
        lifetime = 3600.0
        if expiry is not None:
            lifetime = max(0.0, (expiry - _utcnow_naive()).total_seconds())
        return token, started + lifetime

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


def _utcnow_naive() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(tzinfo=None)


def authorization_url(
    endpoints: OAuthEndpoints,
    flow: PendingFlow,
    *,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    login_hint: str | None = None,
) -> str:
    """The consent URL: offline access, forced consent (fresh refresh token), PKCE S256."""
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(flow.code_verifier.encode("ascii")).digest()
    ).decode("ascii").rstrip("=")
    params = {
        "client_id": endpoints.client_id, "redirect_uri": flow.redirect_uri,
        "response_type": "code", "scope": " ".join(scopes), "state": flow.state,
        "access_type": "offline", "prompt": "consent", "include_granted_scopes": "true",
        "code_challenge": challenge, "code_challenge_method": "S256",
    }
    if login_hint:
        params["login_hint"] = login_hint
    sep = "&" if "?" in endpoints.auth_uri else "?"
    return endpoints.auth_uri + sep + urllib.parse.urlencode(params)


@dataclass(frozen=True)
class TokenSet:
    """The answer of a code exchange (secret: never log it)."""

    access_token: str
    refresh_token: str
    scopes: tuple[str, ...]
    expires_in: int

    def __repr__(self) -> str:
        return f"TokenSet(scopes={self.scopes!r}, expires_in={self.expires_in})"


def exchange_code(endpoints: OAuthEndpoints, flow: PendingFlow, code: str,
                  timeout: float = 30.0) -> TokenSet:
    """Trade an authorisation code for tokens (blocking; run it in a thread)."""
    body = urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": code, "redirect_uri": flow.redirect_uri,
        "client_id": endpoints.client_id, "client_secret": endpoints.client_secret,
        "code_verifier": flow.code_verifier,
    })
    try:
        resp, content = httplib2.Http(timeout=timeout).request(
            endpoints.token_uri, "POST", body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    except (OSError, httplib2.HttpLib2Error) as exc:
        raise RemoteTransient(f"token endpoint unreachable: {type(exc).__name__}",
                              reason="network") from None
    try:
        data = json.loads(content.decode("utf-8", "replace"))
    except ValueError:
        data = {}
    if resp.status != 200:
        error = str(data.get("error") or resp.status)
        if resp.status >= 500:
            raise RemoteTransient(f"token endpoint failed: {error}", status=resp.status)
        raise FlowError(error, f"Google refused the sign-in: {error}")
    scopes = tuple(str(data.get("scope") or "").split())
    if not _EVENT_SCOPES & set(scopes):
        raise FlowError("scope", "calendar access was not granted; tick the calendar box on "
                        "Google's consent page")
    refresh = data.get("refresh_token")
    if not refresh:
        raise FlowError("no_refresh_token", "Google sent no refresh token; remove the app's "
                        "access in the Google account and connect again")
    return TokenSet(str(data["access_token"]), str(refresh), scopes,
                    int(data.get("expires_in") or 3600))


def revoke(endpoints: OAuthEndpoints, token: str, timeout: float = 30.0) -> bool:
    """Revoke a refresh or access token (blocking); True when Google confirmed."""
    try:
        resp, _ = httplib2.Http(timeout=timeout).request(
            endpoints.revoke_uri, "POST", body=urllib.parse.urlencode({"token": token}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    except (OSError, httplib2.HttpLib2Error) as exc:
        _LOGGER.warning("token revocation failed: %s", type(exc).__name__)
        return False
    return bool(resp.status == 200)
