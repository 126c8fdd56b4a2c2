"""What only Google holds of an event, and the update body that keeps it (pure).

The mapping writes complete bodies for the fields it carries (:data:`MAPPED_FIELDS`); an
``events.update`` is a full replace, so every other field Google holds (``colorId``,
``conferenceData``, ``attachments``, ``eventType``, ``guestsCan*``, ``anyoneCanAddSelf``,
``endTimeUnspecified``, fields Google adds later...) would be wiped by a local edit.
:func:`google_only` takes those fields out of a Google event (the *extra*, stored per link at
every sync), and :func:`merge_update_body` puts them back under a freshly mapped body, so an
update changes only what the mapping carries.  Three fields are shared between both sides:

* ``extendedProperties``: our ``termin*`` private keys are mapped, other private keys and every
  ``shared`` key are Google's;
* ``source``: the mapping writes ``{title: url, url}`` for an http(s) URL; Google's ``source`` is
  kept (with its own title) while its ``url`` is still the appointment's URL;
* ``attendees``: an attendee's mapped keys come from the body, the rest (``comment``,
  ``additionalGuests``, ``id``...) from Google's entry with the same e-mail; Google's
  organizer-self entry (no content for the mapping) stays while the event has guests.

No I/O, no clock.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from bridge.google.mapping_google import (
    PRIVATE_CATEGORIES,
    PRIVATE_CUSTOMER,
    PRIVATE_FLOATING,
    PRIVATE_HASH,
    PRIVATE_ORGANIZER_EMAIL,
    PRIVATE_ORGANIZER_NAME,
    PRIVATE_UID,
    PRIVATE_URL,
)

__all__ = [
    "MAPPED_FIELDS",
    "OUR_PRIVATE_KEYS",
    "READ_ONLY_FIELDS",
    "exception_extra",
    "google_only",
    "merge_update_body",
    "series_extra",
]

# Top-level fields the mapping writes (and reads) in full: the body's value always wins.
MAPPED_FIELDS = frozenset({
    "id", "summary", "description", "location", "status", "transparency", "visibility",
    "start", "end", "reminders", "sequence", "recurrence", "recurringEventId",
    "originalStartTime",
})
# Fields Google sets itself (ignored in writes) or that must not be echoed back in a write
# (``attendeesOmitted: true`` would turn an update into a response-only change).
READ_ONLY_FIELDS = frozenset({
    "kind", "etag", "iCalUID", "created", "updated", "creator", "organizer", "htmlLink",
    "hangoutLink", "locked", "attendeesOmitted",
})
OUR_PRIVATE_KEYS = frozenset({
    PRIVATE_UID, PRIVATE_HASH, PRIVATE_FLOATING, PRIVATE_URL, PRIVATE_CATEGORIES,
    PRIVATE_ORGANIZER_EMAIL, PRIVATE_ORGANIZER_NAME, *PRIVATE_CUSTOMER.values(),
})
_SHARED_FIELDS = ("extendedProperties", "source", "attendees")
# Attendee keys the mapping writes (absent = empty/false); ``self`` is Google's per viewer.
_ATTENDEE_MAPPED = frozenset({"email", "displayName", "responseStatus", "optional", "resource",
                              "self"})


def _email(attendee: Mapping[str, Any]) -> str:
    return str(attendee.get("email") or "").strip().lower()


def _is_organizer_self(attendee: Mapping[str, Any]) -> bool:
    return bool(attendee.get("organizer") and attendee.get("self"))


def _extra_attendees(attendees: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for att in attendees if isinstance(attendees, list) else []:
        if not isinstance(att, Mapping) or not _email(att):
            continue
        if _is_organizer_self(att):
            out.append(copy.deepcopy(dict(att)))
            continue
        extra = {k: copy.deepcopy(v) for k, v in att.items() if k not in _ATTENDEE_MAPPED}
        if extra:
            out.append({"email": att["email"], **extra})
    return out


def _extra_properties(ext: Any) -> dict[str, Any]:
    if not isinstance(ext, Mapping):
        return {}
    out: dict[str, Any] = {}
    private = ext.get("private")
    if isinstance(private, Mapping):
        foreign = {k: v for k, v in private.items() if k not in OUR_PRIVATE_KEYS}
        if foreign:
            out["private"] = copy.deepcopy(foreign)
    for key, value in ext.items():
        if key != "private" and value:
            out[key] = copy.deepcopy(value)
    return out


def google_only(event: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fields of a Google event the mapping does not carry (see the module docstring).

    Idempotent: ``google_only(google_only(e)) == google_only(e)``, so the stored extra and the
    full event are interchangeable as the base of :func:`merge_update_body`.
    """
    if not event:
        return {}
    out = {k: copy.deepcopy(v) for k, v in event.items()
           if k not in MAPPED_FIELDS and k not in READ_ONLY_FIELDS and k not in _SHARED_FIELDS}
    ext = _extra_properties(event.get("extendedProperties"))
    if ext:
        out["extendedProperties"] = ext
    source = event.get("source")
    if isinstance(source, Mapping) and source:
        out["source"] = copy.deepcopy(dict(source))
    attendees = _extra_attendees(event.get("attendees"))
    if attendees:
        out["attendees"] = attendees
    return out


