"""connections, links, ledger, held_deletions: provider-neutral names for the remote side
(``google_event_id`` → ``remote_id``, ``google_calendar_id`` → ``remote_calendar_id``, …)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 12:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

RENAMES = {
    "connections": {"google_calendar_id": "remote_calendar_id",
                    "google_calendar_name": "remote_calendar_name"},
    "links": {"google_event_id": "remote_id", "google_etag": "remote_etag",
              "hash_google": "hash_remote", "google_updated": "remote_updated",
              "google_exceptions": "remote_held", "google_extra": "remote_extra"},
    "ledger": {"google_event_id": "remote_id"},
    "held_deletions": {"google_event_id": "remote_id", "google_etag": "remote_etag"},
}
OLD_UNIQUE, NEW_UNIQUE = ("uq_links_connection_id_google_event_id",
                          "uq_links_connection_id_remote_id")


def _rename(forward: bool) -> None:
    # Plain ``RENAME COLUMN`` (SQLite ≥ 3.25 and PostgreSQL alike), never a batch table copy:
    # copying ``connections`` on SQLite would drop the old table and cascade to its links.
    for table, columns in RENAMES.items():
        for old, new in columns.items():
            before, after = (old, new) if forward else (new, old)
            op.execute(f"ALTER TABLE {table} RENAME COLUMN {before} TO {after}")
    before, after = (OLD_UNIQUE, NEW_UNIQUE) if forward else (NEW_UNIQUE, OLD_UNIQUE)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE links RENAME CONSTRAINT {before} TO {after}")
        return
    # SQLite cannot rename a constraint: ``links`` is copied (no table refers to it, so the
    # copy cascades nowhere).
    column = "remote_id" if forward else "google_event_id"
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_constraint(before, type_="unique")
        batch_op.create_unique_constraint(after, ["connection_id", column])


def upgrade() -> None:
    """Apply this revision."""
    _rename(True)


def downgrade() -> None:
    """Revert this revision."""
    _rename(False)
