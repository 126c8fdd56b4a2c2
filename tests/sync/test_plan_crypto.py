"""The pure planner's branches and the token cipher (AAD binding, rotation)."""

from __future__ import annotations

from functools import partial

import pytest

from bridge.google.crypto import TokenCipher, TokenDecryptError
from bridge.sync import plan as planner
from bridge.sync.actions import (
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
    Unlink,
)

# The planner names the provider in its reasons; these cases are Google's.
plan_item = partial(planner.plan_item, provider="Google")
safety_check = partial(planner.safety_check, provider="Google")


LINK = LinkState("u", "e", "L1", "G1", "H1", "H1", "2030-01-01T10:00:00.000Z", 1000.0)


def local(etag: str = "L1", h: str = "H1", at: float = 1000.0) -> LocalState:
    return LocalState("u", etag, h, at)


def remote(etag: str = "G1", h: str = "H1", updated: str = "2030-01-01T10:00:00.000Z",
           deleted: bool = False) -> RemoteState:
    return RemoteState("e", "u", etag, h, updated, deleted=deleted)


def test_unchanged_and_echo_are_noops() -> None:
    assert isinstance(plan_item(local(), remote(), LINK), Noop)
    # Reformatted on both sides (etags differ, hashes equal): still no change.
    assert isinstance(plan_item(local("L2"), remote("G2"), LINK), Noop)


def test_one_sided_changes() -> None:
    assert plan_item(local("L2", "H2"), remote(), LINK) == PushToRemote("u", "e", create=False)
    assert plan_item(local(), remote("G2", "H2"), LINK) == PullFromRemote("u", "e", create=False)
    assert plan_item(None, remote(), LINK) == DeleteRemote("u", "e")
    assert plan_item(local(), remote(deleted=True), LINK) == DeleteLocal("u", "e")
    assert plan_item(None, remote(deleted=True), LINK) == Unlink("u", "e")
    assert plan_item(local(), None, None, remote_known=False) == PushToRemote("u", None, True)
    assert plan_item(None, remote(), None) == PullFromRemote("u", "e", create=True)


def test_both_changed_same_content_relinks() -> None:
    assert plan_item(local("L2", "H2"), remote("G2", "H2"), LINK) == Relink("u", "e")


def test_conflict_newest_edit_by_each_sides_own_clock() -> None:
    # Local edited 50 s after the sync (our clock); Google 60 s after (Google's clock).
    action = plan_item(local("L2", "H2", 1050.0), remote("G2", "H3", "2030-01-01T10:01:00Z"), LINK)
    assert isinstance(action, Conflict) and action.winner == "remote"
    # Skew does not matter: our clock far ahead changes nothing about the ages.
    skewed = LinkState("u", "e", "L1", "G1", "H1", "H1", "2030-01-01T10:00:00Z", 1000.0 + 86400)
    action = plan_item(local("L2", "H2", 1070.0 + 86400),
                       remote("G2", "H3", "2030-01-01T10:01:00Z"), skewed)
    assert isinstance(action, Conflict) and action.winner == "local"
    # Edits closer together than the clocks can be compared are a tie: the local side wins.
    near = plan_item(local("L2", "H2", 1059.0), remote("G2", "H3", "2030-01-01T10:01:00Z"), LINK)
    assert isinstance(near, Conflict) and near.winner == "local"


def test_edit_beats_delete() -> None:
    action = plan_item(local("L2", "H2"), remote(deleted=True), LINK)
    assert isinstance(action, Conflict) and isinstance(action.then, PushToRemote)
    action = plan_item(None, remote("G2", "H2"), LINK)
    assert isinstance(action, Conflict) and isinstance(action.then, PullFromRemote)


def test_safety_check() -> None:
    deletes = [DeleteLocal(str(i), str(i)) for i in range(6)]
    assert not safety_check(deletes, 10, share=0.5).ok
    assert safety_check(deletes[:5], 10, share=0.5).ok
    assert safety_check(deletes[:2], 2, share=0.5).ok  # small calendars stay usable
    assert not safety_check([], 3, share=0.5, full_listing_empty=True).ok


def test_cipher_binds_row_and_rotates() -> None:
    old = TokenCipher("old-key")
    blob = old.encrypt(7, "1//refresh-token")
    assert b"1//refresh" not in blob
    assert old.decrypt(7, blob) == "1//refresh-token"
    with pytest.raises(TokenDecryptError):
        old.decrypt(8, blob)  # moved to another row
    new = TokenCipher("new-key", ["old-key"])
    assert new.needs_rotation(blob) and new.decrypt(7, blob) == "1//refresh-token"
    resealed = new.encrypt(7, new.decrypt(7, blob))
    assert TokenCipher("new-key").decrypt(7, resealed) == "1//refresh-token"
    with pytest.raises(TokenDecryptError):
        TokenCipher("new-key").decrypt(7, blob)  # old key removed
