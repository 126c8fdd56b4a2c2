"""A small engine runner for crash tests: ``python -m tests.sync.engine_runner DB_URL EMU_URL``.

Runs one :class:`SyncEngine` (push loop and scheduler) until killed.
"""

from __future__ import annotations

import asyncio
import sys

from bridge.bootstrap import open_bridge_store
from bridge.google.auth import OAuthEndpoints
from bridge.google.crypto import TokenCipher
from bridge.google.provider import GoogleProviderFactory
from bridge.providers.http import RetryPolicy
from bridge.sync.context import SyncOptions
from bridge.sync.engine import SyncEngine
from emulators.google.server import CLIENT_ID, CLIENT_SECRET

SECRET = "test-secret-key-for-sync"


async def main(db_url: str, base: str, page_size: int) -> None:
    store = open_bridge_store(db_url, migrate=False)
    options = SyncOptions(
        poll_interval=0.3, requests_per_minute=100_000, push_retry_base=0.0, push_retry_cap=0.0,
        idle_wait=0.05, http_timeout=5.0, page_size=page_size, pull_lease=1.0,
        retry=RetryPolicy(max_attempts=4, base=0.001, cap=0.005),
        api_endpoint=base + "/calendar/v3/",
    )
    endpoints = OAuthEndpoints(CLIENT_ID, CLIENT_SECRET, base + "/o/oauth2/v2/auth",
                               base + "/token", base + "/revoke")
    engine = SyncEngine(store, options, providers={"google": GoogleProviderFactory(
        cipher=TokenCipher(SECRET), endpoints=endpoints)})
    await engine.start()
    print("ready", flush=True)
    while True:
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 50))