def _url_of(body: Mapping[str, Any]) -> str:
    ext = body.get("extendedProperties") or {}
    private = ext.get("private") or {} if isinstance(ext, Mapping) else {}
    url = private.get(PRIVATE_URL) if isinstance(private, Mapping) else None
    if url:
        return str(url)
    source = body.get("source")
    return str(source.get("url") or "") if isinstance(source, Mapping) else ""


def _merge_attendees(extra: list[dict[str, Any]], mapped: list[Any]) -> list[Any]:
    by_email = {_email(a): a for a in extra if not _is_organizer_self(a)}
    out: list[Any] = []
    for att in mapped:
        old = by_email.get(_email(att)) if isinstance(att, Mapping) else None
        if old is None:
            out.append(copy.deepcopy(att))
            continue
        merged = {k: copy.deepcopy(v) for k, v in old.items() if k not in _ATTENDEE_MAPPED}
        merged.update(copy.deepcopy(dict(att)))
        out.append(merged)
    if out:
        emails = {_email(a) for a in out if isinstance(a, Mapping)}
        out += [copy.deepcopy(a) for a in extra
                if _is_organizer_self(a) and _email(a) not in emails]
    return out


def merge_update_body(base: Mapping[str, Any] | None, body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``events.update`` body: ``body`` (freshly mapped) over what only Google holds.

    ``base`` is the last seen Google event, or its :func:`google_only` extra (``None``: nothing
    known, ``body`` is returned as is).  Every mapped field comes from ``body`` (so clearing
    one locally clears it on Google), every other field from ``base``.
    """
    out = copy.deepcopy(dict(body))
    extra = google_only(base)
    if not extra:
        return out
    for key, value in extra.items():
        if key not in _SHARED_FIELDS and key not in out:
            out[key] = copy.deepcopy(value)
    ext = extra.get("extendedProperties")
    if ext:
        mine = out.get("extendedProperties") or {}
        merged: dict[str, Any] = {**copy.deepcopy(ext), **copy.deepcopy(dict(mine))}
        merged["private"] = {**ext.get("private", {}), **dict(mine.get("private") or {})}
        out["extendedProperties"] = merged
    source = extra.get("source")
    if isinstance(source, Mapping) and source.get("url") and source.get("url") == _url_of(out):
        out["source"] = copy.deepcopy(dict(source))  # same link: keep Google's title
    if extra.get("attendees") and "attendees" in out:
        out["attendees"] = _merge_attendees(extra["attendees"], list(out["attendees"] or []))
    return out


def series_extra(
    master: Mapping[str, Any] | None, exceptions: Iterable[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """What only Google holds of a series: ``{"master": extra, "exceptions": {id: extra}}``.

    Cancelled exceptions are skipped (an EXDATE holds nothing).
    """
    return {"master": google_only(master),
            "exceptions": {str(e["id"]): google_only(e) for e in exceptions
                           if e.get("status") != "cancelled" and e.get("id")}}


def exception_extra(extra: Mapping[str, Any] | None, instance_id: str) -> dict[str, Any]:
    """The base of an exception's update: its own extra, else the master's (an instance
    shows the series' colour, conference, attachments... until it gets its own)."""
    if not extra:
        return {}
    own = (extra.get("exceptions") or {}).get(instance_id)
    if own is not None:
        return dict(own)
    return dict(extra.get("master") or {})
