"""export jobs: since when the job has been held by its cause

`cause_since` is set when a job's cause changes and kept while the cause stays the same
(through retries, claims and lookups), so the failures grouped by cause can say since when
a cause has held its jobs ("503 from Exact since 02:10"; docs/tenants.md). Existing jobs
with a cause take their last change as a start.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cause_since', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        sa.text('UPDATE export_job SET cause_since = updated_at WHERE cause IS NOT NULL')
    )


def downgrade() -> None:
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_column('cause_since')
