"""Cheap checks on raw iCalendar text, run before any parser sees it.

Size, line length (physical and unfolded), control characters, one VCALENDAR, nesting depth,
component and content-line counts: hostile input is refused here in linear time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridge.errors import InvalidICalendar

__all__ = ["Limits", "decode_text", "precheck"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FOLD = re.compile(r"\r?\n[ \t]")
_FOLDED = re.compile(r"^[^\r\n]*(?:\r?\n[ \t][^\r\n]*)+", re.MULTILINE)
_BEGIN_END = re.compile(r"^(BEGIN|END):([A-Za-z0-9-]+)\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Limits:
    """Caps applied by :func:`parse_resource` (defaults suit phones, Google and the API)."""

    max_bytes: int = 1_000_000
    max_line_bytes: int = 65_536
    max_depth: int = 3
    max_components: int = 1_000
    max_occurrences: int = 20_000
    max_count: int = 10_000
    max_content_lines: int = 10_000


def decode_text(data: str | bytes) -> str:
    """Text of ``data``: UTF-8 only (415 otherwise), a leading BOM dropped."""
    if isinstance(data, bytes):
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidICalendar(
                f"not valid UTF-8 (byte {exc.start}); iCalendar data must be UTF-8", status=415
            ) from exc
    return data.removeprefix("\ufeff")


def precheck(text: str, limits: Limits) -> None:
    """Cheap checks on the raw text before any parsing."""
    if len(text.encode("utf-8")) > limits.max_bytes:
        raise InvalidICalendar(
            f"resource is larger than {limits.max_bytes} bytes", status=413
        )
    if "\x00" in text or _CONTROL.search(text):
        raise InvalidICalendar("control characters are not allowed in iCalendar data")
    depth = 0
    count = 0
    if text.upper().count("BEGIN:VCALENDAR") > 1:
        raise InvalidICalendar("more than one VCALENDAR object in one resource")
    # No physical or unfolded line can be longer than the whole text, and a text shorter than
    # the content-line cap cannot hold more lines than that: the scans below run only when
    # they could find something (the common resource is a few kB).
    long_text = len(text) > limits.max_line_bytes
    content_lines = 0
    if long_text or len(text) >= limits.max_content_lines:
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
    for match in _FOLDED.finditer(text) if long_text else ():
        if len(_FOLD.sub("", match.group(0))) > limits.max_line_bytes:
            lineno = text.count("\n", 0, match.start()) + 1
            raise InvalidICalendar(
                f"the property at line {lineno} is longer than {limits.max_line_bytes} "
                "characters when unfolded",
                line=lineno,
            )
    for match in _BEGIN_END.finditer(text):
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
