"""What every provider's listing is mapped to: :class:`RemoteSeries` (pure data).

Kept apart from :mod:`bridge.providers.base` (which imports the store and the HTTP stack) so
the worker processes that map big pages (:mod:`bridge.cpu`) import only the mapping code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.model import ParsedResource

__all__ = ["RemoteSeries"]


@dataclass
class RemoteSeries:
    """One remote event with its overrides, mapped to one iCalendar resource (or the reason
    it could not be), as the planner and the pull need it.

    ``event_id`` is the provider's id of the event (the series master), ``etag`` the
    precondition value for a write, ``updated`` the provider's own modification stamp (compared
    only with stamps of the same provider, see the conflict policy).  ``parsed`` and ``hash``
    (one hash space with :meth:`Provider.local_hash`) are ``None`` when only the hash was
    wanted or the event could not be mapped (``error``).  Providers subclass it to keep what
    they need for later writes (Google: the master and exception bodies).
    """

    event_id: str
    uid: str | None
    deleted: bool = False
    parsed: ParsedResource | None = None
    hash: str | None = None
    error: str | None = None

    @property
    def etag(self) -> str | None:
        """The precondition value of the series (``If-Match``)."""
        return None

    @property
    def updated(self) -> str | None:
        """The newest modification stamp of the series (the provider's clock)."""
        return None

    @property
    def has_overrides(self) -> bool:
        """Whether the provider holds overrides (exceptions) of the series."""
        return False

    @property
    def held(self) -> tuple[str, ...]:
        """Ids of the confirmed overrides the provider holds (kept in the link)."""
        return ()

    @property
    def extra(self) -> dict[str, Any] | None:
        """What only the provider holds of this version (kept in the link, merged into the
        next update so a local edit never wipes it); ``None`` when nothing is kept."""
        return None

    @property
    def version(self) -> str:
        """A key naming this version (one conflict row per decision, see the ledger)."""
        return str(self.etag or "gone")

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy for the ledger (the losing side of a conflict)."""
        return {}
