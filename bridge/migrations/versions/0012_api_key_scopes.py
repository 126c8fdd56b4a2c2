"""API keys confined to calendars; the former write keys become admin keys

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 18:00:00.000000
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_KEYS = sa.table("api_keys", sa.column("scope", sa.String()), sa.column("confined", sa.Boolean()),
                 sa.column("revoked_at", sa.Float()))


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confined", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        "api_key_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"],
            name=op.f("fk_api_key_calendars_api_key_id_api_keys"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collections.id"],
            name=op.f("fk_api_key_calendars_collection_id_collections"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key_calendars")),
        sa.UniqueConstraint("api_key_id", "collection_id",
                            name=op.f("uq_api_key_calendars_api_key_id_collection_id")),
    )
    with op.batch_alter_table("api_key_calendars", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_calendars_collection_id"),
                              ["collection_id"], unique=False)
    # A write key could do everything: it keeps that power as an admin key.  Read keys stay
    # read keys over every calendar, as before.
    op.execute(_KEYS.update().where(_KEYS.c.scope == "write").values(scope="admin"))


def downgrade() -> None:
    """Revert this revision (confined keys are revoked: the old schema cannot confine them)."""
    op.execute(_KEYS.update().where(_KEYS.c.confined.is_(True), _KEYS.c.revoked_at.is_(None))
               .values(revoked_at=time.time()))
    op.execute(_KEYS.update().where(_KEYS.c.scope == "admin").values(scope="write"))
    with op.batch_alter_table("api_key_calendars", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_calendars_collection_id"))
    op.drop_table("api_key_calendars")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("confined")
