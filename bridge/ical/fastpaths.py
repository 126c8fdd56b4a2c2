"""Faster equivalents of icalendar's two per-character loops (same results, tested).

**Parsing** (the validation gate's parse).  icalendar splits every content line into name,
parameters and value with a Python loop over each character of the whole line (values included)
and builds its ``Parameters`` twice; that loop is about a third of parsing an event, and grows
with long descriptions.  A line whose name and parameters are plain tokens (``NAME``,
``NAME;KEY=VALUE;…`` with letters, digits and ``-``, parameter values without quotes, escapes,
commas, ``^`` or blanks, which is nearly every line real producers write) is split here with one
regular expression into exactly what ``Contentline.parts`` returns; any other line goes through
icalendar's own ``parts``.  The rest of the parse is icalendar's: the parser below subclasses
its ``CalendarIcalParser`` (made to be refined in subclasses) and only replaces the line split.

**Serialising.**  ``Contentline.to_ical`` folds every line with a per-character loop, also the
short ones it leaves as they are.  :func:`install` wraps icalendar's ``_foldline`` so that a
line shorter than the fold limit in bytes is returned at once (what the loop returns for it);
longer lines still go through icalendar's loop.  It is installed when :mod:`bridge.ical` is
imported, and only if icalendar's function is where this module expects it.

Property tests compare both with icalendar's own functions on generated lines.
"""

from __future__ import annotations

import re
from typing import Any

import icalendar.parser.content_line as _content_line
from icalendar import Calendar, Parameters
from icalendar.parser.content_line import Contentline
from icalendar.parser.ical.calendar import CalendarIcalParser
from icalendar.parser.property import unescape_backslash

__all__ = ["fold_line", "install", "line_parts", "parse_calendar_text"]

# Name, then plain parameters, then the first ':' (nothing before it is quoted or escaped).
_PLAIN = re.compile(r"([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+=[A-Za-z0-9/_+.-]+)*):")


def line_parts(line: Contentline) -> tuple[str, Parameters, str]:
    """What ``line.parts()`` returns, without its per-character loop for plain lines."""
    match = _PLAIN.match(line)
    if match is None:
        return line.parts()
    params = Parameters()
    raw = match.group(2)
    if raw:
        for item in raw[1:].split(";"):
            key, value = item.split("=", 1)
            params[key] = value
    return match.group(1), params, unescape_backslash(line[match.end():])


class _Parser(CalendarIcalParser):
    """icalendar's calendar parser with :func:`line_parts` as the line split, and the value
    type of each property name and ``VALUE`` looked up once per parse (icalendar asks twice
    per property)."""

    _factories: dict[tuple[str, str | None], Any]

    def get_factory_for_property(self, name: str, params: Parameters) -> Any:
        """``types_factory.for_property(name, params.value)``, remembered for this parse."""
        key = (name, params.value)
        try:
            return self._factories[key]
        except AttributeError:
            self._factories = {}
        except KeyError:
            pass
        factory = self._types_factory.for_property(*key)
        self._factories[key] = factory
        return factory

    def parse_content_lines(self) -> None:
        """The loop of ``ComponentIcalParser.parse_content_lines`` with the fast split."""
        for line in self._content_lines_iterator:
            if not line:
                continue
            try:
                name, params, vals = line_parts(line)
            except ValueError as exc:
                self.handle_line_parse_error(exc)
                continue
            uname = name.upper()
            if uname == "BEGIN":
                self.handle_begin_component(vals)
            elif uname == "END":
                self.handle_end_component(vals)
            else:
                self.handle_property(uname, params, vals, line)


class _FastCalendar(Calendar):
    """Only a carrier of the parser: what it parses is built by icalendar's component factory,
    so the result is a plain ``Calendar``."""

    @classmethod
    def _get_ical_parser(cls, st: str | bytes) -> Any:
        return _Parser(st, cls._get_component_factory(), cls.types_factory)


def parse_calendar_text(text: str) -> Calendar:
    """``Calendar.from_ical(text)`` (same result, same exceptions), faster."""
    cal = _FastCalendar.from_ical(text)
    assert type(cal) is Calendar
    return cal


_ICAL_FOLD = getattr(_content_line, "_foldline", None)


def fold_line(line: str, limit: int = 75, fold_sep: str = "\r\n ") -> str:
    """icalendar's ``_foldline(line, limit, fold_sep)``, at once for a line that needs no fold."""
    if len(line) < limit and "\n" not in line and (
            line.isascii() or len(line.encode("utf-8")) < limit):
        return line
    assert _ICAL_FOLD is not None
    result: str = _ICAL_FOLD(line, limit, fold_sep)
    return result


def install() -> None:
    """Use :func:`fold_line` in ``Contentline.to_ical`` (idempotent; nothing when icalendar no
    longer has the function this replaces)."""
    if _ICAL_FOLD is not None and callable(_ICAL_FOLD):
        _content_line._foldline = fold_line  # type: ignore[attr-defined]
