"""Ingest: the platform's documents into the store (docs/architecture.md §Store,
docs/ingest-format.md).

A file is validated whole first (`domain.ingest_format`); then, in one write transaction, its
references are checked against the store, every record is sorted into added / updated /
unchanged, and the rows go in with Core bulk statements, together with the export job of each
new document (the transactional outbox). Any problem raises IngestError before the commit, so a
refused file changes nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from exact_tui.domain.ingest_format import (
    BankAccountIn,
    CustomerIn,
    FormatError,
    InvoiceIn,
    Item,
    OrganizationIn,
    PaymentIn,
    PlatformData,
    Problem,
    RecordType,
    WriteOffIn,
    content_hash,
    describe,
    parse,
)
from exact_tui.domain.states import DocumentKind, JobState
from exact_tui.domain.transitions import Transition, document_changed
from exact_tui.services import audit, job_state
from exact_tui.services.audit import Actor
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    BankAccount,
    Customer,
    ExportJob,
    Invoice,
    InvoiceLine,
    Organization,
    Payment,
    WriteOff,
)
from exact_tui.store.types import utcnow

STDIN = "<stdin>"
#: How many problems a refusal lists before "… and N more".
SHOWN_PROBLEMS = 20
#: Keys per IN (...) lookup: well under SQLite's bound-parameter limit on any version.
_CHUNK = 500
#: Job states in which Exact may hold the document: changing it would make the two disagree.
_FROZEN = frozenset({JobState.POSTED, JobState.IN_FLIGHT, JobState.UNKNOWN})

_ORGANIZATION: Table = Organization.__table__  # type: ignore[attr-defined]
_BANK_ACCOUNT: Table = BankAccount.__table__  # type: ignore[attr-defined]
_CUSTOMER: Table = Customer.__table__  # type: ignore[attr-defined]
_INVOICE: Table = Invoice.__table__  # type: ignore[attr-defined]
_INVOICE_LINE: Table = InvoiceLine.__table__  # type: ignore[attr-defined]
_PAYMENT: Table = Payment.__table__  # type: ignore[attr-defined]
_WRITE_OFF: Table = WriteOff.__table__  # type: ignore[attr-defined]
_JOB: Table = ExportJob.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class IngestSummary:
    """What one file did, per record type (the values of RecordType)."""

    source: str
    added: dict[str, int]
    updated: dict[str, int]
    unchanged: dict[str, int]
    jobs_created: int
    jobs_requeued: int


class IngestError(Exception):
    """A file refused whole; `str()` is the message for the user, `problems` every reason."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(render_problems(source, self.problems))


def render_problems(source: str, problems: Sequence[Problem]) -> str:
    count = len(problems)
    lines = [f"{source}: refused, nothing was ingested ({count:,} problem{'s' * (count != 1)}):"]
    lines += [f"  {problem.render(source)}" for problem in problems[:SHOWN_PROBLEMS]]
    if count > SHOWN_PROBLEMS:
        lines.append(f"  … and {count - SHOWN_PROBLEMS:,} more")
    return "\n".join(lines)


def ingest_bytes(
    store: Store, source: str, data: bytes, *, actor: Actor | None = None
) -> IngestSummary:
    """Validate one file and write it in one transaction, or refuse it whole (IngestError).

    `source` is the file name as given; "-" is standard input. With an `actor`, an audit row
    with the summary is written in the same transaction.
    """
    name = STDIN if source == "-" else source
    with _collector_paused():
        try:
            parsed = parse(data, json_lines=name.lower().endswith((".jsonl", ".ndjson")))
        except FormatError as exc:
            raise IngestError(name, exc.problems) from None
        groups = parsed.by_tenant() or {None: parsed}
        tenants = _tenants(store, name, groups)
        # Records naming tenants are written in one transaction across them (each Core
        # statement names its tenant); a file without tenant fields stays in the store's.
        named = any(code is not None for code in groups)
        writing = store.root.all_tenants().write() if named else store.write()
        summaries = []
        with writing as session:
            for code, records in groups.items():
                tenant = tenants[code]
                summary = _Ingest(session.connection(), name, tenant).run(records)
                summaries.append(summary)
                if actor is not None:
                    detail = {
                        "added": summary.added,
                        "updated": summary.updated,
                        "unchanged": summary.unchanged,
                        "jobs_created": summary.jobs_created,
                        "jobs_requeued": summary.jobs_requeued,
                    }
                    audit.record(
                        session, actor, "ingest", target=name, detail=detail, tenant_id=tenant
                    )
        return _total(name, summaries)


