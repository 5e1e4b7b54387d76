"""suspended clients' stopped clocks; phone numbers in one form (+2547...)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_at", db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("paused_seconds", sa.BigInteger(), nullable=False, server_default="0")
        )

    _normalise_phones()


def _normalise_phones() -> None:
    """Every stored phone in the form new ones are stored in; one that is not a number is kept."""
    from db.phones import PhoneError, normalise_phone

    clients = sa.table("clients", sa.column("id", sa.Integer), sa.column("phone", sa.String))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(clients.c.id, clients.c.phone).where(clients.c.phone.is_not(None))
    ).all()
    for row_id, phone in rows:
        try:
            number = normalise_phone(phone)
        except PhoneError:
            continue
        if number != phone:
            connection.execute(clients.update().where(clients.c.id == row_id).values(phone=number))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("paused_seconds")
        batch_op.drop_column("paused_at")
