"""Overrides follow their series' renames (the provider's rule; Google:
:mod:`bridge.google.mapping_inherit`).

Both directions need the series as it was at the last sync (the base):

* push (:func:`inherit_before_push`): a local edit of a series whose overrides have titles (or
  descriptions, locations) of their own is compared with the remote master, which is the base
  as long as its etag is the one the link recorded (one read, only for such series);
* pull (:func:`inherit_after_pull`): a remote edit is compared with the stored text, which is
  the base as long as the item is unchanged since the last sync.

The overrides that follow are written to the local item (so phones show them) and, for a pull,
pushed back to the provider (whose exceptions we wrote with every field, so it keeps the old
values there).
"""

from __future__ import annotations

import logging

from bridge.errors import EtagMismatch, InvalidICalendar
from bridge.ical import parse_resource
from bridge.model import ItemRecord, ParsedResource
from bridge.store.sync import LinkRecord
from bridge.sync.context import ConnectionContext, linked_remote

__all__ = ["INHERIT_ORIGIN", "inherit_after_pull", "inherit_before_push"]

_LOGGER = logging.getLogger(__name__)
# The origin of the bridge's own rewrite: every connection pushes it, nobody is notified.
INHERIT_ORIGIN = "sync:inherit"


async def inherit_before_push(ctx: ConnectionContext, item: ItemRecord,
                              link: LinkRecord | None) -> ItemRecord:
    """``item``, or the item rewritten (and stored) so overrides follow the master's renames."""
    if link is None or item.etag == link.local_etag or not ctx.provider.follows_master(item.text):
        return item
    text = await ctx.provider.renamed(item.text, linked_remote(link))
    if text is None:
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


def inherit_after_pull(ctx: ConnectionContext, parsed: ParsedResource, old: ItemRecord
                       ) -> ParsedResource:
    """``parsed`` (the remote edit) with overrides following its master's renames, judged
    against the stored text ``old`` (the base: call it only when ``old`` is unchanged since
    the last sync).  ``parsed`` itself when nothing follows."""
    return ctx.provider.renamed_after_pull(parsed, old.text)
