"""What the admin page says about each calendar provider: its display name, whether it can be
offered now, and Microsoft's admin consent link.  The English names are message ids (German in
:mod:`bridge.admin.catalog_de`)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from bridge.config import Settings

__all__ = [
    "MICROSOFT_APPS_URL",
    "MICROSOFT_CONSENT_URL",
    "PROVIDER_LABELS",
    "PROVIDER_NAMES",
    "admin_consent_url",
    "provider_states",
]

# Display names by provider name (``connections.provider``); translated where shown.
PROVIDER_LABELS = {"google": "Google Calendar", "microsoft": "Outlook / Microsoft 365"}
# Short names (brands, not translated) for texts like "{provider} account".
PROVIDER_NAMES = {"google": "Google", "microsoft": "Microsoft"}
# Where users withdraw an app's access themselves (Microsoft has no revocation endpoint).
MICROSOFT_APPS_URL = "https://myapps.microsoft.com"
MICROSOFT_CONSENT_URL = "https://account.live.com/consent/Manage"
# Tenants of a multi-tenant authority: the admin consent link needs the organisation's own.
_SHARED_TENANTS = frozenset({"", "common", "organizations", "consumers"})


def provider_states(settings: Settings, offered: set[str]) -> dict[str, str]:
    """Per provider: ``ready``, ``unconfigured`` (no client id) or ``unavailable`` (this build
    does not register it)."""
    client_ids = {"google": settings.google.client_id, "microsoft": settings.microsoft.client_id}
    return {name: ("unavailable" if name not in offered
                   else "ready" if client_id else "unconfigured")
            for name, client_id in client_ids.items()}


def admin_consent_url(settings: Settings) -> str:
    """``<authority origin>/<tenant>/adminconsent?client_id=…`` (``{tenant}`` stays a
    placeholder when the authority is multi-tenant, ``{client-id}`` when none is set)."""
    parts = urlsplit(settings.microsoft.authority or "https://login.microsoftonline.com/common")
    tenant = parts.path.strip("/").split("/")[0]
    if tenant in _SHARED_TENANTS:
        tenant = "{tenant}"
    client_id = quote(settings.microsoft.client_id, safe="") or "{client-id}"
    return f"{parts.scheme}://{parts.netloc}/{tenant}/adminconsent?client_id={client_id}"
