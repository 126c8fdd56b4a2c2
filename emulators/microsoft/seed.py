"""Seed files and state persistence for the Microsoft emulator.

``apply_seed`` loads the seed JSON (accounts, app registrations, calendars with sharing, events,
pre-issued tokens, config knobs, clock; format in ``docs/emulator-microsoft.md``); every account
gets a default calendar named "Calendar", events go through the normal create rules.
``dump_state``/``load_state`` save and restore the whole model for ``--state FILE``.
"""

from __future__ import annotations

import base64
import json
import uuid
from importlib import resources
from typing import Any

from emulators.microsoft import eventlogic
from emulators.microsoft.errors import GraphError
from emulators.microsoft.scopes import graph_scopes, normalise_scopes
from emulators.microsoft.state import (
    CONSUMERS_TENANT,
    AccessToken,
    Account,
    AppClient,
    Calendar,
    MsState,
    RefreshToken,
    StoredEvent,
    Subscription,
    SyncState,
)
from emulators.microsoft.tokens import issue_tokens
from emulators.shared.knobs import apply_clock_and_config
from emulators.shared.persist import decode, encode

__all__ = ["SeedError", "apply_seed", "default_calendar_id", "demo_seed", "dump_state",
           "load_state"]

_NS = uuid.UUID("6f1e4f0e-7a7d-4c38-9d5e-4a1a40d0e2b1")


class SeedError(ValueError):
    """The seed document is malformed; the message names the offending entry."""


