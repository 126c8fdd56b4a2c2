"""items: the time-range index covers end_ts too (the calendar view's and availability's range
query ``start_ts <= :hi AND end_ts >= :lo`` filters from the index instead of reading every
earlier row)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 13:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_OLD = "ix_items_collection_id_component_start_ts"
_NEW = "ix_items_collection_id_component_start_ts_end_ts"


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(_NEW, "items", ["collection_id", "component", "start_ts", "end_ts"])
    op.drop_index(_OLD, table_name="items")


def downgrade() -> None:
    """Revert this revision."""
    op.create_index(_OLD, "items", ["collection_id", "component", "start_ts"])
    op.drop_index(_NEW, table_name="items")
