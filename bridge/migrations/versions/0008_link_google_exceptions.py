"""links: the exceptions Google held for a series at the last sync

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 16:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("google_exceptions", sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_column("google_exceptions")
