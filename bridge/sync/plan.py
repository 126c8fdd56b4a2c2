"""The pure sync planner: (local, remote, link) → one action per appointment.

No I/O, no clock, no logging.  Modelled on vdirsyncer's ``_get_actions``: the link row holds both
sides' etag and normalised hash at the last sync; a side *changed* when its etag differs **and**
its hash differs (a reformatting by a server is not a change).  Our own writes come back with the
etag/hash we stored in the link, so they are recognised as unchanged: that is echo suppression.

Conflict policy (both sides changed to different content since the last sync):

* **The most recent edit wins, each side measured on its own clock.**  The local edit's age is
  ``local.modified_at - link.synced_at`` (both on our clock); the remote edit's age is
  ``remote.updated - link.remote_updated`` (both of the provider's ``updated`` stamps).  Clock
  offsets cancel out, so a skewed server clock never decides.  Edits less than
  ``CLOCK_TOLERANCE`` seconds apart count as a tie (each anchor carries a network round trip of
  uncertainty), and a tie goes to the local side, the system of record.
* **An edit beats a delete** (no silent loss): a deleted side is recreated from the edited one.
* **First contact** (the same UID on both sides and no link yet): the local version wins — the
  booking system is the system of record — unless the contents are already equal.

The loser is not dropped: the engine writes it to the ledger with the decision.  Reasons are
English texts naming the provider (``provider``: its short name, e.g. ``"Microsoft"``); the admin
page shows them in the page language (``bridge/admin/messages.py``).
"""

from __future__ import annotations

from datetime import datetime

from bridge.sync.actions import (
    Action,
    Conflict,
    DeleteLocal,
    DeleteRemote,
    LinkState,
    LocalState,
    Noop,
    PullFromRemote,
    PushToRemote,
    Relink,
    RemoteState,
    Side,
    Unlink,
)

__all__ = [
    "SafetyVerdict",
    "empty_calendar_reason",
    "local_changed",
    "newer_side",
    "plan",
    "plan_item",
    "remote_changed",
    "safety_check",
    "valve_check",
]


def local_changed(local: LocalState, link: LinkState) -> bool:
    """True when the local item changed since the last sync (etag and hash both differ)."""
    return local.etag != link.local_etag and local.hash != link.hash_local


def remote_changed(remote: RemoteState, link: LinkState) -> bool:
    """True when the remote event changed since the last sync.

    A series' exceptions have their own etags, so for series only the hash decides.
    """
    if remote.etag is not None and remote.etag == link.remote_etag and not remote.series:
        return False
    return remote.hash != link.hash_remote


