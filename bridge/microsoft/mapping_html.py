"""HTML event bodies as plain text (pure, stdlib only).

Graph answers ``body.contentType: html`` unless ``Prefer: outlook.body-content-type="text"`` is
sent, and events written in Outlook carry HTML.  :func:`html_to_text` keeps what a reader sees:
the text, one line break per ``<br>`` and per block element (``p``, ``div``, ``li``, ``tr``,
headings…), whitespace collapsed as a browser does (entities are text and stay; ``&nbsp;``
becomes a space), nothing of ``script``/``style``/``head``.  No markup, attribute or URL
survives, so the result is safe to store and show; :func:`bridge.text.multi_line` cleans it
afterwards.
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
    """Collects the visible text of an HTML document as segments ``(text, verbatim)``: data
    whitespace collapses (and goes at line ends), entities and ``<pre>`` text stay as written."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[tuple[str, bool]] = []
        self.skipping = 0
        self.pre = 0

    def _break(self) -> None:
        if self.parts and not self.parts[-1][0].endswith("\n"):
            self.parts.append(("\n", False))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.parts.append(("\n", False))
        elif tag in _BLOCKS:
            self._break()
            self.pre += tag == "pre"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append(("\n", False))
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
        if self.pre:
            self.parts.append((data, True))
            return
        text = _SPACE.sub(" ", data)
        if text.startswith(" ") and self.parts and not self.parts[-1][1] and \
                self.parts[-1][0].endswith((" ", "\n")):
            text = text[1:]
        if text:
            self.parts.append((text, False))

    def _entity(self, raw: str) -> None:
        if not self.skipping:
            text = html.unescape(raw)
            self.parts.append((" " if text == "\xa0" else text, True))

    def handle_entityref(self, name: str) -> None:
        self._entity(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self._entity(f"&#{name};")


def _line(segments: list[tuple[str, bool]]) -> str:
    """One line: collapsed spaces at its start and end dropped (a browser shows none)."""
    while segments and not segments[0][1] and not segments[0][0].strip(" "):
        segments.pop(0)
    while segments and not segments[-1][1] and not segments[-1][0].strip(" "):
        segments.pop()
    if segments and not segments[0][1]:
        segments[0] = (segments[0][0].lstrip(" "), False)
    if segments and not segments[-1][1]:
        segments[-1] = (segments[-1][0].rstrip(" "), False)
    return "".join(text for text, _ in segments)


def html_to_text(markup: str) -> str:
    """The visible text of an HTML body, with its line breaks (see the module docstring)."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines: list[list[tuple[str, bool]]] = [[]]
    for text, verbatim in parser.parts:
        if verbatim:
            lines[-1].append((text, True))
            continue
        for i, chunk in enumerate(text.split("\n")):
            if i:
                lines.append([])
            if chunk:
                lines[-1].append((chunk, False))
    return "\n".join(_line(segments) for segments in lines).strip("\n")
