"""cost centers and units: usable is decided by EndDate alone

Exact documents no `Active` on cost units and marks it obsolete on cost centers, so the import no
longer reads it (docs/sandbox.md, "Cost centers and cost units"). A row cached as inactive without
an end date keeps being refused until the next import: it gets today as its end date.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('cost_center', 'cost_unit')


def upgrade() -> None:
    for table in TABLES:
        op.execute(
            f"UPDATE {table} SET end_date = CURRENT_DATE WHERE NOT active AND end_date IS NULL"
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('active')


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true())
            )