def _rfc3339(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# Seconds within which the two sides' edit times cannot be told apart (see the module docstring).
CLOCK_TOLERANCE = 2.0


def newer_side(local: LocalState, remote: RemoteState, link: LinkState | None) -> Side:
    """The side whose edit is more recent, each measured from the last sync on its own clock."""
    if link is None:
        return "local"  # first contact: no common anchor; the booking system is authoritative
    r_now, r_then = _rfc3339(remote.updated), _rfc3339(link.remote_updated)
    if r_now is None or r_then is None:
        return "local"  # the provider gave no usable stamps: fall back to the system of record
    remote_age = r_now - r_then
    local_age = local.modified_at - link.synced_at
    return "remote" if remote_age > local_age + CLOCK_TOLERANCE else "local"


def plan_item(
    local: LocalState | None,
    remote: RemoteState | None,
    link: LinkState | None,
    *,
    provider: str,
    remote_known: bool = True,
) -> Action:
    """Decide what to do for one appointment.

    ``remote`` is ``None`` when the provider has no such event; with ``remote_known=False`` (the
    push path, before any request) the provider is assumed to be as the link recorded it.
    """
    uid = (local.uid if local else None) or (link.uid if link else None) or (
        remote.uid if remote else "")
    if not remote_known:
        if link is None:
            if local is None:
                return Noop(uid, "deleted locally before it ever reached the provider")
            # Never synced: create it under the deterministic id (409 means already there).
            return PushToRemote(uid, None, create=True)
        remote = RemoteState(link.event_id, uid, link.remote_etag, link.hash_remote,
                             link.remote_updated)
    if remote is not None and remote.deleted:
        gone_remote: RemoteState | None = None
    else:
        gone_remote = remote
    event_id = remote.event_id if remote else (link.event_id if link else None)

    if link is None:
        if local is None and gone_remote is None:
            return Noop(uid, "deleted on both sides before any sync")
        if local is None:
            assert gone_remote is not None
            # New on the provider: bring it in.
            return PullFromRemote(uid, gone_remote.event_id, create=True)
        if gone_remote is None:
            if remote is not None and remote.deleted:
                # Our id was deleted remotely before we linked it: recreate (an edit beats a
                # delete; the push undeletes the reserved id).
                return PushToRemote(uid, remote.event_id, create=True)
            return PushToRemote(uid, None, create=True)
        if local.hash == gone_remote.hash:
            # Same appointment on both sides already (e.g. a retried insert): just link it.
            return Relink(uid, gone_remote.event_id)
        # First contact with different contents: policy decides (local, see module doc).
        return Conflict(uid, gone_remote.event_id, "local", "first contact, contents differ",
                        PushToRemote(uid, gone_remote.event_id, create=False))

    assert event_id is not None
    if local is None and gone_remote is None:
        # Deleted on both sides: nothing left to sync.
        return Unlink(uid, event_id)
    if local is None:
        assert gone_remote is not None
        if not remote_changed(gone_remote, link):
            # Deleted here, untouched there: delete there.
            return DeleteRemote(uid, event_id)
        # Deleted here but edited remotely: the edit wins, bring it back.
        return Conflict(uid, event_id, "remote", f"deleted locally, edited on {provider}",
                        PullFromRemote(uid, event_id, create=True))
    if gone_remote is None:
        if not local_changed(local, link):
            # Deleted remotely, untouched here: delete here.
            return DeleteLocal(uid, event_id)
        # Deleted remotely but edited here: the edit wins, recreate it there.
        return Conflict(uid, event_id, "local", f"deleted on {provider}, edited locally",
                        PushToRemote(uid, event_id, create=True))

    lc, rc = local_changed(local, link), remote_changed(gone_remote, link)
    if not lc and not rc:
        # Unchanged on both sides, or our own write coming back (echo).
        return Noop(uid, "unchanged")
    if lc and not rc:
        return PushToRemote(uid, event_id, create=False)
    if rc and not lc:
        return PullFromRemote(uid, event_id, create=False)
    if local.hash == gone_remote.hash:
        # Both changed to the same content (e.g. our push raced a pull): record it.
        return Relink(uid, event_id)
    winner = newer_side(local, gone_remote, link)
    if winner == "local":
        return Conflict(uid, event_id, "local", "edited on both sides; local edit is newer",
                        PushToRemote(uid, event_id, create=False))
    return Conflict(uid, event_id, "remote", f"edited on both sides; {provider} edit is newer",
                    PullFromRemote(uid, event_id, create=False))


def plan(
    local: dict[str, LocalState],
    remote: dict[str, RemoteState],
    links: dict[str, LinkState],
    *,
    provider: str,
) -> list[Action]:
    """Actions for every UID in ``remote`` (the provider's changes keyed by our UID).

    Local items and links are looked up for those UIDs only: a pull plans what the provider
    changed.
    """
    return [plan_item(local.get(uid), rem, links.get(uid), provider=provider)
            for uid, rem in remote.items()]


class SafetyVerdict:
    """The safety valve's answer: ``reason`` is ``None`` when the pull may go ahead."""

    def __init__(self, reason: str | None, deletes: int, total: int) -> None:
        self.reason = reason
        self.deletes = deletes
        self.total = total

    @property
    def ok(self) -> bool:
        """True when nothing trips the valve."""
        return self.reason is None


def valve_check(
    window_deletes: int,
    new_deletes: int,
    linked_total: int,
    *,
    provider: str,
    share: float,
    min_deletes: int = 5,
) -> SafetyVerdict:
    """The safety valve over a sliding window: refuse when the deletions would go too far.

    ``window_deletes`` are the provider's deletions already counted in the window (held, not
    applied here), ``new_deletes`` those a pull brings now, ``linked_total`` the appointments
    linked now (held ones are still linked).  The valve trips when together they are at least
    ``min_deletes`` (small calendars stay usable: deleting 2 of 3 events is ordinary) and more
    than ``share`` of the linked appointments, so a trickle of small pulls trips it exactly like
    one big poll.
    """
    deletes = window_deletes + new_deletes
    if deletes >= min_deletes and linked_total > 0 and deletes > share * linked_total:
        held = f" ({window_deletes} of them held from earlier pulls)" if window_deletes else ""
        return SafetyVerdict(
            f"{provider}'s deletions would delete {deletes} of {linked_total} linked "
            f"appointments{held}", deletes, linked_total)
    return SafetyVerdict(None, deletes, linked_total)


def empty_calendar_reason(provider: str, linked_total: int) -> str:
    """Why a full listing without a single event pauses the connection."""
    return f"{provider} returned an empty calendar, but {linked_total} appointments are linked"


def safety_check(
    actions: list[Action],
    linked_total: int,
    *,
    provider: str,
    share: float,
    min_deletes: int = 5,
    full_listing_empty: bool = False,
) -> SafetyVerdict:
    """Refuse mass deletion in one pull: more than ``share`` of the linked items, or an empty
    full list (:func:`valve_check` with an empty window)."""
    deletes = sum(1 for a in actions if isinstance(a, DeleteLocal))
    if full_listing_empty and linked_total > 0:
        return SafetyVerdict(
            empty_calendar_reason(provider, linked_total),
            deletes, linked_total)
    return valve_check(0, deletes, linked_total, provider=provider, share=share,
                       min_deletes=min_deletes)
