"""Texts the sync engine stores in English (connection errors, pause reasons, conflict reasons),
shown in the page language (pure).

The engine keeps its stored texts in English (logs, the API and the CLI show them as they are);
the admin page translates them when it shows them: :func:`localize` recognises each known text
by its pattern and renders the catalogue's message with the values it carries.  Unknown texts
(a provider's own error message) are shown unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["KNOWN", "localize"]

# (pattern, message id): the named groups fill the message's placeholders.
KNOWN: list[tuple[re.Pattern[str], str]] = [(re.compile(p), m) for p, m in (
    (r"^the (?P<provider>[\w ]+) grant was revoked or expired$",
     "The {provider} sign-in was revoked or has expired. Connect again."),
    (r"^invalid_grant$", "The sign-in was revoked or has expired. Connect again."),
    (r"^refresh token unreadable \((?P<reason>[^)]*)\); reconnect \w+$",
     "The stored sign-in could not be read ({reason}). Connect again."),
    (r"^edited on both sides; local edit is newer$",
     "Changed on both sides; the change in this calendar is newer."),
    (r"^edited on both sides; (?P<provider>[\w ]+) edit is newer$",
     "Changed on both sides; the change in {provider} is newer."),
    (r"^deleted locally, edited on (?P<provider>[\w ]+)$",
     "Deleted in this calendar, changed in {provider}."),
    (r"^deleted on (?P<provider>[\w ]+), edited locally$",
     "Deleted in {provider}, changed in this calendar."),
    (r"^(?P<provider>[\w ]+)'s deletions would delete (?P<n>\d+) of (?P<total>\d+) linked "
     r"appointments \((?P<held>\d+) of them held from earlier pulls\)$",
     "{provider} would delete {n} of {total} linked appointments ({held} of them held from "
     "earlier synchronisations)."),
    (r"^(?P<provider>[\w ]+)'s deletions would delete (?P<n>\d+) of (?P<total>\d+) linked "
     r"appointments$", "{provider} would delete {n} of {total} linked appointments."),
    (r"^(?P<provider>[\w ]+) returned an empty calendar, but (?P<n>\d+) appointments are "
     r"linked$", "{provider} returned an empty calendar, but {n} appointments are linked."),
    (r"^the Exchange server redirects its EWS URL to (?P<url>\S+); connect again so "
     r"autodiscover finds the new address$",
     "The Exchange server has moved its EWS address (it redirects to {url}). Connect again: "
     "autodiscover then finds the new address."),
    (r"^(?P<provider>[\w ]+) refused the sign-in: (?P<error>.*)$",
     "{provider} refused the sign-in: {error}"),
)]


def localize(text: str | None, gettext: Callable[..., str]) -> str:
    """``text`` in the page language when it is a known engine text, else unchanged."""
    if not text:
        return ""
    for pattern, message in KNOWN:
        match = pattern.match(text.strip())
        if match is not None:
            return gettext(message, **match.groupdict())
    return text
