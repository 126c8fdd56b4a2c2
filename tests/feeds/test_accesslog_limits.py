"""Unit tests: access-log redaction and the miss limiter."""

from __future__ import annotations

import pytest

from bridge.feeds.limits import MissLimiter
from bridge.web.accesslog import redact_path

TOKEN = "SARYQT_G27Fz5T7vmdM4G8UAptt1775IDCBL7f18z7c"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"/feeds/{TOKEN}.ics", "/feeds/<redacted>"),
        (f"/feeds/{TOKEN}.ics?x={TOKEN}", "/feeds/<redacted>"),
        (f"/FEEDS/{TOKEN[:10]}", "/FEEDS/<redacted>"),
        (f"/feeds/{TOKEN}%0d%0aX: 1", "/feeds/<redacted>"),
        (f"/oauth2/callback?code={TOKEN}&state=1", "/oauth2/callback?code=<redacted>&state=1"),
        ("/healthz", "/healthz"),
        ("/admin/\x1b[2J\r\n", "/admin/?[2J??"),
    ],
)
def test_redact_path(raw: str, expected: str) -> None:
    assert redact_path(raw) == expected
    assert TOKEN not in redact_path(raw)


def test_miss_limiter_window_and_bounds() -> None:
    now = [0.0]
    limiter = MissLimiter(3, 10.0, max_clients=2, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("a") is None
        limiter.record("a")
    assert limiter.retry_after("a") == 10
    now[0] = 4.0
    assert limiter.retry_after("a") == 6
    now[0] = 10.5
    assert limiter.retry_after("a") is None
    # Many distinct clients: memory stays bounded, the stalest is forgotten.
    for client in ("b", "c", "d"):
        limiter.record(client)
    assert len(limiter._misses) == 2
