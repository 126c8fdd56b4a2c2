"""Feed-specific value checks: quoted parameters, URIs and colours.

Free text is cleaned by :mod:`bridge.text` (the one notion of line breaks and control characters
for every path); this module adds what only the feed writer needs: parameter values that cannot
close a quoted string, URIs of the schemes a feed may carry, and RFC 7986 colour names.  Feed
values are capped at :data:`MAX_LINE_TEXT` (one-line) and :data:`MAX_MULTILINE_TEXT` characters.
"""

from __future__ import annotations

import re

from bridge.text import one_line

__all__ = [
    "MAX_LINE_TEXT",
    "MAX_MULTILINE_TEXT",
    "clean_param",
    "clean_uri",
    "css_color_name",
    "hex_color",
]

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


def clean_param(value: object) -> str:
    """A parameter value: one line, no double quotes (they delimit quoted parameters)."""
    return one_line(value, limit=256).replace('"', "'")


def clean_uri(value: object) -> str | None:
    """``value`` if it is an http(s), mailto or tel URI without spaces or controls, else None."""
    text = str(value).strip()
    if len(text) > 2048 or not text.lower().startswith(_URI_SCHEMES):
        return None
    if one_line(text) != text or any(c.isspace() for c in text):
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
