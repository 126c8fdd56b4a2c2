"""The OAuth 2 authorisation endpoint and its consent page.

``GET /o/oauth2/v2/auth`` (alias ``/o/oauth2/auth``) checks the client and redirect URI (error
pages for ``invalid_client`` and ``redirect_uri_mismatch``), then either shows an HTML consent page
(account chooser when several accounts exist, scope checkboxes, Allow/Deny as plain form buttons)
or, with the ``auto_consent`` knob or an already covering grant, redirects straight back.
``POST /o/oauth2/v2/consent`` receives the form and redirects to the client with ``code`` or
``error=access_denied``.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from functools import cache
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from emulators.google.scopes import SCOPE_PREFIX, discovery_document
from emulators.google.state import AuthCode, EmulatorState
from emulators.google.tokens import STATE_KEY

__all__ = ["CONSENT_PATH", "authorize_handler", "consent_handler"]

_LOGGER = logging.getLogger(__name__)
CONSENT_PATH = "/o/oauth2/v2/consent"
_IDENTITY_SCOPES = {
    "openid": "Associate you with your personal info on Google",
    "email": "See your primary Google Account email address",
    "profile": "See your personal info",
}


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("emulators.google", "templates"),
        autoescape=True,
    )


def _scope_descriptions() -> dict[str, str]:
    scopes = discovery_document()["auth"]["oauth2"]["scopes"]
    out = {name: str(info.get("description", name)) for name, info in scopes.items()}
    out.update(_IDENTITY_SCOPES)
    out.update({SCOPE_PREFIX + "userinfo." + k: v for k, v in _IDENTITY_SCOPES.items()})
    return out


def _error_page(status: int, error: str, description: str, title: str = "") -> web.Response:
    html = _templates().get_template("error.html").render(
        status=status, error=error, description=description,
        title=title or "This app's request is invalid",
    )
    return web.Response(status=status, text=html, content_type="text/html")


def _redirect(uri: str, params: dict[str, str]) -> web.Response:
    sep = "&" if "?" in uri else "?"
    return web.Response(status=302, headers={"Location": uri + sep + urlencode(params)})


def _finish(
    state: EmulatorState, pending: dict[str, str], account: str, granted: list[str],
    *, consent_shown: bool,
) -> web.Response:
    client_id = pending["client_id"]
    redirect_uri = pending["redirect_uri"]
    base = {"state": pending["state"]} if pending.get("state") else {}
    if not granted:
        return _redirect(redirect_uri, {**base, "error": "access_denied"})
    if state.policy_blocks(account, client_id):
        return _error_page(400, "admin_policy_enforced",
                           f"{account} can't access this app because of its organisation's "
                           "policy: an administrator restricted access to Google Calendar.",
                           title="Your organisation's policy")
    key = (account, client_id)
    previous = state.grants.get(key, [])
    scopes = list(granted)
    if pending.get("include_granted_scopes") == "true":
        scopes += [s for s in previous if s not in scopes]
    state.grants[key] = scopes + [s for s in previous if s not in scopes]
    offline = pending.get("access_type") == "offline"
    code = "4/0A" + secrets.token_urlsafe(48)
    state.codes[code] = AuthCode(
        code=code,
        client_id=client_id,
        redirect_uri=redirect_uri,
        account=account,
        scopes=scopes,
        code_challenge=pending.get("code_challenge") or None,
        code_challenge_method=pending.get("code_challenge_method") or None,
        issue_refresh_token=offline and consent_shown,
        expires_at=state.clock.now() + dt.timedelta(seconds=state.config.auth_code_ttl),
    )
    _LOGGER.debug("Authorisation granted for %s to client %s", account, client_id)
    params = {**base, "code": code, "scope": " ".join(scopes), "authuser": "0"}
    if consent_shown:
        params["prompt"] = "consent"
    return _redirect(redirect_uri, params)


async def authorize_handler(request: web.Request) -> web.Response:
    """``GET /o/oauth2/v2/auth``."""
    state = request.app[STATE_KEY]
    state.counters.token_requests["authorize"] += 1
    q = request.query
    client = state.clients.get(q.get("client_id", ""))
    if client is None:
        return _error_page(401, "invalid_client", "The OAuth client was not found.",
                           title="Authorisation error")
    redirect_uri = q.get("redirect_uri", "")
    if not client.accepts_redirect(redirect_uri):
        return _error_page(
            400, "redirect_uri_mismatch",
            f"You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 "
            f"policy. If you're the app developer, register the redirect URI in the Google "
            f"Cloud Console. Request details: redirect_uri={redirect_uri}",
        )
    base = {"state": q["state"]} if "state" in q else {}
    if q.get("response_type") != "code":
        return _redirect(redirect_uri, {**base, "error": "unsupported_response_type"})
    requested = q.get("scope", "").split()
    if not requested:
        return _error_page(400, "invalid_request", "Missing required parameter: scope")
    known = _scope_descriptions()
    unknown = [s for s in requested if s not in known]
    if unknown:
        return _error_page(400, "invalid_scope", "Some requested scopes were invalid. "
                           f"{{invalid={unknown}}}")
    method = q.get("code_challenge_method")
    if q.get("code_challenge") and method not in (None, "S256", "plain"):
        return _error_page(400, "invalid_request", "Invalid code_challenge_method value.")
    if not state.accounts:
        return _error_page(400, "invalid_request", "No accounts are seeded in the emulator.")
    pending = {k: q.get(k, "") for k in (
        "client_id", "redirect_uri", "state", "access_type", "prompt", "include_granted_scopes",
        "code_challenge", "code_challenge_method", "login_hint")}
    pending["scope"] = " ".join(requested)
    hint = q.get("login_hint") if q.get("login_hint") in state.accounts else None
    cfg = state.config
    if cfg.auto_consent:
        account = cfg.auto_consent_account or hint or next(iter(state.accounts))
        if cfg.consent_decision != "allow":
            return _redirect(redirect_uri, {**base, "error": "access_denied"})
        granted = [s for s in requested
                   if cfg.grant_subset_scopes is None or s in cfg.grant_subset_scopes]
        return _finish(state, pending, account, granted, consent_shown=True)
    prompt = q.get("prompt", "").split()
    single = hint or (next(iter(state.accounts)) if len(state.accounts) == 1 else None)
    if single and "consent" not in prompt and "select_account" not in prompt:
        granted_before = state.grants.get((single, client.client_id), [])
        if set(requested) <= set(granted_before):
            return _finish(state, pending, single, requested, consent_shown=False)
    request_id = secrets.token_urlsafe(24)
    state.pending_auth[request_id] = pending
    html = _templates().get_template("consent.html").render(
        client_name=client.name,
        action=CONSENT_PATH,
        request_id=request_id,
        accounts=list(state.accounts.values()),
        selected=hint or next(iter(state.accounts)),
        scopes=[{"name": s, "description": known[s]} for s in requested],
    )
    return web.Response(text=html, content_type="text/html")


async def consent_handler(request: web.Request) -> web.Response:
    """``POST /o/oauth2/v2/consent``: the consent form's Allow/Deny."""
    state = request.app[STATE_KEY]
    form = await request.post()
    pending = state.pending_auth.pop(str(form.get("request_id", "")), None)
    if pending is None:
        return _error_page(400, "invalid_request", "This sign-in request has expired.")
    if form.get("action") != "allow":
        base = {"state": pending["state"]} if pending.get("state") else {}
        return _redirect(pending["redirect_uri"], {**base, "error": "access_denied"})
    account = str(form.get("account", ""))
    if account not in state.accounts:
        return _error_page(400, "invalid_request", "Choose an account to continue.")
    checked = {str(v) for v in form.getall("scope", [])}
    granted = [s for s in pending["scope"].split() if s in checked]
    return _finish(state, pending, account, granted, consent_shown=True)
