"""TLS for EWS servers: verified against the system's CAs (or ``[exchange] ca_file``), or, for a
server the operator pinned (``[exchange] pinned_certificates``: ``host=SHA-256 fingerprint``
pairs), accepted only when its certificate has exactly that fingerprint.

exchangelib opens its HTTP sessions with one adapter class for every protocol
(``BaseProtocol.HTTP_ADAPTER_CLS``); :func:`install` sets :class:`TrustAdapter` with the
operator's trust.  Nothing here ever turns verification off without a pin.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter

__all__ = ["TrustAdapter", "install", "parse_pins"]

_LOCK = threading.Lock()
_TRUST: dict[str, Any] = {"ca_file": None, "pins": {}}


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
    with _LOCK:
        ca_file, pins = _TRUST["ca_file"], dict(_TRUST["pins"])
    pin = pins.get((urlsplit(url).hostname or "").lower())
    if pin is not None and url.lower().startswith("https"):
        return False, pin
    return (ca_file if verify is True and ca_file else verify), None


class TrustAdapter(HTTPAdapter):
    """requests' adapter with the operator's trust (see the module doc)."""

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


def install(ca_file: str | None, pins: Mapping[str, str]) -> None:
    """Make exchangelib use :class:`TrustAdapter` with this trust (process-wide)."""
    from exchangelib.protocol import BaseProtocol

    with _LOCK:
        _TRUST["ca_file"] = ca_file or None
        _TRUST["pins"] = dict(pins)
    BaseProtocol.HTTP_ADAPTER_CLS = TrustAdapter
