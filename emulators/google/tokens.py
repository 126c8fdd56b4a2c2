"""OAuth token and revoke endpoints, and the token minting shared with the test hooks.

``POST /token`` handles ``authorization_code`` (with PKCE S256/plain checks and redirect URI
match) and ``refresh_token`` (with scope subset) grants; ``POST /revoke`` revokes an access or
refresh token and the grant behind it.  Lifetimes use the emulator clock.  Errors are Google's
flat ``{"error", "error_description"}`` bodies.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import logging
import secrets
from typing import Any

from aiohttp import web

from emulators.google.api import apply_fault
from emulators.google.errors import ApiError, OAuthError
from emulators.google.state import AccessToken, EmulatorState, OAuthClient, RefreshToken

__all__ = ["STATE_KEY", "issue_tokens", "revoke_handler", "token_handler"]

_LOGGER = logging.getLogger(__name__)
STATE_KEY: web.AppKey[EmulatorState] = web.AppKey("emulator_state", EmulatorState)
_EXPIRED = "Token has been expired or revoked."


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status,
                             headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def issue_tokens(
    state: EmulatorState, account: str, client_id: str, scopes: list[str], *,
    with_refresh: bool, refresh_token: str | None = None,
) -> dict[str, Any]:
    """Mint an access token (and optionally a refresh token); return the token response."""
    now = state.clock.now()
    body: dict[str, Any] = {}
    if with_refresh:
        refresh_token = "1//0" + secrets.token_urlsafe(48)
        state.refresh_tokens[refresh_token] = RefreshToken(
            refresh_token, account, client_id, list(scopes), now, now)
        live = sorted(
            (t for t in state.refresh_tokens.values()
             if t.account == account and t.client_id == client_id and not t.revoked),
            key=lambda t: t.issued_at,
        )
        for old in live[: max(0, len(live) - state.config.max_refresh_tokens)]:
            old.revoked = True
    access = "ya29.a0" + secrets.token_urlsafe(64)
    ttl = state.config.access_token_ttl
    state.access_tokens[access] = AccessToken(
        access, account, client_id, list(scopes), now + dt.timedelta(seconds=ttl), refresh_token)
    body["access_token"] = access
    body["expires_in"] = ttl
    if with_refresh:
        body["refresh_token"] = refresh_token
        if state.config.refresh_token_ttl is not None:
            body["refresh_token_expires_in"] = state.config.refresh_token_ttl
    body["scope"] = " ".join(scopes)
    body["token_type"] = "Bearer"  # noqa: S105 - not a secret
    return body


def _client(state: EmulatorState, request: web.Request, form: dict[str, str]) -> OAuthClient:
    client_id, secret = form.get("client_id"), form.get("client_secret")
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError(401, "invalid_client", "Unauthorized") from exc
        client_id, _, secret = decoded.partition(":")
    client = state.clients.get(client_id or "")
    if client is None:
        raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
    if not hmac.compare_digest(client.client_secret, secret or ""):
        raise OAuthError(401, "invalid_client", "Unauthorized")
    return client


def _check_pkce(challenge: str | None, method: str | None, verifier: str | None) -> None:
    if challenge is None:
        if verifier:
            raise OAuthError(400, "invalid_grant", "code_verifier or verifier is not needed.")
        return
    if not verifier:
        raise OAuthError(400, "invalid_grant", "Missing code verifier.")
    if (method or "plain") == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    else:
        computed = verifier
    if not hmac.compare_digest(computed, challenge):
        raise OAuthError(400, "invalid_grant", "Invalid code verifier.")


def _code_grant(state: EmulatorState, client: OAuthClient, form: dict[str, str]) -> dict[str, Any]:
    code = state.codes.get(form.get("code") or "")
    if code is None:
        raise OAuthError(400, "invalid_grant", "Malformed auth code.")
    if code.used or code.expires_at <= state.clock.now() or code.client_id != client.client_id:
        raise OAuthError(400, "invalid_grant", "Bad Request")
    if form.get("redirect_uri") != code.redirect_uri:
        raise OAuthError(400, "redirect_uri_mismatch", "Bad Request")
    _check_pkce(code.code_challenge, code.code_challenge_method, form.get("code_verifier"))
    code.used = True
    if state.policy_blocks(code.account, client.client_id):
        raise OAuthError(400, "admin_policy_enforced", "Bad Request")
    return issue_tokens(state, code.account, client.client_id, code.scopes,
                        with_refresh=code.issue_refresh_token)


def _refresh_grant(
    state: EmulatorState, client: OAuthClient, form: dict[str, str]
) -> dict[str, Any]:
    rt = state.refresh_tokens.get(form.get("refresh_token") or "")
    now = state.clock.now()
    if rt is None or rt.revoked:
        raise OAuthError(400, "invalid_grant", _EXPIRED)
    ttl, idle = state.config.refresh_token_ttl, state.config.refresh_token_idle_ttl
    if (ttl is not None and (now - rt.issued_at).total_seconds() >= ttl) or (
        (now - rt.last_used).total_seconds() >= idle
    ):
        rt.revoked = True
        raise OAuthError(400, "invalid_grant", _EXPIRED)
    if rt.client_id != client.client_id:
        raise OAuthError(400, "unauthorized_client", "Unauthorized")
    if state.policy_blocks(rt.account, client.client_id):
        state.revoke_refresh_token(rt.token)
        raise OAuthError(400, "invalid_grant", _EXPIRED)
    scopes = list(rt.scopes)
    if form.get("scope"):
        asked = form["scope"].split()
        if not set(asked) <= set(rt.scopes):
            raise OAuthError(400, "invalid_scope", "Bad Request")
        scopes = asked
    rt.last_used = now
    return issue_tokens(state, rt.account, client.client_id, scopes, with_refresh=False,
                        refresh_token=rt.token)


async def token_handler(request: web.Request) -> web.Response:
    """``POST /token``."""
    state = request.app[STATE_KEY]
    form = {k: str(v) for k, v in (await request.post()).items()}
    grant = form.get("grant_type", "")
    state.counters.token_requests[grant or "unknown"] += 1
    try:
        await apply_fault(state, "oauth2.token")
        client = _client(state, request, form)
        if grant == "authorization_code":
            body = _code_grant(state, client, form)
        elif grant == "refresh_token":
            body = _refresh_grant(state, client, form)
        else:
            raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
    except OAuthError as exc:
        _LOGGER.debug("Token request (%s) refused: %s", grant, exc.error)
        return _json(exc.body(), exc.status)
    except ApiError as exc:
        return _json({"error": exc.reason, "error_description": exc.message}, exc.code)
    return _json(body)


async def revoke_handler(request: web.Request) -> web.Response:
    """``POST /revoke``: revoke an access or refresh token and its grant."""
    state = request.app[STATE_KEY]
    state.counters.token_requests["revoke"] += 1
    form = await request.post()
    token = str(form.get("token") or request.query.get("token") or "")
    access = state.access_tokens.get(token)
    refresh = state.refresh_tokens.get(token)
    if access is not None and not access.revoked and access.expires_at > state.clock.now():
        access.revoked = True
        if access.refresh_token:
            state.revoke_refresh_token(access.refresh_token)
        return _json({})
    if refresh is not None and not refresh.revoked:
        state.revoke_refresh_token(token)
        return _json({})
    return _json({"error": "invalid_token", "error_description": "Token expired or revoked"}, 400)
