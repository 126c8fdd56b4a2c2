"""links: what only Google holds of the event at the last sync (colour, conference, ...)

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-02 17:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("google_extra", sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_column("google_extra")
