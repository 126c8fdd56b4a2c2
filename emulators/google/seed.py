"""Seed files and state persistence.

``apply_seed`` loads the documented seed JSON (accounts, OAuth clients, calendars with sharing,
per-account calendar list settings, events, pre-issued grants, config knobs, clock) into an
:class:`~.state.EmulatorState`; events go through the normal insert rules.  ``dump_state`` /
``load_state`` save and restore the whole model for ``google-emulator --state FILE``.
See ``docs/emulator.md`` for the format.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from emulators.google import eventlogic
from emulators.google.api import full_scope
from emulators.google.errors import ApiError
from emulators.google.state import (
    AccessToken,
    Account,
    Calendar,
    Channel,
    EmulatorState,
    ListPrefs,
    OAuthClient,
    RefreshToken,
    StoredEvent,
    SyncTokenInfo,
)
from emulators.google.tokens import issue_tokens
from emulators.shared.knobs import apply_clock_and_config
from emulators.shared.persist import decode, encode

__all__ = ["SeedError", "apply_seed", "demo_seed", "dump_state", "load_state"]

_ROLES = {"freeBusyReader", "reader", "writer", "owner", "none"}


class SeedError(ValueError):
    """The seed document is malformed; the message names the offending entry."""


def demo_seed() -> dict[str, Any]:
    """The bundled demo seed (one client, two accounts, a few calendars and events)."""
    text = resources.files("emulators.google").joinpath("demo_seed.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _need(entry: dict[str, Any], key: str, where: str) -> Any:
    if key not in entry:
        raise SeedError(f"{where}: missing {key!r}")
    return entry[key]


def _seed_calendar(state: EmulatorState, entry: dict[str, Any], where: str) -> None:
    cal_id = str(_need(entry, "id", where))
    owner = str(entry.get("owner") or cal_id)
    if owner not in state.accounts:
        raise SeedError(f"{where}: owner {owner!r} is not a seeded account")
    acl = {str(k): str(v) for k, v in (entry.get("acl") or {}).items()}
    bad = [r for r in acl.values() if r not in _ROLES]
    if bad:
        raise SeedError(f"{where}: unknown role(s) {bad}")
    existing = state.calendars.get(cal_id)
    cal = existing or Calendar(id=cal_id, owner=owner, summary=cal_id)
    cal.owner = owner
    cal.summary = str(entry.get("summary", cal.summary))
    cal.time_zone = str(entry.get("timeZone", cal.time_zone))
    cal.description = str(entry.get("description", cal.description))
    cal.location = str(entry.get("location", cal.location))
    cal.acl.update(acl)
    cal.color_id = str(entry.get("colorId", cal.color_id))
    cal.background_color = str(entry.get("backgroundColor", cal.background_color))
    cal.foreground_color = str(entry.get("foregroundColor", cal.foreground_color))
    state.calendars[cal_id] = cal
    state.touch_calendar(cal)
    state.expire_sync_tokens(cal_id)


def apply_seed(state: EmulatorState, seed: dict[str, Any]) -> None:
    """Add everything in ``seed`` to ``state``; raises :class:`SeedError`."""
    try:
        apply_clock_and_config(state, seed)
    except ValueError as exc:
        raise SeedError(str(exc)) from exc
    for i, entry in enumerate(seed.get("accounts") or []):
        email = str(_need(entry, "email", f"accounts[{i}]"))
        state.accounts[email] = Account(email, str(entry.get("name", "")),
                                        str(entry.get("timeZone", "UTC")))
        if email not in state.calendars:
            cal = Calendar(id=email, owner=email, summary=email,
                           time_zone=state.accounts[email].time_zone)
            state.calendars[email] = cal
            state.touch_calendar(cal)
    for i, entry in enumerate(seed.get("clients") or []):
        where = f"clients[{i}]"
        client_id = str(_need(entry, "client_id", where))
        state.clients[client_id] = OAuthClient(
            client_id=client_id,
            client_secret=str(_need(entry, "client_secret", where)),
            redirect_uris=[str(u) for u in entry.get("redirect_uris") or []],
            name=str(entry.get("name", "termin-bridge")),
            project_number=str(entry.get("project_number", "123456789012")),
            trusted=bool(entry.get("trusted", False)),
            kind=str(entry.get("type", "web")),
        )
    for i, entry in enumerate(seed.get("calendars") or []):
        _seed_calendar(state, entry, f"calendars[{i}]")
    for i, entry in enumerate(seed.get("calendar_list") or []):
        where = f"calendar_list[{i}]"
        key = (str(_need(entry, "account", where)), str(_need(entry, "calendarId", where)))
        prefs = state.list_prefs.setdefault(key, ListPrefs())
        prefs.hidden = bool(entry.get("hidden", prefs.hidden))
        prefs.selected = bool(entry.get("selected", prefs.selected))
        prefs.summary_override = entry.get("summaryOverride", prefs.summary_override)
        if "defaultReminders" in entry:
            prefs.default_reminders = list(entry["defaultReminders"])
    for i, entry in enumerate(seed.get("events") or []):
        where = f"events[{i}]"
        body = {k: v for k, v in entry.items() if k not in ("calendarId", "actor")}
        cal_id = str(_need(entry, "calendarId", where))
        target = state.calendars.get(cal_id)
        if target is None:
            raise SeedError(f"{where}: unknown calendar {cal_id!r}")
        actor = str(entry.get("actor") or target.owner)
        cancelled = body.pop("status", None) == "cancelled"
        try:
            stored = eventlogic.insert_event(state, cal_id, body, actor, source="seed")
            if cancelled:
                eventlogic.delete_event(state, cal_id, stored.id, actor, source="seed")
        except ApiError as exc:
            raise SeedError(f"{where}: {exc.message}") from exc
    for i, entry in enumerate(seed.get("tokens") or []):
        where = f"tokens[{i}]"
        account = str(_need(entry, "account", where))
        client_id = str(_need(entry, "client_id", where))
        scopes = [full_scope(str(s)) for s in _need(entry, "scopes", where)]
        body = issue_tokens(state, account, client_id, scopes, with_refresh=True)
        state.grants[(account, client_id)] = scopes
        if entry.get("refresh_token"):
            rt = state.refresh_tokens.pop(body["refresh_token"])
            rt.token = str(entry["refresh_token"])
            state.refresh_tokens[rt.token] = rt
            for at in state.access_tokens.values():
                if at.refresh_token == body["refresh_token"]:
                    at.refresh_token = rt.token


def dump_state(state: EmulatorState) -> dict[str, Any]:
    """The whole model as JSON-able data (for ``--state FILE``)."""
    return {
        "version": 1,
        "clock_offset": state.clock.offset_seconds,
        "etag_base": state.etag_base,
        "counter": state.counter,
        "config": encode(state.config),
        "accounts": encode(list(state.accounts.values())),
        "clients": encode(list(state.clients.values())),
        "calendars": encode(list(state.calendars.values())),
        "list_prefs": [[a, c, encode(p)] for (a, c), p in state.list_prefs.items()],
        "events": [encode(e) for t in state.events.values() for e in t.values()],
        "grants": [[a, c, s] for (a, c), s in state.grants.items()],
        "refresh_tokens": encode(list(state.refresh_tokens.values())),
        "access_tokens": encode(list(state.access_tokens.values())),
        "sync_tokens": encode(list(state.sync_tokens.values())),
        "channels": encode(list(state.channels.values())),
    }


def load_state(data: dict[str, Any], state: EmulatorState | None = None) -> EmulatorState:
    """Rebuild a model saved by :func:`dump_state`."""
    state = state or EmulatorState()
    data = decode(data)
    state.clock.offset_seconds = float(data.get("clock_offset", 0.0))
    state.etag_base = int(data.get("etag_base", state.etag_base))
    state.counter = int(data.get("counter", 0))
    state.config.update(data.get("config") or {})
    for a in data.get("accounts", []):
        state.accounts[a["email"]] = Account(**a)
    for c in data.get("clients", []):
        state.clients[c["client_id"]] = OAuthClient(**c)
    for c in data.get("calendars", []):
        state.calendars[c["id"]] = Calendar(**c)
    for account, cal_id, prefs in data.get("list_prefs", []):
        state.list_prefs[(account, cal_id)] = ListPrefs(**prefs)
    for e in data.get("events", []):
        state.calendar_events(e["calendar_id"])[e["data"]["id"]] = StoredEvent(**e)
    for account, client_id, scopes in data.get("grants", []):
        state.grants[(account, client_id)] = list(scopes)
    for r in data.get("refresh_tokens", []):
        state.refresh_tokens[r["token"]] = RefreshToken(**r)
    for t in data.get("access_tokens", []):
        state.access_tokens[t["token"]] = AccessToken(**t)
    for s in data.get("sync_tokens", []):
        state.sync_tokens[s["token"]] = SyncTokenInfo(**s)
    for ch in data.get("channels", []):
        state.channels[ch["id"]] = Channel(**ch)
    return state
