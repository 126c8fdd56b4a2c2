"""Keep what a provider cannot hold when a pulled edit replaces a stored resource (pure).

A pulled provider event is rendered from the mapping model, so everything the model does not
carry (``PRIORITY``, ``GEO``, ``ATTACH``, ``COMMENT``, client ``X-`` properties, alarm details
beyond what the provider keeps, …) is missing from it.  :func:`preserve_local_only` puts those
back from the stored text, per component (the master, and each override matched by its
RECURRENCE-ID as the mapping reads it).  Which properties a provider holds is its
:class:`Projection` (``bridge.google.mapping_preserve``, ``bridge.microsoft.mapping_preserve``):

- every property whose name is not in ``Projection.mapped_props``, unless the new component has
  a property of that name (the new text wins);
- non-VALARM subcomponents the new component lacks;
- the old VALARMs (and the style's "no reminders" marker) instead of the rendered ones, when
  they hold more than the mapping would render for them and, against the new start and end,
  give the reminders the provider now has (the provider did not change the reminders);
- the ``VTIMEZONE``s the carried lines refer to.

Overrides the new text no longer has are not brought back.  Old lines are copied byte for byte
(only the line ends become CRLF).  The result is checked: every component maps to exactly what
the new one maps to (so the content hash, and what the provider sees, is unchanged and the next
sync writes nothing); otherwise that component (or in the end the whole text) stays as the
provider gave it.  (Moved here from ``bridge.google.mapping_preserve``, unchanged for Google.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from icalendar import Calendar, Component

from bridge.errors import InvalidICalendar
from bridge.ical.model import EventData, MappingError, Moment
from bridge.ical.render import Style, render_alarms

__all__ = ["Projection", "preserve_local_only"]

_NAME = re.compile(r"[A-Za-z0-9-]+")
_TZID = re.compile(r';TZID=("[^"]*"|[^;:]*)', re.IGNORECASE)
_FOLD = re.compile(r"\r\n[ \t]")
_MASTER = ""


@dataclass(frozen=True)
class Projection:
    """What a provider mapping holds of a resource, as far as keeping the rest needs it.

    ``mapped_props``: every VEVENT property the mapping reads or renders; ``style``: how it
    renders (its "no reminders" marker belongs to the VALARM group); ``event(comp,
    master_start, ref_tz)``: one VEVENT as the model holds it; ``digest(text, ref_tz)``: the
    normalised hash of a whole resource text.
    """

    mapped_props: frozenset[str]
    style: Style
    event: Callable[[Component, Moment | None, str], EventData]
    digest: Callable[[str, str], str]


@dataclass
class _Node:
    """A component as text: its BEGIN line, property lines and subcomponents in order."""

    name: str
    begin: str
    items: list[str | _Node] = field(default_factory=list)
    end: str = ""

    def props(self) -> list[str]:
        return [i for i in self.items if isinstance(i, str)]

    def children(self, name: str | None = None) -> list[_Node]:
        return [i for i in self.items if isinstance(i, _Node) and name in (None, i.name)]

    def lines(self) -> list[str]:
        out = [self.begin]
        for item in self.items:
            out.extend([item] if isinstance(item, str) else item.lines())
        out.append(self.end)
        return out


def _name(line: str) -> str:
    match = _NAME.match(line)
    if match is None:
        raise ValueError(f"not a content line: {line[:40]!r}")
    return match.group(0).upper()


def _value(line: str) -> str:
    return _FOLD.sub("", line).split(":", 1)[-1].strip().upper()


def _split(text: str) -> _Node:
    """The VCALENDAR of ``text`` as a tree of content lines (folds kept, CRLF line ends)."""
    logical: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith((" ", "\t")) and logical:
            logical[-1] += "\r\n" + line
        elif line.strip():
            logical.append(line)
    root = _Node("", "")
    stack = [root]
    for line in logical:
        name = _name(line)
        if name == "BEGIN":
            node = _Node(_value(line), line)
            stack[-1].items.append(node)
            stack.append(node)
        elif name == "END":
            if len(stack) < 2 or stack[-1].name != _value(line):
                raise ValueError("unbalanced BEGIN/END")
            stack.pop().end = line
        else:
            stack[-1].items.append(line)
    cals = root.children("VCALENDAR")
    if len(stack) != 1 or len(cals) != 1:
        raise ValueError("not one VCALENDAR")
    return cals[0]


def _events(
    text: str, proj: Projection, calendar_tz: str
) -> tuple[_Node, dict[str, tuple[_Node, EventData]]]:
    """The calendar node and its VEVENTs by RECURRENCE-ID key (``""``: the master)."""
    node = _split(text)
    cal = Calendar.from_ical(text)
    comps = [c for c in cal.subcomponents if c.name == "VEVENT"]
    nodes = node.children("VEVENT")
    if len(comps) != len(nodes):
        raise ValueError("components do not line up")
    masters = [i for i, c in enumerate(comps) if "RECURRENCE-ID" not in c]
    if not masters:
        raise ValueError("no master")
    master = proj.event(comps[masters[0]], None, calendar_tz)
    out: dict[str, tuple[_Node, EventData]] = {_MASTER: (nodes[masters[0]], master)}
    for comp, n in zip(comps, nodes, strict=True):
        if "RECURRENCE-ID" not in comp:
            continue
        ev = proj.event(comp, master.start, calendar_tz)
        assert ev.recurrence_id is not None
        out.setdefault(ev.recurrence_id.key(), (n, ev))
    return node, out


def _alarm_group(node: _Node, proj: Projection) -> list[str | _Node]:
    return [i for i in node.items if (i.name == "VALARM" if isinstance(i, _Node)
                                      else _name(i) == proj.style.no_reminders_prop)]


def _unfolded(items: list[str | _Node]) -> list[str]:
    lines: list[str] = []
    for item in items:
        lines.extend([item] if isinstance(item, str) else item.lines())
    return [_FOLD.sub("", line) for line in lines]


def _rendered(ev: EventData, proj: Projection) -> list[str]:
    """The unfolded lines the mapping renders for ``ev``'s reminders."""
    marker = ([f"{proj.style.no_reminders_prop}:NONE"]
              if ev.reminders == () and proj.style.no_reminders_prop else [])
    text = b"".join(a.to_ical() for a in render_alarms(ev)).decode("utf-8")
    return marker + [line for line in _FOLD.sub("", text).split("\r\n") if line]


