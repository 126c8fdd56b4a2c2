"""Cleaning of free text at every boundary: one notion of a line break and of a control character.

Text reaches the store from the booking API, Google, CalDAV clients and imports, and leaves it in
feeds, e-mails and Google.  Not every reader agrees on what a line break is (CR, LF, VT, FF, the
file/group/record separators, NEL, U+2028 and U+2029 all are one to someone), so every path uses
these two functions:

- :func:`one_line` for single-line fields (summary, location, names): every line break and tab
  becomes a space and runs of spaces collapse;
- :func:`multi_line` for notes and descriptions: every line-break form becomes ``LF`` (which the
  iCalendar serialiser escapes), tabs stay, trailing spaces of each line and blank lines at
  either end go.

Both drop C0/C1 control characters, DEL, the bidirectional embedding/override/isolate controls
(they can make a displayed value lie about its content) and the byte-order mark.  Nothing either
returns can start a new content line in iCalendar, a header in an e-mail, or a line in a log.
"""

from __future__ import annotations

import re

__all__ = ["multi_line", "one_line"]

# Everything some reader treats as a line break: CRLF, CR, LF, VT, FF, FS/GS/RS, NEL, LS, PS.
_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# C0 and C1 controls other than TAB and LF (the breaks are LF by then), DEL, bidi embeddings,
# overrides and isolates, and the byte-order mark.
_DROP = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"[ \t]+")


def _common(value: object) -> str:
    return _DROP.sub("", _BREAKS.sub("\n", str(value)))


def one_line(value: object, *, limit: int | None = None) -> str:
    """``value`` on one line: breaks and tabs become one space, controls are dropped."""
    text = _SPACES.sub(" ", _common(value).replace("\n", " ")).strip()
    return text if limit is None else text[:limit].rstrip()


def multi_line(value: object, *, limit: int | None = None) -> str:
    """``value`` with every line-break form as ``LF`` and without control characters."""
    text = "\n".join(line.rstrip(" \t") for line in _common(value).split("\n")).strip("\n")
    return text if limit is None else text[:limit]
