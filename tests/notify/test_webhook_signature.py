"""Webhook signatures follow Standard Webhooks: the timestamp is signed, replays are refused."""

from __future__ import annotations

import time

from bridge.notify.webhook import signed_headers, verify

# The example of the Standard Webhooks specification (and of Svix, where it comes from).
_SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
_SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
_SPEC_BODY = b'{"test": 2432232314}'


def test_signature_matches_the_specification_example() -> None:
    headers = signed_headers(_SPEC_SECRET, _SPEC_ID, _SPEC_BODY, 1614265330)
    assert headers == {"webhook-id": _SPEC_ID, "webhook-timestamp": "1614265330",
                       "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}


def test_fresh_requests_verify_and_replays_or_tampering_do_not() -> None:
    now = time.time()
    for secret in (_SPEC_SECRET, "a raw key from an older configuration"):
        fresh = signed_headers(secret, "tb-notification-7-1", _SPEC_BODY, now)
        assert verify(secret, _SPEC_BODY, fresh)
        assert not verify(secret, _SPEC_BODY + b" ", fresh)
        assert not verify("whsec_b3RoZXIga2V5", _SPEC_BODY, fresh)
        # A captured request sent again ten minutes later: the timestamp is signed, so the
        # attacker can neither reuse it nor move it.
        old = signed_headers(secret, "tb-notification-7-1", _SPEC_BODY, now - 600)
        assert not verify(secret, _SPEC_BODY, old)
        moved = {**old, "webhook-timestamp": str(int(now))}
        assert not verify(secret, _SPEC_BODY, moved)
        assert not verify(secret, _SPEC_BODY, {"webhook-id": "x"})
        assert not verify(secret, _SPEC_BODY, {**fresh, "webhook-signature": "v1 no-comma"})
        assert not verify(secret, _SPEC_BODY, {**fresh, "webhook-signature": "v1,%%%"})
