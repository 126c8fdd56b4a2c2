"""Alembic environment: runs on the connection handed over by ``bridge.store.migrate``."""

from __future__ import annotations

from alembic import context

from bridge.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic` run by hand without our wrapper
    raise RuntimeError("run migrations through `termin-bridge db upgrade`")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
