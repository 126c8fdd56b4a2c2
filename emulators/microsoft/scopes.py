"""Scopes and tenants of the identity platform.

Graph scopes may be short (``Calendars.ReadWrite``) or resource-qualified
(``https://graph.microsoft.com/Calendars.ReadWrite``); the OpenID scopes (``openid``,
``profile``, ``email``, ``offline_access``) are not Graph permissions.  Tenants are ``common``,
``organizations``, ``consumers``, or a tenant id/domain of a seeded account.
"""

from __future__ import annotations

from emulators.microsoft.errors import AadError
from emulators.microsoft.state import CONSUMERS_TENANT, Account, MsState

__all__ = [
    "GRAPH_SCOPES",
    "OIDC_SCOPES",
    "account_fits",
    "check_tenant",
    "graph_scopes",
    "normalise_scopes",
]

_PREFIX = "https://graph.microsoft.com/"
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
GRAPH_SCOPES: dict[str, str] = {
    "User.Read": "Sign you in and read your profile",
    "Calendars.Read": "Read your calendars",
    "Calendars.ReadWrite": "Have full access to your calendars",
    "Calendars.Read.Shared": "Read calendars you can access",
    "Calendars.ReadWrite.Shared": "Read and write calendars you can access",
    ".default": "The permissions configured for the app",
}
_OIDC_TEXT = {"openid": "Sign you in", "profile": "View your basic profile",
              "email": "View your email address",
              "offline_access": "Maintain access to data you have given it access to"}


def normalise_scopes(text: str) -> list[str]:
    """Split a scope string and drop the Graph resource prefix."""
    return [s.removeprefix(_PREFIX) for s in text.split() if s]


def graph_scopes(scopes: list[str]) -> list[str]:
    """The Graph permissions among ``scopes`` (no OpenID scopes)."""
    return [s for s in scopes if s not in OIDC_SCOPES]


def describe(scope: str) -> str:
    """What the consent page says for a scope; raises ``KeyError`` for an unknown one."""
    return _OIDC_TEXT.get(scope) or GRAPH_SCOPES[scope]


def tenant_ids(state: MsState) -> set[str]:
    """Tenant ids and domains the emulator knows."""
    known = {CONSUMERS_TENANT}
    for acc in state.accounts.values():
        known.add(acc.tenant_id)
        if acc.kind == "work":
            known.add(acc.upn.rsplit("@", 1)[-1].lower())
    return known


def check_tenant(state: MsState, tenant: str) -> None:
    """400 AADSTS90002 for an unknown tenant."""
    if tenant.lower() in ("common", "organizations", "consumers"):
        return
    if tenant.lower() not in tenant_ids(state):
        raise AadError(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to "
                       "make sure you have the correct tenant ID and are signing into the "
                       "correct cloud. Check with your subscription administrator, this may "
                       "happen if there are no active subscriptions for the tenant.")


def account_fits(account: Account, tenant: str) -> bool:
    """True when ``account`` may sign in through the ``tenant`` authority."""
    lowered = tenant.lower()
    if lowered == "common":
        return True
    if lowered == "consumers":
        return account.kind == "personal"
    if lowered == "organizations":
        return account.kind == "work"
    domain = account.upn.rsplit("@", 1)[-1].lower()
    return lowered in (account.tenant_id.lower(), domain)
