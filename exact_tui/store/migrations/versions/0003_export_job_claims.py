"""export jobs: a claim token, the request sent and when it left

Every claim increments `claim`; a worker sends (fencing) and records only while the claim is
the one it took (docs/export.md, "Claims and fencing"). `sent_request` and `sent_at` are the
last request that may have reached Exact and when it left: lookups and the settling horizon go
by them. Existing jobs start at claim 0 with nothing recorded (lookups then read the request
from the job's events, as before). The index on the entry ID lets a lookup see that an entry
already belongs to another job.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('claim', sa.Integer(), nullable=False, server_default=sa.text('0'))
        )
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sent_request', sa.JSON(none_as_null=True), nullable=True))
        batch_op.create_index('ix_export_job_entry', ['exact_entry_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_index('ix_export_job_entry')
        batch_op.drop_column('sent_request')
        batch_op.drop_column('sent_at')
        batch_op.drop_column('claim')
