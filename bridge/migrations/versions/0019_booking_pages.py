"""booking_pages: the online booking page of a calendar (enabled, public id, durations,
horizon, lead time)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 15:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "booking_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("durations", sa.String(length=200), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("lead_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_booking_pages_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_pages")),
        sa.UniqueConstraint("collection_id", name=op.f("uq_booking_pages_collection_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_booking_pages_public_id")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("booking_pages")
