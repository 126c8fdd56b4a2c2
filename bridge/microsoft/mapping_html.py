"""HTML event bodies as plain text (pure, stdlib only).

Graph answers ``body.contentType: html`` unless ``Prefer: outlook.body-content-type="text"`` is
sent, and events written in Outlook carry HTML.  :func:`html_to_text` keeps what a reader sees:
the text, one line break per ``<br>`` and per block element (``p``, ``div``, ``li``, ``tr``,
headings…), whitespace collapsed as a browser does (``&nbsp;`` and other entities are text and
stay), nothing of ``script``/``style``/``head``.  No markup, attribute or URL survives, so the
result is safe to store and show; :func:`bridge.text.multi_line` cleans it afterwards.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

_BLOCKS = frozenset({
    "address", "article", "blockquote", "dd", "div", "dl", "dt", "footer", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "tr", "ul",
})
_SKIPPED = frozenset({"head", "script", "style", "title", "template"})
_SPACE = re.compile(r"[ \t\r\n\f]+")


class _Text(HTMLParser):
    """Collects the visible text of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        self.skipping = 0
        self.pre = 0

    def _break(self) -> None:
        if self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self._break()
            self.pre += tag == "pre"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in _BLOCKS:
            self.pre -= tag == "pre" and self.pre > 0
            self._break()

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self.parts.append(data if self.pre else _SPACE.sub(" ", data))

    def handle_entityref(self, name: str) -> None:
        if not self.skipping:
            self.parts.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        if not self.skipping:
            self.parts.append(html.unescape(f"&#{name};"))


def html_to_text(markup: str) -> str:
    """The visible text of an HTML body, with its line breaks (see the module docstring)."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = "".join(parser.parts).split("\n")
    # A browser drops the collapsed space at the start and end of a line.
    text = "\n".join(line.strip(" ") for line in lines)
    return text.replace("\xa0", " ").strip("\n")
