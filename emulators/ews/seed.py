"""Seed documents and state persistence for the EWS emulator.

``apply_seed`` loads ``mailboxes`` (``email``, ``password``, ``name``, ``domain``,
``time_zone``), ``calendars`` (sub-calendars: ``owner``, ``name``, optional ``id``), ``items``
(``owner``, optional ``calendar`` name, ``subject``, ``start``, ``end``, ``location``, ``body``,
``is_all_day``, ``time_zone``, ``recurrence`` as a ``<t:Recurrence>`` XML string, or a whole
``xml`` ``<t:CalendarItem>``), ``config`` and ``clock`` (format in ``docs/emulator-ews.md``).
Items go through the normal create rules.  ``dump_state``/``load_state`` save and restore the
whole model for ``--state FILE``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources
from typing import Any

from emulators.ews.calendar import create_item
from emulators.ews.soap import TNS, EwsError, sub, t
from emulators.ews.state import EwsState, Folder, Item, Mailbox, Modified, Tombstone
from emulators.shared.knobs import apply_clock_and_config
from emulators.shared.persist import decode, encode

__all__ = ["SeedError", "apply_seed", "demo_seed", "dump_state", "load_state"]


class SeedError(ValueError):
    """A seed document that cannot be applied."""


def demo_seed() -> dict[str, Any]:
    """The bundled demo seed."""
    text = resources.files("emulators.ews").joinpath("demo_seed.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _xml(text: str, where: str) -> ET.Element:
    if "<!DOCTYPE" in text.upper():
        raise SeedError(f"{where}: DTDs are not allowed")
    try:
        return ET.fromstring(f'<wrap xmlns:t="{TNS}">{text}</wrap>')[0]  # noqa: S314
    except (ET.ParseError, IndexError) as exc:
        raise SeedError(f"{where}: not an XML element: {exc}") from exc


def _item_element(entry: dict[str, Any], where: str) -> ET.Element:
    if entry.get("xml"):
        return _xml(str(entry["xml"]), where)
    elem = ET.Element(t("CalendarItem"))
    for key, name in (("subject", "Subject"), ("body", "Body")):
        if entry.get(key):
            child = sub(elem, t(name), str(entry[key]))
            if name == "Body":
                child.set("BodyType", "Text")
    if entry.get("recurrence"):
        elem.append(_xml(str(entry["recurrence"]), where))
    for key, name in (("start", "Start"), ("end", "End")):
        if not entry.get(key):
            raise SeedError(f"{where}: {key} is required")
        sub(elem, t(name), str(entry[key]))
    if entry.get("is_all_day"):
        sub(elem, t("IsAllDayEvent"), "true")
    if entry.get("location"):
        sub(elem, t("Location"), str(entry["location"]))
    return elem


def _folder(state: EwsState, owner: str, name: str | None, where: str) -> Folder:
    if not name or name == "calendar":
        folder = state.distinguished(owner, "calendar")
    else:
        folder = next((f for f in state.folders.values()
                       if f.owner == owner and f.name == name), None)
    if folder is None:
        raise SeedError(f"{where}: unknown calendar {name!r} of {owner}")
    return folder


def apply_seed(state: EwsState, seed: dict[str, Any]) -> None:
    """Add a seed document to ``state``; raises :class:`SeedError`."""
    if not isinstance(seed, dict):
        raise SeedError("the seed must be a JSON object")
    for i, entry in enumerate(seed.get("mailboxes") or []):
        try:
            state.add_mailbox(Mailbox(str(entry["email"]), str(entry["password"]),
                                      str(entry.get("name", "")),
                                      str(entry.get("domain", "CONTOSO")),
                                      str(entry.get("time_zone", "W. Europe Standard Time"))))
        except (KeyError, TypeError) as exc:
            raise SeedError(f"mailboxes[{i}]: email and password are required") from exc
    for i, entry in enumerate(seed.get("calendars") or []):
        owner = str(entry.get("owner", "")).lower()
        if state.mailbox(owner) is None:
            raise SeedError(f"calendars[{i}]: unknown owner {owner!r}")
        state.add_calendar(owner, str(entry.get("name") or "Calendar"),
                           folder_id=entry.get("id"))
    for i, entry in enumerate(seed.get("items") or []):
        where = f"items[{i}]"
        owner = str(entry.get("owner", "")).lower()
        box = state.mailbox(owner)
        if box is None:
            raise SeedError(f"{where}: unknown owner {owner!r}")
        folder = _folder(state, owner, entry.get("calendar"), where)
        try:
            create_item(state, folder, _item_element(entry, where),
                        str(entry.get("time_zone") or box.time_zone))
        except EwsError as exc:
            raise SeedError(f"{where}: {exc}") from exc
    try:
        apply_clock_and_config(state, seed)
    except ValueError as exc:
        raise SeedError(str(exc)) from exc


def _fields_out(fields: dict[str, ET.Element]) -> dict[str, str]:
    return {k: ET.tostring(v, encoding="unicode") for k, v in fields.items()}


def _fields_in(data: dict[str, str]) -> dict[str, ET.Element]:
    return {k: ET.fromstring(v) for k, v in data.items()}  # noqa: S314 - our own dump


def dump_state(state: EwsState) -> dict[str, Any]:
    """The whole model as JSON-able data."""
    items = []
    for item in state.items.values():
        row = encode(item)
        row["fields"] = _fields_out(item.fields)
        row["deleted"] = sorted(item.deleted)
        row["exceptions"] = {k: {"seq": v.seq, "fields": _fields_out(v.fields)}
                             for k, v in item.exceptions.items()}
        items.append(row)
    return {"mailboxes": [encode(b) for b in state.mailboxes.values()],
            "folders": [encode(f) for f in state.folders.values()], "items": items,
            "tombstones": [encode(d) for d in state.tombstones], "counter": state.counter,
            "config": encode(state.config)}


def load_state(data: dict[str, Any], state: EwsState | None = None) -> EwsState:
    """Restore a :func:`dump_state` result (into ``state`` or a new one)."""
    state = state or EwsState()
    state.reset()
    for row in data["mailboxes"]:
        box = Mailbox(**row)
        state.mailboxes[box.email.lower()] = box
    for row in data["folders"]:
        folder = Folder(**row)
        state.folders[folder.id] = folder
    for row in data["items"]:
        row = decode(row)
        item = Item(**{**row, "fields": _fields_in(row["fields"]), "deleted": set(row["deleted"]),
                       "exceptions": {k: Modified(_fields_in(v["fields"]), v["seq"])
                                      for k, v in row["exceptions"].items()}})
        state.items[item.id] = item
    state.tombstones = [Tombstone(**row) for row in data["tombstones"]]
    state.counter = int(data["counter"])
    state.config.update(data.get("config") or {})
    return state
