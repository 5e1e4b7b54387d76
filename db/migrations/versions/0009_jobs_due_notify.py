"""PostgreSQL: a job made due (queued, handed back, made due again) is announced on the
`wisp_jobs` channel when its transaction commits, so engines in other processes drain it at once

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite and MariaDB engines learn of other processes' jobs by polling
    op.execute(
        """
        CREATE OR REPLACE FUNCTION wisp_jobs_due() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('wisp_jobs', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER router_provisionings_due
        AFTER INSERT OR UPDATE ON router_provisionings
        FOR EACH ROW WHEN (NEW.status = 'pending')
        EXECUTE FUNCTION wisp_jobs_due()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS router_provisionings_due ON router_provisionings")
    op.execute("DROP FUNCTION IF EXISTS wisp_jobs_due()")
