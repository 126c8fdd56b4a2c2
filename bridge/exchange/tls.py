"""Where exchangelib may connect, and whom it trusts.

* **Addresses**: every request (redirects included: exchangelib follows them itself, each
  through the adapter) resolves its host and refuses it unless every address is allowed by
  the :class:`~bridge.providers.netguard.NetGuard` (``[providers] allow_networks``; an
  on-premises Exchange usually sits in a private range the operator must allow).
* **TLS**: verified against the system's CAs (or ``[exchange] ca_file``), or, for a server the
  operator pinned (``[exchange] pinned_certificates``: ``host=SHA-256 fingerprint`` pairs),
  accepted only when its certificate has exactly that fingerprint.  Nothing here ever turns
  verification off without a pin.

exchangelib opens its HTTP sessions with one adapter class for every protocol
(``BaseProtocol.HTTP_ADAPTER_CLS``); :func:`install` sets :class:`TrustAdapter` with the
operator's policy (process-wide).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter

from bridge.providers.netguard import NetGuard

__all__ = ["TrustAdapter", "check_target", "install", "parse_pins"]

_LOCK = threading.Lock()
# The policy of each EWS origin (scheme://host:port) a factory opened; other origins (not ours)
# keep requests' own behaviour.
_POLICIES: dict[str, dict[str, Any]] = {}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _policy(url: str) -> dict[str, Any]:
    with _LOCK:
        return dict(_POLICIES.get(_origin(url)) or {})


def parse_pins(text: str) -> dict[str, str]:
    """``host=fingerprint`` pairs (comma-separated; the fingerprint in hex, colons allowed)
    by lower-cased host; ``ValueError`` for a malformed pair."""
    pins: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        host, _, digest = part.partition("=")
        value = digest.replace(":", "").strip().lower()
        if not host.strip() or len(value) != 64 or any(c not in "0123456789abcdef"
                                                       for c in value):
            raise ValueError(f"{part!r} is no host=SHA-256 fingerprint pair")
        pins[host.strip().lower()] = value
    return pins


def _trust(url: str, verify: Any) -> tuple[Any, str | None]:
    """What requests verifies ``url`` with, and the pinned fingerprint (if the host has one)."""
    policy = _policy(url)
    ca_file, pins = policy.get("ca_file"), dict(policy.get("pins") or {})
    pin = pins.get((urlsplit(url).hostname or "").lower())
    if pin is not None and url.lower().startswith("https"):
        return False, pin
    return (ca_file if ca_file and verify is not False else verify), None


def check_target(url: str) -> None:
    """Raise ``UnsafeTarget`` unless ``url``'s host and every address it resolves to are
    allowed (no guard installed: everything is)."""
    guard: NetGuard | None = _policy(url).get("guard")
    if guard is None:
        return
    host = guard.check_url(url)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        guard.check_address(host, str(info[4][0]))


class TrustAdapter(HTTPAdapter):
    """requests' adapter with the operator's policy (see the module doc)."""

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Check the target's addresses, then send."""
        check_target(str(request.url))
        return super().send(request, *args, **kwargs)

    def get_connection_with_tls_context(self, request: Any, verify: Any, proxies: Any = None,
                                        cert: Any = None) -> Any:
        """The pool for ``request``: a pinned host's without CA check, else the CA file's."""
        checked, pin = _trust(str(request.url), verify)
        conn: Any = super().get_connection_with_tls_context(request, checked,
                                                            proxies=proxies, cert=cert)
        if pin is not None:
            conn.assert_fingerprint = pin
        return conn

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """As requests does, with the trust of :func:`_trust`."""
        checked, pin = _trust(url, verify)
        super().cert_verify(conn, url, checked, cert)
        if pin is not None:
            conn.assert_fingerprint = pin


def install(endpoint: str, ca_file: str | None, pins: Mapping[str, str],
            guard: NetGuard | None) -> None:
    """Make exchangelib use :class:`TrustAdapter`, with this policy for ``endpoint``'s origin
    (the adapter is process-wide; origins without a policy keep requests' behaviour)."""
    from exchangelib.protocol import BaseProtocol

    with _LOCK:
        _POLICIES[_origin(endpoint)] = {"ca_file": ca_file or None, "pins": dict(pins),
                                        "guard": guard}
    BaseProtocol.HTTP_ADAPTER_CLS = TrustAdapter
