"""German and English for the admin page, gettext style: English text is the message id.

The language is the session's choice (the switch in the header), else the best match of
``Accept-Language``, else English; the admin's session middleware picks it once per request
and keeps its :class:`Translator` on the request, the ``_()`` of templates and handlers.
Missing German entries fall back to English, and ``tests/admin`` checks none is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.admin.catalog_de import DE

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Translator", "negotiate", "translate"]

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "en"
_CATALOGS: dict[str, dict[str, str]] = {"de": DE, "en": {}}


def negotiate(accept_language: str | None, chosen: str | None = None) -> str:
    """The language to use: ``chosen`` if supported, else the best ``Accept-Language`` match."""
    if chosen in LANGUAGES:
        return str(chosen)
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for position, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-", 1)[0]
        # Earlier entries win ties, as browsers list languages in order of preference.
        score = q - position * 1e-6
        if primary in LANGUAGES and q > 0 and score > best_q:
            best, best_q = primary, score
    return best


def translate(lang: str, message: str, **values: Any) -> str:
    """``message`` in ``lang``, with ``{name}`` placeholders filled from ``values``."""
    text = _CATALOGS.get(lang, {}).get(message, message)
    return text.format(**values) if values else text


@dataclass(frozen=True)
class Translator:
    """The ``_()`` of one language for templates and handlers; ``lang`` names the language."""

    lang: str

    def __call__(self, message: str, **values: Any) -> str:
        """``message`` in this language, with ``{name}`` placeholders filled from ``values``."""
        return translate(self.lang, message, **values)
