"""The calendar providers the product offers: the registry the sync engine receives.

Composition only: the one place (with the CLI, which calls it too) that names every provider
package, so ``bridge.sync`` never imports one.
"""

from __future__ import annotations

from bridge.config import Settings
from bridge.google.provider import GoogleProviderFactory
from bridge.providers.base import ProviderFactory

__all__ = ["provider_factories"]


def provider_factories(settings: Settings) -> dict[str, ProviderFactory]:
    """A factory per provider name (the ``<provider>`` of origins and connection rows)."""
    return {"google": GoogleProviderFactory.from_settings(settings)}
