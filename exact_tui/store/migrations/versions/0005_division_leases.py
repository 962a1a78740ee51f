"""division leases

Several workers share the divisions (docs/worker.md §Several workers): a division is served
only by the worker that holds its lease, taken, renewed with each heartbeat and released by that
worker. No rows to begin with: a division gets its row when a worker first takes it.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('division_lease',
    sa.Column('division', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=True),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('renewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('division')
    )


def downgrade() -> None:
    op.drop_table('division_lease')
