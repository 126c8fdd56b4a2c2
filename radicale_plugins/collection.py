"""``Collection``: one store collection seen through Radicale's ``BaseCollection`` interface.

Everything Radicale's defaults do in O(N) is answered from the store: the ctag from the
collection revision, ``sync`` from the change log, ``has_uid`` by the UID index and
``get_filtered`` by the indexed time range plus :class:`~radicale_plugins.items.Prefilter`.
Writes go through the store, so each lands with its change-log and outbox rows.
"""

from __future__ import annotations

import functools
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from radicale import pathutils
from radicale import storage as radicale_storage
from radicale.item import filter as radicale_filter

from bridge.errors import DuplicateUid, NotFound, StoreError, SyncTokenInvalid
from bridge.model import Collection as CollectionRecord
from bridge.model import ItemRecord
from radicale_plugins.items import http_date, parse_upload, to_item

if TYPE_CHECKING:
    from radicale import item as radicale_item

    from radicale_plugins.storage import Storage

__all__ = ["ORIGIN", "SYNC_PREFIX", "SYNC_TOKEN_LOG_FILTER", "AliasCollection", "Collection"]

_LOGGER = logging.getLogger(__name__)

ORIGIN = "caldav"
SYNC_PREFIX = "http://termin-bridge.invalid/ns/sync/"
_TZID = re.compile(r"^TZID:(.+?)\s*$", re.MULTILINE | re.IGNORECASE)


def _root_record(props: Mapping[str, str] | None = None) -> CollectionRecord:
    return CollectionRecord(
        id=0, path="", owner="", tag="", props=dict(props or {}), timezone="UTC", revision=0,
        min_revision=0, sync_epoch="root", created_at=0.0, modified_at=0.0,
    )


def timezone_of(props: Mapping[str, str]) -> str | None:
    """The TZID of a ``C:calendar-timezone`` VTIMEZONE property, if any."""
    match = _TZID.search(props.get("C:calendar-timezone", ""))
    return match.group(1).strip() if match else None


class OneLineSyncTokenLog(logging.Filter):
    """Radicale logs a client's invalid sync token with ``exc_info``: keep the one line.

    An outdated or foreign token is an ordinary client condition (the client starts over after
    the 403 ``valid-sync-token``), so the traceback of our ``ValueError`` is noise.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop the traceback of the invalid-sync-token warning; pass every record."""
        if str(record.msg).startswith("Client provided invalid sync token"):
            record.exc_info = None
            record.exc_text = None
        return True


SYNC_TOKEN_LOG_FILTER = OneLineSyncTokenLog()


@functools.lru_cache(maxsize=64)
def vtimezone_text(name: str) -> str | None:
    """A VCALENDAR holding the VTIMEZONE of an IANA zone (for ``C:calendar-timezone``)."""
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//termin-bridge//EN")
    calendar.add("version", "2.0")
    calendar.add_component(icalendar.Timezone.from_tzinfo(zone))
    return str(calendar.to_ical().decode("utf-8"))


