"""Booking-page rows: per calendar whether its online booking page is on, its public id and
what it offers (the store's side of :mod:`bridge.bookpage`).

A calendar has no row until an admin saves its settings; no row reads as "off".  The public id
is 128 random bits (:func:`new_public_id`), unique over all calendars, and regenerating it makes
the old address stop working at once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from bridge.errors import BridgeError, NotFound
from bridge.model import Collection
from bridge.store import schema as s
from bridge.store.base import StoreBase, clean_path

__all__ = [
    "DEFAULT_DURATIONS",
    "DEFAULT_HORIZON_DAYS",
    "DEFAULT_LEAD_MINUTES",
    "MAX_DURATION",
    "PUBLIC_ID_RE",
    "BookingPage",
    "BookingPagesMixin",
    "InvalidBookingSettings",
    "check_settings",
    "new_public_id",
]

DEFAULT_DURATIONS = (30,)
DEFAULT_HORIZON_DAYS = 60
DEFAULT_LEAD_MINUTES = 60
MAX_DURATION = 8 * 60
MAX_DURATIONS = 8
MAX_HORIZON_DAYS = 366
MAX_LEAD_MINUTES = 30 * 24 * 60
# ``secrets.token_urlsafe(16)``: 128 random bits as 22 URL-safe base64 characters.
PUBLIC_ID_RE = re.compile(r"[A-Za-z0-9_-]{22}")


class InvalidBookingSettings(BridgeError):
    """A booking-page setting is out of range."""


def new_public_id() -> str:
    """A fresh, unguessable public id."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class BookingPage:
    """One calendar's booking page settings."""

    collection_path: str
    public_id: str
    enabled: bool
    durations: tuple[int, ...]
    horizon_days: int
    lead_minutes: int
    updated_at: float


def _durations(raw: str) -> tuple[int, ...]:
    return tuple(int(x) for x in raw.split(",") if x.strip().isdigit())


def check_settings(durations: tuple[int, ...], horizon_days: int, lead_minutes: int) -> None:
    """Raise :class:`InvalidBookingSettings` for values out of range."""
    if not durations or len(durations) > MAX_DURATIONS:
        raise InvalidBookingSettings(f"give 1 to {MAX_DURATIONS} durations")
    if any(not 5 <= d <= MAX_DURATION for d in durations):
        raise InvalidBookingSettings(f"durations must be 5 to {MAX_DURATION} minutes")
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise InvalidBookingSettings(f"the horizon must be 1 to {MAX_HORIZON_DAYS} days")
    if not 0 <= lead_minutes <= MAX_LEAD_MINUTES:
        raise InvalidBookingSettings(f"the lead time must be 0 to {MAX_LEAD_MINUTES} minutes")


class BookingPagesMixin(StoreBase):
    """Read and save booking-page settings."""

    @staticmethod
    def _page(row: Row[Any]) -> BookingPage:
        return BookingPage(row.path, row.public_id, bool(row.enabled), _durations(row.durations),
                           row.horizon_days, row.lead_minutes, row.updated_at)

    @staticmethod
    def _page_query() -> Any:
        return (select(s.booking_pages, s.collections.c.path)
                .select_from(s.booking_pages.join(s.collections)))

    def booking_pages(self) -> dict[str, BookingPage]:
        """Every calendar's booking page by calendar path."""
        with self._read() as conn:
            return {r.path: self._page(r) for r in conn.execute(self._page_query()).all()}

    def booking_page(self, path: str) -> BookingPage | None:
        """The booking page of calendar ``path`` (``None``: never configured, so off)."""
        with self._read() as conn:
            row = conn.execute(self._page_query().where(
                s.collections.c.path == clean_path(path))).first()
        return self._page(row) if row is not None else None

    def booking_page_by_public_id(self, public_id: str) -> tuple[BookingPage, Collection] | None:
        """The page with that public id and its calendar, or ``None`` (disabled pages too)."""
        if not PUBLIC_ID_RE.fullmatch(public_id):
            return None
        with self._read() as conn:
            row = conn.execute(self._page_query().where(
                s.booking_pages.c.public_id == public_id)).first()
            if row is None:
                return None
            coll = conn.execute(select(s.collections).where(
                s.collections.c.id == row.collection_id)).one()
        return self._page(row), self._collection(coll)

    def save_booking_page(
        self, path: str, *, enabled: bool, durations: tuple[int, ...] = DEFAULT_DURATIONS,
        horizon_days: int = DEFAULT_HORIZON_DAYS, lead_minutes: int = DEFAULT_LEAD_MINUTES,
        new_id: bool = False,
    ) -> BookingPage:
        """Create or update the page of calendar ``path``; ``new_id`` regenerates its id."""
        durations = tuple(sorted(set(durations)))
        check_settings(durations, horizon_days, lead_minutes)
        path = clean_path(path)

        def tx(conn: Connection) -> BookingPage:
            coll = self._collection_row(conn, path)
            if coll.tag != "VCALENDAR":
                raise NotFound(f"calendar /{path}/")
            now = self.clock()
            values: dict[str, Any] = {
                "enabled": enabled, "durations": ",".join(str(d) for d in durations),
                "horizon_days": horizon_days, "lead_minutes": lead_minutes, "updated_at": now}
            existing = conn.execute(select(s.booking_pages.c.id).where(
                s.booking_pages.c.collection_id == coll.id)).first()
            if existing is None:
                conn.execute(insert(s.booking_pages).values(
                    collection_id=coll.id, public_id=new_public_id(), created_at=now, **values))
            else:
                if new_id:
                    values["public_id"] = new_public_id()
                conn.execute(update(s.booking_pages)
                             .where(s.booking_pages.c.id == existing.id).values(**values))
            row = conn.execute(self._page_query().where(
                s.booking_pages.c.collection_id == coll.id)).one()
            return self._page(row)

        return self._write(tx)
