"""division leases per tenant

One worker serves every tenant, and two tenants may both have a division 101: a division's
lease is now keyed by (tenant_id, division) (docs/worker.md §Several workers). The table stays
global (not scoped to a tenant); a tenant's leases go with it when it is removed.

The table is rebuilt on both databases (SQLite cannot change a primary key in place). A lease
held before covered that division number in every tenant, so each row comes back once per
tenant, with its owner and times: whoever held it keeps it until it runs out or is released.

Export jobs gain an index on (state, division): new jobs of every tenant, one seek.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = 'division, owner, taken_at, renewed_at, expires_at'


def _lease_table(name: str, *, per_tenant: bool) -> None:
    keys = ['tenant_id', 'division'] if per_tenant else ['division']
    op.create_table(name,
    *([sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False)]
      if per_tenant else []),
    sa.Column('division', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=True),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('renewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    *([sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='CASCADE')]
      if per_tenant else []),
    sa.PrimaryKeyConstraint(*keys)
    )


def _swap(copy: str) -> None:
    """Fill division_lease_next from division_lease with `copy`, then put it in its place
    (on PostgreSQL its constraints take the names a new table would have)."""
    op.execute(copy)
    op.drop_table('division_lease')
    op.rename_table('division_lease_next', 'division_lease')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER INDEX division_lease_next_pkey RENAME TO division_lease_pkey')
        op.execute(
            'DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '
            "'division_lease_next_tenant_id_fkey') THEN ALTER TABLE division_lease RENAME "
            'CONSTRAINT division_lease_next_tenant_id_fkey TO division_lease_tenant_id_fkey; '
            'END IF; END $$'
        )


def upgrade() -> None:
    # New jobs of every tenant, found by one seek (the worker routes them).
    op.create_index('ix_export_job_state_division', 'export_job', ['state', 'division'])
    _lease_table('division_lease_next', per_tenant=True)
    _swap(
        f'INSERT INTO division_lease_next (tenant_id, {COLUMNS}) '
        f'SELECT tenant.id, {COLUMNS} FROM division_lease CROSS JOIN tenant'
    )


def downgrade() -> None:
    op.drop_index('ix_export_job_state_division', table_name='export_job')
    _lease_table('division_lease_next', per_tenant=False)
    # One row per division: the lowest tenant's.
    _swap(
        f'INSERT INTO division_lease_next ({COLUMNS}) SELECT {COLUMNS} FROM division_lease '
        'WHERE tenant_id = (SELECT min(tenant_id) FROM division_lease AS other '
        'WHERE other.division = division_lease.division)'
    )
