"""Autodiscover: the EWS URL of a mailbox from its e-mail address, the way Exchange clients find
it, with exchangelib's own :class:`~exchangelib.autodiscover.Autodiscovery` (SOAP
``GetUserSettings``; steps: ``https://<domain>/autodiscover/autodiscover.svc``,
``https://autodiscover.<domain>/…``, the HTTP redirect of ``http://autodiscover.<domain>/…``,
the DNS SRV record ``_autodiscover._tcp.<domain>``, then redirect answers).

What this module changes about exchangelib's run (blocking; call it in a worker thread):

* Every request goes through :func:`bridge.exchange.tls.discovering`: the operator's address
  ranges (after the guard's lookup), TLS trust (``[exchange] ca_file``, pinned certificates)
  and the credential rule below, for whatever host a step or redirect names.
* DNS (the A check of each candidate host and the SRV step) asks the guard's
  :class:`~bridge.providers.netguard.Lookup` instead of a dnspython resolver of its own, so tests
  give a fixed table.
* The login goes only to hosts derived from the e-mail address: its domain and the domain's
  subdomains (and the guard's credential host patterns).  A redirect, SRV record, e-mail
  redirect or EWS URL pointing anywhere else is refused (``"redirect"``), Exchange Online hosts
  are named as such (``"exchange_online"``): EWS there is being switched off, so such
  mailboxes belong to the Outlook (Microsoft 365) provider.
* At most :data:`~bridge.providers.netguard.MAX_REDIRECTS` redirects, a deadline for the
  whole run, and no autodiscover cache (exchangelib's keeps endpoints in a shelve file in the
  temporary directory, shared by every process of the user): the connection stores the EWS URL
  it found instead.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import dns.resolver
import requests
from exchangelib import Credentials
from exchangelib import errors as ews_errors
from exchangelib.autodiscover import Autodiscovery
from exchangelib.autodiscover.protocol import AutodiscoverProtocol
from exchangelib.configuration import Configuration
from exchangelib.util import CONNECTION_ERRORS, get_domain

from bridge.errors import FlowError
from bridge.exchange import tls
from bridge.providers.netguard import MAX_REDIRECTS, Lookup, NetGuard, UnsafeTarget

__all__ = ["EXCHANGE_ONLINE_HOSTS", "Discovered", "autodiscover", "is_exchange_online"]

_LOGGER = logging.getLogger(__name__)

# Hosts of Exchange Online (Microsoft 365) autodiscover and EWS.
EXCHANGE_ONLINE_HOSTS = ("outlook.office365.com", "outlook.office.com", "*.outlook.com",
                         "*.office365.com", "*.onmicrosoft.com", "*.microsoftonline.com",
                         "outlook.live.com", "*.outlook.live.com")


def is_exchange_online(host_or_email: str) -> bool:
    """Whether a host (or an e-mail address's domain) belongs to Exchange Online."""
    host = host_or_email.rpartition("@")[2].lower().rstrip(".")
    return any(fnmatch.fnmatchcase(host, p) or host == p.lstrip("*.")
               for p in EXCHANGE_ONLINE_HOSTS)


@dataclass(frozen=True)
class Discovered:
    """What autodiscover found: the EWS URL, the mailbox's address, the newest API version
    the server names (may be empty) and the autodiscover endpoint that answered."""

    ews_url: str
    email: str
    api_version: str
    endpoint: str


class _Online(Exception):
    """A step, redirect or answer led to Exchange Online."""


@dataclass
class _Trail:
    """Why steps failed, for the message at the end (the first refusal of each kind)."""

    refused: dict[str, str] = field(default_factory=dict)

    def note(self, kind: str, text: str) -> None:
        self.refused.setdefault(kind, text)


class _Srv:
    """An SRV answer as dnspython's rdata prints it (what exchangelib parses)."""

    def __init__(self, priority: int, weight: int, port: int, target: str) -> None:
        self.text = f"{priority} {weight} {port} {target}."

    def to_text(self) -> str:
        return self.text


class _Resolver:
    """The part of ``dns.resolver.Resolver`` exchangelib's autodiscovery uses, answered by the
    guard's lookup."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup

    def resolve(self, qname: str, rdtype: str, lifetime: float | None = None) -> list[Any]:
        name = qname.rstrip(".")
        found: list[Any] = []
        if rdtype == "SRV":
            found = [_Srv(a.priority, a.weight, a.port, a.target)
                     for a in self.lookup.srv(name)]
        else:
            # exchangelib only asks whether the name resolves (its https or http port)
            parts = urlsplit(f"//{name}")
            for port in (parts.port or 443, 80):
                try:
                    found = list(self.lookup.addresses(parts.hostname or name, port))
                except OSError:
                    continue
                break
        if not found:
            raise dns.resolver.NXDOMAIN
        return found


class _GuardedAutodiscovery(Autodiscovery):  # type: ignore[misc]
    """exchangelib's autodiscovery with this module's rules (see the module doc)."""

    MAX_REDIRECTS = MAX_REDIRECTS
    email: str

    def __init__(self, email: str, credentials: Credentials, *, guard: NetGuard,
                 may_receive: Any, deadline: float, trail: _Trail) -> None:
        super().__init__(email=email, credentials=credentials)
        self._guard = guard
        self._may_receive = may_receive
        self._deadline = deadline
        self._trail = trail
        self.answered = ""

    @property
    def resolver(self) -> _Resolver:
        return _Resolver(self._guard.lookup)

    def _in_time(self) -> None:
        if time.monotonic() > self._deadline:
            raise ews_errors.AutoDiscoverFailed("autodiscover took too long")

    def _host_checked(self, url: str) -> bool:
        """Whether ``url`` may receive the login (``_Online`` for Exchange Online)."""
        host = (urlsplit(url).hostname or "").lower()
        if is_exchange_online(host):
            raise _Online(host)
        if not self._may_receive(host):
            self._trail.note("redirect", f"autodiscover pointed to {host}, which is not a "
                                         "host of the e-mail address's domain")
            return False
        return True

    def discover(self) -> Any:
        """Steps 1-6 without exchangelib's cache; e-mail redirects stay on the same domain."""
        email = self.email
        self._emails_visited.append(email.lower())
        ad = self._step_1(hostname=get_domain(email))
        if ad.redirect_address:
            address = str(ad.redirect_address)
            if is_exchange_online(address):
                raise _Online(address)
            if address.lower() in self._emails_visited:
                raise ews_errors.AutoDiscoverCircularRedirect(
                    "We were redirected to an email address we have already seen")
            if not self._may_receive(get_domain(address)):
                self._trail.note("redirect", f"autodiscover redirected to the address "
                                             f"{address}, of another domain")
                raise ews_errors.AutoDiscoverFailed("redirect to another domain")
            self.email = address
            return self.discover()
        self.clear()
        return ad

    def _redirect_url_is_valid(self, url: str) -> bool:
        if not self._host_checked(url):
            return False
        return bool(super()._redirect_url_is_valid(url))

    def _get_unauthenticated_response(self, url: str, method: str = "post") -> Any:
        self._in_time()
        try:
            return super()._get_unauthenticated_response(url, method=method)
        except UnsafeTarget as exc:
            self._trail.note(exc.flow_reason, str(exc))
            raise ews_errors.TransportError(str(exc)) from None
        except ews_errors.TransportError as exc:
            if isinstance(exc.__context__, requests.exceptions.SSLError):
                self._trail.note("tls", f"{urlsplit(url).hostname}: {exc.__context__}")
            raise

    def _attempt_response(self, url: str) -> tuple[bool, Any]:
        """exchangelib's attempt (a ``GetUserSettings`` with the login), to allowed hosts only,
        its failures noted, nothing cached.  Copied from exchangelib 5.6's
        ``Autodiscovery._attempt_response`` without its cache write (see DESIGN.md)."""
        self._in_time()
        self._urls_visited.append(url.lower())
        if not self._host_checked(url):
            return False, None
        try:
            self._ensure_valid_hostname(url)
        except ews_errors.TransportError:
            return False, None
        protocol = AutodiscoverProtocol(config=Configuration(
            service_endpoint=url, credentials=self.credentials,
            retry_policy=self.INITIAL_RETRY_POLICY))
        try:
            user_response = protocol.get_user_settings(user=self.email)
        except ews_errors.RedirectError as exc:
            if self._redirect_url_is_valid(url=exc.url):
                return self._attempt_response(url=exc.url)
            return False, None
        except UnsafeTarget as exc:
            self._trail.note(exc.flow_reason, str(exc))
            return False, None
        except requests.exceptions.SSLError as exc:
            self._trail.note("tls", f"{urlsplit(url).hostname}: {exc}")
            return False, None
        except (ews_errors.TransportError, *CONNECTION_ERRORS) as exc:
            if isinstance(exc.__context__, requests.exceptions.SSLError):
                self._trail.note("tls", f"{urlsplit(url).hostname}: {exc.__context__}")
            _LOGGER.debug("autodiscover at %s failed: %s", url, type(exc).__name__)
            return False, None
        finally:
            protocol.close()
        self.answered = url
        return True, user_response


def autodiscover(email: str, username: str, password: str, *, guard: NetGuard,
                 ca_file: str | None, pins: Any, budget: float = 60.0) -> Discovered:
    """The EWS URL of ``email``'s mailbox (blocking); :class:`FlowError` with the reason the
    admin page explains when there is none: ``"exchange_online"``, ``"redirect"``,
    ``"unsafe_url"``, ``"tls"``, ``"auth"`` or ``"autodiscover"`` (nothing answered)."""
    domain = get_domain(email).lower()
    allowed = guard.with_hosts([f"*.{domain}"])

    def may_receive(host: str) -> bool:
        return allowed.may_send_credentials(domain, host)

    if is_exchange_online(domain):
        raise FlowError("exchange_online", f"{domain} is a Microsoft 365 domain")
    trail = _Trail()
    finder = _GuardedAutodiscovery(email, Credentials(username, password), guard=guard,
                                   may_receive=may_receive,
                                   deadline=time.monotonic() + budget, trail=trail)
    try:
        with tls.discovering(ca_file, pins, guard, may_receive):
            answer = finder.discover()
    except _Online as exc:
        raise FlowError("exchange_online", f"autodiscover leads to Exchange Online ({exc})"
                        ) from None
    except (ews_errors.UnauthorizedError, ews_errors.ErrorNonExistentMailbox) as exc:
        raise FlowError("auth", f"autodiscover refused the login ({type(exc).__name__})"
                        ) from None
    except ews_errors.AutoDiscoverError as exc:
        for kind in ("redirect", "unsafe_url", "too_large", "tls", "other"):
            if kind in trail.refused:
                raise FlowError(kind, trail.refused[kind]) from None
        raise FlowError("autodiscover", f"no autodiscover service answered for {domain} "
                                        f"({str(exc)[:120]})") from None
    ews_url = str(answer.ews_url or answer.user_settings.get("internal_ews_url") or "")
    if not ews_url:
        raise FlowError("autodiscover", f"autodiscover for {domain} named no EWS URL")
    host = (urlsplit(ews_url).hostname or "").lower()
    if is_exchange_online(host):
        raise FlowError("exchange_online", f"the mailbox is in Exchange Online ({host})")
    if not ews_url.lower().startswith("https://"):
        raise FlowError("redirect", f"autodiscover named an EWS URL without TLS ({ews_url})")
    if not may_receive(host):
        raise FlowError("redirect", f"autodiscover named {host}, which is not a host of the "
                                    "e-mail address's domain; enter the EWS URL instead")
    try:
        version = answer.version
    except ValueError:
        version = None
    return Discovered(ews_url, str(answer.autodiscover_smtp_address or email),
                      str(version.api_version) if version else "",
                      finder.answered)
