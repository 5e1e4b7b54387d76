"""account identity includes the service; profile ownership; credit, delivery clock, kept router fields

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACCOUNT = "uq_router_provisionings_account"


def upgrade() -> None:
    with op.batch_alter_table("router_provisionings", schema=None) as batch_op:
        batch_op.drop_constraint(ACCOUNT, type_="unique")
        batch_op.create_unique_constraint(ACCOUNT, ["router_id", "service_type", "router_username"])
        batch_op.add_column(
            sa.Column("adopt", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("router_comment", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("router_extra", sa.JSON(), nullable=True))
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("credit", sa.Numeric(12, 2), nullable=False, server_default="0")
        )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subscription_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("granted_seconds", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("starts_on_delivery", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("delivered_at", db.types.UTCDateTime(), nullable=True))
    # Accounts already completed were delivered; their clocks started at payment, as before.
    op.execute(
        "UPDATE subscriptions SET delivered_at = start_date WHERE provisioning_id IN "
        "(SELECT id FROM router_provisionings WHERE completed_at IS NOT NULL)"
    )
    # Imported accounts were taken over by the operator's import.
    op.execute("UPDATE router_provisionings SET adopt = true WHERE imported_at IS NOT NULL")
    op.create_table(
        "router_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("router_id", sa.Integer(), nullable=False),
        sa.Column("service_type", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("router_id", "service_type", "name", name="uq_router_profiles_name"),
    )
    # Profiles that packages created before this revision pointed at were written by the engine.
    op.execute(
        "INSERT INTO router_profiles (router_id, service_type, name, origin, created_at) "
        "SELECT DISTINCT router_id, type, router_profile, 'created', CURRENT_TIMESTAMP "
        "FROM packages WHERE router_id IS NOT NULL AND imported_at IS NULL"
    )


def downgrade() -> None:
    op.drop_table("router_profiles")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("starts_on_delivery")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("granted_seconds")
        batch_op.drop_column("subscription_id")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("credit")
    with op.batch_alter_table("router_provisionings", schema=None) as batch_op:
        batch_op.drop_column("router_extra")
        batch_op.drop_column("router_comment")
        batch_op.drop_column("adopt")
        batch_op.drop_constraint(ACCOUNT, type_="unique")
        batch_op.create_unique_constraint(ACCOUNT, ["router_id", "router_username"])