def _tenants(store: Store, source: str, groups: dict[str | None, Any]) -> dict[str | None, int]:
    """The tenant id of each group of records: the store's tenant for records without a
    `tenant` field, the named one for the others; refused whole when one is unknown, or when
    records name none and the store has no one tenant to take them."""
    found: dict[str | None, int] = {}
    problems: list[Problem] = []
    if None in groups:
        default = store.default_tenant()
        if default is None:
            problems.append(
                Problem(
                    "records without a tenant field, and this store serves several tenants: "
                    "give --tenant CODE, or a tenant field in each record"
                )
            )
        else:
            found[None] = default
    codes = [code for code in groups if code is not None]
    if codes:
        known = {row.code: row.id for row in store.root.tenants()}
        for code in codes:
            if code in known and known[code] is not None:
                found[code] = int(known[code])  # type: ignore[arg-type]
            else:
                problems.append(
                    Problem(f"tenant {code}: no such tenant in this store (exact-tui tenants)")
                )
    if problems:
        raise IngestError(source, problems)
    return found


def _total(source: str, summaries: list[IngestSummary]) -> IngestSummary:
    """One summary for a file whose records went to several tenants."""
    if len(summaries) == 1:
        return summaries[0]

    def added_up(name: str) -> dict[str, int]:
        total: dict[str, int] = {}
        for summary in summaries:
            for key, value in getattr(summary, name).items():
                total[key] = total.get(key, 0) + value
        return total

    return IngestSummary(
        source=source,
        added=added_up("added"),
        updated=added_up("updated"),
        unchanged=added_up("unchanged"),
        jobs_created=sum(s.jobs_created for s in summaries),
        jobs_requeued=sum(s.jobs_requeued for s in summaries),
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a file is loaded: a large file allocates millions of
    objects that live until the end, and every collection would rescan all of them (pausing it
    halves the time of a 100,000-invoice file). Reference counting still frees everything that
    is not a cycle; the collector takes the rest once it runs again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------- what the store holds


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    content_hash: str
    #: For an invoice: its customer's number (a payment must name the same customer).
    customer: str | None = None
    job_id: int | None = None
    job_state: JobState | None = None
    entry_number: int | None = None


def _chunks(keys: Iterable[Any]) -> Iterator[list[Any]]:
    batch = list(keys)
    for start in range(0, len(batch), _CHUNK):
        yield batch[start : start + _CHUNK]


# Core statements are not scoped (store/scoping.py): each one here names the tenant.


def _lookup(
    conn: Connection, tenant: int, table: Table, key: str, keys: set[str]
) -> dict[str, _Stored]:
    found: dict[str, _Stored] = {}
    column = table.c[key]
    for chunk in _chunks(keys):
        query = select(table.c.id, column, table.c.content_hash).where(
            table.c.tenant_id == tenant, column.in_(chunk)
        )
        for row_id, value, digest in conn.execute(query):
            found[value] = _Stored(row_id, digest)
    return found


def _lookup_invoices(conn: Connection, tenant: int, numbers: set[str]) -> dict[str, _Stored]:
    found: dict[str, _Stored] = {}
    for chunk in _chunks(numbers):
        query = (
            select(_INVOICE.c.id, _INVOICE.c.number, _INVOICE.c.content_hash, _CUSTOMER.c.number)
            .join(_CUSTOMER, _CUSTOMER.c.id == _INVOICE.c.customer_id)
            .where(_INVOICE.c.tenant_id == tenant, _INVOICE.c.number.in_(chunk))
        )
        for row_id, number, digest, customer in conn.execute(query):
            found[number] = _Stored(row_id, digest, customer=customer)
    return found


def _with_jobs(
    conn: Connection, tenant: int, kind: DocumentKind, stored: dict[str, _Stored]
) -> dict[str, _Stored]:
    """The documents' export jobs, locked until commit (PostgreSQL; SQLite's write transaction
    already holds the whole database) so a worker cannot claim one between check and update."""
    by_id = {document.id: number for number, document in stored.items()}
    result = dict(stored)
    for chunk in _chunks(by_id):
        query = (
            select(_JOB.c.document_id, _JOB.c.id, _JOB.c.state, _JOB.c.exact_entry_number)
            .where(
                _JOB.c.tenant_id == tenant,
                _JOB.c.document_kind == kind,
                _JOB.c.document_id.in_(chunk),
            )
            .with_for_update()
        )
        for document_id, job_id, state, entry in conn.execute(query):
            number = by_id[document_id]
            document = result[number]
            result[number] = _Stored(
                document.id, document.content_hash, document.customer, job_id, state, entry
            )
    return result


# ---------------------------------------------------------------- sorting records


R = TypeVar("R", OrganizationIn, BankAccountIn, CustomerIn, InvoiceIn, PaymentIn, WriteOffIn)
D = TypeVar("D", InvoiceIn, PaymentIn, WriteOffIn)


@dataclass
class _Plan(Generic[R]):
    """One record type's items, sorted against the store."""

    new: list[tuple[Item[R], str]] = field(default_factory=list)
    changed: list[tuple[Item[R], str, _Stored]] = field(default_factory=list)
    unchanged: int = 0


def _sort(items: list[Item[R]], key: str, stored: dict[str, _Stored]) -> _Plan[R]:
    plan: _Plan[R] = _Plan()
    for item in items:
        digest = content_hash(item.record)
        known = stored.get(getattr(item.record, key))
        if known is None:
            plan.new.append((item, digest))
        elif known.content_hash == digest:
            plan.unchanged += 1
        else:
            plan.changed.append((item, digest, known))
    return plan


_CORRECTION = {
    DocumentKind.INVOICE: "issue a credit note instead",
    DocumentKind.PAYMENT: "book the correction as a new payment instead",
    DocumentKind.WRITE_OFF: "book the correction as a new write-off instead",
}


def _frozen_reason(kind: DocumentKind, number: str, known: _Stored) -> str:
    label = f"{kind.value.replace('_', '-')} {number}"
    if known.job_state is JobState.POSTED:
        entry = f" as entry {known.entry_number}" if known.entry_number is not None else ""
        return f"{label} was already posted to Exact{entry}: it cannot change; {_CORRECTION[kind]}"
    if known.job_state is JobState.IN_FLIGHT:
        return (
            f"{label} is being posted to Exact right now: it cannot change; "
            f"once it is posted, {_CORRECTION[kind]}"
        )
    return (
        f"{label} may already be in Exact (its last export attempt has no known outcome): "
        "it cannot change until that job is settled"
    )


# ---------------------------------------------------------------- the transaction


class _Ingest:
    def __init__(self, conn: Connection, source: str, tenant: int) -> None:
        self.conn = conn
        self.source = source
        self.tenant = tenant
        self.now = utcnow()
        self.problems: list[Problem] = []
        self.added = dict.fromkeys(RecordType, 0)
        self.updated = dict.fromkeys(RecordType, 0)
        self.unchanged = dict.fromkeys(RecordType, 0)
        self.jobs_created = 0
        self.jobs_requeued = 0

    def run(self, data: PlatformData) -> IngestSummary:
        conn, tenant = self.conn, self.tenant
        organizations = _lookup(
            conn,
            tenant,
            _ORGANIZATION,
            "code",
            {i.record.code for i in data.organizations}
            | {i.record.organization for i in data.bank_accounts},
        )
        bank_accounts = _lookup(
            conn,
            tenant,
            _BANK_ACCOUNT,
            "iban",
            {i.record.iban for i in data.bank_accounts}
            | {i.record.bank_account for i in data.invoices}
            | {i.record.bank_account for i in data.payments},
        )
        customers = _lookup(
            conn,
            tenant,
            _CUSTOMER,
            "number",
            {i.record.number for i in data.customers}
            | {i.record.customer for i in data.invoices}
            | {i.record.customer for i in data.payments},
        )
        invoices = _with_jobs(
            conn,
            tenant,
            DocumentKind.INVOICE,
            _lookup_invoices(
                conn,
                tenant,
                {i.record.number for i in data.invoices}
                | {i.record.invoice for i in data.payments if i.record.invoice}
                | {i.record.invoice for i in data.write_offs},
            ),
        )
        payments = _with_jobs(
            conn,
            tenant,
            DocumentKind.PAYMENT,
            _lookup(conn, tenant, _PAYMENT, "number", {i.record.number for i in data.payments}),
        )
        write_offs = _with_jobs(
            conn,
            tenant,
            DocumentKind.WRITE_OFF,
            _lookup(conn, tenant, _WRITE_OFF, "number", {i.record.number for i in data.write_offs}),
        )

        self._check_references(data, organizations, bank_accounts, customers, invoices)
        plans = (
            _sort(data.organizations, "code", organizations),
            _sort(data.bank_accounts, "iban", bank_accounts),
            _sort(data.customers, "number", customers),
        )
        invoice_plan = self._sort_documents(data.invoices, DocumentKind.INVOICE, invoices)
        payment_plan = self._sort_documents(data.payments, DocumentKind.PAYMENT, payments)
        write_off_plan = self._sort_documents(data.write_offs, DocumentKind.WRITE_OFF, write_offs)
        if self.problems:
            raise IngestError(self.source, self.problems)

        organization_ids = self._write_organizations(plans[0], organizations)
        bank_account_ids = self._write_bank_accounts(plans[1], bank_accounts, organization_ids)
        customer_ids = self._write_customers(plans[2], customers)
        invoice_ids = self._write_invoices(invoice_plan, invoices, customer_ids, bank_account_ids)
        self._write_payments(payment_plan, payments, customer_ids, bank_account_ids, invoice_ids)
        self._write_write_offs(write_off_plan, write_offs, invoice_ids)
        return IngestSummary(
            source=self.source,
            added={t.value: n for t, n in self.added.items()},
            updated={t.value: n for t, n in self.updated.items()},
            unchanged={t.value: n for t, n in self.unchanged.items()},
            jobs_created=self.jobs_created,
            jobs_requeued=self.jobs_requeued,
        )

    # ------------------------------------------------------------ checks

    def _check_references(
        self,
        data: PlatformData,
        organizations: dict[str, _Stored],
        bank_accounts: dict[str, _Stored],
        customers: dict[str, _Stored],
        invoices: dict[str, _Stored],
    ) -> None:
        known_organizations = organizations.keys() | {i.record.code for i in data.organizations}
        known_bank_accounts = bank_accounts.keys() | {i.record.iban for i in data.bank_accounts}
        known_customers = customers.keys() | {i.record.number for i in data.customers}
        invoice_customers = {number: known.customer for number, known in invoices.items()}
        invoice_customers.update({i.record.number: i.record.customer for i in data.invoices})

        def require(item: Item[Any], name: str, known: Any, what: str) -> None:
            value = getattr(item.record, name)
            if value not in known:
                message = f"no {what} {describe(value)} in this file or in the store"
                self.problems.append(item.origin.problem(message, name))

        for bank in data.bank_accounts:
            require(bank, "organization", known_organizations, "organization with code")
        for invoice in data.invoices:
            require(invoice, "customer", known_customers, "customer with number")
            require(invoice, "bank_account", known_bank_accounts, "bank account with IBAN")
        for payment in data.payments:
            require(payment, "customer", known_customers, "customer with number")
            require(payment, "bank_account", known_bank_accounts, "bank account with IBAN")
            if payment.record.invoice is not None:
                require(payment, "invoice", invoice_customers, "invoice with number")
                owner = invoice_customers.get(payment.record.invoice)
                if owner is not None and owner != payment.record.customer:
                    message = (
                        f"invoice {describe(payment.record.invoice)} belongs to customer "
                        f"{describe(owner)}, not {describe(payment.record.customer)}"
                    )
                    self.problems.append(payment.origin.problem(message, "invoice"))
        for write_off in data.write_offs:
            require(write_off, "invoice", invoice_customers, "invoice with number")

    def _sort_documents(
        self, items: list[Item[D]], kind: DocumentKind, stored: dict[str, _Stored]
    ) -> _Plan[D]:
        plan = _sort(items, "number", stored)
        for item, _digest, known in plan.changed:
            if known.job_state in _FROZEN:
                reason = _frozen_reason(kind, item.record.number, known)
                self.problems.append(item.origin.problem(reason))
        return plan

    # ------------------------------------------------------------ writes

    def _stamp(self, row: dict[str, Any], digest: str) -> dict[str, Any]:
        row["content_hash"] = digest
        row["updated_at"] = self.now
        row["tenant_id"] = self.tenant
        return row

    def _apply(
        self,
        record: RecordType,
        table: Table,
        key: str,
        plan: _Plan[R],
        stored: dict[str, _Stored],
        values: Callable[[R], dict[str, Any]],
    ) -> dict[str, int]:
        """Insert the new rows and update the changed ones; the key → id of every row the
        file names or refers to."""
        ids = {number: known.id for number, known in stored.items()}
        if plan.new:
            rows = [
                {**self._stamp(values(item.record), digest), "created_at": self.now}
                for item, digest in plan.new
            ]
            returned = self.conn.execute(insert(table).returning(table.c.id, table.c[key]), rows)
            ids.update({value: row_id for row_id, value in returned})
        if plan.changed:
            rows = []
            for item, digest, known in plan.changed:
                row = self._stamp(values(item.record), digest)
                del row[key]
                row["_id"] = known.id
                rows.append(row)
            self.conn.execute(
                update(table).where(
                    table.c.tenant_id == self.tenant, table.c.id == bindparam("_id")
                ),
                rows,
            )
        self.added[record] += len(plan.new)
        self.updated[record] += len(plan.changed)
        self.unchanged[record] += plan.unchanged
        return ids

    def _write_organizations(
        self, plan: _Plan[OrganizationIn], stored: dict[str, _Stored]
    ) -> dict[str, int]:
        def values(record: OrganizationIn) -> dict[str, Any]:
            return {"code": record.code, "name": record.name}

        return self._apply(RecordType.ORGANIZATION, _ORGANIZATION, "code", plan, stored, values)

    def _write_bank_accounts(
        self,
        plan: _Plan[BankAccountIn],
        stored: dict[str, _Stored],
        organization_ids: dict[str, int],
    ) -> dict[str, int]:
        def values(record: BankAccountIn) -> dict[str, Any]:
            return {
                "iban": record.iban,
                "organization_id": organization_ids[record.organization],
                "name": record.name,
            }

        return self._apply(RecordType.BANK_ACCOUNT, _BANK_ACCOUNT, "iban", plan, stored, values)

    def _write_customers(
        self, plan: _Plan[CustomerIn], stored: dict[str, _Stored]
    ) -> dict[str, int]:
        def values(record: CustomerIn) -> dict[str, Any]:
            return {
                "number": record.number,
                "name": record.name,
                "vat_number": record.vat_number,
                "vat_normalised": record.vat_normalised,
                "address_line": record.address_line,
                "postcode": record.postcode,
                "city": record.city,
                "country": record.country,
                "email": record.email,
                "phone": record.phone,
            }

        return self._apply(RecordType.CUSTOMER, _CUSTOMER, "number", plan, stored, values)

    def _write_invoices(
        self,
        plan: _Plan[InvoiceIn],
        stored: dict[str, _Stored],
        customer_ids: dict[str, int],
        bank_account_ids: dict[str, int],
    ) -> dict[str, int]:
        def values(record: InvoiceIn) -> dict[str, Any]:
            return {
                "number": record.number,
                "date": record.date,
                "customer_id": customer_ids[record.customer],
                "bank_account_id": bank_account_ids[record.bank_account],
                "due_date": record.due_date,
                "payment_reference": record.payment_reference,
                "currency": record.currency,
                "description": record.description,
            }

        ids = self._apply(RecordType.INVOICE, _INVOICE, "number", plan, stored, values)
        # A changed invoice's lines are replaced whole: lines have no identity of their own.
        changed_ids = [known.id for _item, _digest, known in plan.changed]
        for chunk in _chunks(changed_ids):
            self.conn.execute(
                delete(_INVOICE_LINE).where(
                    _INVOICE_LINE.c.tenant_id == self.tenant, _INVOICE_LINE.c.invoice_id.in_(chunk)
                )
            )
        lines = [
            {
                "tenant_id": self.tenant,
                "invoice_id": ids[item.record.number],
                "position": position,
                "amount": line.amount,
                "gl_code": line.gl_code,
                "vat_code": line.vat_code,
                "vat_amount": line.vat_amount,
                "description": line.description,
                "cost_center": line.cost_center,
                "cost_unit": line.cost_unit,
            }
            for item in [*(i for i, _ in plan.new), *(i for i, _, _ in plan.changed)]
            for position, line in enumerate(item.record.lines)
        ]
        if lines:
            self.conn.execute(insert(_INVOICE_LINE), lines)
        self._queue(DocumentKind.INVOICE, plan, ids)
        return ids

    def _write_payments(
        self,
        plan: _Plan[PaymentIn],
        stored: dict[str, _Stored],
        customer_ids: dict[str, int],
        bank_account_ids: dict[str, int],
        invoice_ids: dict[str, int],
    ) -> None:
        def values(record: PaymentIn) -> dict[str, Any]:
            return {
                "number": record.number,
                "date": record.date,
                "amount": record.amount,
                "customer_id": customer_ids[record.customer],
                "bank_account_id": bank_account_ids[record.bank_account],
                "invoice_id": invoice_ids[record.invoice] if record.invoice else None,
                "description": record.description,
            }

        ids = self._apply(RecordType.PAYMENT, _PAYMENT, "number", plan, stored, values)
        self._queue(DocumentKind.PAYMENT, plan, ids)

    def _write_write_offs(
        self, plan: _Plan[WriteOffIn], stored: dict[str, _Stored], invoice_ids: dict[str, int]
    ) -> None:
        def values(record: WriteOffIn) -> dict[str, Any]:
            return {
                "number": record.number,
                "date": record.date,
                "amount": record.amount,
                "invoice_id": invoice_ids[record.invoice],
                "kind": record.kind,
                "description": record.description,
            }

        ids = self._apply(RecordType.WRITE_OFF, _WRITE_OFF, "number", plan, stored, values)
        self._queue(DocumentKind.WRITE_OFF, plan, ids)

    # ------------------------------------------------------------ the outbox

    def _queue(self, kind: DocumentKind, plan: _Plan[D], ids: dict[str, int]) -> None:
        """A pending job for each new document; a changed one's job back to pending, with an
        event saying why (a document stored without a job gets one now)."""
        new_jobs: list[dict[str, Any]] = []
        for item, _digest in plan.new:
            new_jobs.append(self._job(kind, item, ids))
        changed: list[tuple[int, Transition, dict[str, Any]]] = []
        for item, _digest, known in plan.changed:
            if known.job_id is None:
                new_jobs.append(self._job(kind, item, ids))
                continue
            was = f"; back to pending (was {known.job_state})"
            message = (
                f"{kind.value.replace('_', '-')} {item.record.number} updated by ingest of "
                f"{self.source}" + (was if known.job_state is not JobState.PENDING else "")
            )
            changed.append(
                (known.job_id, document_changed(message), {"document_date": item.record.date})
            )
            if known.job_state is not JobState.PENDING:
                self.jobs_requeued += 1
        job_state.insert_jobs(self.conn, new_jobs)
        self.jobs_created += len(new_jobs)
        job_state.apply_bulk(self.conn, self.tenant, changed, now=self.now)

    def _job(self, kind: DocumentKind, item: Item[D], ids: dict[str, int]) -> dict[str, Any]:
        return job_state.new_job(
            self.tenant,
            kind,
            ids[item.record.number],
            item.record.number,
            item.record.date,
            now=self.now,
        )
