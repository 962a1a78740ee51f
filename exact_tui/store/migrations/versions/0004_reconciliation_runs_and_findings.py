"""reconciliation runs and findings

A reconciliation (docs/export.md, "Reconciliation") is asked for as a pending run, done by the
worker, and kept with its findings: duplicates in Exact, entries posted here and absent there,
and entries with a document's reference that no job holds.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reconcile_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('division', sa.BigInteger(), nullable=True),
    sa.Column('since', sa.Date(), nullable=True),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('picked_by', sa.String(length=100), nullable=True),
    sa.Column('picked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('missing', sa.Integer(), nullable=False),
    sa.Column('unrecorded', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=2000), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reconcile_run', schema=None) as batch_op:
        batch_op.create_index('ix_reconcile_run_state', ['state', 'id'], unique=False)

    op.create_table('reconcile_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('division', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('document_kind', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=64), nullable=True),
    sa.Column('entries', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('message', sa.String(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['reconcile_run.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reconcile_finding', schema=None) as batch_op:
        batch_op.create_index('ix_reconcile_finding_run', ['run_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reconcile_finding', schema=None) as batch_op:
        batch_op.drop_index('ix_reconcile_finding_run')

    op.drop_table('reconcile_finding')
    with op.batch_alter_table('reconcile_run', schema=None) as batch_op:
        batch_op.drop_index('ix_reconcile_run_state')

    op.drop_table('reconcile_run')
