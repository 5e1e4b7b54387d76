"""who asked for an M-Pesa push: the operator or the captive portal

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mpesa_transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=16), nullable=True))
    pushes = sa.table(
        "mpesa_transactions", sa.column("kind", sa.String), sa.column("origin", sa.String)
    )
    op.get_bind().execute(pushes.update().where(pushes.c.kind == "stk").values(origin="operator"))


def downgrade() -> None:
    with op.batch_alter_table("mpesa_transactions", schema=None) as batch_op:
        batch_op.drop_column("origin")
