"""connections: the provider of each connection ('google' for every existing row)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider", sa.String(length=32), nullable=False,
                                      server_default="google"))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_column("provider")
