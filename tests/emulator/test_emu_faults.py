"""Fault injection and rate limits, and how googleapiclient's ``num_retries`` copes."""

from __future__ import annotations

import time
from typing import Any

import httplib2
import pytest
from googleapiclient.errors import HttpError

from emulators.google.server import ALICE, EmulatorServer

LIST = "calendar.events.list"


def _list(svc: Any, retries: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = svc.events().list(calendarId="primary").execute(num_retries=retries)
    return result


def _count(emu: EmulatorServer, method: str = LIST) -> int:
    return int(emu.hooks.state()["api_requests"].get(method, 0))


@pytest.mark.parametrize(("status", "reason"), [
    (500, "backendError"), (503, "backendError"), (429, "rateLimitExceeded"),
    (403, "rateLimitExceeded"), (403, "userRateLimitExceeded"),
])
def test_retryable_faults_are_retried(svc: Any, emu: EmulatorServer, no_sleep: list[float],
                                      status: int, reason: str) -> None:
    emu.hooks.fault(LIST, status=status, reason=reason, times=2)
    assert _list(svc, retries=3)["kind"] == "calendar#events"
    assert _count(emu) == 3
    assert len(no_sleep) == 2


def test_retryable_fault_without_retries_surfaces(svc: Any, emu: EmulatorServer) -> None:
    emu.hooks.fault(LIST, status=403, reason="rateLimitExceeded")
    with pytest.raises(HttpError) as info:
        _list(svc)
    assert info.value.status_code == 403
    assert info.value.error_details[0] == {
        "domain": "usageLimits", "reason": "rateLimitExceeded", "message": "Rate Limit Exceeded"}


@pytest.mark.parametrize(("status", "reason"), [
    (403, "quotaExceeded"), (404, "notFound"), (409, "conflict"), (410, "deleted"),
    (412, "conditionNotMet"), (400, "badRequest"),
])
def test_non_retryable_faults_are_not_retried(svc: Any, emu: EmulatorServer,
                                              no_sleep: list[float], status: int,
                                              reason: str) -> None:
    emu.hooks.fault(LIST, status=status, reason=reason, times=5)
    with pytest.raises(HttpError) as info:
        _list(svc, retries=3)
    assert info.value.status_code == status
    assert info.value.error_details[0]["reason"] == reason
    assert _count(emu) == 1
    assert no_sleep == []


def test_401_fault_triggers_refresh_and_resend(svc: Any, emu: EmulatorServer) -> None:
    _list(svc)
    before = emu.hooks.state()["token_requests"].get("refresh_token", 0)
    emu.hooks.fault(LIST, status=401, reason="authError")
    assert _list(svc)["kind"] == "calendar#events"
    assert emu.hooks.state()["token_requests"]["refresh_token"] == before + 1


def test_latency_fault(svc: Any, emu: EmulatorServer) -> None:
    # The delay is long enough that a busy machine cannot make the second, undelayed call look
    # delayed: the fault applies once.
    emu.hooks.fault(LIST, latency=2.0)
    started = time.monotonic()
    _list(svc)
    assert time.monotonic() - started >= 2.0
    started = time.monotonic()
    _list(svc)
    assert time.monotonic() - started < 2.0


def test_connection_reset(svc: Any, emu: EmulatorServer, no_sleep: list[float]) -> None:
    # httplib2 itself retries a dropped connection once, so two resets reach the caller.
    emu.hooks.fault(LIST, reset=True, times=2)
    with pytest.raises((ConnectionError, httplib2.HttpLib2Error)):
        _list(svc)
    emu.hooks.fault(LIST, reset=True, times=2)
    assert _list(svc, retries=1)["kind"] == "calendar#events"
    assert len(no_sleep) == 1


def test_wildcard_and_per_account_faults(emu: EmulatorServer) -> None:
    alice = emu.service(emu.credentials(ALICE))
    bob = emu.service(emu.credentials("bob@example.com"))
    emu.hooks.fault("calendar.events.*", status=500, times=None, account=None)
    with pytest.raises(HttpError):
        alice.events().list(calendarId="primary").execute()
    with pytest.raises(HttpError):
        bob.events().get(calendarId="primary", eventId="abcdefgh").execute()
    assert bob.calendars().get(calendarId="primary").execute()["id"] == "bob@example.com"
    emu.hooks.clear_faults()
    assert alice.events().list(calendarId="primary").execute()["kind"] == "calendar#events"


@pytest.mark.parametrize("status", [403, 429])
def test_rate_limit_per_user(emu: EmulatorServer, no_sleep: list[float], status: int) -> None:
    alice = emu.service(emu.credentials(ALICE))
    bob = emu.service(emu.credentials("bob@example.com"))
    emu.hooks.rate_limit(2, per_seconds=60, status=status, reason="rateLimitExceeded")
    alice.events().list(calendarId="primary").execute()
    alice.events().list(calendarId="primary").execute()
    with pytest.raises(HttpError) as info:
        alice.events().list(calendarId="primary").execute()
    assert info.value.status_code == status
    bob.events().list(calendarId="primary").execute()  # other user unaffected
    emu.hooks.advance_clock(61)
    alice.events().list(calendarId="primary").execute()
    # With retries the client backs off; the window is still full, so it gives up.
    alice.events().list(calendarId="primary").execute()
    with pytest.raises(HttpError):
        alice.events().list(calendarId="primary").execute(num_retries=2)
    assert len(no_sleep) == 2


def test_token_endpoint_fault(emu: EmulatorServer) -> None:
    from google.auth.exceptions import RefreshError

    creds = emu.credentials(ALICE)
    emu.hooks.fault("oauth2.token", status=400, reason="invalid_grant",
                    message="Token has been expired or revoked.")
    svc = emu.service(creds)
    with pytest.raises(RefreshError) as info:
        svc.events().list(calendarId="primary").execute()
    assert "invalid_grant" in str(info.value)


def test_reset_after_write_then_retry_hits_409(svc: Any, emu: EmulatorServer,
                                               no_sleep: list[float]) -> None:
    # The insert is stored, but the answer is lost (twice, beating httplib2's own retry).
    emu.hooks.fault("calendar.events.insert", reset=True, after=True, times=2)
    body = {"id": "det00000001", "start": {"date": "2030-01-01"}, "end": {"date": "2030-01-02"}}
    with pytest.raises(HttpError) as info:
        svc.events().insert(calendarId="primary", body=body).execute(num_retries=2)
    assert info.value.status_code == 409  # the retry finds its own earlier write
    state = emu.hooks.state()
    assert [w["op"] for w in state["writes"]] == ["insert"]
    assert state["api_requests"]["calendar.events.insert"] == 3


def test_truncated_body_and_retry_after(svc: Any, emu: EmulatorServer) -> None:
    emu.hooks.fault(LIST, truncate=True)
    # googleapiclient does not raise on broken JSON: execute() returns the raw text.
    broken = svc.events().list(calendarId="primary").execute()
    assert isinstance(broken, str) and broken.startswith('{"kind": "calendar#events"')
    emu.hooks.fault(LIST, status=429, retry_after=7)
    with pytest.raises(HttpError) as info:
        _list(svc)
    assert info.value.resp["retry-after"] == "7"


def test_fault_for_one_account_only(emu: EmulatorServer) -> None:
    alice = emu.service(emu.credentials(ALICE))
    bob = emu.service(emu.credentials("bob@example.com"))
    alice.calendars().get(calendarId="primary").execute()
    bob.calendars().get(calendarId="primary").execute()
    emu.hooks.fault("*", status=503, times=None, account="bob@example.com")
    assert alice.events().list(calendarId="primary").execute()["kind"] == "calendar#events"
    with pytest.raises(HttpError) as info:
        bob.events().list(calendarId="primary").execute()
    assert info.value.status_code == 503
