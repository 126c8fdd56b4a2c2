"""bridge.ical.fastpaths: the fast line split equals icalendar's ``Contentline.parts``, and the
parse equals ``Calendar.from_ical`` (values, parameters, errors, exceptions)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Component
from icalendar.parser import content_line
from icalendar.parser.content_line import Contentline

from bridge.errors import InvalidICalendar
from bridge.ical import precheck as precheck_module
from bridge.ical import split_calendar
from bridge.ical.fastpaths import _ICAL_FOLD, fold_line, line_parts, parse_calendar_text
from bridge.ical.precheck import Limits, precheck

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from bench_data import calendar_file

_NAMES = st.sampled_from(["DTSTART", "dtstart", "SUMMARY", "X-FOO", "ATTENDEE", "RRULE", "A",
                          "X-Y.Z", "BEGIN", "end", "UID", "DESCRIPTION", "X_UNDER", ""])
_CHARS = st.sampled_from([*"aZ09-/_+.=;:,\"\\^ \t'%né", "^n", "^^", "\\n", "\\,", "%3A"])
_TEXT = st.lists(_CHARS, max_size=12).map("".join)
_PARAM = st.tuples(st.sampled_from(["TZID", "tzid", "VALUE", "CN", "X-P", "ROLE", "a-b", ""]),
                   st.one_of(_TEXT, st.sampled_from(["Europe/Berlin", "DATE", "\"q:v;w\"",
                                                      "A,B", "x+y.z_1"])))


@st.composite
def _lines(draw: st.DrawFn) -> str:
    name = draw(_NAMES)
    params = draw(st.lists(_PARAM, max_size=3))
    sep = draw(st.sampled_from([":", ":", ";", ""]))
    return name + "".join(f";{k}={v}" for k, v in params) + sep + draw(_TEXT)


def _outcome(fn: object, line: Contentline) -> object:
    try:
        name, params, value = fn(line)  # type: ignore[operator]
    except ValueError as exc:
        return ("error", str(exc))
    return (name, type(params), dict(params), value)


@settings(max_examples=1500, deadline=None)
@given(_lines())
def test_line_parts_equal_icalendar(raw: str) -> None:
    line = Contentline(raw)
    assert _outcome(line_parts, line) == _outcome(Contentline.parts, line)


@pytest.mark.parametrize("raw", [
    "DTSTART;TZID=Europe/Berlin:20260105T090000", "DTSTART;VALUE=DATE:20260105",
    "SUMMARY:a\\, b\\; c\\n d", "DESCRIPTION:x:y;z", "X-A;X-B=1;X-C=2:v", "UID:",
    "ATTENDEE;CN=\"Doe, J\":mailto:j@x", "NAME;P=:v", ":v", "N AME:v", "N;P=a b:v",
])
def test_line_parts_examples(raw: str) -> None:
    line = Contentline(raw)
    assert _outcome(line_parts, line) == _outcome(Contentline.parts, line)


def _same(a: Component, b: Component) -> None:
    assert type(a) is type(b) and a.name == b.name
    assert a.errors == b.errors
    assert list(a.keys()) == list(b.keys())
    for key in a:
        va, vb = a[key], b[key]
        assert type(va) is type(vb) and va == vb
        assert getattr(va, "params", None) == getattr(vb, "params", None)
    assert len(a.subcomponents) == len(b.subcomponents)
    for sa, sb in zip(a.subcomponents, b.subcomponents, strict=True):
        _same(sa, sb)


# A zone of its own: icalendar caches parsed VTIMEZONEs process-wide by TZID.
_VTZ = ("BEGIN:VTIMEZONE\r\nTZID:Fastpaths Zone\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
        "END:STANDARD\r\nEND:VTIMEZONE\r\n")


@pytest.mark.parametrize("text", [
    *[t for t, _ in list(split_calendar(calendar_file(40)))],
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=\"Fastpaths Zone\":"
    "20260105T090000\r\nATTENDEE;CN=\"Doe, J\";PARTSTAT=ACCEPTED:mailto:j@x\r\n"
    "DESCRIPTION:long \\, text\\nwith lines\r\n  folded\r\nEND:VEVENT\r\n" + _VTZ
    + "END:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:not-a-date\r\nX-BAD;:v\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n",
])
def test_parse_equals_from_ical(text: str) -> None:
    _same(parse_calendar_text(text), Calendar.from_ical(text))


@pytest.mark.parametrize("text", [
    "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
    "END:VEVENT\r\n", "", "BEGIN:VCALENDAR\r\nNO COLON\r\nEND:VCALENDAR\r\n",
])
def test_parse_raises_like_from_ical(text: str) -> None:
    with pytest.raises(Exception) as theirs:
        Calendar.from_ical(text)
    with pytest.raises(type(theirs.value)) as ours:
        parse_calendar_text(text)
    assert str(ours.value) == str(theirs.value)


_FOLD_TEXT = st.lists(st.sampled_from([*"ab \\^;,:", "é", "€", "😀", "ab" * 10]),
                      max_size=60).map("".join)


@settings(max_examples=1000, deadline=None)
@given(_FOLD_TEXT, st.sampled_from([75, 10, 74, 76]))
def test_fold_line_equals_icalendar(line: str, limit: int) -> None:
    assert fold_line(line, limit) == _ICAL_FOLD(line, limit)
    assert fold_line(line) == _ICAL_FOLD(line)


def test_fold_installed_in_serialisation() -> None:
    import bridge.ical  # noqa: F401  (installs it)

    assert content_line._foldline is fold_line
    line = "DESCRIPTION:" + "x" * 100
    assert Contentline(line).to_ical() == _ICAL_FOLD(line).encode()


# -- precheck: its skipped scans change nothing --------------------------------------------

def _reference_precheck(text: str, limits: Limits) -> None:
    """``precheck`` before its shortcuts (every scan, always), for comparison."""
    if len(text.encode("utf-8")) > limits.max_bytes:
        raise InvalidICalendar(
            f"resource is larger than {limits.max_bytes} bytes", status=413
        )
    if "\x00" in text or precheck_module._CONTROL.search(text):
        raise InvalidICalendar("control characters are not allowed in iCalendar data")
    depth = 0
    count = 0
    if text.upper().count("BEGIN:VCALENDAR") > 1:
        raise InvalidICalendar("more than one VCALENDAR object in one resource")
    content_lines = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        if len(line) > limits.max_line_bytes:
            raise InvalidICalendar(
                f"line {lineno} is longer than {limits.max_line_bytes} characters",
                line=lineno,
            )
        if not line.startswith((" ", "\t")):
            content_lines += 1
    # The cap is on content lines: a folded property (as Radicale re-serialises every PUT)
    # counts with all its continuation lines.
    for match in precheck_module._FOLDED.finditer(text):
        if len(precheck_module._FOLD.sub("", match.group(0))) > limits.max_line_bytes:
            lineno = text.count("\n", 0, match.start()) + 1
            raise InvalidICalendar(
                f"the property at line {lineno} is longer than {limits.max_line_bytes} "
                "characters when unfolded",
                line=lineno,
            )
    for match in precheck_module._BEGIN_END.finditer(text):
        if match.group(1).upper() == "BEGIN":
            depth += 1
            count += 1
            if depth > limits.max_depth:
                raise InvalidICalendar(
                    f"components nested deeper than {limits.max_depth} levels",
                    line=text.count("\n", 0, match.start()) + 1,
                )
            if count > limits.max_components:
                raise InvalidICalendar(f"more than {limits.max_components} components")
        else:
            depth -= 1
    if content_lines > limits.max_content_lines:
        # Parsing cost grows with the number of properties, not only with the byte size.
        raise InvalidICalendar(f"more than {limits.max_content_lines} content lines")
    if not text.lstrip().upper().startswith("BEGIN:VCALENDAR"):
        raise InvalidICalendar("not an iCalendar object: it must start with BEGIN:VCALENDAR")


_PRE_TEXT = st.lists(st.sampled_from(["BEGIN:VCALENDAR", "END:VCALENDAR", "\r\n", "\n", "\r",
                                      "\r\n ", "\n\t", "x", "xxxxxxx", "\u2028", "\x85"]),
                     max_size=40).map(lambda parts: "BEGIN:VCALENDAR\r\n" + "".join(parts))


def _outcome_of(fn: Callable[[str, Limits], None], text: str,
                limits: Limits) -> tuple[str, int | None] | None:
    try:
        fn(text, limits)
    except InvalidICalendar as exc:
        return exc.message, exc.line
    return None


@settings(max_examples=1000, deadline=None)
@given(_PRE_TEXT, st.integers(3, 30), st.integers(1, 30))
def test_precheck_equals_the_full_scans(text: str, line_cap: int, lines_cap: int) -> None:
    limits = Limits(max_line_bytes=line_cap, max_content_lines=lines_cap)
    assert (_outcome_of(precheck, text, limits)
            == _outcome_of(_reference_precheck, text, limits))
