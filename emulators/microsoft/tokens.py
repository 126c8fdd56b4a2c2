"""``POST /{tenant}/oauth2/v2.0/token`` and the token minting shared with the test hooks.

Grants: ``authorization_code`` (single use → AADSTS54005 on reuse, PKCE S256/plain checked,
redirect URI must match, nonce carried into the ``id_token``), ``refresh_token`` (rotation: a new
refresh token every time, the old one stays valid until it expires unless revoked; revoked
sessions → AADSTS50173, revoked token → AADSTS70008, expired → AADSTS700082, consent gone →
AADSTS65001) and ``client_credentials``.  Errors use the full AADSTS body.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from typing import Any

from aiohttp import web

from emulators.microsoft.errors import AadError
from emulators.microsoft.graph import take_fault
from emulators.microsoft.idtoken import client_info, sign_jwt
from emulators.microsoft.scopes import check_tenant, graph_scopes, normalise_scopes
from emulators.microsoft.state import AccessToken, AppClient, MsState, RefreshToken

__all__ = ["STATE_KEY", "issue_tokens", "token_handler"]

_LOGGER = logging.getLogger(__name__)
STATE_KEY: web.AppKey[MsState] = web.AppKey("ms_emulator_state", MsState)
_GRAPH_APP = "00000003-0000-0000-c000-000000000000"
_MALFORMED = (9002313, "Invalid request. Request is malformed or invalid.")


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status,
                             headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%m/%d/%Y %H:%M:%S")


def issue_tokens(state: MsState, account: str, client_id: str, scopes: list[str], *,
                 nonce: str | None = None, with_client_info: bool = True) -> dict[str, Any]:
    """Mint an access token (+ refresh token with ``offline_access``, + ``id_token`` with
    ``openid``) and return the token response."""
    now = state.clock.now()
    acc = state.accounts[account]
    granted = graph_scopes(scopes)
    ttl = state.config.access_token_ttl
    wall = int(time.time())
    access = sign_jwt({
        "aud": _GRAPH_APP, "iss": f"https://sts.windows.net/{acc.tenant_id}/", "iat": wall,
        "nbf": wall, "exp": wall + ttl, "appid": client_id, "oid": acc.oid,
        "scp": " ".join(granted), "tid": acc.tenant_id, "upn": acc.upn,
        "uti": secrets.token_urlsafe(16), "ver": "1.0",
    })
    state.access_tokens[access] = AccessToken(access, account, client_id, granted,
                                              now + dt.timedelta(seconds=ttl))
    body: dict[str, Any] = {"token_type": "Bearer", "scope": " ".join(granted),
                            "expires_in": ttl, "ext_expires_in": ttl, "access_token": access}
    if "offline_access" in scopes:
        refresh = "0.A" + base64.urlsafe_b64encode(secrets.token_bytes(96)).decode().rstrip("=")
        state.refresh_tokens[refresh] = RefreshToken(
            refresh, account, client_id, list(scopes), now,
            now + dt.timedelta(seconds=state.config.refresh_token_ttl))
        body["refresh_token"] = refresh
    if "openid" in scopes:
        pairwise = hashlib.sha256(f"{client_id}:{acc.oid}".encode()).digest()
        claims: dict[str, Any] = {
            "aud": client_id, "iss": f"https://login.microsoftonline.com/{acc.tenant_id}/v2.0",
            "iat": wall, "nbf": wall, "exp": wall + 3600, "name": acc.name, "oid": acc.oid,
            "preferred_username": acc.upn,
            "sub": base64.urlsafe_b64encode(pairwise).decode().rstrip("="),
            "tid": acc.tenant_id, "uti": secrets.token_urlsafe(16), "ver": "2.0",
        }
        if "email" in scopes:
            claims["email"] = acc.upn
        if nonce:
            claims["nonce"] = nonce
        body["id_token"] = sign_jwt(claims)
    if with_client_info:
        body["client_info"] = client_info(acc.oid, acc.tenant_id)
    return body


def _client(state: MsState, tenant: str, form: dict[str, str]) -> AppClient:
    client_id = form.get("client_id", "")
    client = state.clients.get(client_id)
    if client is None:
        raise AadError(400, "unauthorized_client", 700016,
                       f"Application with identifier '{client_id}' was not found in the "
                       f"directory '{tenant}'. This can happen if the application has not been "
                       "installed by the administrator of the tenant or consented to by any "
                       "user in the tenant. You may have sent your authentication request to "
                       "the wrong tenant.")
    secret = form.get("client_secret")
    if secret is None:
        raise AadError(401, "invalid_client", 7000218, "The request body must contain the "
                       "following parameter: 'client_assertion' or 'client_secret'.")
    if not hmac.compare_digest(client.client_secret, secret):
        raise AadError(401, "invalid_client", 7000215, "Invalid client secret provided. "
                       "Ensure the secret being sent in the request is the client secret value, "
                       f"not the client secret ID, for a secret added to app '{client_id}'.")
    return client


def _check_pkce(challenge: str | None, method: str | None, verifier: str | None) -> None:
    if challenge is None:
        return
    if (method or "plain") == "S256":
        digest = hashlib.sha256((verifier or "").encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    else:
        computed = verifier or ""
    if not verifier or not hmac.compare_digest(computed, challenge):
        raise AadError(400, "invalid_grant", 501481, "The Code_Verifier does not match the "
                       "code_challenge supplied in the authorization request.")


def _code_grant(state: MsState, client: AppClient, form: dict[str, str]) -> dict[str, Any]:
    code = state.codes.get(form.get("code") or "")
    if code is None or code.client_id != client.client_id:
        raise AadError(400, "invalid_grant", *_MALFORMED)
    if code.used:
        raise AadError(400, "invalid_grant", 54005, "OAuth2 Authorization code was already "
                       "redeemed, please retry with a new valid code or use an existing refresh "
                       "token.")
    if code.expires_at <= state.clock.now():
        raise AadError(400, "invalid_grant", 70008, "The provided authorization code or refresh "
                       "token has expired due to inactivity. Send a new interactive "
                       "authorization request for this user and resource.")
    if form.get("redirect_uri") != code.redirect_uri:
        raise AadError(400, "invalid_grant", 50011, "The redirect URI "
                       f"'{form.get('redirect_uri')}' specified in the request does not match "
                       "the redirect URI used in the authorization request.")
    _check_pkce(code.code_challenge, code.code_challenge_method, form.get("code_verifier"))
    code.used = True
    return issue_tokens(state, code.account, client.client_id, code.scopes, nonce=code.nonce,
                        with_client_info=form.get("client_info") == "1")


def _refresh_grant(state: MsState, client: AppClient, form: dict[str, str]) -> dict[str, Any]:
    rt = state.refresh_tokens.get(form.get("refresh_token") or "")
    now = state.clock.now()
    if rt is None or rt.client_id != client.client_id:
        raise AadError(400, "invalid_grant", *_MALFORMED)
    valid_from = state.tokens_valid_from.get(rt.account)
    if valid_from is not None and rt.issued_at <= valid_from:
        raise AadError(400, "invalid_grant", 50173, "The provided grant has expired due to it "
                       "being revoked, a fresh auth token is needed. The user might have changed "
                       f"or reset their password. The grant was issued on '{_iso(rt.issued_at)}'"
                       " and the TokensValidFrom date (before which tokens are not valid) for "
                       f"this user is '{_iso(valid_from)}'.", "bad_token")
    if rt.revoked:
        raise AadError(400, "invalid_grant", 70008, "The provided authorization code or refresh "
                       "token has expired due to inactivity. Send a new interactive "
                       "authorization request for this user and resource.", "bad_token")
    if now >= rt.expires_at:
        raise AadError(400, "invalid_grant", 700082, "The refresh token has expired due to "
                       f"inactivity. The token was issued on {rt.issued_at.isoformat()} and was "
                       f"inactive for {state.config.refresh_token_ttl // 86400}.00:00:00.",
                       "bad_token")
    granted = state.grants.get((rt.account, client.client_id))
    asked = normalise_scopes(form.get("scope", "")) or list(rt.scopes)
    if granted is None or not set(graph_scopes(asked)) <= set(granted):
        raise AadError(400, "invalid_grant", 65001, "The user or administrator has not consented "
                       f"to use the application with ID '{client.client_id}' named "
                       f"'{client.name}'. Send an interactive authorization request for this "
                       "user and resource.", "consent_required")
    scopes = list(dict.fromkeys([*asked, "offline_access"]))
    return issue_tokens(state, rt.account, client.client_id, scopes,
                        with_client_info=form.get("client_info") == "1")


def _client_credentials(state: MsState, client: AppClient,
                        form: dict[str, str]) -> dict[str, Any]:
    if form.get("scope", "").strip() != "https://graph.microsoft.com/.default":
        raise AadError(400, "invalid_scope", 1002012, "The provided value for scope "
                       f"{form.get('scope', '')} is not valid. Client credential flows must "
                       "have a scope value with /.default suffixed to the resource identifier "
                       "(application ID URI).")
    ttl = state.config.access_token_ttl
    access = sign_jwt({"aud": _GRAPH_APP, "appid": client.client_id, "roles": [],
                       "iat": int(time.time()), "exp": int(time.time()) + ttl,
                       "uti": str(uuid.uuid4())})
    state.access_tokens[access] = AccessToken(access, "", client.client_id, [],
                                              state.clock.now() + dt.timedelta(seconds=ttl))
    return {"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl,
            "access_token": access}


async def _fault(state: MsState) -> None:
    rule = take_fault(state, "token", None)
    if rule is None:
        return
    if rule.latency:
        await asyncio.sleep(rule.latency)
    if rule.status is not None:
        raise AadError(rule.status, rule.code or "temporarily_unavailable", 90033,
                       rule.message or "A transient error has occurred. Please try again.")


async def token_handler(request: web.Request) -> web.Response:
    """``POST /{tenant}/oauth2/v2.0/token``."""
    state = request.app[STATE_KEY]
    form = {k: str(v) for k, v in (await request.post()).items()}
    grant = form.get("grant_type", "")
    state.counters.token_requests[grant or "unknown"] += 1
    tenant = request.match_info["tenant"]
    try:
        await _fault(state)
        check_tenant(state, tenant)
        client = _client(state, tenant, form)
        if grant == "authorization_code":
            body = _code_grant(state, client, form)
        elif grant == "refresh_token":
            body = _refresh_grant(state, client, form)
        elif grant == "client_credentials":
            body = _client_credentials(state, client, form)
        else:
            raise AadError(400, "unsupported_grant_type", 70003,
                           f"The app requested an unsupported grant type '{grant}'.")
    except AadError as exc:
        _LOGGER.debug("Token request (%s) refused: AADSTS%d", grant, exc.code)
        return _json(exc.body(state.clock.now()), exc.status)
    return _json(body)
