"""Who is calling: HTTP Basic and NTLM, as IIS in front of Exchange does it.

A request without (valid) credentials gets 401 with one ``WWW-Authenticate`` header per enabled
scheme (``NTLM``, ``Basic realm="…"``; config knob ``auth_schemes``) and IIS's HTML body.
Basic accepts ``user@domain``, ``DOMAIN\\user`` or ``user``.  NTLM is connection-oriented: the
NEGOTIATE message is answered with a 401 carrying the CHALLENGE, the AUTHENTICATE message on the
same connection is checked, and the connection then stays signed in (no header needed on later
requests), as with IIS's default ``authPersistNonNTLM``.
"""

from __future__ import annotations

import base64
import binascii
import weakref
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from emulators.ews import ntlm
from emulators.ews.state import EwsState, Mailbox

__all__ = ["Authenticator"]

_PAGE = ("<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
         "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n"
         "<html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n"
         "<title>401 - Unauthorized: Access is denied due to invalid credentials.</title>\r\n"
         "</head>\r\n<body>\r\n<h2>401 - Unauthorized: Access is denied due to invalid "
         "credentials.</h2>\r\n<h3>You do not have permission to view this directory or page "
         "using the credentials that you supplied.</h3>\r\n</body>\r\n</html>\r\n")


def _match(state: EwsState, user: str, domain: str = "") -> Mailbox | None:
    user = user.strip()
    if "\\" in user:
        domain, user = user.split("\\", 1)
    if "@" in user:
        return state.mailbox(user)
    for box in state.mailboxes.values():
        if box.username.lower() == user.lower() and domain.upper() in ("", box.domain.upper()):
            return box
    return None


class Authenticator:
    """Per-app authentication with NTLM connection state."""

    def __init__(self) -> None:
        self._challenges: weakref.WeakKeyDictionary[Any, bytes] = weakref.WeakKeyDictionary()
        self._signed_in: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

    def unauthorized(self, state: EwsState, challenge: str | None = None) -> web.Response:
        """401 with the enabled schemes (or the NTLM CHALLENGE)."""
        state.counters.challenges += 1
        headers: CIMultiDict[str] = CIMultiDict()
        if challenge is not None:
            headers.add("WWW-Authenticate", f"NTLM {challenge}")
        else:
            for scheme in state.config.auth_schemes:
                if scheme == "Basic":
                    headers.add("WWW-Authenticate", f'Basic realm="{state.config.realm}"')
                else:
                    headers.add("WWW-Authenticate", scheme)
        headers["Server"] = "Microsoft-IIS/10.0"
        headers["X-Powered-By"] = "ASP.NET"
        return web.Response(status=401, text=_PAGE, content_type="text/html", headers=headers)

    def _basic(self, state: EwsState, value: str) -> Mailbox | None:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, ValueError):
            return None
        box = _match(state, user)
        return box if box is not None and box.password == password else None

    def _ntlm(self, state: EwsState, transport: Any, value: str
              ) -> Mailbox | web.Response | None:
        try:
            message = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        flags = ntlm.negotiate_flags(message)
        if flags is not None:
            domain = next(iter(state.mailboxes.values())).domain if state.mailboxes else "EXCH"
            reply, server_challenge = ntlm.challenge_message(
                domain, "EXCH01", state.config.realm.split(".", 1)[-1], flags)
            self._challenges[transport] = server_challenge
            return self.unauthorized(state, base64.b64encode(reply).decode())
        auth = ntlm.parse_authenticate(message)
        server_challenge = self._challenges.pop(transport, b"")
        if auth is None or not server_challenge:
            return None
        box = _match(state, auth.user, auth.domain)
        if box is None or not ntlm.verify_v2(auth, box.password, server_challenge):
            return None
        self._signed_in[transport] = box.email.lower()
        return box

    def check(self, state: EwsState, request: web.Request) -> Mailbox | web.Response:
        """The signed-in mailbox, or the 401 to send."""
        transport = request.transport
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        schemes = state.config.auth_schemes
        result: Mailbox | web.Response | None = None
        if scheme.lower() == "basic" and "Basic" in schemes:
            result = self._basic(state, value.strip())
        elif scheme.lower() in ("ntlm", "negotiate") and "NTLM" in schemes and transport:
            result = self._ntlm(state, transport, value.strip())
        elif not header and transport is not None and transport in self._signed_in:
            result = state.mailbox(self._signed_in[transport])
        if result is None:
            if header:
                state.counters.auth_failures += 1
            return self.unauthorized(state)
        return result