class Collection(radicale_storage.BaseCollection):
    """A calendar, address book, principal or plain collection backed by the store."""

    def __init__(self, storage: Storage, record: CollectionRecord | None) -> None:
        self._storage = storage
        self._store = storage.store
        self._record = (record if record is not None
                        else _root_record(self._store.get_root_props()))

    # -- identity and metadata ---------------------------------------------------------------
    @property
    def path(self) -> str:
        """The sanitized path without leading or trailing slash."""
        return self._record.path

    @property
    def store_path(self) -> str:
        """The path of the store collection holding the items (differs for aliases)."""
        return self._record.path

    @property
    def tag(self) -> str:
        """VCALENDAR, VADDRESSBOOK or empty."""
        return self._record.tag or str(self._record.props.get("tag", ""))

    @property
    def etag(self) -> str:
        """The ctag: sync epoch and revision (bumped by every item and property change)."""
        return f'"{self._record.sync_epoch}-{self._record.revision}"'

    @property
    def last_modified(self) -> str:
        """HTTP date of the last change."""
        return http_date(self._record.modified_at)

    @overload
    def get_meta(self, key: None = None) -> Mapping[str, str]: ...

    @overload
    def get_meta(self, key: str) -> str | None: ...

    def get_meta(self, key: str | None = None) -> Mapping[str, str] | str | None:
        """All properties, or one of them."""
        props = dict(self._record.props)
        if self._record.tag:
            props["tag"] = self._record.tag
        zone = self._record.timezone
        if (self._record.tag == "VCALENDAR" and "C:calendar-timezone" not in props
                and zone and zone != "UTC" and (key is None or key == "C:calendar-timezone")):
            # Calendars made by the CLI or the API have a zone but no VTIMEZONE property yet.
            text = vtimezone_text(zone)
            if text:
                props["C:calendar-timezone"] = text
        if key is None:
            return props
        return props.get(key)

    def set_meta(self, props: Mapping[str, str]) -> None:
        """Replace the properties (PROPPATCH); the root's are kept apart (never a calendar)."""
        if not self.path:
            self._store.set_root_props(props)
            self._record = _root_record(props)
            return
        self._record = self._store.set_collection_meta(
            self.path, dict(props), timezone=timezone_of(props)
        )

    # -- reads -------------------------------------------------------------------------------
    def visible(self, records: Iterable[ItemRecord]) -> Iterator[radicale_item.Item]:
        """Items for records, hiding those over ``max_resource_size``."""
        limit = self._storage.max_resource_size
        for record in records:
            if len(record.text) > limit // 4 and len(record.text.encode("utf-8")) > limit:
                continue  # hidden, as multifilesystem does for items over max_resource_size
            yield to_item(record, self)

    def get_multi(
        self, hrefs: Iterable[str]
    ) -> Iterator[tuple[str, radicale_item.Item | None]]:
        """Items by href (None for missing ones); one query per 500 hrefs."""
        wanted = list(dict.fromkeys(hrefs))
        safe = [h for h in wanted if pathutils.is_safe_path_component(h)]
        found: dict[str, radicale_item.Item] = {}
        if self.store_path and safe:
            records = self._store.get_items(self.store_path, safe)
            found = {str(item.href): item for item in self.visible(records.values())}
        for href in wanted:
            yield href, found.get(href)

    def get_all(self) -> Iterator[radicale_item.Item]:
        """Every (visible) item."""
        if not self.store_path:
            return iter(())
        return self.visible(self._store.list_items(self.store_path))

    def get_filtered(
        self, filters: Iterable[ET.Element]
    ) -> Iterator[tuple[radicale_item.Item, bool]]:
        """Candidates from the time-range index; ``True`` only when the match is exact."""
        if not self.tag or not self.store_path:
            return
        tag, start, end, simple = radicale_filter.simplify_prefilters(filters, self.tag)
        if self.tag != "VCALENDAR":
            records = self._store.list_items(self.store_path)
        else:
            records = self._store.items_in_range(self.store_path, start, end, tag)
        prefilter = self._storage.prefilter
        for record in records:
            verdict = prefilter.decide(record, tag, start, end, simple)
            if verdict is False:
                continue
            for item in self.visible((record,)):
                yield item, bool(verdict)

    def has_uid(self, uid: str) -> bool:
        """Index lookup of a UID."""
        return bool(self.store_path) and self._store.has_uid(self.store_path, uid) is not None

    def sync(self, old_token: str = "") -> tuple[str, Iterable[str]]:
        """Current token and hrefs changed since ``old_token`` (from the change log)."""
        if not self.store_path:
            raise ValueError("the root collection has no sync token")
        if not old_token:
            record = self._store.get_collection(self.store_path)
            if record is None:
                raise ValueError("collection vanished")
            self._record = record
            token = f"{SYNC_PREFIX}{record.sync_epoch}-{record.revision}"

            def everything() -> Iterator[str]:
                for item in self.get_all():
                    assert item.href is not None
                    yield item.href

            return token, everything()
        if not old_token.startswith(SYNC_PREFIX):
            raise ValueError("unknown sync token")
        epoch, sep, revision = old_token[len(SYNC_PREFIX):].rpartition("-")
        if not sep or not revision.isdigit() or len(revision) > 18:
            raise ValueError("malformed sync token")
        try:
            change = self._store.changes_since(self.store_path, int(revision), epoch)
        except (SyncTokenInvalid, NotFound) as exc:
            raise ValueError(f"sync token not valid: {exc}") from exc
        return f"{SYNC_PREFIX}{epoch}-{change.revision}", change.hrefs

    # -- writes ------------------------------------------------------------------------------
    def upload(
        self, href: str, item: radicale_item.Item
    ) -> tuple[radicale_item.Item, radicale_item.Item | None]:
        """Create or replace one item (validated by the project's gate)."""
        if not pathutils.is_safe_path_component(href):
            raise ValueError(f"unsafe item name {href!r}")
        parsed = parse_upload(item, self.tag, self._storage.max_resource_size)
        try:
            new, old = self._store.put_item(self.store_path, href, parsed, origin=ORIGIN)
        except DuplicateUid as exc:
            raise ValueError(f"UID already used by {exc.existing_href}") from exc
        except StoreError as exc:
            raise ValueError(str(exc)) from exc
        self._storage.prefilter.warm((new,))
        return to_item(new, self), (to_item(old, self) if old is not None else None)

    def delete(self, href: str | None = None) -> None:
        """Delete one item, or this collection with everything below it."""
        if href is None:
            self._store.delete_collection(self.path)
            return
        try:
            self._store.delete_item(self.store_path, href, origin=ORIGIN)
        except NotFound as exc:
            raise radicale_storage.ComponentNotFoundError(href) from exc

    def __repr__(self) -> str:
        return f"<Collection /{self.path}/ rev {self._record.revision}>"



