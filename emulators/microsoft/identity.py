"""Identity platform v2.0 pages: OpenID configuration, JWKS, ``authorize`` with its consent page
(account chooser, Accept/Cancel), the "Need admin approval" page and ``adminconsent``.

``GET /{tenant}/oauth2/v2.0/authorize`` checks tenant, client and redirect URI (error pages
AADSTS90002/700016/50011), then shows the consent page (or, with ``auto_consent``, decides at
once).  ``POST /{tenant}/oauth2/v2.0/consent`` takes the form: Cancel redirects with
``access_denied`` AADSTS65004; an account whose tenant needs admin consent gets the "Need admin
approval" page, whose return button redirects with ``access_denied`` AADSTS90094; otherwise the
client gets ``code``, ``state``, ``session_state`` (and ``client_info`` when asked).
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from functools import cache
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from emulators.microsoft.errors import AadError
from emulators.microsoft.idtoken import client_info, jwks
from emulators.microsoft.scopes import account_fits, check_tenant, describe, normalise_scopes
from emulators.microsoft.state import AuthCode, MsState
from emulators.microsoft.tokens import STATE_KEY, token_handler

__all__ = ["add_identity_routes"]

_KEEP = ("client_id", "redirect_uri", "state", "nonce", "code_challenge",
         "code_challenge_method", "prompt", "login_hint", "response_mode", "client_info")


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("emulators.microsoft", "templates"),
                              autoescape=True)


def _page(name: str, status: int = 200, **values: Any) -> web.Response:
    html = _templates().get_template(name).render(**values)
    return web.Response(status=status, text=html, content_type="text/html")


def _error_page(state: MsState, error: AadError) -> web.Response:
    text = error.description(state.clock.now(), str(uuid.uuid4()), str(uuid.uuid4()))
    return _page("error.html", 400, code=error.code, text=text)


def _redirect(pending: dict[str, str], params: dict[str, str]) -> web.Response:
    if pending.get("state"):
        params = {**params, "state": pending["state"]}
    uri = pending["redirect_uri"]
    if pending.get("response_mode") == "form_post":
        return _page("form_post.html", action=uri, params=params)
    sep = "#" if pending.get("response_mode") == "fragment" else ("&" if "?" in uri else "?")
    return web.Response(status=302, headers={"Location": uri + sep + urlencode(params)})


def _aad_redirect(state: MsState, pending: dict[str, str], error: AadError,
                  subcode: str | None = None) -> web.Response:
    params = {"error": error.error, "error_description": error.description(
        state.clock.now(), str(uuid.uuid4()), str(uuid.uuid4()))}
    if subcode:
        params["error_subcode"] = subcode
    return _redirect(pending, params)


def _issue_code(state: MsState, pending: dict[str, str], account: str) -> web.Response:
    scopes = pending["scope"].split()
    key = (account, pending["client_id"])
    previous = state.grants.get(key, [])
    granted = [s for s in scopes if s not in ("openid", "profile", "email", "offline_access")]
    state.grants[key] = previous + [s for s in granted if s not in previous]
    code = "1.A" + secrets.token_urlsafe(96)
    state.codes[code] = AuthCode(
        code, pending["client_id"], pending["redirect_uri"], account, scopes, pending["tenant"],
        pending.get("code_challenge") or None, pending.get("code_challenge_method") or None,
        pending.get("nonce") or None,
        state.clock.now() + dt.timedelta(seconds=state.config.auth_code_ttl))
    params = {"code": code}
    if pending.get("client_info") == "1":
        acc = state.accounts[account]
        params["client_info"] = client_info(acc.oid, acc.tenant_id)
    params["session_state"] = str(uuid.uuid4())
    return _redirect(pending, params)


def _decide(state: MsState, pending: dict[str, str], account: str) -> web.Response:
    if state.needs_admin(account, pending["client_id"]):
        request_id = secrets.token_urlsafe(24)
        state.pending_auth[request_id] = {**pending, "account": account}
        client = state.clients[pending["client_id"]]
        return _page("admin_approval.html", app=client.name, account=account,
                     request_id=request_id, action=f"/{pending['tenant']}/oauth2/v2.0/consent")
    return _issue_code(state, pending, account)


async def openid_configuration(request: web.Request) -> web.Response:
    """``GET /{tenant}/v2.0/.well-known/openid-configuration``."""
    state = request.app[STATE_KEY]
    tenant = request.match_info["tenant"]
    try:
        check_tenant(state, tenant)
    except AadError as exc:
        return web.json_response(exc.body(state.clock.now()), status=exc.status)
    base = f"{request.scheme}://{request.host}"
    issuer_tenant = "{tenantid}" if tenant.lower() in (
        "common", "organizations", "consumers") else tenant
    return web.json_response({
        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"https://login.microsoftonline.com/{issuer_tenant}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
        "http_logout_supported": True, "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "preferred_username",
                             "name", "tid", "ver", "oid", "email"],
        "tenant_region_scope": "EU", "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com",
    })


async def keys(request: web.Request) -> web.Response:
    """``GET /{tenant}/discovery/v2.0/keys``."""
    return web.json_response(jwks())


async def authorize(request: web.Request) -> web.Response:
    """``GET /{tenant}/oauth2/v2.0/authorize``."""
    state = request.app[STATE_KEY]
    state.counters.token_requests["authorize"] += 1
    q = request.query
    tenant = request.match_info["tenant"]
    client = state.clients.get(q.get("client_id", ""))
    try:
        check_tenant(state, tenant)
        if client is None:
            raise AadError(400, "unauthorized_client", 700016, "Application with identifier "
                           f"'{q.get('client_id', '')}' was not found in the directory "
                           f"'{tenant}'.")
        if q.get("redirect_uri", "") not in client.redirect_uris:
            raise AadError(400, "invalid_request", 50011, "The redirect URI "
                           f"'{q.get('redirect_uri', '')}' specified in the request does not "
                           "match the redirect URIs configured for the application "
                           f"'{client.client_id}'. Make sure the redirect URI sent in the "
                           "request matches one added to your application in the Azure portal.")
    except AadError as exc:
        return _error_page(state, exc)
    pending = {k: q.get(k, "") for k in _KEEP}
    pending["tenant"] = tenant
    scopes = normalise_scopes(q.get("scope", ""))
    pending["scope"] = " ".join(scopes)
    if q.get("response_type") != "code":
        return _aad_redirect(state, pending, AadError(400, "unsupported_response_type", 700054,
                             f"response_type '{q.get('response_type')}' is not enabled for "
                             "the application."))
    try:
        described = [{"name": s, "description": describe(s)} for s in scopes]
    except KeyError as exc:
        return _aad_redirect(state, pending, AadError(400, "invalid_scope", 70011,
                             "The provided value for the input parameter 'scope' is not valid. "
                             f"The scope '{exc.args[0]}' does not exist."))
    accounts = [a for a in state.accounts.values() if account_fits(a, tenant)]
    if not accounts:
        return _error_page(state, AadError(400, "invalid_request", 50020,
                                           "No account can sign in through this authority."))
    cfg = state.config
    hint = q.get("login_hint") if q.get("login_hint") in state.accounts else None
    if cfg.auto_consent:
        if cfg.consent_decision != "allow":
            return _declined(state, pending)
        return _decide(state, pending, cfg.auto_consent_account or hint or accounts[0].upn)
    request_id = secrets.token_urlsafe(24)
    state.pending_auth[request_id] = pending
    return _page("consent.html", app=client.name if client else "", request_id=request_id,
                 action=f"/{tenant}/oauth2/v2.0/consent", accounts=accounts,
                 selected=hint or accounts[0].upn, scopes=described)


def _declined(state: MsState, pending: dict[str, str]) -> web.Response:
    return _aad_redirect(state, pending, AadError(
        400, "access_denied", 65004, "User declined to consent to access the app."), "cancel")


async def consent(request: web.Request) -> web.Response:
    """``POST /{tenant}/oauth2/v2.0/consent``: the consent and admin-approval forms."""
    state = request.app[STATE_KEY]
    form = await request.post()
    pending = state.pending_auth.pop(str(form.get("request_id", "")), None)
    if pending is None:
        return _error_page(state, AadError(400, "invalid_request", 90014,
                                           "The sign-in request has expired."))
    action = str(form.get("action", ""))
    if action == "back":
        return _aad_redirect(state, pending, AadError(
            400, "access_denied", 90094, "The grant requires admin permission."))
    if action != "accept":
        return _declined(state, pending)
    account = str(form.get("account", ""))
    if account not in state.accounts or not account_fits(state.accounts[account],
                                                         pending["tenant"]):
        return _error_page(state, AadError(400, "invalid_request", 50034,
                                           "The user account does not exist in the directory."))
    return _decide(state, pending, account)


async def admin_consent(request: web.Request) -> web.Response:
    """``GET /{tenant}/adminconsent``: a tenant admin grants the app for everyone."""
    state = request.app[STATE_KEY]
    q = request.query
    client = state.clients.get(q.get("client_id", ""))
    tenant = request.match_info["tenant"]
    if client is None or q.get("redirect_uri", "") not in client.redirect_uris:
        return _error_page(state, AadError(400, "invalid_request", 50011,
                                           "The redirect URI or client is not registered."))
    for acc in state.accounts.values():
        if account_fits(acc, tenant) and acc.kind == "work":
            state.admin_grants.add((acc.tenant_id, client.client_id))
    pending = {"redirect_uri": q["redirect_uri"], "state": q.get("state", "")}
    return _redirect(pending, {"admin_consent": "True", "tenant": tenant})


def add_identity_routes(app: web.Application) -> None:
    """Register the identity platform routes."""
    r = app.router
    r.add_get("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration)
    r.add_get("/{tenant}/discovery/v2.0/keys", keys)
    r.add_get("/{tenant}/oauth2/v2.0/authorize", authorize)
    r.add_post("/{tenant}/oauth2/v2.0/consent", consent)
    r.add_get("/{tenant}/adminconsent", admin_consent)
    r.add_post("/{tenant}/oauth2/v2.0/token", token_handler)
