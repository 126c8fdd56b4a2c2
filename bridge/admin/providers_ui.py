"""What the admin page says about each calendar provider: its display name, whether it can be
offered now, the sign-in form of a login provider (CalDAV, iCloud, Exchange) and Microsoft's
admin consent link.  The English names are message ids (German in
:mod:`bridge.admin.catalog_de`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from bridge.config import Settings
from bridge.providers.base import PROVIDER_NAMES, LoginConnect

__all__ = [
    "APPLE_ACCOUNT_URL",
    "FACT_LABELS",
    "FACT_VALUES",
    "LOGIN_FORMS",
    "LOGIN_REASONS",
    "MICROSOFT_APPS_URL",
    "MICROSOFT_CONSENT_URL",
    "PROVIDER_LABELS",
    "PROVIDER_NAMES",
    "PROVIDER_ORDER",
    "LoginForm",
    "admin_consent_url",
    "is_login",
    "login_form",
    "provider_states",
]

# Display names by provider name (``connections.provider``); translated where shown.
PROVIDER_LABELS = {"google": "Google Calendar", "microsoft": "Outlook / Microsoft 365",
                   "icloud": "Apple iCloud", "caldav": "Other CalDAV server",
                   "exchange": "Exchange Server"}
# The *Kalenderanbieter* choice, in this order.
PROVIDER_ORDER = ("google", "microsoft", "icloud", "caldav", "exchange")
# Where Apple ID holders create and revoke app-specific passwords.
APPLE_ACCOUNT_URL = "https://appleid.apple.com"
# Where users withdraw an app's access themselves (Microsoft has no revocation endpoint).
MICROSOFT_APPS_URL = "https://myapps.microsoft.com"
MICROSOFT_CONSENT_URL = "https://account.live.com/consent/Manage"
# Tenants of a multi-tenant authority: the admin consent link needs the organisation's own.
_SHARED_TENANTS = frozenset({"", "common", "organizations", "consumers"})


# The reasons of a refused login (``FlowError.reason``) with an explanation of their own;
# the service adds "no_writable" and "provider", the form "missing".
LOGIN_REASONS = frozenset({"auth", "unsafe_url", "not_found", "unreachable", "tls", "loop",
                           "no_writable", "provider", "missing", "other",
                           "autodiscover", "exchange_online", "redirect", "too_large"})
# What a discovery fact's code means (``ServerDiscovery.facts``); unknown codes show as they are.
FACT_LABELS = {"version": "Server version", "sync": "Change tracking",
               "principal": "Principal", "home": "Calendar home", "product": "Server software",
               "auth": "Authentication", "push": "Push notifications",
               "email": "Mailbox", "autodiscover": "Found by autodiscover",
               "calendars": "Calendars"}
# Fact values that are codes themselves (``("sync", "ctag")``); others show as they are.
FACT_VALUES = {"sync-collection": "sync-collection (only changes are fetched)",
               "ctag": "ctag and ETags (the listing is compared at every poll)",
               "ntlm": "NTLM", "basic": "Basic"}


@dataclass(frozen=True)
class LoginForm:
    """The sign-in form of a login provider: field labels (message ids), the authentication
    choices (``options["auth"]``) and the help shown beside it (a template)."""

    url_label: str = "Server URL"
    url_hint: str = "The address of the CalDAV server or of your calendars there."
    user_label: str = "User name"
    credential_label: str = "Password"
    auth_choices: tuple[tuple[str, str], ...] = ()
    help: str = ""


LOGIN_FORMS = {
    "icloud": LoginForm(
        url_hint="Leave it as it is: iCloud finds your calendars from there.",
        user_label="Apple ID (e-mail address)", credential_label="App-specific password",
        help="_icloud_help.html"),
    "caldav": LoginForm(help="_caldav_help.html"),
    "exchange": LoginForm(
        url_label="EWS URL or e-mail address for autodiscover",
        url_hint="For example https://mail.example.com/EWS/Exchange.asmx, or the mailbox's "
                 "e-mail address to let autodiscover find the server.",
        user_label="User name (DOMAIN\\user or e-mail address)",
        auth_choices=(("ntlm", "NTLM"), ("basic", "Basic")), help="_exchange_help.html"),
}


def login_form(provider: str) -> LoginForm:
    """The sign-in form of ``provider`` (a generic one for a login provider not listed)."""
    return LOGIN_FORMS.get(provider) or LoginForm()


def is_login(factory: object) -> bool:
    """Whether a factory signs in with a server login instead of an OAuth consent page."""
    return isinstance(factory, LoginConnect)


def provider_states(settings: Settings, offered: Mapping[str, object]) -> dict[str, str]:
    """Per provider of :data:`PROVIDER_ORDER`: ``ready``, ``unconfigured`` (no client id) or
    ``unavailable`` (this build does not register it); a login provider registered is ready."""
    client_ids = {"google": settings.google.client_id, "microsoft": settings.microsoft.client_id}
    states: dict[str, str] = {}
    for name in PROVIDER_ORDER:
        factory = offered.get(name)
        if factory is None:
            states[name] = "unavailable"
        elif is_login(factory):
            states[name] = "ready"
        else:
            states[name] = "ready" if client_ids.get(name) else "unconfigured"
    return states


def admin_consent_url(settings: Settings) -> str:
    """``<authority origin>/<tenant>/adminconsent?client_id=…`` (``{tenant}`` stays a
    placeholder when the authority is multi-tenant, ``{client-id}`` when none is set)."""
    parts = urlsplit(settings.microsoft.authority or "https://login.microsoftonline.com/common")
    tenant = parts.path.strip("/").split("/")[0]
    if tenant in _SHARED_TENANTS:
        tenant = "{tenant}"
    client_id = quote(settings.microsoft.client_id, safe="") or "{client-id}"
    return f"{parts.scheme}://{parts.netloc}/{tenant}/adminconsent?client_id={client_id}"
