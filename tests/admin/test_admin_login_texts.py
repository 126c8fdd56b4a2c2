"""The login providers' texts: an explanation for every refusal reason, per provider, in German
and English, and the iCloud and Exchange help (rendered from the real templates)."""

from __future__ import annotations

import re

import pytest

from bridge.admin.i18n import Translator
from bridge.admin.providers_ui import APPLE_ACCOUNT_URL, LOGIN_REASONS, login_form
from bridge.admin.web import _templates

_HEADING = re.compile(r"<h2>(.*?)</h2>", re.S)


def _render(name: str, lang: str, **context: object) -> str:
    return _templates().get_template(name).render(_=Translator(lang), **context)


@pytest.mark.parametrize("provider", ["icloud", "caldav", "exchange"])
def test_every_reason_has_its_own_explanation_in_both_languages(provider: str) -> None:
    headings: dict[str, str] = {}
    for reason in sorted(LOGIN_REASONS):
        english = _render("_login_error.html", "en", reason=reason, provider=provider,
                          detail="")
        german = _render("_login_error.html", "de", reason=reason, provider=provider,
                         detail="")
        assert f'data-reason="{reason}"' in english
        heading = _HEADING.search(english)
        german_heading = _HEADING.search(german)
        assert heading and german_heading, reason
        assert heading.group(1).strip() != german_heading.group(1).strip(), reason
        assert "password has to be entered again" in english
        assert "Passwort erneut eingegeben" in german
        headings[reason] = heading.group(1).strip()
    # No reason falls through to the generic text.
    assert len(set(headings.values())) == len(headings), headings


def test_icloud_auth_names_the_apple_id_and_app_specific_password() -> None:
    english = _render("_login_error.html", "en", reason="auth", provider="icloud", detail="")
    german = _render("_login_error.html", "de", reason="auth", provider="icloud", detail="")
    assert "Wrong Apple ID or app-specific password" in english
    assert "Apple-ID oder app-spezifisches Passwort ist falsch" in german
    other = _render("_login_error.html", "en", reason="auth", provider="caldav", detail="")
    assert "Wrong user name or password" in other and "Apple" not in other
    exchange = _render("_login_error.html", "en", reason="auth", provider="exchange", detail="")
    assert "NTLM or Basic" in exchange


def test_detail_is_escaped() -> None:
    html = _render("_login_error.html", "en", reason="other", provider="caldav",
                   detail="<script>alert(1)</script>")
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("lang", ["en", "de"])
def test_icloud_help_walks_through_app_specific_passwords(lang: str) -> None:
    html = _render("_icloud_help.html", lang, apple_account_url=APPLE_ACCOUNT_URL,
                   default_url="https://caldav.icloud.com/")
    assert "https://appleid.apple.com" in html and "https://caldav.icloud.com/" in html
    steps = re.findall(r"<li>", html)
    assert len(steps) == 4
    if lang == "en":
        assert "Sign-In and Security" in html and "App-Specific Passwords" in html
        assert "two-factor" in html and "e-mail address of your Apple ID" in html
    else:
        assert "Anmeldung und Sicherheit" in html and "App-spezifische Passwörter" in html
        assert "Zwei-Faktor" in html and "E-Mail-Adresse Ihrer Apple-ID" in html


class _Calendar:
    path = "staff/praxis"


@pytest.mark.parametrize("offered", [True, False])
def test_exchange_help_sends_microsoft_365_to_the_outlook_provider(offered: bool) -> None:
    html = _render("_exchange_help.html", "en", calendar=_Calendar(), csrf_token="t",
                   microsoft_offered=offered)
    assert "https://mail.example.com/EWS/Exchange.asmx" in html
    assert "April 2027" in html and "Exchange Online" in html
    button = re.search(r'<button[^>]*id="use-microsoft"[^>]*>', html)
    assert button is not None and 'value="microsoft"' in button.group(0)
    assert ("disabled" in button.group(0)) is not offered
    german = _render("_exchange_help.html", "de", calendar=_Calendar(), csrf_token="t",
                     microsoft_offered=offered)
    assert "April 2027" in german and "Stattdessen Outlook / Microsoft 365 verwenden" in german


def test_exchange_form_asks_for_ews_url_and_authentication() -> None:
    form = login_form("exchange")
    assert "EWS URL" in form.url_label
    assert [key for key, _label in form.auth_choices] == ["ntlm", "basic"]
    # A login provider without an entry of its own gets the generic form.
    assert login_form("some-dav").url_label == "Server URL"
    assert login_form("some-dav").auth_choices == ()
