"""tenants: a tenant table, and every tenant-owned row in tenant 1 ("default")

Every table of one platform customer gains tenant_id (docs/tenants.md), leading the indexes that
list, count and claim; keys unique per store become unique per tenant; the connection becomes
one row per tenant (keyed by it). An existing store's rows all move into tenant 1, "default":
with one tenant nothing changes for a user.

SQLite cannot change a table's keys in place, so every tenant-owned table is rebuilt the same
way on both databases: its rows are copied aside, the table is dropped (dependants first) and
created anew, and the rows come back with tenant_id 1 (parents first, ids kept; PostgreSQL's
sequences are then moved past the highest id).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The tenant-owned tables, parents before the tables that refer to them.
OWNED = [
    'api_error',
    'audit',
    'auth_attempt',
    'budget',
    'connection',
    'cost_center',
    'cost_unit',
    'customer',
    'division',
    'division_settings',
    'exact_account',
    'export_job',
    'gl_account',
    'journal',
    'mapping',
    'organization',
    'reconcile_run',
    'sync_request',
    'sync_run',
    'sync_state',
    'vat_code',
    'bank_account',
    'customer_link',
    'division_binding',
    'export_event',
    'oauth_token',
    'reconcile_finding',
    'bank_account_binding',
    'invoice',
    'invoice_line',
    'payment',
    'write_off',
]
#: Columns of the old tables that have no place in the new ones (the connection's fixed id 1,
#: the token's connection id: both are the tenant now).
GONE = {'connection': {'id'}, 'oauth_token': {'connection_id'}}


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table('tenant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_reason', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.bulk_insert(
        sa.table(
            'tenant',
            sa.column('id', sa.Integer()),
            sa.column('code', sa.String()),
            sa.column('name', sa.String()),
            sa.column('created_at', sa.DateTime(timezone=True)),
        ),
        [{'id': 1, 'code': 'default', 'name': 'Default', 'created_at': _now(bind)}],
    )
    if bind.dialect.name == 'postgresql':
        op.execute("SELECT setval(pg_get_serial_sequence('tenant', 'id'), 1)")

    old_columns: dict[str, list[str]] = {}
    inspector = sa.inspect(bind)
    for table in OWNED:
        old_columns[table] = [c['name'] for c in inspector.get_columns(table)]
        op.execute(f'CREATE TABLE _old_{table} AS SELECT * FROM {table}')
    for table in reversed(OWNED):
        op.drop_table(table)

    _create_tables()

    for table in OWNED:
        new = {c['name']: c['type'] for c in sa.inspect(bind).get_columns(table)}
        kept = [c for c in old_columns[table] if c in new and c not in GONE.get(table, set())]
        quoted = [bind.dialect.identifier_preparer.quote(name) for name in kept]
        columns = ', '.join(['tenant_id', *quoted])
        values = ', '.join(['1', *quoted])
        op.execute(f'INSERT INTO {table} ({columns}) SELECT {values} FROM _old_{table}')
        op.execute(f'DROP TABLE _old_{table}')
        if bind.dialect.name == 'postgresql' and isinstance(new.get('id'), sa.Integer):
            op.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 1), "
                f"(SELECT MAX(id) FROM {table}) IS NOT NULL)"
            )


def _now(bind: sa.engine.Connection) -> object:
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    return now.replace(tzinfo=None) if bind.dialect.name == 'sqlite' else now


def _create_tables() -> None:
    op.create_table('api_error',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('division', sa.BigInteger(), nullable=False),
    sa.Column('endpoint', sa.String(length=100), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_api_error_division_endpoint_at', 'api_error', ['tenant_id', 'division', 'endpoint', 'at'], unique=False)

    op.create_table('audit',
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('host', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('result', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_at', 'audit', ['at'], unique=False)
    op.create_index('ix_audit_tenant_at', 'audit', ['tenant_id', 'at'], unique=False)

    op.create_table('auth_attempt',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('state_hash')
    )

    op.create_table('budget',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('division', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('minutely_limit', sa.Integer(), nullable=True),
    sa.Column('minutely_remaining', sa.Integer(), nullable=True),
    sa.Column('minutely_reset_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('daily_limit', sa.Integer(), nullable=True),
    sa.Column('daily_remaining', sa.Integer(), nullable=True),
    sa.Column('daily_reset_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'division')
    )

    op.create_table('connection',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('region', sa.String(length=10), nullable=False),
    sa.Column('base_url', sa.String(length=200), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('redirect_uri', sa.String(length=300), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('user_name', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disconnected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('exports_paused', sa.Boolean(), nullable=False),
    sa.Column('paused_reason', sa.String(length=500), nullable=True),
    sa.Column('last_refresh_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id')
    )

    op.create_table('cost_center',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('division', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'division', 'id')
    )
    op.create_index('ix_cost_center_division_code', 'cost_center', ['tenant_id', 'division', 'code'], unique=False)

    op.create_table('cost_unit',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('division', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'division', 'id')
    )
    op.create_index('ix_cost_unit_division_code', 'cost_unit', ['tenant_id', 'division', 'code'], unique=False)

    op.create_table('customer',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('vat_number', sa.String(length=40), nullable=True),
    sa.Column('vat_normalised', sa.String(length=40), nullable=True),
    sa.Column('address_line', sa.String(length=200), nullable=True),
    sa.Column('postcode', sa.String(length=20), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'number')
    )
    op.create_index('ix_customer_tenant_vat', 'customer', ['tenant_id', 'vat_normalised'], unique=False)

    op.create_table('division',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('code', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('hid', sa.BigInteger(), nullable=True),
    sa.Column('country', sa.String(length=3), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('legislation', sa.String(length=10), nullable=True),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('blocking_status', sa.Integer(), nullable=False),
    sa.Column('is_main', sa.Boolean(), nullable=False),
    sa.Column('vat_number', sa.String(length=40), nullable=True),
    sa.Column('move_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accessible', sa.Boolean(), nullable=False),
    sa.Column('access_reason', sa.String(length=500), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'code')
    )

    op.create_table('division_settings',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('division', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('sales_journal', sa.String(length=20), nullable=True),
    sa.Column('general_journal', sa.String(length=20), nullable=True),
    sa.Column('receivables_gl', sa.String(length=20), nullable=True),
    sa.Column('write_off_gl', sa.String(length=20), nullable=True),
    sa.Column('collection_costs_gl', sa.String(length=20), nullable=True),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'division')
    )

    op.create_table('exact_account',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('division', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=18), nullable=True),
    sa.Column('search_code', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('vat_number', sa.String(length=40), nullable=True),
    sa.Column('vat_normalised', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=1), nullable=True),
    sa.Column('address_line', sa.String(length=200), nullable=True),
    sa.Column('postcode', sa.String(length=20), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=3), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('is_blocked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'division', 'id')
    )
    op.create_index('ix_exact_account_division_code', 'exact_account', ['tenant_id', 'division', 'code'], unique=False)
    op.create_index('ix_exact_account_division_name', 'exact_account', ['tenant_id', 'division', 'name'], unique=False)
    op.create_index('ix_exact_account_division_search_code', 'exact_account', ['tenant_id', 'division', 'search_code'], unique=False)
    op.create_index('ix_exact_account_division_vat', 'exact_account', ['tenant_id', 'division', 'vat_normalised'], unique=False)

    op.create_table('export_job',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_kind', sa.String(length=20), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('document_number', sa.String(length=64), nullable=False),
    sa.Column('document_date', sa.Date(), nullable=False),
    sa.Column('division', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('cause', sa.String(length=300), nullable=True),
    sa.Column('missing', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_request', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('last_error', sa.String(length=2000), nullable=True),
    sa.Column('last_http_status', sa.Integer(), nullable=True),
    sa.Column('lookups_empty', sa.Integer(), nullable=False),
    sa.Column('last_lookup_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('exact_entry_id', sa.String(length=36), nullable=True),
    sa.Column('exact_entry_number', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('document_kind', 'document_id')
    )
    op.create_index('ix_export_job_category_state', 'export_job', ['tenant_id', 'category', 'state'], unique=False)
    op.create_index('ix_export_job_division_state', 'export_job', ['tenant_id', 'division', 'state'], unique=False)
    op.create_index('ix_export_job_entry', 'export_job', ['exact_entry_id'], unique=False)
    op.create_index('ix_export_job_number', 'export_job', ['tenant_id', 'document_number'], unique=False)
    op.create_index('ix_export_job_state_due', 'export_job', ['state', 'next_attempt_at'], unique=False)
    op.create_index('ix_export_job_tenant_state_due', 'export_job', ['tenant_id', 'state', 'next_attempt_at'], unique=False)
    op.create_index('ix_export_job_updated', 'export_job', ['tenant_id', 'updated_at', 'id'], unique=False)

    op.create_table('gl_account',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('division', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('type', sa.Integer(), nullable=False),
    sa.Column('balance_type', sa.String(length=1), nullable=True),
    sa.Column('balance_side', sa.String(length=1), nullable=True),
    sa.Column('use_costcenter', sa.Integer(), nullable=False),
    sa.Column('use_costunit', sa.Integer(), nullable=False),
    sa.Column('vat_code', sa.String(length=10), nullable=True),
    sa.Column('is_blocked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'division', 'id')
    )
    op.create_index('ix_gl_account_division_code', 'gl_account', ['tenant_id', 'division', 'code'], unique=False)

    op.create_table('journal',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('division', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('type', sa.Integer(), nullable=False),
    sa.Column('gl_account', sa.String(length=36), nullable=True),
    sa.Column('bank_account_iban', sa.String(length=34), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('allow_vat', sa.Boolean(), nullable=False),
    sa.Column('is_blocked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'division', 'id')
    )
    op.create_index('ix_journal_division_code', 'journal', ['tenant_id', 'division', 'code'], unique=False)

    op.create_table('mapping',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('division', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('platform_code', sa.String(length=64), nullable=False),
    sa.Column('exact_code', sa.String(length=20), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'division', 'kind', 'platform_code')
    )

    op.create_table('organization',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'code')
    )

    op.create_table('reconcile_run',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
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
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_reconcile_run_state', 'reconcile_run', ['state', 'id'], unique=False)
    op.create_index('ix_reconcile_run_tenant_state', 'reconcile_run', ['tenant_id', 'state', 'id'], unique=False)

    op.create_table('sync_request',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('division', sa.BigInteger(), nullable=True),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('picked_by', sa.String(length=100), nullable=True),
    sa.Column('picked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', sa.String(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sync_request_state', 'sync_request', ['state', 'id'], unique=False)
    op.create_index('ix_sync_request_tenant_state', 'sync_request', ['tenant_id', 'state', 'id'], unique=False)

    op.create_table('sync_run',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('division', sa.BigInteger(), nullable=True),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sync_run_division_entity', 'sync_run', ['tenant_id', 'division', 'entity', 'id'], unique=False)

    op.create_table('sync_state',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('division', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('last_timestamp', sa.BigInteger(), nullable=True),
    sa.Column('move_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_full_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'division', 'entity')
    )

    op.create_table('vat_code',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('division', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('percentage', sa.BigInteger().with_variant(sa.Numeric(18, 6), "postgresql"), nullable=False),
    sa.Column('type', sa.String(length=1), nullable=True),
    sa.Column('transaction_type', sa.String(length=1), nullable=True),
    sa.Column('is_blocked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('tenant_id', 'division', 'id')
    )
    op.create_index('ix_vat_code_division_code', 'vat_code', ['tenant_id', 'division', 'code'], unique=False)

    op.create_table('bank_account',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'iban')
    )
    op.create_index(op.f('ix_bank_account_organization_id'), 'bank_account', ['organization_id'], unique=False)

    op.create_table('customer_link',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('division', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('exact_account_id', sa.String(length=36), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('linked_by', sa.String(length=100), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('customer_id', 'division')
    )
    op.create_index('ix_customer_link_division_account', 'customer_link', ['tenant_id', 'division', 'exact_account_id'], unique=False)

    op.create_table('division_binding',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('division', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('bound_by', sa.String(length=100), nullable=False),
    sa.Column('bound_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('division')
    )
    op.create_index(op.f('ix_division_binding_organization_id'), 'division_binding', ['organization_id'], unique=False)
    op.create_index('ix_division_binding_tenant', 'division_binding', ['tenant_id', 'division'], unique=False)

    op.create_table('export_event',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('message', sa.String(length=2000), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('minutely_remaining', sa.Integer(), nullable=True),
    sa.Column('daily_remaining', sa.Integer(), nullable=True),
    sa.Column('request', sa.JSON(none_as_null=True), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['export_job.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_export_event_job', 'export_event', ['job_id', 'id'], unique=False)
    op.create_index('ix_export_event_tenant', 'export_event', ['tenant_id', 'id'], unique=False)

    op.create_table('oauth_token',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('blob', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('refresh_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['connection.tenant_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id')
    )

    op.create_table('reconcile_finding',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
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
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_reconcile_finding_run', 'reconcile_finding', ['run_id', 'id'], unique=False)

    op.create_table('bank_account_binding',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('bank_account_id', sa.Integer(), nullable=False),
    sa.Column('division', sa.BigInteger(), nullable=False),
    sa.Column('journal_code', sa.String(length=20), nullable=False),
    sa.Column('bound_by', sa.String(length=100), nullable=False),
    sa.Column('bound_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bank_account_id'], ['bank_account.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('bank_account_id')
    )
    op.create_index('ix_bank_account_binding_tenant_division', 'bank_account_binding', ['tenant_id', 'division'], unique=False)

    op.create_table('invoice',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('bank_account_id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('payment_reference', sa.String(length=100), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bank_account_id'], ['bank_account.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'number')
    )
    op.create_index(op.f('ix_invoice_bank_account_id'), 'invoice', ['bank_account_id'], unique=False)
    op.create_index(op.f('ix_invoice_customer_id'), 'invoice', ['customer_id'], unique=False)

    op.create_table('invoice_line',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger().with_variant(sa.Numeric(18, 2), "postgresql"), nullable=False),
    sa.Column('gl_code', sa.String(length=64), nullable=False),
    sa.Column('vat_code', sa.String(length=64), nullable=False),
    sa.Column('vat_amount', sa.BigInteger().with_variant(sa.Numeric(18, 2), "postgresql"), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('cost_center', sa.String(length=64), nullable=True),
    sa.Column('cost_unit', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('invoice_id', 'position')
    )
    op.create_index('ix_invoice_line_cost_center', 'invoice_line', ['tenant_id', 'cost_center'], unique=False)
    op.create_index('ix_invoice_line_cost_unit', 'invoice_line', ['tenant_id', 'cost_unit'], unique=False)
    op.create_index('ix_invoice_line_gl_code', 'invoice_line', ['tenant_id', 'gl_code'], unique=False)
    op.create_index(op.f('ix_invoice_line_invoice_id'), 'invoice_line', ['invoice_id'], unique=False)
    op.create_index('ix_invoice_line_vat_code', 'invoice_line', ['tenant_id', 'vat_code'], unique=False)

    op.create_table('payment',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger().with_variant(sa.Numeric(18, 2), "postgresql"), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('bank_account_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bank_account_id'], ['bank_account.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'number')
    )
    op.create_index(op.f('ix_payment_bank_account_id'), 'payment', ['bank_account_id'], unique=False)
    op.create_index(op.f('ix_payment_customer_id'), 'payment', ['customer_id'], unique=False)
    op.create_index(op.f('ix_payment_invoice_id'), 'payment', ['invoice_id'], unique=False)

    op.create_table('write_off',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger().with_variant(sa.Numeric(18, 2), "postgresql"), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'number')
    )
    op.create_index(op.f('ix_write_off_invoice_id'), 'write_off', ['invoice_id'], unique=False)


def downgrade() -> None:
    raise NotImplementedError('a store with tenants does not go back to one without them')
