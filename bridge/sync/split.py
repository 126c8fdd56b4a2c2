"""Split a local series at its ``RANGE=THISANDFUTURE`` overrides before it is pushed.

Google has no ranged overrides; its "this and following events" is two series.  So the push
first turns a resource with such an override into the resources the provider's ``split`` gives
(Google: :func:`~bridge.google.mapping_range.split_this_and_future`: the old series ending
before the instance, a new series from it on) in one store transaction: the phones see the same
instances as two resources, and the outbox rows this write queues push each series as an
ordinary event (the old one updated with its ``UNTIL``, the new one inserted under its own id).
A split coming from Google (its own "this and following") arrives as the same two series.
"""

from __future__ import annotations

import logging

from bridge.errors import EtagMismatch, InvalidICalendar
from bridge.ical import parse_resource
from bridge.model import ItemRecord
from bridge.store.items import href_for_uid
from bridge.sync.context import ConnectionContext

__all__ = ["SPLIT_ORIGIN", "split_ranges"]

_LOGGER = logging.getLogger(__name__)
# The origin of the bridge's own rewrite: every connection pushes it, nobody is notified.
SPLIT_ORIGIN = "sync:split"


def split_ranges(ctx: ConnectionContext, item: ItemRecord) -> list[str] | None:
    """Split ``item`` if it holds ranged overrides; the UIDs written, or ``None`` (no split).

    Written in one transaction through the item write path (so the change
    log tells the phones and the outbox queues a push of each series).  An item changed
    meanwhile (etag) or a split that fails (or that the validation gate refuses) is left as
    it is: the ranged override then reaches Google as an override of one instance.
    """
    try:
        texts = ctx.provider.split(item.text)
        if texts is None:
            return None
        resources = [parse_resource(text) for text in texts]
    except (InvalidICalendar, ValueError, TypeError, KeyError, OverflowError) as exc:
        _LOGGER.warning("Appointment %s: ranged override not split (%s)", item.uid, exc)
        return None
    store = ctx.store
    path = ctx.record.collection_path

    def tx() -> None:
        store.put_item(path, item.href, resources[0], origin=SPLIT_ORIGIN, if_match=item.etag)
        for res in resources[1:]:
            existing = store.get_item_by_uid(path, res.uid)
            href = existing.href if existing is not None else href_for_uid(res.uid)
            store.put_item(path, href, res, origin=SPLIT_ORIGIN)

    try:
        store.run_transaction(tx)
    except EtagMismatch:
        return None  # edited again meanwhile: that write queued its own push
    _LOGGER.info("Appointment %s: ranged override split into %s", item.uid,
                 ", ".join(r.uid for r in resources))
    return [r.uid for r in resources]