def _merge(new: _Node, old: _Node, proj: Projection, *, alarms: bool) -> _Node:
    """``new`` with what only ``old`` has (and its alarms when ``alarms``)."""
    have = {_name(p) for p in new.props()}
    carried = [p for p in old.props() if (name := _name(p)) not in proj.mapped_props
               and name not in have]
    kinds = {c.name for c in new.children()}
    subs: list[str | _Node] = [c for c in old.children()
                               if c.name != "VALARM" and c.name not in kinds]
    items = list(new.items)
    if alarms:
        group = _alarm_group(new, proj)
        items = [i for i in items if not any(i is g for g in group)] + _alarm_group(old, proj)
    props = [i for i in items if isinstance(i, str)]
    comps = [i for i in items if not isinstance(i, str)]
    return replace(new, items=[*props, *carried, *comps, *subs])


def _wants_alarms(new: _Node, old: _Node, old_ev: EventData, proj: Projection) -> bool:
    """The old alarm group holds more than the mapping renders for it, and is not the new one."""
    group = _unfolded(_alarm_group(old, proj))
    return bool(group) and group != _rendered(old_ev, proj) and group != _unfolded(
        _alarm_group(new, proj))


def _tzids(items: list[str | _Node]) -> set[str]:
    return {m.group(1).strip('"') for line in _unfolded(items) for m in _TZID.finditer(
        line.split(":", 1)[0])}


