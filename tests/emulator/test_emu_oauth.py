"""OAuth 2 through google-auth-oauthlib's Flow (PKCE) and google-auth's refresh, plus scopes."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.errors import HttpError

from emulators.google.server import ALICE, BOB, CLIENT_ID, REDIRECT_URI, EmulatorServer

EVENTS = "https://www.googleapis.com/auth/calendar.events"
LIST_RO = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"


class FormParser(HTMLParser):
    """Collects the inputs of the consent form."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.inputs: list[dict[str, str | None]] = []
        self.buttons: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = dict(attrs)
        if tag == "form":
            self.action = data.get("action") or ""
        elif tag == "input":
            self.inputs.append(data)
        elif tag == "button":
            self.buttons.append(data)


@pytest.fixture(autouse=True)
def _insecure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def _flow(emu: EmulatorServer, scopes: list[str] | None = None, **kw: Any) -> Flow:
    return Flow.from_client_config(emu.client_config(), scopes=scopes or [EVENTS, LIST_RO],
                                   redirect_uri=REDIRECT_URI, **kw)


def _consent(url: str, *, account: str | None, action: str = "allow",
             uncheck: tuple[str, ...] = ()) -> requests.Response:
    page = requests.get(url, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.text
    parser = FormParser()
    parser.feed(page.text)
    form: list[tuple[str, str]] = []
    for field in parser.inputs:
        name, value = field.get("name"), field.get("value") or ""
        if name is None:
            continue
        if field.get("type") == "radio":
            if value == account:
                form.append((name, value))
        elif field.get("type") == "checkbox":
            if value not in uncheck:
                form.append((name, value))
        else:
            form.append((name, value))
    assert {b.get("value") for b in parser.buttons} == {"allow", "deny"}
    form.append(("action", action))
    return requests.post(urljoin(url, parser.action), data=form, allow_redirects=False,
                         timeout=10)


def test_web_flow_with_pkce_and_consent_page(emu: EmulatorServer) -> None:
    flow = _flow(emu)
    url, state = flow.authorization_url(access_type="offline", prompt="consent")
    assert "code_challenge_method=S256" in url
    page = requests.get(url, timeout=10).text
    assert "Choose an account" in page and ALICE in page and BOB in page  # account chooser
    resp = _consent(url, account=BOB)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT_URI) and f"state={state}" in location
    # Callback handled by a *new* Flow that restored state and the code verifier.
    callback = _flow(emu, state=state, code_verifier=flow.code_verifier)
    callback.fetch_token(authorization_response=location)
    creds = callback.credentials
    assert creds.refresh_token and creds.refresh_token.startswith("1//")
    svc = emu.service(creds)
    ids = [e["id"] for e in svc.calendarList().list().execute()["items"]]
    assert BOB in ids


def test_missing_code_verifier_is_invalid_grant(emu: EmulatorServer) -> None:
    flow = _flow(emu)
    url, state = flow.authorization_url(prompt="consent")
    location = _consent(url, account=ALICE).headers["Location"]
    forgetful = _flow(emu, state=state, autogenerate_code_verifier=False)
    with pytest.raises(Exception, match=r"invalid_grant.*Missing code verifier"):
        forgetful.fetch_token(authorization_response=location)
    wrong = _flow(emu, state=state, code_verifier="x" * 64)
    with pytest.raises(Exception, match="invalid_grant"):
        wrong.fetch_token(authorization_response=location)


def test_code_is_single_use(emu: EmulatorServer) -> None:
    flow = _flow(emu)
    url, _ = flow.authorization_url(prompt="consent")
    location = _consent(url, account=ALICE).headers["Location"]
    flow.fetch_token(authorization_response=location)
    with pytest.raises(Exception, match="invalid_grant"):
        flow.fetch_token(authorization_response=location)


