"""Sanitisers for every value that leaves the bridge in an ICS feed.

Booking data may hold CR, LF, lone CR, U+2028, NUL and other control characters.  The
iCalendar serialiser escapes ``\\n`` in TEXT values, but not every client agrees on what a line
break is, so feed values are cleaned first: single-line fields lose every line break, multi-line
fields keep only ``\\n`` (which the serialiser escapes), and control and bidi-override characters
are dropped everywhere.  Nothing that comes out of these functions can start a new content line.
"""

from __future__ import annotations

import re

__all__ = ["clean_param", "clean_text", "clean_uri", "css_color_name", "hex_color"]

# Everything some reader treats as a line break: CR, LF, VT, FF, FS/GS/RS, NEL, LS, PS.
_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# C0 and C1 controls (tab included; it becomes a space first), DEL, bidi embeddings/overrides
# and isolates (they can make a displayed value lie about its content), BOM.
_DROP = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"[ \t]+")
_URI_SCHEMES = ("http://", "https://", "mailto:", "tel:")
_HEX = re.compile(r"#?([0-9a-fA-F]{6})([0-9a-fA-F]{2})?")

MAX_LINE_TEXT = 1_024
MAX_MULTILINE_TEXT = 16_384

# The CSS3 basic colours plus a few common extended ones: RFC 7986 COLOR takes a CSS3 name.
_CSS_COLORS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0), "silver": (192, 192, 192), "gray": (128, 128, 128),
    "white": (255, 255, 255), "maroon": (128, 0, 0), "red": (255, 0, 0),
    "purple": (128, 0, 128), "fuchsia": (255, 0, 255), "green": (0, 128, 0),
    "lime": (0, 255, 0), "olive": (128, 128, 0), "yellow": (255, 255, 0),
    "navy": (0, 0, 128), "blue": (0, 0, 255), "teal": (0, 128, 128), "aqua": (0, 255, 255),
    "orange": (255, 165, 0), "royalblue": (65, 105, 225), "steelblue": (70, 130, 180),
    "seagreen": (46, 139, 87), "crimson": (220, 20, 60), "gold": (255, 215, 0),
    "darkorange": (255, 140, 0), "slateblue": (106, 90, 205), "hotpink": (255, 105, 180),
    "saddlebrown": (139, 69, 19), "darkgreen": (0, 100, 0), "skyblue": (135, 206, 235),
}


def clean_text(value: object, *, multiline: bool = False, limit: int | None = None) -> str:
    """``value`` as text that cannot break a content line (``\\n`` kept only if multiline)."""
    text = _BREAKS.sub("\n", str(value)).replace("\t", " ")
    text = _DROP.sub("", text)
    if multiline:
        lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
        text = "\n".join(lines).strip("\n")
        cap = MAX_MULTILINE_TEXT if limit is None else limit
    else:
        text = _SPACES.sub(" ", text.replace("\n", " ")).strip()
        cap = MAX_LINE_TEXT if limit is None else limit
    return text[:cap]


def clean_param(value: object) -> str:
    """A parameter value: one line, no double quotes (they delimit quoted parameters)."""
    return clean_text(value, limit=256).replace('"', "'")


def clean_uri(value: object) -> str | None:
    """``value`` if it is an http(s), mailto or tel URI without spaces or controls, else None."""
    text = str(value).strip()
    if len(text) > 2048 or not text.lower().startswith(_URI_SCHEMES):
        return None
    if _BREAKS.search(text) or _DROP.search(text) or any(c.isspace() for c in text):
        return None
    if any(c in text for c in '"<>\\^`{|}'):
        return None
    return text


def hex_color(value: str) -> str | None:
    """``#RRGGBB`` for a stored colour like ``#3366ccff``; None when it is not a hex colour."""
    match = _HEX.fullmatch(value.strip())
    return "#" + match.group(1).upper() if match else None


def css_color_name(hex_value: str) -> str:
    """The nearest CSS3 colour name to ``#RRGGBB`` (RFC 7986 ``COLOR`` wants a name)."""
    r, g, b = (int(hex_value[i : i + 2], 16) for i in (1, 3, 5))
    return min(
        _CSS_COLORS,
        key=lambda n: sum((x - y) ** 2 for x, y in zip(_CSS_COLORS[n], (r, g, b), strict=True)),
    )