def _assemble(cal: _Node, old_cal: _Node, merged: dict[int, _Node]) -> str:
    """``cal`` with VEVENT ``i`` replaced by ``merged[i]`` and the VTIMEZONEs they need."""
    items: list[str | _Node] = []
    carried: list[str | _Node] = []
    index = 0
    for item in cal.items:
        if isinstance(item, _Node) and item.name == "VEVENT":
            node = merged.get(index, item)
            carried.extend(i for i in node.items if not any(i is j for j in item.items))
            items.append(node)
            index += 1
        else:
            items.append(item)
    have = {_zone_id(z) for z in cal.children("VTIMEZONE")}
    wanted = {t.upper() for t in _tzids(carried)} - have
    zones: list[str | _Node] = [z for z in old_cal.children("VTIMEZONE")
                                if _zone_id(z) in wanted]
    first = next((i for i, x in enumerate(items) if isinstance(x, _Node)), len(items))
    items[first:first] = zones
    return "\r\n".join(replace(cal, items=items).lines()) + "\r\n"


def _zone_id(zone: _Node) -> str:
    return next((_value(p) for p in zone.props() if _name(p) == "TZID"), "")


@dataclass
class _Pair:
    key: str
    index: int
    new: _Node
    new_ev: EventData
    old: _Node
    old_ev: EventData


def _nothing_to_keep(old_text: str, proj: Projection) -> bool:
    """Cheap text-only test: no VEVENT of ``old_text`` holds anything the mapping drops."""
    for event in _split(old_text).children("VEVENT"):
        if event.children() or any(_name(p) not in proj.mapped_props for p in event.props()):
            return False
    return True


def _preserve(new_text: str, old_text: str, proj: Projection, calendar_tz: str) -> str:
    if _nothing_to_keep(old_text, proj):
        return new_text
    new_cal, new_events = _events(new_text, proj, calendar_tz)
    old_cal, old_events = _events(old_text, proj, calendar_tz)
    position = {id(n): i for i, n in enumerate(new_cal.children("VEVENT"))}
    pairs = [_Pair(key, position[id(n)], n, ev, *old_events[key])
             for key, (n, ev) in new_events.items() if key in old_events]
    merged: dict[int, _Node] = {}
    with_alarms: set[int] = set()
    for pair in pairs:
        alarms = _wants_alarms(pair.new, pair.old, pair.old_ev, proj)
        node = _merge(pair.new, pair.old, proj, alarms=alarms)
        if node.items != pair.new.items:
            merged[pair.index] = node
            if alarms:
                with_alarms.add(pair.index)
    # Check that every merged component maps to what the new one maps to: first with the old
    # alarms, then without them, then the component stays as Google gave it.
    for _ in range(3):
        if not merged:
            return new_text
        text = _assemble(new_cal, old_cal, merged)
        _, got = _events(text, proj, calendar_tz)
        wrong = [p for p in pairs if p.index in merged and got[p.key][1] != p.new_ev]
        if not wrong:
            break
        for pair in wrong:
            if pair.index in with_alarms:
                with_alarms.discard(pair.index)
                node = _merge(pair.new, pair.old, proj, alarms=False)
                if node.items != pair.new.items:
                    merged[pair.index] = node
                    continue
            del merged[pair.index]
    else:
        return new_text
    same = proj.digest(text, calendar_tz) == proj.digest(new_text, calendar_tz)
    return text if same else new_text


def preserve_local_only(new_text: str, old_text: str, proj: Projection, *, calendar_tz: str) -> str:
    """``new_text`` (a pulled resource) with what only ``old_text`` (the stored one) can hold.

    Both are validated resources of one UID; ``proj`` is the provider mapping's projection and
    ``calendar_tz`` the canonical zone of the provider calendar (the mapping's reference for
    floating times).  Returns ``new_text`` itself when there is nothing to keep or the texts
    cannot be lined up.  The result maps to the same content as ``new_text`` (equal
    ``proj.digest``).
    """
    try:
        return _preserve(new_text, old_text, proj, calendar_tz)
    except (ValueError, KeyError, MappingError, InvalidICalendar):
        return new_text
