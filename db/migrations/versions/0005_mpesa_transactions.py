"""M-Pesa transactions: every push, callback and recovered payment

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mpesa_transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("receipt", sa.String(length=32), nullable=True),
        sa.Column("checkout_request_id", sa.String(length=64), nullable=True),
        sa.Column("merchant_request_id", sa.String(length=64), nullable=True),
        sa.Column("payment_ref", sa.String(length=64), nullable=True),
        sa.Column("result_code", sa.Integer(), nullable=True),
        sa.Column("result_desc", sa.Text(), nullable=True),
        sa.Column("msisdn", sa.String(length=32), nullable=True),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("bill_ref", sa.String(length=64), nullable=True),
        sa.Column("shortcode", sa.String(length=16), nullable=True),
        sa.Column("payer_name", sa.String(length=128), nullable=True),
        sa.Column("transaction_time", db.types.UTCDateTime(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("package_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.Column("applied_at", db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["package_id"], ["packages.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt"),
        sa.UniqueConstraint("checkout_request_id"),
    )
    with op.batch_alter_table("mpesa_transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mpesa_transactions_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            "ix_mpesa_transactions_status_created_at", ["status", "created_at"], unique=False
        )


def downgrade() -> None:
    # Dropping the table drops its indexes (MariaDB refuses to drop one a foreign key needs).
    op.drop_table("mpesa_transactions")
