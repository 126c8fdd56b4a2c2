"""links: what only Google holds of the event at the last sync; one open conflict per event

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-02 17:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

_OPEN_CONFLICT = "action = 'conflict' AND outcome = 'open'"


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("google_extra", sa.Text(), nullable=True))
    # Older duplicates of an open conflict (two triggers saw the same one) are superseded by
    # the newest row of their appointment, so the unique index can be built.
    op.execute(
        "UPDATE ledger SET outcome = 'superseded' WHERE " + _OPEN_CONFLICT + " AND id NOT IN "
        "(SELECT newest FROM (SELECT MAX(id) AS newest FROM ledger WHERE " + _OPEN_CONFLICT
        + " GROUP BY connection_id, uid) AS keep) AND connection_id IS NOT NULL"
    )
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.create_index(
            "uq_ledger_open_conflict", ["connection_id", "uid"], unique=True,
            sqlite_where=sa.text(_OPEN_CONFLICT), postgresql_where=sa.text(_OPEN_CONFLICT),
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.drop_index("uq_ledger_open_conflict")
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_column("google_extra")
