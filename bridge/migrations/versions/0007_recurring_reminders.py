"""reminders for recurring appointments: occurrence key and planning horizon

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_LIVE_REMINDER = "occurrence_ts IS NOT NULL AND state <> 'cancelled'"


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occurrence_ts", sa.Integer(), nullable=True))
        batch_op.create_index(
            "uq_notifications_reminder_key",
            ["collection_id", "uid", "occurrence_ts", "offset_seconds", "channel"],
            unique=True,
            sqlite_where=sa.text(_LIVE_REMINDER),
            postgresql_where=sa.text(_LIVE_REMINDER),
        )
    op.create_table(
        "reminder_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=1024), nullable=False),
        sa.Column("planned_until", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_reminder_series_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_series")),
        sa.UniqueConstraint("collection_id", "uid",
                            name=op.f("uq_reminder_series_collection_id_uid")),
    )
    with op.batch_alter_table("reminder_series", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminder_series_planned_until"), ["planned_until"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("reminder_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_series_planned_until"))
    op.drop_table("reminder_series")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("uq_notifications_reminder_key")
        batch_op.drop_column("occurrence_ts")
