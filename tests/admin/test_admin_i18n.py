"""Every English text of the admin page has a German translation."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from bridge.admin import syncapi, views_sync
from bridge.admin.catalog_de import DE
from bridge.admin.providers_ui import (
    FACT_LABELS,
    FACT_VALUES,
    LOGIN_FORMS,
    PROVIDER_LABELS,
    LoginForm,
)

_ADMIN = Path(__file__).resolve().parents[2] / "bridge" / "admin"
_TEMPLATE_CALL = re.compile(r'''_\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')''')
_PY_CALL = re.compile(
    r'''(?:gettext|translate\(\s*[^,()]+,)\(?\s*("(?:[^"\\]|\\.)*"(?:\s*"(?:[^"\\]|\\.)*")*)''',
    re.S)


def _messages() -> set[str]:
    found: set[str] = set()
    for path in (_ADMIN / "templates").glob("*.html"):
        found |= {ast.literal_eval(m.group(1)) for m in _TEMPLATE_CALL.finditer(path.read_text())}
    for path in _ADMIN.glob("*.py"):
        text = path.read_text()
        found |= {ast.literal_eval("(" + m.group(1) + ")") for m in _PY_CALL.finditer(text)}
    return found


def test_every_message_has_german() -> None:
    messages = _messages()
    assert len(messages) > 150
    missing = sorted(m for m in messages if m not in DE)
    assert missing == []


def test_dynamic_labels_have_german() -> None:
    # Labels chosen at run time and translated where they are shown: the status badges (read
    # from the code, so a new badge cannot slip through), import phases and feed privacy levels.
    badge_source = inspect.getsource(syncapi.CalendarStatus)
    badges = set(re.findall(r'return "\w+", "([^"]+)"', badge_source))
    assert {"not connected", "paused", "connected"} <= badges
    labels = badges | set(views_sync._PHASES.values()) | {"busy", "limited", "full"}
    # Provider names, discovery facts and the login providers' form labels.
    labels |= set(PROVIDER_LABELS.values()) | set(FACT_LABELS.values()) | set(FACT_VALUES.values())
    for form in (*LOGIN_FORMS.values(), LoginForm()):
        labels |= {form.url_label, form.url_hint, form.user_label, form.credential_label}
    assert sorted(label for label in labels if label not in DE) == []


def test_placeholders_match() -> None:
    field = re.compile(r"\{(\w+)\}")
    for english, german in DE.items():
        assert set(field.findall(english)) == set(field.findall(german)), english


def test_calendar_view_labels_have_german() -> None:
    from bridge.admin import views_calendar

    labels = (set(views_calendar._ORIGINS.values()) | set(views_calendar._SYNC.values())
              | set(views_calendar._RULES.values()) | {"Week", "Day", "Month", "Agenda"})
    assert sorted(label for label in labels if label not in DE) == []
