"""WSGI middleware in front of Radicale for what stock Radicale gets wrong with hostile input.

:class:`Guard` answers with a 4xx and a one-line plain-text reason, before Radicale sees the
request, when:

* the path or a ``Destination`` has control characters, backslashes, ``.``/``..`` or hidden
  segments, or encoded traversal (``%2e``, ``%2f``, ``%5c``, ``%00``): 400;
* ``Authorization: Basic`` is malformed or names an impossible user: 400;
* ``Content-Type`` names an unknown charset: 415; the body does not decode with it: 415;
* the body is larger than ``max_request_size`` (by ``Content-Length`` before reading, or while
  de-chunking or reading): 413; shorter than announced: 400; too slow: 408;
* a PUT to a resource (a path not ending in ``/``) is larger than ``max_resource_size``: 413
  before Radicale parses it (Radicale would parse all of it first: 15 s for 15 MB);
* there is a body but no credentials: 401, without reading the body;
* XML carries a DOCTYPE or entity declarations, nests deeper than ``max_xml_depth``, or does not
  parse: 400;
* a REPORT asks Radicale to expand recurrences (``C:expand``, ``free-busy-query``) over an open or
  longer than ``max_expand_days`` time range: 400;
* a MOVE goes to another host: 400 (Radicale would answer 502).

It also repairs two things real clients send: hrefs wrapped in whitespace in a REPORT (iOS
Reminders) are trimmed, and bodies in another charset are handed on as UTF-8.

Bodies are read once, capped, and handed to Radicale as an in-memory stream.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlparse
from xml.parsers import expat

from radicale import utils as radicale_utils

from bridge.names import InvalidName, check_user_name

__all__ = ["RAW_CHUNKED", "Guard"]

_LOGGER = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Set by our HTTP server when ``wsgi.input`` is the raw socket (chunked framing not removed).
RAW_CHUNKED = "termin_bridge.raw_chunked"

_XML_METHODS = frozenset({"PROPFIND", "PROPPATCH", "REPORT", "MKCOL", "MKCALENDAR"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CHARSET_PARAM = re.compile(r"charset\s*=\s*\"?[^;\"]*\"?", re.IGNORECASE)
_HREF_SPACE = re.compile(r"(<(?:[\w.-]+:)?href\b[^>]*>)\s*([^<]*?)\s*(</(?:[\w.-]+:)?href>)")
_ENCODED = re.compile(r"%(2e|2f|5c|00)", re.IGNORECASE)
_PUT_START = re.compile(r"\ufeff?\s*BEGIN:(?:VCALENDAR|VCARD|VLIST)\b", re.IGNORECASE)
_CALDAV = "urn:ietf:params:xml:ns:caldav"
_READ_CHUNK = 65_536


class Rejected(Exception):
    """A request the guard answers itself."""

    def __init__(self, status: int, reason: str, message: str,
                 headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.headers = headers or []


def _bad(message: str) -> Rejected:
    return Rejected(400, "Bad Request", message)


def check_path(path: str, what: str = "path") -> None:
    """Refuse traversal tricks, control characters and hidden segments in a decoded path."""
    if len(path) > 2048:
        raise Rejected(414, "URI Too Long", f"{what} is too long")
    if _CONTROL.search(path) or "\\" in path:
        raise _bad(f"{what} contains control characters or backslashes")
    if _ENCODED.search(path):
        raise _bad(f"{what} contains encoded '.', '/', '\\' or NUL")
    for segment in path.split("/"):
        if segment in (".", "..") or (segment.startswith(".") and segment != ".well-known"):
            raise _bad(f"{what} contains '.', '..' or a segment starting with '.'")


def _check_authorization(value: str) -> bool:
    """True when Basic credentials are present; raises for malformed ones."""
    scheme, _, data = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(data.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _bad("malformed Basic credentials") from exc
    login, sep, _password = decoded.partition(":")
    if not sep:
        raise _bad("malformed Basic credentials (no ':')")
    try:
        check_user_name(login.lower())
    except InvalidName as exc:
        raise _bad("invalid user name in credentials") from exc
    return True


def _charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"')
            try:
                codecs.lookup(charset)
            except LookupError as exc:
                raise Rejected(415, "Unsupported Media Type",
                               f"unknown charset {charset[:40]!r}") from exc
            return charset
    return None


def _parse_utc(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise _bad(f"invalid time-range value {value[:40]!r}") from exc


class _XmlCheck:
    """One pass of expat over a request body: structure, declarations, expansion ranges."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.depth = 0
        self.root = ""
        self.expand = False
        self.ranges: list[tuple[datetime | None, datetime | None]] = []

    def run(self, text: str) -> None:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._entity
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        try:
            parser.Parse(text, True)
        except expat.ExpatError as exc:
            raise _bad(f"malformed XML: {expat.ErrorString(exc.code)}") from exc

    def _doctype(self, *_args: Any) -> None:
        raise _bad("XML with a DOCTYPE is not accepted")

    def _entity(self, *_args: Any) -> None:
        raise _bad("XML entity declarations are not accepted")

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise _bad(f"XML nested deeper than {self.max_depth} levels")
        if self.depth == 1:
            self.root = name
        if name == f"{_CALDAV} expand":
            self.expand = True
            self.ranges.append((_parse_utc(attrs.get("start")), _parse_utc(attrs.get("end"))))
        elif name == f"{_CALDAV} time-range":
            self.ranges.append((_parse_utc(attrs.get("start")), _parse_utc(attrs.get("end"))))

    def _end(self, _name: str) -> None:
        self.depth -= 1


