"""drift summary on routers, imported_at on adopted rows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMPORTED = ("packages", "clients", "router_provisionings", "subscriptions")


def upgrade() -> None:
    with op.batch_alter_table("routers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drift_summary", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("drift_checked_at", db.types.UTCDateTime(), nullable=True))
    for table in IMPORTED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("imported_at", db.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    for table in reversed(IMPORTED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("imported_at")
    with op.batch_alter_table("routers", schema=None) as batch_op:
        batch_op.drop_column("drift_checked_at")
        batch_op.drop_column("drift_summary")
