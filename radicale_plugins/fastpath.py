"""Fast path for the hot CalDAV reads, between the guard and Radicale.

:class:`FastPath` wraps Radicale's ``Application`` and answers, straight from the store rows:

* ``PROPFIND`` with ``Depth: 1`` on a calendar asking only for ``getetag``, ``getcontenttype``,
  ``resourcetype``, ``displayname``, ``getlastmodified``, ``sync-token`` and ``CS:getctag``;
* ``REPORT sync-collection`` (``sync-level`` 1, initial or with a token) and
  ``calendar-multiget`` asking for ``getetag``, ``calendar-data`` and ``getcontenttype`` (other
  well-known properties are answered 404, as Radicale does in a REPORT);
* ``GET``/``HEAD`` of one item of a calendar.

It logs in with Radicale's own auth plugin and checks Radicale's own rights plugin, and hands
the request to Radicale unchanged whenever anything is not exactly one of these shapes: other
properties or Depth values, ``Prefer``/``Brief``/``If-*`` headers, query strings, failed logins,
missing principals, collections or items, denied access (so every 401, 403 and 404 of the
target itself is Radicale's), invalid sync tokens, answers over Radicale's occurrence limit, and
Radicale's sharing feature.  The answers equal Radicale's in status, headers (``DAV``,
``Content-Type``, ``ETag``, ``Last-Modified``, ``Content-Encoding: gzip``) and multistatus
(``tests/caldav/test_fastpath.py`` compares both paths request by request).
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import logging
import zlib
from collections.abc import Callable, Iterable
from http import client
from typing import Any
from urllib.parse import unquote, urlparse

from radicale import httputils, pathutils, rights
from radicale.app import Application
from radicale.app import base as app_base
from radicale.auth import AuthContext

from bridge.model import ItemHead, ItemRecord
from radicale_plugins import fastxml as fx
from radicale_plugins.aliases import is_alias_name
from radicale_plugins.collection import Collection
from radicale_plugins.guard import WSGIApp
from radicale_plugins.items import http_date
from radicale_plugins.storage import Storage

__all__ = ["FastPath", "with_fast_path"]

_LOGGER = logging.getLogger(__name__)

_Answer = tuple[int, list[tuple[str, str]], bytes]
_DELEGATE_HEADERS = ("HTTP_PREFER", "HTTP_BRIEF", "HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH",
                     "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_IF_RANGE",
                     "HTTP_IF", "HTTP_RANGE", "HTTP_IF_SCHEDULE_TAG_MATCH")


@functools.lru_cache(maxsize=4096)
def _date(timestamp: float) -> str:
    return http_date(timestamp)


def _sanitized(path: str) -> str:
    """``pathutils.sanitize_path`` (slow), skipped for paths it would return unchanged."""
    probe = path + "/"
    if path.startswith("/") and "//" not in path and "/./" not in probe and "/../" not in probe:
        return path
    return pathutils.sanitize_path(path)


class _Context:
    """One authenticated request on a calendar (or an item of one)."""

    def __init__(self, user: str, groups: set[str], base_prefix: str, path: str,
                 collection: Collection, record: ItemRecord | None) -> None:
        self.user = user
        self.groups = groups
        self.base_prefix = base_prefix
        self.path = path
        self.collection = collection
        self.record = record  # the item a GET names, when it exists

        self.prefix = fx.make_href(base_prefix, f"/{collection.path}/")

    def href(self, item_href: str) -> str:
        """The href of an item of the collection (as Radicale writes it)."""
        return self.prefix + fx.quote_path(item_href)


class FastPath:
    """The WSGI layer; ``app`` is Radicale's ``Application`` on our storage."""

    def __init__(self, app: Application) -> None:
        self.app = app
        storage = app._storage
        if not isinstance(storage, Storage):
            raise TypeError("the fast path needs radicale_plugins.storage")
        self.storage = storage
        self.store = storage.store
        self.encoding = str(app._encoding)
        self.max_occurrence = int(app.configuration.get("reporting", "max_expand_occurrence"))
        self.answered = 0  # requests answered here (not handed to Radicale)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        """Answer a hot read, or pass the request on to Radicale unchanged."""
        try:
            answer = self._answer(environ)
        except Exception:
            _LOGGER.exception("fast path failed; passing the request to Radicale")
            answer = None
        stream = environ.get("wsgi.input")
        if answer is None:
            if isinstance(stream, io.BytesIO):
                stream.seek(0)
            return self.app(environ, start_response)
        self.answered += 1
        status, headers, body = answer
        if "gzip" in [e.strip() for e in str(environ.get("HTTP_ACCEPT_ENCODING", "")).split(",")
                      if e.strip()]:
            compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
            body = compressor.compress(body) + compressor.flush()
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        headers.extend(self.app._extra_headers.items())
        start_response(f"{status} {client.responses[status]}", headers)
        _LOGGER.debug("fast path: %s %r %d", environ.get("REQUEST_METHOD"),
                      environ.get("PATH_INFO"), status)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    # -- request checks ----------------------------------------------------------------------
    def _answer(self, environ: dict[str, Any]) -> _Answer | None:
        method = str(environ.get("REQUEST_METHOD", "")).upper()
        if method not in ("PROPFIND", "REPORT", "GET", "HEAD"):
            return None
        if any(key in environ for key in _DELEGATE_HEADERS) or environ.get("QUERY_STRING"):
            return None
        if self.app._sharing._enabled or self.app._script_name:
            return None
        if method == "PROPFIND":
            if environ.get("HTTP_DEPTH") != "1":
                return None
            props = fx.classify_propfind(self._body(environ))
            if props is None:
                return None
            context = self._context(environ, item=False)
            return self._propfind(context, props) if context else None
        if method == "REPORT":
            if environ.get("HTTP_DEPTH") not in (None, "0", "1"):
                return None
            report = fx.classify_report(self._body(environ))
            if report is None:
                return None
            context = self._context(environ, item=False)
            if context is None:
                return None
            if report.kind == "sync":
                return self._sync(context, report)
            return self._multiget(context, report)
        if environ.get("CONTENT_LENGTH") not in (None, "", "0"):
            return None
        context = self._context(environ, item=True)
        return self._get(context) if context else None

    def _body(self, environ: dict[str, Any]) -> str:
        stream = environ.get("wsgi.input")
        if not isinstance(stream, io.BytesIO):
            return ""  # the guard always hands bodies on in memory
        raw = stream.getvalue()
        return httputils.decode_request(self.app.configuration, environ, raw)

    def _base_prefix(self, environ: dict[str, Any], path: str) -> str | None:
        reverse_proxy = any(environ.get(k) for k in (
            "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO",
            "HTTP_X_FORWARDED_SERVER"))
        key = "HTTP_X_SCRIPT_NAME" if "HTTP_X_SCRIPT_NAME" in environ else "SCRIPT_NAME"
        prefix = str(environ.get(key, ""))
        if prefix and not prefix.startswith("/"):
            return None
        prefix = prefix.rstrip("/")
        if prefix and reverse_proxy and path.startswith(prefix):
            return None  # Radicale strips the prefix from the path then: leave it to Radicale
        return prefix

    def _login(self, environ: dict[str, Any]) -> tuple[str, set[str]] | None:
        app = self.app
        if app._auth.get_external_login(environ):
            return None
        authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
        if not authorization.startswith("Basic"):
            return None
        try:
            decoded = base64.b64decode(authorization[len("Basic"):].strip().encode("ascii"))
        except (binascii.Error, ValueError):
            return None
        login, sep, password = httputils.decode_request(
            app.configuration, environ, decoded).partition(":")
        if not login or not sep:
            return None
        if not app_base._check_user_format(
                app._storage, login, app._validate_user_value,
                app._urldecode_username):
            return None
        context = AuthContext()  # type: ignore[no-untyped-call]
        user, _info, groups = app._auth.login(login, password, context)
        if not user or not pathutils.is_safe_path_component(user):
            return None  # failed logins: Radicale answers them (with its delay)
        if app.configuration.get("group", "type") in ("htgroup", "from_auth"):
            return None
        return user, set(groups or ())

    def _context(self, environ: dict[str, Any], *, item: bool) -> _Context | None:
        """The logged-in user's readable calendar the request targets, or None (delegate)."""
        unsafe = str(environ.get("PATH_INFO", ""))
        if ".well-known" in unsafe:
            return None
        path = _sanitized(unsafe)
        if not app_base._check_path_format(
                self.app._storage, path, self.app._validate_path_value):
            return None
        base_prefix = self._base_prefix(environ, path)
        if base_prefix is None:
            return None
        parts = pathutils.strip_path(path).split("/")
        if len(parts) != (3 if item else 2) or not all(parts):
            return None
        if path.endswith("/") == item:
            return None  # collections end in '/', items do not
        login = self._login(environ)
        if login is None:
            return None
        user, groups = login
        access = app_base.Access(self.app._rights, user, groups, path)
        if not access.check("r"):
            return None
        target = "/".join(parts[:2])
        href = parts[2] if item else None
        record: ItemRecord | None = None
        if is_alias_name(parts[1]):
            exists = self.store.get_collection(user) is not None
            collection = self.storage._collection(target)
            if collection is not None and href is not None:
                record = self.store.get_item(collection.store_path, href)
        else:
            exists, found, record = self.store.collection_and_item(user, target, href)
            collection = Collection(self.storage, found) if found is not None else None
        if not exists:
            return None  # Radicale creates the principal first
        if collection is None or collection.tag != "VCALENDAR":
            return None
        # Radicale's second check, on the collection, or for an item on its collection's rights
        # (what Access.check("r", item) tests).
        if not (rights.intersect(access.parent_permissions, "r") if item
                else access.check("r", collection)):
            return None
        return _Context(user, groups, base_prefix, path, collection, record)

    # -- answers -----------------------------------------------------------------------------
    def _visible(self, records: Iterable[ItemRecord]) -> list[ItemRecord]:
        limit = self.storage.max_resource_size
        return [r for r in records
                if not (len(r.text) > limit // 4 and len(r.text.encode("utf-8")) > limit)]

    def _heads(self, store_path: str) -> list[ItemHead]:
        """Every visible item's listing columns (texts only read for suspiciously long ones)."""
        heads = self.store.list_item_heads(store_path)
        limit = self.storage.max_resource_size
        long = [h.href for h in heads if h.chars > limit // 4]
        if not long:
            return heads
        shown = {r.href for r in self._visible(self.store.get_items(store_path, long).values())}
        return [h for h in heads if h.chars <= limit // 4 or h.href in shown]

    def _value(self, prop: str) -> Callable[[Any], str]:
        """The escaped text of an item property, from an ``ItemHead`` or ``ItemRecord``."""
        if prop == fx.GETETAG:
            return lambda item: fx.escape(item.etag)
        if prop == fx.GETLASTMODIFIED:
            return lambda item: _date(item.modified_at)
        if prop == fx.GETCONTENTTYPE:
            charset = self.encoding
            return lambda item: f"text/calendar;charset={charset};component={item.component}"
        return lambda item: fx.escape(item.text)  # calendar-data

    def _xml(self, status: int, document: fx.Multistatus, *, dav: bool = False) -> _Answer:
        headers = [("DAV", httputils.DAV_HEADERS)] if dav else []
        headers.append(("Content-Type", f"text/xml; charset={self.encoding}"))
        return status, headers, document.body()

    def _propfind(self, context: _Context, props: tuple[str, ...]) -> _Answer:
        collection = context.collection
        found: dict[int, list[str]] = {}
        for prop in props:  # every live property exists on a calendar
            found.setdefault(200, []).append(
                "<resourcetype><C:calendar /><collection /></resourcetype>"
                if prop == fx.RESOURCETYPE else
                fx.element(prop, self._collection_prop(collection, prop)))
        document = fx.Multistatus()
        document.response(fx.make_href(context.base_prefix,
                                       pathutils.unstrip_path(collection.path, True)),
                          list(found.items()))
        item_props = [p for p in props if p in (fx.GETETAG, fx.GETLASTMODIFIED,
                                               fx.GETCONTENTTYPE, fx.RESOURCETYPE)]
        getters: list[Callable[[Any], str]] = []
        found_elements: list[str] = []
        for prop in item_props:
            if prop == fx.RESOURCETYPE:
                found_elements.append("<resourcetype />")  # empty for items
            else:
                getters.append(self._value(prop))
                found_elements.append(fx.placeholder(prop, len(getters)))
        template = fx.row_template(
            found_elements, [fx.element(p) for p in props if p not in item_props],
            missing_first=props[0] not in item_props)
        href = context.href
        for head in self._heads(collection.store_path):
            document.add(template.format(href(head.href), *[get(head) for get in getters]))
        return self._xml(207, document, dav=True)

    @staticmethod
    def _collection_prop(collection: Collection, prop: str) -> str:
        if prop in (fx.GETETAG, fx.GETCTAG):
            return collection.etag
        if prop == fx.GETLASTMODIFIED:
            return collection.last_modified
        if prop == fx.GETCONTENTTYPE:
            return "text/calendar"
        if prop == fx.DISPLAYNAME:
            return collection.get_meta("D:displayname") or collection.path
        return collection.sync()[0]  # sync-token

    def _report_items(self, context: _Context, report: fx.Report, document: fx.Multistatus,
                      records: Iterable[ItemRecord | ItemHead]) -> _Answer | None:
        """Responses for found items; None when Radicale's occurrence limit would refuse."""
        wants_text = fx.CALENDAR_DATA in report.props
        getters = [self._value(p) for p in report.props if p in fx.REPORT_FOUND]
        template = fx.row_template(
            [fx.placeholder(p, i) for i, p in enumerate(
                (p for p in report.props if p in fx.REPORT_FOUND), start=1)],
            [fx.element(p) for p in report.props if p not in fx.REPORT_FOUND])
        href = context.href
        vevents = 0
        for record in records:
            if wants_text:
                assert isinstance(record, ItemRecord)
                vevents += record.text.upper().count("BEGIN:VEVENT")
                if vevents > self.max_occurrence:
                    return None  # Radicale answers 400 (counting exactly): let it
            document.add(template.format(href(record.href), *[get(record) for get in getters]))
        return self._xml(207, document)

    def _sync(self, context: _Context, report: fx.Report) -> _Answer | None:
        collection = context.collection
        try:
            token, names = collection.sync(report.token)
        except ValueError:
            return None  # Radicale answers 403 valid-sync-token
        document = fx.Multistatus()
        document.sync_token(token)
        records: list[ItemRecord | ItemHead]
        if not report.token:
            if fx.CALENDAR_DATA in report.props:
                records = list(self._visible(self.store.list_items(collection.store_path)))
            else:
                records = list(self._heads(collection.store_path))
            return self._report_items(context, report, document, records)
        return self._members(context, report, document, list(dict.fromkeys(names)))

    def _multiget(self, context: _Context, report: fx.Report) -> _Answer | None:
        collection = context.collection
        base_prefix = context.base_prefix
        references: set[str] = set()
        for text in report.hrefs:
            href_path = _sanitized(unquote(urlparse(text).path))
            if (href_path + "/").startswith(base_prefix + "/"):
                references.add(href_path[len(base_prefix):])
        start = pathutils.unstrip_path(collection.path, True)
        document = fx.Multistatus()
        names: list[str] = []
        for reference in references:
            name = reference[len(start):] if (reference + "/").startswith(start) else None
            if name == "":
                return None  # the collection itself: Radicale lists everything
            if name is None or not pathutils.is_safe_path_component(name):
                document.missing(fx.make_href(base_prefix, reference))
            else:
                names.append(name)
        return self._members(context, report, document, names)

    def _members(self, context: _Context, report: fx.Report, document: fx.Multistatus,
                 names: list[str]) -> _Answer | None:
        """Responses for the named items: 404 rows for missing (or hidden) ones first."""
        found = {r.href: r for r in self._visible(
            self.store.get_items(context.collection.store_path, names).values())}
        for name in names:
            if name not in found:
                document.missing(context.href(name))
        return self._report_items(context, report, document,
                                  [found[n] for n in names if n in found])

    def _get(self, context: _Context) -> _Answer | None:
        href = pathutils.strip_path(context.path).rpartition("/")[2]
        record = context.record
        if (not pathutils.is_safe_path_component(href) or record is None
                or not self._visible((record,))):
            return None
        headers = [("Content-Type", f"text/calendar; charset={self.encoding}"),
                   ("Last-Modified", _date(record.modified_at)), ("ETag", record.etag)]
        return 200, headers, record.text.encode(self.encoding)


def with_fast_path(app: Application, enabled: bool) -> WSGIApp:
    """``app`` behind the fast path, or ``app`` itself when it is turned off."""
    return FastPath(app) if enabled else app