def test_deny_gives_access_denied(emu: EmulatorServer) -> None:
    url, state = _flow(emu).authorization_url()
    resp = _consent(url, account=ALICE, action="deny")
    query = parse_qs(urlparse(resp.headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": [state]}


def test_granular_consent_grants_subset(emu: EmulatorServer, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    flow = _flow(emu)
    url, _ = flow.authorization_url(prompt="consent")
    location = _consent(url, account=ALICE, uncheck=(LIST_RO,)).headers["Location"]
    flow.fetch_token(authorization_response=location)
    assert flow.credentials.granted_scopes == [EVENTS]
    svc = emu.service(flow.credentials)
    with pytest.raises(HttpError) as info:
        svc.calendarList().list().execute()
    assert info.value.status_code == 403


def test_redirect_uri_mismatch_and_unknown_client(emu: EmulatorServer) -> None:
    flow = _flow(emu)
    flow.redirect_uri = "http://127.0.0.1:9/elsewhere"
    url, _ = flow.authorization_url()
    resp = requests.get(url, allow_redirects=False, timeout=10)
    assert resp.status_code == 400 and "redirect_uri_mismatch" in resp.text
    cfg = emu.client_config(client_id="nope")
    url, _ = Flow.from_client_config(cfg, scopes=[EVENTS], redirect_uri=REDIRECT_URI
                                     ).authorization_url()
    resp = requests.get(url, allow_redirects=False, timeout=10)
    assert resp.status_code == 401 and "invalid_client" in resp.text


def test_admin_policy_enforced(emu: EmulatorServer) -> None:
    creds = emu.credentials(ALICE)
    svc = emu.service(creds)
    svc.calendars().get(calendarId="primary").execute()
    emu.hooks.config(admin_policy_enforced=["@example.com"])
    url, _ = _flow(emu).authorization_url(prompt="consent")
    resp = _consent(url, account=ALICE)
    assert resp.status_code == 400 and "admin_policy_enforced" in resp.text
    creds.expiry = None
    creds.token = None
    with pytest.raises(RefreshError) as info:
        svc.calendars().get(calendarId="primary").execute()
    assert "invalid_grant" in str(info.value)
    assert info.value.retryable is False


def test_auto_consent_and_refresh_token_semantics(emu: EmulatorServer) -> None:
    emu.hooks.config(auto_consent=True, auto_consent_account=ALICE)
    flow = _flow(emu)
    url, _ = flow.authorization_url(access_type="offline")
    resp = requests.get(url, allow_redirects=False, timeout=10)
    assert resp.status_code == 302
    flow.fetch_token(authorization_response=resp.headers["Location"])
    assert flow.credentials.refresh_token
    # Second grant without prompt=consent and auto-consent off: no consent page, no refresh token.
    emu.hooks.config(auto_consent=False)
    again = _flow(emu)
    url, _ = again.authorization_url(access_type="offline", login_hint=ALICE)
    resp = requests.get(url, allow_redirects=False, timeout=10)
    assert resp.status_code == 302
    again.fetch_token(authorization_response=resp.headers["Location"])
    assert again.credentials.refresh_token is None
    # prompt=consent shows the page again and yields a new refresh token.
    third = _flow(emu)
    url, _ = third.authorization_url(access_type="offline", prompt="consent", login_hint=ALICE)
    third.fetch_token(authorization_response=_consent(url, account=ALICE).headers["Location"])
    assert third.credentials.refresh_token not in (None, flow.credentials.refresh_token)


def test_refresh_after_access_token_expiry(emu: EmulatorServer) -> None:
    creds = emu.credentials(ALICE, scopes=["calendar"])
    svc = emu.service(creds)
    svc.calendars().get(calendarId="primary").execute()
    first_token = creds.token
    emu.hooks.reset_counters()
    emu.hooks.advance_clock(3600)
    # google-auth still believes the token is valid (its own clock), sends it, gets 401,
    # refreshes and retries transparently.
    assert svc.calendars().get(calendarId="primary").execute()["id"] == ALICE
    state = emu.hooks.state()
    assert state["token_requests"] == {"refresh_token": 1}
    assert state["api_requests"]["calendar.calendars.get"] == 2
    assert creds.token != first_token


def test_invalid_grant_after_revoke(emu: EmulatorServer) -> None:
    creds = emu.credentials(ALICE)
    svc = emu.service(creds)
    svc.calendars().get(calendarId="primary").execute()
    resp = requests.post(emu.base_url + "/revoke", data={"token": creds.token}, timeout=10)
    assert resp.status_code == 200 and resp.json() == {}
    again = requests.post(emu.base_url + "/revoke", data={"token": creds.token}, timeout=10)
    assert again.status_code == 400 and again.json()["error"] == "invalid_token"
    with pytest.raises(RefreshError) as info:
        svc.calendars().get(calendarId="primary").execute()
    assert "invalid_grant: Token has been expired or revoked." in str(info.value)


def test_refresh_with_scope_subset(emu: EmulatorServer) -> None:
    full = emu.credentials(ALICE, scopes=["calendar.events", "calendar.readonly"])
    narrow = Credentials(
        token=None, refresh_token=full.refresh_token, token_uri=emu.token_uri,
        client_id=CLIENT_ID, client_secret="test-secret", scopes=[EVENTS])
    svc = emu.service(narrow)
    svc.events().list(calendarId="primary").execute()
    with pytest.raises(HttpError) as info:  # calendars.get is not covered by calendar.events
        svc.calendars().get(calendarId="primary").execute()
    assert info.value.status_code == 403
    wider = Credentials(
        token=None, refresh_token=full.refresh_token, token_uri=emu.token_uri,
        client_id=CLIENT_ID, client_secret="test-secret",
        scopes=["https://www.googleapis.com/auth/calendar"])
    with pytest.raises(RefreshError, match="invalid_scope"):
        emu.service(wider).events().list(calendarId="primary").execute()
    bad_secret = Credentials(
        token=None, refresh_token=full.refresh_token, token_uri=emu.token_uri,
        client_id=CLIENT_ID, client_secret="wrong")
    with pytest.raises(RefreshError, match="invalid_client"):
        emu.service(bad_secret).events().list(calendarId="primary").execute()


@pytest.mark.parametrize(("scopes", "allowed", "refused"), [
    (["calendar.events"], "events_list", "calendars_get"),
    (["calendar.events"], "events_insert", "freebusy"),
    (["calendar.readonly"], "freebusy", "events_insert"),
    (["calendar.calendarlist.readonly"], "calendar_list", "events_list"),
])
def test_scope_enforcement(emu: EmulatorServer, scopes: list[str], allowed: str,
                           refused: str) -> None:
    svc = emu.service(emu.credentials(ALICE, scopes=scopes))
    calls = {
        "events_list": lambda: svc.events().list(calendarId="primary"),
        "events_insert": lambda: svc.events().insert(calendarId="primary", body={
            "start": {"date": "2030-01-01"}, "end": {"date": "2030-01-02"}}),
        "calendars_get": lambda: svc.calendars().get(calendarId="primary"),
        "calendar_list": lambda: svc.calendarList().list(),
        "freebusy": lambda: svc.freebusy().query(body={
            "timeMin": "2030-01-01T00:00:00Z", "timeMax": "2030-01-02T00:00:00Z",
            "items": [{"id": "primary"}]}),
    }
    calls[allowed]().execute()
    with pytest.raises(HttpError) as info:
        calls[refused]().execute()
    assert info.value.status_code == 403
    # Like Google, the body has both `errors` and `details`; the client prefers `details`.
    assert info.value.error_details[0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert b'"reason": "insufficientPermissions"' in info.value.content
    assert "insufficient authentication scopes" in str(info.value)
    assert 'error="insufficient_scope"' in info.value.resp["www-authenticate"]


def test_auto_consent_subset_code_expiry_and_query_token(
    emu: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    emu.hooks.config(auto_consent=True, grant_subset_scopes=[EVENTS])
    flow = _flow(emu)
    url, _ = flow.authorization_url(prompt="consent")
    location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
    assert parse_qs(urlparse(location).query)["scope"] == [EVENTS]
    emu.hooks.advance_clock(601)  # codes live 10 minutes
    with pytest.raises(Exception, match="invalid_grant"):
        flow.fetch_token(authorization_response=location)
    url, _ = flow.authorization_url(prompt="consent")
    location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
    token = flow.fetch_token(authorization_response=location)
    assert token["scope"] == [EVENTS]
    resp = requests.get(emu.api_endpoint + "calendars/primary/events",
                        params={"access_token": token["access_token"]}, timeout=10)
    assert resp.status_code == 200 and resp.json()["kind"] == "calendar#events"
    emu.hooks.config(consent_decision="deny")
    url, state = flow.authorization_url()
    location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
    assert parse_qs(urlparse(location).query) == {"error": ["access_denied"], "state": [state]}