def demo_seed() -> dict[str, Any]:
    """The bundled demo seed."""
    text = resources.files("emulators.microsoft").joinpath("demo_seed.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def default_calendar_id(upn: str) -> str:
    """The stable id of an account's default calendar."""
    return "AAMkAGCal" + base64.urlsafe_b64encode(upn.lower().encode()).decode().rstrip("=")


def _need(entry: dict[str, Any], key: str, where: str) -> Any:
    if key not in entry:
        raise SeedError(f"{where}: missing {key!r}")
    return entry[key]


def _account(state: MsState, entry: dict[str, Any], where: str) -> None:
    upn = str(_need(entry, "upn", where))
    kind = str(entry.get("kind", "work"))
    if kind not in ("work", "personal"):
        raise SeedError(f"{where}: kind must be 'work' or 'personal'")
    domain = upn.rsplit("@", 1)[-1].lower()
    tenant = CONSUMERS_TENANT if kind == "personal" else str(
        entry.get("tenantId") or uuid.uuid5(_NS, "tenant:" + domain))
    state.accounts[upn] = Account(upn, str(entry.get("name", "")),
                                  str(entry.get("oid") or uuid.uuid5(_NS, "user:" + upn.lower())),
                                  tenant, kind, str(entry.get("timeZone", "UTC")))
    cal_id = default_calendar_id(upn)
    if cal_id not in state.calendars:
        state.calendars[cal_id] = Calendar(cal_id, upn, "Calendar", is_default=True,
                                           seq=state.bump())


def _calendar(state: MsState, entry: dict[str, Any], where: str) -> None:
    owner = str(_need(entry, "owner", where))
    if owner not in state.accounts:
        raise SeedError(f"{where}: owner {owner!r} is not a seeded account")
    shares = {str(k): str(v) for k, v in (entry.get("shares") or {}).items()}
    if set(shares.values()) - {"read", "write"}:
        raise SeedError(f"{where}: shares must be 'read' or 'write'")
    cal_id = str(entry.get("id") or "AAMkAGCal" + uuid.uuid5(_NS, f"{owner}:{entry.get('name')}")
                 .hex)
    cal = state.calendars.get(cal_id) or Calendar(cal_id, owner, str(entry.get("name", cal_id)))
    cal.name = str(entry.get("name", cal.name))
    cal.color = str(entry.get("color", cal.color))
    cal.hex_color = str(entry.get("hexColor", cal.hex_color))
    cal.shares.update(shares)
    cal.seq = state.bump()
    state.calendars[cal_id] = cal


def apply_seed(state: MsState, seed: dict[str, Any]) -> None:
    """Add everything in ``seed`` to ``state``; raises :class:`SeedError`."""
    try:
        apply_clock_and_config(state, seed)
    except ValueError as exc:
        raise SeedError(str(exc)) from exc
    for i, entry in enumerate(seed.get("accounts") or []):
        _account(state, entry, f"accounts[{i}]")
    for i, entry in enumerate(seed.get("clients") or []):
        where = f"clients[{i}]"
        client_id = str(_need(entry, "client_id", where))
        state.clients[client_id] = AppClient(
            client_id, str(_need(entry, "client_secret", where)),
            [str(u) for u in entry.get("redirect_uris") or []],
            str(entry.get("name", "termin-bridge")))
    for i, entry in enumerate(seed.get("calendars") or []):
        _calendar(state, entry, f"calendars[{i}]")
    for i, entry in enumerate(seed.get("events") or []):
        where = f"events[{i}]"
        target = str(_need(entry, "calendarId", where))
        cal_id = default_calendar_id(target) if target in state.accounts else target
        cal = state.calendars.get(cal_id)
        if cal is None:
            raise SeedError(f"{where}: unknown calendar {target!r}")
        body = {k: v for k, v in entry.items() if k not in ("calendarId", "actor")}
        try:
            eventlogic.create_event(state, cal_id, body, str(entry.get("actor") or cal.owner),
                                    source="seed")
        except GraphError as exc:
            raise SeedError(f"{where}: {exc.message}") from exc
    for i, entry in enumerate(seed.get("tokens") or []):
        where = f"tokens[{i}]"
        account, client_id = str(_need(entry, "account", where)), str(_need(entry, "client_id",
                                                                             where))
        if account not in state.accounts or client_id not in state.clients:
            raise SeedError(f"{where}: unknown account or client")
        scopes = normalise_scopes(" ".join(entry.get("scopes") or ["Calendars.ReadWrite"]))
        scopes = list(dict.fromkeys([*scopes, "offline_access", "openid", "profile"]))
        body = issue_tokens(state, account, client_id, scopes)
        state.grants[(account, client_id)] = graph_scopes(scopes)
        if entry.get("refresh_token"):
            rt = state.refresh_tokens.pop(body["refresh_token"])
            rt.token = str(entry["refresh_token"])
            state.refresh_tokens[rt.token] = rt


def dump_state(state: MsState) -> dict[str, Any]:
    """The whole model as JSON-able data (for ``--state FILE``)."""
    return {
        "version": 1, "clock_offset": state.clock.offset_seconds, "counter": state.counter,
        "config": encode(state.config), "accounts": encode(list(state.accounts.values())),
        "clients": encode(list(state.clients.values())),
        "calendars": encode(list(state.calendars.values())),
        "events": [encode(e) for t in state.events.values() for e in t.values()],
        "grants": [[a, c, s] for (a, c), s in state.grants.items()],
        "admin_grants": [list(g) for g in state.admin_grants],
        "tokens_valid_from": encode(state.tokens_valid_from),
        "refresh_tokens": encode(list(state.refresh_tokens.values())),
        "access_tokens": encode(list(state.access_tokens.values())),
        "sync_states": encode(list(state.sync_states.values())),
        "subscriptions": encode(list(state.subscriptions.values())),
        "mail": list(state.mail),
    }


def load_state(data: dict[str, Any], state: MsState | None = None) -> MsState:
    """Rebuild a model saved by :func:`dump_state`."""
    state = state or MsState()
    data = decode(data)
    state.clock.offset_seconds = float(data.get("clock_offset", 0.0))
    state.counter = int(data.get("counter", 0))
    state.config.update(data.get("config") or {})
    for a in data.get("accounts", []):
        state.accounts[a["upn"]] = Account(**a)
    for c in data.get("clients", []):
        state.clients[c["client_id"]] = AppClient(**c)
    for c in data.get("calendars", []):
        state.calendars[c["id"]] = Calendar(**c)
    for e in data.get("events", []):
        state.table(e["calendar_id"])[e["data"]["id"]] = StoredEvent(**e)
    for account, client_id, scopes in data.get("grants", []):
        state.grants[(account, client_id)] = list(scopes)
    state.admin_grants = {(t, c) for t, c in data.get("admin_grants", [])}
    state.tokens_valid_from = dict(data.get("tokens_valid_from") or {})
    for r in data.get("refresh_tokens", []):
        state.refresh_tokens[r["token"]] = RefreshToken(**r)
    for t in data.get("access_tokens", []):
        state.access_tokens[t["token"]] = AccessToken(**t)
    for s in data.get("sync_states", []):
        state.sync_states[s["id"]] = SyncState(**s)
    for s in data.get("subscriptions", []):
        state.subscriptions[s["id"]] = Subscription(**s)
    state.mail = list(data.get("mail") or [])
    return state
