"""What ``main()`` opens once for a command: the settings and, on first use, the store."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable

from sqlalchemy.engine import make_url

from bridge.bootstrap import load_settings, open_settings_store
from bridge.config import Settings, with_secret_key
from bridge.store import SqlStore

__all__ = ["CALENDAR_REF_HELP", "CliContext", "Handler"]

_LOGGER = logging.getLogger(__name__)

CALENDAR_REF_HELP = "the calendar as OWNER/SLUG: the owner's user name and the calendar's name"


class CliContext:
    """The command's settings and store.

    Only the serving commands create anything on disk before they run: the default
    configuration file and the secret key (``first_start``).  The store is opened (and migrated)
    when a command first asks for it, so ``google-emulator`` or a failing argument check never
    creates a database.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: SqlStore | None = None

    @classmethod
    def load(cls, config: str | None, *, first_start: bool) -> CliContext:
        """Settings from ``config`` or the default path; ``first_start`` creates what is missing."""
        settings = load_settings(config, create_default=first_start)
        return cls(with_secret_key(settings, create=first_start))

    @property
    def store(self) -> SqlStore:
        """The store the settings name, opened and migrated on first use."""
        if self._store is None:
            url = make_url(self.settings.storage_url).render_as_string(hide_password=True)
            _LOGGER.debug("opening the store at %s", url)
            self._store = open_settings_store(self.settings)
        return self._store

    def close(self) -> None:
        """Close the store if a command opened it."""
        if self._store is not None:
            self._store.close()
            self._store = None


Handler = Callable[[argparse.Namespace, CliContext], int]
