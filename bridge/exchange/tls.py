"""Where exchangelib may connect, and whom it trusts.

* **Addresses**: every request (redirects included: exchangelib follows them itself, each
  through the adapter) resolves its host through the guard's lookup and refuses it unless
  every address is allowed by the :class:`~bridge.providers.netguard.NetGuard`
  (``[providers] allow_networks``; an on-premises Exchange usually sits in a private range the
  operator must allow); the request then goes to the address that was checked (the URL's
  host stays the ``Host`` header, the TLS server name and the name the certificate must
  carry), so a name that resolves differently a moment later is not connected to.
* **Size**: an answer longer than :data:`~bridge.providers.netguard.MAX_BODY_BYTES` is refused
  (by its ``Content-Length``, or while it is read).
* **Credentials** (an ``Authorization`` header) go only to the hosts the policy names: the
  EWS URL's host, or, while autodiscover runs (:func:`discovering`), the hosts derived from
  the e-mail address; any other request carrying them is refused.
* **TLS**: verified against the system's CAs (or ``[exchange] ca_file``), or, for a server the
  operator pinned (``[exchange] pinned_certificates``: ``host=SHA-256 fingerprint`` pairs),
  accepted only when its certificate has exactly that fingerprint.  Nothing here ever turns
  verification off without a pin.

exchangelib opens its HTTP sessions with one adapter class for every protocol
(``BaseProtocol.HTTP_ADAPTER_CLS``, autodiscover's ``AutodiscoverProtocol`` included);
:func:`install` sets :class:`TrustAdapter` with the operator's policy for one EWS origin
(process-wide), :func:`discovering` for every origin the calling thread reaches while it runs
autodiscover.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from requests import exceptions as http_errors
from requests.adapters import HTTPAdapter

from bridge.providers import netguard
from bridge.providers.netguard import NetGuard, UnsafeTarget

__all__ = ["TrustAdapter", "check_target", "discovering", "install", "parse_pins"]

_LOCK = threading.Lock()
# The policy of each EWS origin (scheme://host:port) a factory opened; other origins (not ours)
# keep requests' own behaviour.
_POLICIES: dict[str, dict[str, Any]] = {}
# Per thread: the policy of a running autodiscover (every origin), and the URL being sent.
_LOCAL = threading.local()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _policy(url: str) -> dict[str, Any]:
    active: dict[str, Any] | None = getattr(_LOCAL, "policy", None)
    if active is not None:
        return dict(active)
    with _LOCK:
        return dict(_POLICIES.get(_origin(url)) or {})


def _sending(url: str) -> str:
    """The URL as the caller gave it (the adapter sends to the checked address)."""
    current: tuple[str, str] | None = getattr(_LOCAL, "sending", None)
    return current[0] if current is not None else url


def _port(parts: Any) -> int:
    return int(parts.port or (443 if parts.scheme == "https" else 80))


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
    url = _sending(url)
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
    guard.resolve(host, _port(urlsplit(url)))


def _bound(response: Any, host: str) -> None:
    """Make reading ``response``'s body fail past ``netguard.MAX_BODY_BYTES``."""
    limit = netguard.MAX_BODY_BYTES
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        response.close()
        raise UnsafeTarget(f"{host} answered with {length} bytes, more than {limit}",
                           reason="size")
    raw = response.raw
    stream = getattr(raw, "stream", None)
    if stream is None:
        return

    def bounded(*args: Any, **kwargs: Any) -> Iterator[bytes]:
        total = 0
        for chunk in stream(*args, **kwargs):
            total += len(chunk)
            if total > limit:
                raise UnsafeTarget(f"{host} answered with more than {limit} bytes",
                                   reason="size")
            yield chunk

    raw.stream = bounded


class TrustAdapter(HTTPAdapter):
    """requests' adapter with the operator's policy (see the module doc)."""

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Check the target (scheme, credentials, addresses), then send to the address that
        was checked."""
        url = str(request.url)
        policy = _policy(url)
        guard: NetGuard | None = policy.get("guard")
        if guard is None:
            return super().send(request, *args, **kwargs)
        host = guard.check_url(url)
        may_receive: Callable[[str], bool] = policy.get("credentials") or (lambda _h: True)
        if "Authorization" in request.headers and not may_receive(host):
            raise UnsafeTarget(f"credentials are not sent to {host}: it is not the host that "
                               "was entered", reason="host")
        parts = urlsplit(url)
        try:
            address, port = guard.resolve(host, _port(parts))[0]
        except OSError as exc:  # as requests reports a name that does not resolve
            raise http_errors.ConnectionError(f"{host}: {exc}", request=request) from None
        netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        request.headers["Host"] = parts.netloc.rpartition("@")[2]
        request.url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        _LOCAL.sending = (url, host)
        try:
            response = super().send(request, *args, **kwargs)
        finally:
            request.url = url
            _LOCAL.sending = None
        response.url = url
        _bound(response, host)
        return response

    def build_connection_pool_key_attributes(self, request: Any, verify: Any,
                                             cert: Any = None) -> Any:
        """As requests does; the TLS server name is the host of the URL that was given."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert)
        current: tuple[str, str] | None = getattr(_LOCAL, "sending", None)
        if current is not None and host_params.get("scheme") == "https":
            pool_kwargs["server_hostname"] = current[1]
        return host_params, pool_kwargs

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

    host = (urlsplit(endpoint).hostname or "").lower()
    with _LOCK:
        _POLICIES[_origin(endpoint)] = {"ca_file": ca_file or None, "pins": dict(pins),
                                        "guard": guard,
                                        "credentials": lambda h: h.lower() == host}
    BaseProtocol.HTTP_ADAPTER_CLS = TrustAdapter


@contextmanager
def discovering(ca_file: str | None, pins: Mapping[str, str], guard: NetGuard,
                credentials: Callable[[str], bool]) -> Iterator[None]:
    """Within: every exchangelib request of the calling thread, whatever its origin, follows
    this policy; ``credentials`` says which hosts may receive the login (autodiscover)."""
    from exchangelib.protocol import BaseProtocol

    BaseProtocol.HTTP_ADAPTER_CLS = TrustAdapter
    previous = getattr(_LOCAL, "policy", None)
    _LOCAL.policy = {"ca_file": ca_file or None, "pins": dict(pins), "guard": guard,
                     "credentials": credentials}
    try:
        yield
    finally:
        _LOCAL.policy = previous