class Guard:
    """The WSGI middleware; wrap Radicale's ``Application`` with it."""

    def __init__(self, app: WSGIApp, *, max_request_size: int, max_xml_depth: int = 64,
                 max_expand_days: int = 731, realm: str = "termin-bridge",
                 max_resource_size: int | None = None) -> None:
        self.app = app
        self.max_request_size = max_request_size
        self.max_resource_size = max_resource_size
        self.max_xml_depth = max_xml_depth
        self.max_expand_days = max_expand_days
        self.realm = realm

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        """Check the request; answer 4xx for hostile input, else pass it on to Radicale."""
        try:
            self._check(environ)
        except Rejected as rejected:
            _LOGGER.info("refused %s %r: %d %s", environ.get("REQUEST_METHOD", "?"),
                         environ.get("PATH_INFO", "")[:200], rejected.status, rejected.message)
            body = f"termin-bridge: {rejected.message}\n".encode()
            start_response(f"{rejected.status} {rejected.reason}", [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                *rejected.headers,
            ])
            return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]
        return self.app(environ, start_response)

    # -- checks ------------------------------------------------------------------------------
    def _check(self, environ: dict[str, Any]) -> None:
        method = str(environ.get("REQUEST_METHOD", "")).upper()
        check_path(str(environ.get("PATH_INFO", "")))
        if method == "MOVE":
            self._check_destination(environ)
        authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
        has_credentials = bool(authorization) and _check_authorization(authorization)
        charset = _charset(str(environ.get("CONTENT_TYPE", "")))
        limit = self.max_request_size
        path = str(environ.get("PATH_INFO", ""))
        if method == "PUT" and not path.endswith("/") and self.max_resource_size is not None:
            # One resource; a whole calendar is PUT to the collection URL (ending in '/').
            limit = min(limit, self.max_resource_size)
        body = self._read_body(environ, has_credentials, limit)
        if charset is not None:
            # Radicale decodes the Basic credentials with the body's charset too (a UTF-16 body
            # made it fail with 500); hand it UTF-8 throughout.
            environ["CONTENT_TYPE"] = _CHARSET_PARAM.sub("charset=utf-8",
                                                         str(environ["CONTENT_TYPE"]))
        if body is None:
            return
        try:
            text = body.decode(charset or "utf-8")
        except (UnicodeDecodeError, LookupError) as exc:
            raise Rejected(415, "Unsupported Media Type",
                           f"request body is not valid {charset or 'UTF-8'}") from exc
        if method == "PUT" and text.strip() and not _PUT_START.match(text):
            # Radicale answered 500 ("Can't determine collection tag") for a collection PUT
            # of e.g. "F:" (found by fuzzing); nothing else is a valid PUT body either.
            raise _bad("a PUT body must start with BEGIN:VCALENDAR or BEGIN:VCARD")
        reencode = charset is not None and codecs.lookup(charset).name != "utf-8"
        if method in _XML_METHODS and text.strip():
            self._check_xml(text)
            if method == "REPORT":
                # iOS Reminders wraps multiget hrefs in whitespace; Radicale would answer 404.
                trimmed = _HREF_SPACE.sub(r"\1\2\3", text)
                reencode = reencode or trimmed != text
                text = trimmed
        if reencode:
            body = text.encode("utf-8")
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input"] = io.BytesIO(body)

    def _check_destination(self, environ: dict[str, Any]) -> None:
        raw = str(environ.get("HTTP_DESTINATION", ""))
        if not raw:
            return
        url = urlparse(unquote(raw))
        check_path(url.path, "Destination")
        if url.netloc:
            netloc = url.netloc
            if url.port is None:
                netloc += ":443" if url.scheme == "https" else ":80"
            if netloc != radicale_utils.get_server_netloc(environ, force_port=True):
                raise _bad("MOVE to another server is not supported")

    def _unauthorized(self) -> Rejected:
        return Rejected(401, "Unauthorized", "authentication required",
                        [("WWW-Authenticate", f'Basic realm="{self.realm}"')])

    def _too_large(self, limit: int) -> Rejected:
        what = "request body" if limit == self.max_request_size else "resource"
        return Rejected(413, "Content Too Large", f"{what} larger than {limit} bytes")

    def _read_body(self, environ: dict[str, Any], has_credentials: bool, limit: int
                   ) -> bytes | None:
        chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
        raw_length = str(environ.get("CONTENT_LENGTH") or "").strip()
        if not chunked and not raw_length:
            return None
        if raw_length and not raw_length.isdigit():
            raise _bad("invalid Content-Length")
        length = int(raw_length) if raw_length and not chunked else None
        if length == 0:
            return b""
        if length is not None and length > limit:
            raise self._too_large(limit)
        if not has_credentials:
            raise self._unauthorized()
        stream = environ["wsgi.input"]
        try:
            if length is not None:
                return self._read_exact(stream, length)
            if environ.get(RAW_CHUNKED):
                return self._read_chunked(stream, limit)
            return self._read_to_end(stream, limit)
        except TimeoutError as exc:
            raise Rejected(408, "Request Timeout", "request body arrived too slowly") from exc

    @staticmethod
    def _read_exact(stream: Any, length: int) -> bytes:
        parts: list[bytes] = []
        remaining = length
        while remaining > 0:
            data = stream.read(min(remaining, _READ_CHUNK))
            if not data:
                raise _bad(f"request body shorter than Content-Length ({length} bytes)")
            parts.append(data)
            remaining -= len(data)
        return b"".join(parts)

    def _read_to_end(self, stream: Any, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while data := stream.read(_READ_CHUNK):
            total += len(data)
            if total > limit:
                raise self._too_large(limit)
            parts.append(data)
        return b"".join(parts)

    def _read_chunked(self, stream: Any, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = stream.readline(1026)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError as exc:
                raise _bad("malformed chunked body") from exc
            if size < 0:
                raise _bad("malformed chunked body")
            if size == 0:
                while stream.readline(1026) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > limit:
                raise self._too_large(limit)
            parts.append(self._read_exact(stream, size))
            if stream.readline(3) not in (b"\r\n", b"\n"):
                raise _bad("malformed chunked body")

    def _check_xml(self, text: str) -> None:
        check = _XmlCheck(self.max_xml_depth)
        check.run(text)
        if not (check.expand or check.root == f"{_CALDAV} free-busy-query"):
            return
        limit = self.max_expand_days * 86_400
        for start, end in check.ranges:
            if start is None or end is None:
                raise _bad("expanding recurrences needs a time range with start and end")
            if (end - start).total_seconds() > limit:
                raise _bad(f"expansion time range longer than {self.max_expand_days} days")
