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

from bridge.ical.timezones import zone_for_name
from bridge.text import one_line

__all__ = ["KINDS", "LANGUAGES", "Message", "Renderer", "format_when"]

KINDS = ("confirmation", "cancellation", "reminder")
LANGUAGES = ("de", "en")
DASH = "\u2013"  # en dash between times
_BUILTIN = Path(__file__).resolve().parent / "templates"
_DE_DAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
_DE_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
              "September", "Oktober", "November", "Dezember")
_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


@dataclass(frozen=True)
class Message:
    """A rendered message."""

    subject: str
    body: str


def _date(value: datetime, language: str) -> str:
    if language == "de":
        return (f"{_DE_DAYS[value.weekday()]}, {value.day}. {_DE_MONTHS[value.month - 1]} "
                f"{value.year}")
    return f"{_EN_DAYS[value.weekday()]}, {value.day} {_EN_MONTHS[value.month - 1]} {value.year}"


def format_when(payload: dict[str, Any], language: str) -> str:
    """The appointment's date and time in the calendar's zone, in words of ``language``."""
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
    if end.date() != start.date():
        return (f"{_date(start, language)} {start:%H:%M} {DASH} {_date(end, language)} "
                f"{end:%H:%M}" + (" Uhr" if language == "de" else ""))
    if language == "de":
        return f"{_date(start, language)}, {start:%H:%M}{DASH}{end:%H:%M} Uhr"
    return f"{_date(start, language)}, {start:%H:%M}{DASH}{end:%H:%M}"


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
            "customer_name": one_line(customer.get("name") or ""),
            "service": one_line(payload.get("service") or ""),
            "location": one_line(payload.get("location") or ""),
            "summary": one_line(payload.get("summary") or ""),
            "status": one_line(payload.get("status") or ""),
            "change": one_line(payload.get("change") or "created"),
            "calendar_name": one_line(calendar.get("name") or ""),
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
