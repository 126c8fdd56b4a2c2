"""Overrides follow their series' renames (the rule in :mod:`bridge.google.mapping_inherit`).

Both directions need the series as it was at the last sync (the base):

* push (:func:`inherit_before_push`): a local edit of a series whose overrides have titles (or
  descriptions, locations) of their own is compared with Google's master, which is the base as
  long as its etag is the one the link recorded (one ``events.get``, only for such series);
* pull (:func:`inherit_after_pull`): a Google edit is compared with the stored text, which is
  the base as long as the item is unchanged since the last sync.

The overrides that follow are written to the local item (so phones show them) and, for a pull,
pushed back to Google (whose exceptions we wrote with every field, so Google keeps the old
values there).
"""

from __future__ import annotations

import logging

from bridge.errors import EtagMismatch, InvalidICalendar, RemoteNotFound
from bridge.google.mapping_google_parse import event_from_google
from bridge.google.mapping_inherit import (
    differs_from_master,
    ical_master,
    inherit_master_changes,
)
from bridge.ical import parse_resource
from bridge.model import ItemRecord, ParsedResource
from bridge.store.sync import LinkRecord
from bridge.sync.context import ConnectionContext

__all__ = ["INHERIT_ORIGIN", "inherit_after_pull", "inherit_before_push"]

_LOGGER = logging.getLogger(__name__)
# The origin of the bridge's own rewrite: every connection pushes it, nobody is notified.
INHERIT_ORIGIN = "sync:inherit"


async def inherit_before_push(ctx: ConnectionContext, item: ItemRecord,
                              link: LinkRecord | None) -> ItemRecord:
    """``item``, or the item rewritten (and stored) so overrides follow the master's renames."""
    if link is None or item.etag == link.local_etag or not differs_from_master(item.text):
        return item
    try:
        master = await ctx.client.get_event(ctx.calendar_id, link.google_event_id)
    except RemoteNotFound:
        return item
    if master.get("etag") != link.google_etag or master.get("status") == "cancelled":
        return item  # Google changed too: no agreed base; the planner decides
    base = event_from_google(master, calendar_tz=ctx.calendar_tz)
    text = inherit_master_changes(item.text, base)
    if text == item.text:
        return item
    try:
        new, _ = ctx.store.put_item(ctx.record.collection_path, item.href, parse_resource(text),
                                    origin=INHERIT_ORIGIN, if_match=item.etag)
    except (EtagMismatch, InvalidICalendar) as exc:
        _LOGGER.info("Appointment %s: overrides not renamed with the series (%s)", item.uid,
                     exc)
        return item
    _LOGGER.info("Appointment %s: moved instances renamed with the series", item.uid)
    return new


def inherit_after_pull(parsed: ParsedResource, old: ItemRecord) -> ParsedResource:
    """``parsed`` (Google's edit) with overrides following its master's renames, judged
    against the stored text ``old`` (the base: call it only when ``old`` is unchanged since
    the last sync).  ``parsed`` itself when nothing follows."""
    base = ical_master(old.text)
    if base is None or not differs_from_master(parsed.text):
        return parsed
    text = inherit_master_changes(parsed.text, base)
    if text == parsed.text:
        return parsed
    try:
        return parse_resource(text)
    except InvalidICalendar:
        return parsed
