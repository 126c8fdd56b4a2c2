"""The sidecar's HTTP layer (aiohttp): app factory, shared keys, access logging."""
