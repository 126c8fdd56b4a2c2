"""bridge.text: one notion of line breaks and control characters for every path."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.text import multi_line, one_line

# Anything that is a line break to some reader, a control character, a bidi control or a BOM.
_BAD = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_GONE = re.compile("[\x00-\x20\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def _visible(text: str) -> str:
    return "".join(c for c in _GONE.sub("", text) if not c.isspace())


_INTERESTING = st.sampled_from(
    ["\r\n", "\r", "\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029",
     "\t", " ", "\xa0", "\u3000", "\x00", "\x1b", "\x7f", "\x9b", "\u202e", "\u2066", "\ufeff",
     "a", "ß", "€"]
)
_TEXT = st.lists(st.one_of(_INTERESTING, st.characters()), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_cleaning_agrees_on_breaks_and_keeps_the_rest(value: str) -> None:
    single, multi = one_line(value), multi_line(value)
    # No reader can see a line break or a control in a one-line value; multi-line values carry
    # line breaks only as LF, and tabs only as themselves.
    assert not _BAD.search(single) and "\t" not in single
    assert not _BAD.search(multi.replace("\n", "").replace("\t", ""))
    # Both agree on what a line is: the multi-line value's lines, joined, are the one-line value.
    assert one_line(multi) == single
    # Cleaning is idempotent, and no visible character is lost or reordered.
    assert one_line(single) == single and multi_line(multi) == multi
    assert _visible(single) == _visible(value) == _visible(multi)


def test_examples() -> None:
    assert one_line(" Dr.\u2028Müller\r\n\tPraxis\x00 ") == "Dr. Müller Praxis"
    cleaned = multi_line("eins\r\nzwei\rdrei\u2028vier\x85fünf  \n\n")
    assert cleaned == "eins\nzwei\ndrei\nvier\nfünf"
    assert multi_line("a\u202eb\ufeff\tc") == "ab\tc"
    assert one_line("x" * 10 + " y", limit=11) == "x" * 10
