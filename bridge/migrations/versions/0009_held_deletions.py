"""held_deletions: Google deletions the safety valve holds within its sliding window

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "held_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=1024), nullable=False),
        sa.Column("google_event_id", sa.String(length=1024), nullable=False),
        sa.Column("google_etag", sa.String(length=255), nullable=True),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_held_deletions_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_deletions")),
        sa.UniqueConstraint("connection_id", "uid",
                            name=op.f("uq_held_deletions_connection_id_uid")),
    )
    with op.batch_alter_table("held_deletions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_held_deletions_seen_at"), ["seen_at"],
                              unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("held_deletions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_held_deletions_seen_at"))
    op.drop_table("held_deletions")
