"""The appointment store: one interface (:class:`SqlStore`) used by every other part.

The CalDAV plugin, the sync engine, the booking API, feeds and the CLI all read and write through
this class and never through SQLAlchemy sessions of their own.  It runs on SQLite (default) and
PostgreSQL; :func:`open_store` creates the engine and applies migrations.  Other packages add
behaviour to the write path through ``store.hooks`` (:mod:`bridge.store.hooks`): item-write hooks
inside the transaction, commit listeners after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bridge.store.accounts import AccountsMixin
from bridge.store.admin import AdminMixin
from bridge.store.api import ApiMixin
from bridge.store.booking import BookingPagesMixin
from bridge.store.engine import make_engine
from bridge.store.feeds import FeedsMixin
from bridge.store.items import BulkResult, ItemsMixin, href_for_uid
from bridge.store.logins import LoginAttemptsMixin
from bridge.store.notify import NotificationsMixin
from bridge.store.oauth import OAuthFlowsMixin
from bridge.store.sync import SyncMixin
from bridge.store.valve import ValveMixin

__all__ = ["BulkResult", "SqlStore", "href_for_uid", "open_store"]


class SqlStore(
    SyncMixin, ValveMixin, OAuthFlowsMixin, AdminMixin, LoginAttemptsMixin, NotificationsMixin,
    ApiMixin, BookingPagesMixin, FeedsMixin, ItemsMixin, AccountsMixin,
):
    """The store on SQLAlchemy Core: accounts, collections, items, change log, outbox."""


def open_store(
    url: str,
    *,
    migrate: bool = True,
    clock: Callable[[], float] = time.time,
    history_days: int = 30,
) -> SqlStore:
    """Open the store at ``url``, upgrading the schema first unless ``migrate`` is False."""
    engine = make_engine(url)
    if migrate:
        from bridge.store.migrate import upgrade

        upgrade(engine)
    return SqlStore(engine, clock=clock, history_days=history_days)