class AliasCollection(Collection):
    """Another user's calendar seen from the grantee's home (``/alice/bob~work/``).

    Items, etags, ctag, sync tokens and queries are the target's (every store call goes to
    :attr:`store_path`); only the path differs, so hrefs carry the alias.  Writes of items land
    in the target through the store.  The display name says whose calendar it is; the
    properties and the collection itself belong to the owner (PROPPATCH, DELETE and overwriting
    are refused here and already by the rights plugin).
    """

    def __init__(self, storage: Storage, record: CollectionRecord, alias: str, level: str
                 ) -> None:
        super().__init__(storage, record)
        self._alias = alias
        self.level = level

    @property
    def path(self) -> str:
        """The alias path in the grantee's home."""
        return self._alias

    @property
    def owner(self) -> str:
        """The target's owner (``D:owner`` names the sharer)."""
        return self._record.owner

    @overload
    def get_meta(self, key: None = None) -> Mapping[str, str]: ...

    @overload
    def get_meta(self, key: str) -> str | None: ...

    def get_meta(self, key: str | None = None) -> Mapping[str, str] | str | None:
        """The target's properties with a display name naming the owner."""
        if key is not None and key != "D:displayname":
            return super().get_meta(key)
        props = dict(super().get_meta())
        base = props.get("D:displayname") or self._record.path.rpartition("/")[2]
        props["D:displayname"] = f"{base} ({self._record.owner})"
        return props if key is None else props[key]

    def set_meta(self, props: Mapping[str, str]) -> None:
        """Refused: the properties belong to the owner."""
        raise ValueError("the properties of a shared calendar belong to its owner")

    def delete(self, href: str | None = None) -> None:
        """Delete one item of the target; the alias itself cannot be deleted."""
        if href is None:
            raise PermissionError("a shared calendar cannot be deleted by the grantee")
        super().delete(href)

    def __repr__(self) -> str:
        return f"<AliasCollection /{self.path}/ -> /{self.store_path}/ rev {self._record.revision}>"
