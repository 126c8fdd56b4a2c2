"""The Microsoft identity platform emulator driven by the unmodified msal: discovery, the auth
code flow with PKCE, nonce and client_info, refresh with rotation, and the AADSTS error cases."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from typing import Any

import msal
import msal.exceptions
import pytest

from emulators.microsoft.server import (
    ADELE,
    CLIENT_ID,
    MEGAN,
    PAT,
    REDIRECT_URI,
    SCOPES,
    MsEmulatorServer,
)

pytestmark = [pytest.mark.usefixtures("msal_env"),
              pytest.mark.filterwarnings("ignore:response_mode:UserWarning")]
_DESCRIPTION = re.compile(
    r"^AADSTS(\d+): .+ Trace ID: [0-9a-f-]{36} Correlation ID: [0-9a-f-]{36} "
    r"Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$")


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def _assert_aad(result: dict[str, Any], error: str, code: int,
                suberror: str | None = None) -> None:
    assert result["error"] == error, result
    match = _DESCRIPTION.match(result["error_description"])
    assert match is not None, result["error_description"]
    assert int(match.group(1)) == code
    assert result["error_codes"] == [code]
    assert result["error_uri"] == f"https://login.microsoftonline.com/error?code={code}"
    assert result["trace_id"] in result["error_description"]
    assert result["correlation_id"] in result["error_description"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", result["timestamp"])
    assert result.get("suberror") == suberror


def _token_post(emu: MsEmulatorServer, form: dict[str, str],
                tenant: str = "common") -> tuple[int, dict[str, Any]]:
    status, _, text = emu.hooks.open(f"{emu.authority(tenant)}/oauth2/v2.0/token",
                                     urllib.parse.urlencode(form).encode(), "POST",
                                     {"Content-Type": "application/x-www-form-urlencoded"})
    return status, json.loads(text)


def test_msal_auth_code_flow_signs_in_with_pkce_nonce_and_client_info(
        ms_emu: MsEmulatorServer) -> None:
    app = ms_emu.msal_app()
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(flow["auth_uri"]).query))
    assert query["code_challenge_method"] == "S256"
    status, _, page = ms_emu.hooks.open(flow["auth_uri"])
    assert status == 200
    assert "Pick an account" in page and ADELE in page and MEGAN in page and PAT in page
    assert "Have full access to your calendars" in page
    _, location, _ = ms_emu.hooks.consent(flow["auth_uri"], ADELE)
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert location.startswith(REDIRECT_URI)
    assert params["state"] == flow["state"] and params["code"] and params["session_state"]
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert result["token_type"] == "Bearer"
    assert result["refresh_token"] and result["access_token"]
    assert set(result["scope"].split()) == set(SCOPES)
    claims = result["id_token_claims"]
    assert claims["aud"] == CLIENT_ID and claims["preferred_username"] == ADELE
    assert claims["nonce"] == query["nonce"]
    info = json.loads(base64.urlsafe_b64decode(result["client_info"] + "=="))
    accounts = app.get_accounts()
    assert [a["home_account_id"] for a in accounts] == [f"{info['uid']}.{info['utid']}"]
    assert accounts[0]["username"] == ADELE
    # The Graph token works.
    assert _claims(result["access_token"])["upn"] == ADELE


def test_msal_refuses_an_http_authority() -> None:
    with pytest.raises(ValueError, match="https"):
        msal.ConfidentialClientApplication(
            CLIENT_ID, client_credential="x", authority="http://127.0.0.1:9/common",
            instance_discovery=False)


def test_openid_configuration_per_tenant(ms_emu: MsEmulatorServer) -> None:
    for tenant in ("common", "organizations", "consumers", "contoso.example"):
        status, _, text = ms_emu.hooks.open(
            f"{ms_emu.authority(tenant)}/v2.0/.well-known/openid-configuration")
        doc = json.loads(text)
        assert status == 200
        assert doc["authorization_endpoint"] == f"{ms_emu.authority(tenant)}/oauth2/v2.0/authorize"
        assert doc["token_endpoint"] == f"{ms_emu.authority(tenant)}/oauth2/v2.0/token"
    status, _, text = ms_emu.hooks.open(
        f"{ms_emu.base_url}/00000000-0000-0000-0000-000000000000/v2.0/.well-known/"
        "openid-configuration")
    assert status == 400
    _assert_aad(json.loads(text), "invalid_tenant", 90002)


def test_tenant_authorities_offer_only_their_accounts(ms_emu: MsEmulatorServer) -> None:
    for tenant, shown, hidden in (("consumers", [PAT], [ADELE, MEGAN]),
                                  ("organizations", [ADELE, MEGAN], [PAT])):
        flow = ms_emu.msal_app(tenant).initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
        _, _, page = ms_emu.hooks.open(flow["auth_uri"])
        assert all(a in page for a in shown) and not any(a in page for a in hidden)
    result = ms_emu.sign_in(PAT, app=ms_emu.msal_app("consumers"))
    assert result["id_token_claims"]["tid"] == "9188040d-6c67-4c5b-b112-36a304b66dad"


def test_refresh_rotates_and_the_old_token_stays_valid(ms_emu: MsEmulatorServer) -> None:
    app = ms_emu.msal_app()
    first = ms_emu.sign_in(ADELE, app=app)
    second = app.acquire_token_by_refresh_token(first["refresh_token"], SCOPES)
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    third = app.acquire_token_by_refresh_token(first["refresh_token"], SCOPES)
    assert "access_token" in third, third
    assert ms_emu.hooks.state()["token_requests"]["refresh_token"] == 2


def test_code_is_single_use(ms_emu: MsEmulatorServer) -> None:
    app = ms_emu.msal_app()
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    _, location, _ = ms_emu.hooks.consent(flow["auth_uri"], ADELE)
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    verifier = flow["code_verifier"]
    form = {"client_id": CLIENT_ID, "client_secret": "emulator~secret.value",
            "grant_type": "authorization_code", "code": params["code"],
            "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
            "scope": "Calendars.ReadWrite offline_access openid"}
    status, body = _token_post(ms_emu, {**form, "code_verifier": verifier + "x"})
    assert status == 400
    _assert_aad(body, "invalid_grant", 501481)
    status, body = _token_post(ms_emu, form)
    assert status == 200 and body["refresh_token"]
    status, body = _token_post(ms_emu, form)
    assert status == 400
    _assert_aad(body, "invalid_grant", 54005)


def test_wrong_secret_and_unknown_client(ms_emu: MsEmulatorServer) -> None:
    result = ms_emu.msal_app(client_secret="wrong").acquire_token_by_refresh_token("x", SCOPES)
    _assert_aad(result, "invalid_client", 7000215)
    status, body = _token_post(ms_emu, {"client_id": "nope", "client_secret": "x",
                                        "grant_type": "refresh_token", "refresh_token": "x"})
    assert status == 400
    _assert_aad(body, "unauthorized_client", 700016)


def test_user_declines_consent(ms_emu: MsEmulatorServer) -> None:
    app = ms_emu.msal_app()
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    _, location, _ = ms_emu.hooks.consent(flow["auth_uri"], ADELE, action="cancel")
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert params["error"] == "access_denied" and params["error_subcode"] == "cancel"
    assert params["error_description"].startswith("AADSTS65004: User declined to consent")
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert result["error"] == "access_denied"


def test_tenant_requiring_admin_consent(ms_emu: MsEmulatorServer) -> None:
    ms_emu.hooks.call("POST", "admin_consent", {"tenant": "contoso.example"})
    flow = ms_emu.msal_app().initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    status, location, page = ms_emu.hooks.consent(flow["auth_uri"], ADELE)
    assert status == 200 and not location
    assert "Need admin approval" in page and "termin-bridge tests" in page
    _, location, _ = ms_emu.hooks.consent(flow["auth_uri"], ADELE, action="back")
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert params["error"] == "access_denied"
    assert params["error_description"].startswith("AADSTS90094:")
    # A personal account is not affected; an admin grant lets Adele in.
    assert "access_token" in ms_emu.sign_in(PAT)
    ms_emu.hooks.call("POST", "admin_consent", {"tenant": "contoso.example", "granted": True,
                                                "client_id": CLIENT_ID})
    assert "access_token" in ms_emu.sign_in(ADELE)


def test_revoked_sessions_expired_and_unconsented_refresh_tokens(
        ms_emu: MsEmulatorServer) -> None:
    app = ms_emu.msal_app()
    adele = ms_emu.sign_in(ADELE, app=app)
    megan = ms_emu.sign_in(MEGAN, app=app)
    pat = ms_emu.sign_in(PAT, app=app)
    ms_emu.hooks.call("POST", "revoke", {"account": ADELE, "mode": "sessions"})
    _assert_aad(app.acquire_token_by_refresh_token(adele["refresh_token"], SCOPES),
                "invalid_grant", 50173, "bad_token")
    ms_emu.hooks.call("POST", "expire_tokens", {"account": MEGAN, "kind": "refresh"})
    _assert_aad(app.acquire_token_by_refresh_token(megan["refresh_token"], SCOPES),
                "invalid_grant", 700082, "bad_token")
    ms_emu.hooks.call("POST", "revoke", {"account": PAT, "mode": "consent",
                                         "client_id": CLIENT_ID})
    _assert_aad(app.acquire_token_by_refresh_token(pat["refresh_token"], SCOPES),
                "invalid_grant", 65001, "consent_required")
    # A new sign-in works again after the revocation.
    assert "access_token" in ms_emu.sign_in(ADELE, app=app)


def test_revoking_one_refresh_token(ms_emu: MsEmulatorServer) -> None:
    app = ms_emu.msal_app()
    first = ms_emu.sign_in(ADELE, app=app)
    ms_emu.hooks.call("POST", "revoke", {"mode": "token", "refresh_token": first["refresh_token"]})
    _assert_aad(app.acquire_token_by_refresh_token(first["refresh_token"], SCOPES),
                "invalid_grant", 70008, "bad_token")


def test_authorize_error_pages(ms_emu: MsEmulatorServer) -> None:
    base = f"{ms_emu.authority()}/oauth2/v2.0/authorize?response_type=code&scope=User.Read"
    status, _, page = ms_emu.hooks.open(f"{base}&client_id=nope&redirect_uri={REDIRECT_URI}")
    assert status == 400 and "AADSTS700016" in page
    status, _, page = ms_emu.hooks.open(
        f"{base}&client_id={CLIENT_ID}&redirect_uri=https://evil.example/cb")
    assert status == 400 and "AADSTS50011" in page
    status, headers, _ = ms_emu.hooks.open(
        f"{ms_emu.authority()}/oauth2/v2.0/authorize?response_type=code&scope=Mail.Send"
        f"&client_id={CLIENT_ID}&redirect_uri={REDIRECT_URI}&state=s1")
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(headers["Location"]).query))
    assert status == 302 and params["error"] == "invalid_scope" and params["state"] == "s1"
    assert params["error_description"].startswith("AADSTS70011:")


def test_token_endpoint_fault_is_an_aad_error(ms_emu: MsEmulatorServer) -> None:
    app = ms_emu.msal_app()
    first = ms_emu.sign_in(ADELE, app=app)
    ms_emu.hooks.fault("token", status=503, times=2)
    with pytest.raises(msal.exceptions.MsalServiceError, match="503"):
        app.acquire_token_by_refresh_token(first["refresh_token"], SCOPES)
    status, body = _token_post(ms_emu, {"client_id": CLIENT_ID, "grant_type": "refresh_token",
                                        "client_secret": "emulator~secret.value",
                                        "refresh_token": first["refresh_token"]})
    assert status == 503
    _assert_aad(body, "temporarily_unavailable", 90033)
    # msal remembers the 5xx for a while (its throttling cache): the same app still fails,
    # a fresh one gets through.
    with pytest.raises(msal.exceptions.MsalServiceError, match="503"):
        app.acquire_token_by_refresh_token(first["refresh_token"], SCOPES)
    fresh = ms_emu.msal_app()
    assert "access_token" in fresh.acquire_token_by_refresh_token(first["refresh_token"], SCOPES)


def test_client_credentials_token_is_app_only(ms_emu: MsEmulatorServer) -> None:
    app = ms_emu.msal_app("contoso.example")
    result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert result["token_type"] == "Bearer" and "refresh_token" not in result
    status, _, text = ms_emu.hooks.open(f"{ms_emu.graph_url}/me", headers={
        "Authorization": f"Bearer {result['access_token']}"})
    assert status == 400
    assert "delegated authentication flow" in json.loads(text)["error"]["message"]
