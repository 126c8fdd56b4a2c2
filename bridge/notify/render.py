"""Render customer messages from Jinja2 templates (German and English defaults).

Templates are plain text files ``<lang>/<kind>.txt`` whose first line is ``Subject: …``,
followed by a blank line and the body.  A ``template_dir`` from the configuration is searched
first, so an operator overrides one file without copying the rest.  Every value from the
appointment is sanitised to one line (or to LF-only text) before rendering, so no customer field
can inject a mail header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_date, get_timezone_name

from bridge.ical.timezones import zone_for_name
from bridge.text import one_line

__all__ = ["KINDS", "LANGUAGES", "Message", "Renderer", "format_when"]

KINDS = ("confirmation", "cancellation", "reminder")
LANGUAGES = ("de", "en")
DASH = "\u2013"  # en dash between times
_BUILTIN = Path(__file__).resolve().parent / "templates"
# Day and month names come from the CLDR data through Babel; the patterns are ours.
_DATE_PATTERNS = {"de": "EEEE, d. MMMM y", "en": "EEEE, d MMMM y"}
_LOCALES = {"de": "de_DE", "en": "en_GB"}


@dataclass(frozen=True)
class Message:
    """A rendered message."""

    subject: str
    body: str


def _date(value: datetime, language: str) -> str:
    return format_date(value, _DATE_PATTERNS[language], locale=_LOCALES[language])


def _zone_name(value: datetime, language: str) -> str:
    """The zone's name as people say it at ``value`` ("Mitteleuropäische Sommerzeit")."""
    return str(get_timezone_name(value, width="long", locale=_LOCALES[language]))


def format_when(payload: dict[str, Any], language: str, *, name_zone: bool = True) -> str:
    """The appointment's date and time in the calendar's zone, in words of ``language``, with the
    zone named unless ``name_zone`` is false (an all-day appointment has no zone to name)."""
    zone = zone_for_name(str(payload.get("timezone") or "UTC")) or ZoneInfo("UTC")
    start = datetime.fromisoformat(str(payload["start"])).astimezone(zone)
    end = datetime.fromisoformat(str(payload["end"])).astimezone(zone)
    if payload.get("all_day"):
        start = datetime.fromisoformat(str(payload["start"])).replace(tzinfo=None)
        last = datetime.fromisoformat(str(payload["end"])).replace(tzinfo=None) - \
            timedelta(days=1)
        text = _date(start, language)
        if last.date() > start.date():
            text += f" {DASH} " + _date(last, language)
        return text
    hours = " Uhr" if language == "de" else ""
    zone_name = f" ({_zone_name(start, language)})" if name_zone else ""
    if end.date() != start.date():
        return (f"{_date(start, language)} {start:%H:%M} {DASH} {_date(end, language)} "
                f"{end:%H:%M}{hours}{zone_name}")
    return f"{_date(start, language)}, {start:%H:%M}{DASH}{end:%H:%M}{hours}{zone_name}"


class Renderer:
    """Renders the three message kinds in German or English."""

    def __init__(self, template_dir: str | Path | None = None) -> None:
        paths = [str(template_dir)] if template_dir else []
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([*paths, str(_BUILTIN)]),
            autoescape=False,  # noqa: S701 - plain-text mail; values are sanitised below
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )

    def context(self, payload: dict[str, Any], language: str) -> dict[str, Any]:
        """The template variables for an appointment snapshot."""
        customer = payload.get("customer") or {}
        calendar = payload.get("calendar") or {}
        return {
            "when": format_when(payload, language),
            "when_short": format_when(payload, language, name_zone=False),
            "customer_name": one_line(customer.get("name") or ""),
            "service": one_line(payload.get("service") or ""),
            "location": one_line(payload.get("location") or ""),
            "summary": one_line(payload.get("summary") or ""),
            "status": one_line(payload.get("status") or ""),
            "change": one_line(payload.get("change") or "created"),
            "calendar_name": one_line(calendar.get("name") or ""),
            # The booking page's cancel/reschedule link (appointments booked there only).
            "manage_url": one_line(payload.get("manage_url") or ""),
        }

    def render(self, kind: str, language: str, payload: dict[str, Any]) -> Message:
        """Render ``kind`` in ``language`` (unknown languages fall back to German)."""
        if kind not in KINDS:
            raise ValueError(f"unknown message kind {kind!r}")
        language = language if language in LANGUAGES else "de"
        template = self._env.get_template(f"{language}/{kind}.txt")
        text = template.render(self.context(payload, language))
        head, _, body = text.partition("\n\n")
        subject = head.removeprefix("Subject:").strip()
        return Message(subject=one_line(subject), body=body.strip("\n") + "\n")
