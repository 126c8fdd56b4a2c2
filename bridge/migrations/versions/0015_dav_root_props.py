"""dav_root: the properties of the WebDAV root collection ``/`` (PROPPATCH on ``/``)

Revision ID: 0015
Revises: 0008
Create Date: 2026-12-02 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "dav_root",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("props", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("dav_root")
