"""Isolation between tenants (docs/tenants.md §Isolation): tenant B is a look-alike of tenant A
(the same customer, invoice and payment numbers, IBANs, organization codes, division numbers,
Exact GUIDs, mappings, job states and causes), with a marker in every name and message. Every
service read for A gives exactly what it gives in a store where B does not exist, and shows
nothing of B; every intent run for A changes nothing of B."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel, col, select

from exact_tui.domain.states import DocumentKind, JobState, MappingKind
from exact_tui.services.admin.masterdata import MasterList
from exact_tui.services.audit import Actor
from exact_tui.services.console import ConsoleServices
from exact_tui.services.export_log import job_detail
from exact_tui.services.intents import IntentRefused, Intents
from exact_tui.services.jobs import JobFilter, list_jobs
from exact_tui.services.status import status_report
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    ApiErrorRecord,
    Audit,
    AuthAttempt,
    BankAccount,
    BankAccountBinding,
    Budget,
    CostCenter,
    CostUnit,
    Customer,
    CustomerLink,
    Division,
    DivisionBinding,
    DivisionSettings,
    ExactAccount,
    ExactConnection,
    ExportEvent,
    ExportJob,
    GLAccount,
    Invoice,
    InvoiceLine,
    Journal,
    Mapping,
    OAuthToken,
    Organization,
    Payment,
    ReconcileFinding,
    ReconcileRun,
    SyncRequest,
    SyncRun,
    SyncState,
    Tenant,
    TenantOwned,
    VATCode,
    WriteOff,
)
from tests.admin_seed import AMBIGUOUS_CUSTOMER, BOUND_IBAN, DIVISION, UNBOUND_IBAN
from tests.console_seed import NOW, FrozenClock
from tests.stores import Stores, Template

MARK = "ZZB"
#: Tenant-owned models in the order a copy must follow (parents first), with the columns that
#: point at another copied row.
COPIED: list[tuple[type[SQLModel], dict[str, type[SQLModel]]]] = [
    (Organization, {}),
    (BankAccount, {"organization_id": Organization}),
    (Customer, {}),
    (Invoice, {"customer_id": Customer, "bank_account_id": BankAccount}),
    (InvoiceLine, {"invoice_id": Invoice}),
    (Payment, {"customer_id": Customer, "bank_account_id": BankAccount, "invoice_id": Invoice}),
    (WriteOff, {"invoice_id": Invoice}),
    (ExportJob, {}),
    (ExportEvent, {"job_id": ExportJob}),
    (ReconcileRun, {}),
    (ReconcileFinding, {"run_id": ReconcileRun, "job_id": ExportJob}),
    (CustomerLink, {"customer_id": Customer}),
    (BankAccountBinding, {"bank_account_id": BankAccount}),
    (Division, {}),
    (Journal, {}),
    (GLAccount, {}),
    (VATCode, {}),
    (CostCenter, {}),
    (CostUnit, {}),
    (ExactAccount, {}),
    (SyncState, {}),
    (SyncRun, {}),
    (Mapping, {}),
    (DivisionSettings, {}),
    (Budget, {}),
    (ApiErrorRecord, {}),
    (SyncRequest, {}),
    (ExactConnection, {}),
    (OAuthToken, {}),
    (AuthAttempt, {}),
    (Audit, {}),
]
DOCUMENTS = {
    DocumentKind.INVOICE: Invoice,
    DocumentKind.PAYMENT: Payment,
    DocumentKind.WRITE_OFF: WriteOff,
}
MARKED = ("name", "description", "message", "cause", "result", "user_name", "last_error")
#: Added to the ids of the copied rows.
ID_OFFSET = 100_000
#: A division only B has, bound to B's organization (a division is bound in one tenant only).
B_DIVISION = 999001


def _every_owned_model() -> set[type[SQLModel]]:
    def walk(cls: type) -> Iterator[type]:
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    return {cls for cls in walk(TenantOwned) if hasattr(cls, "__table__")}


def test_the_copy_covers_every_tenant_owned_table() -> None:
    # DivisionBinding is made by hand below: a division is bound in one tenant only.
    assert _every_owned_model() - {model for model, _ in COPIED} == {DivisionBinding}


def _copy_tenant(store: Store, source: str, target: str) -> None:
    """Every row of `source` again in `target`, keys kept and names marked."""
    ids: dict[type[SQLModel], dict[int, int]] = {}
    with store.tenant(source).read() as read, store.tenant(target).write() as write:
        for model, pointers in COPIED:
            ids[model] = {}
            for row in read.exec(select(model)).all():
                data = row.model_dump()
                data.pop("tenant_id")
                old = data.get("id") if isinstance(data.get("id"), int) else None
                if old is not None:
                    # Ids of its own, set here: the seeds set theirs, so a sequence would
                    # give ids they took (PostgreSQL).
                    data["id"] = old + ID_OFFSET
                for name, parent in pointers.items():
                    if data.get(name) is not None:
                        data[name] = ids[parent][data[name]]
                if model is ExportJob:
                    data["document_id"] = ids[DOCUMENTS[data["document_kind"]]][data["document_id"]]
                if model is AuthAttempt:
                    data["state_hash"] = hashlib.sha256(data["state_hash"].encode()).hexdigest()
                for name in MARKED:
                    if isinstance(data.get(name), str):
                        data[name] = f"{data[name]} {MARK}"
                copy = model(**data)
                write.add(copy)
                write.flush()
                if old is not None:
                    ids[model][old] = old + ID_OFFSET
        organization = write.exec(select(Organization)).first()
        assert organization is not None and organization.id is not None
        write.add(Division(code=B_DIVISION, description=f"B only {MARK}"))
        write.add(
            DivisionBinding(division=B_DIVISION, organization_id=organization.id, bound_by="b")
        )


@pytest.fixture(scope="session")
def two_tenants(stores: Stores, admin_template: Template) -> Template:
    """The admin screens' seeded store as tenant `default`, and its look-alike as `bee`."""

    def build(template: Store) -> None:
        with template.write() as session:
            session.add(Tenant(code="bee", name=f"Bee {MARK}"))
        _copy_tenant(template, "default", "bee")

    return stores.template("two-tenants", build, start=admin_template)


@pytest.fixture
def both(stores: Stores, two_tenants: Template, tmp_path: Path) -> Iterator[Store]:
    with stores.open_copy(two_tenants, tmp_path / "both") as opened:
        yield opened


def _snapshot(store: Store, code: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of one tenant, table by table, in key order."""
    tenant = store.tenant(code).tenant_id
    found: dict[str, list[tuple[Any, ...]]] = {}
    with store.all_tenants().read() as session:
        for model in sorted(_every_owned_model(), key=lambda m: m.__tablename__):
            table = model.__table__  # type: ignore[attr-defined]
            rows = session.execute(
                select(table).where(table.c.tenant_id == tenant).order_by(*table.primary_key)
            ).all()
            found[table.name] = [tuple(row) for row in rows]
    return found


def _guid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _reads(store: Store) -> dict[str, Any]:
    """Every read the console and the CLI make, for the store's tenant."""
    services = ConsoleServices(store, timezone="Europe/Amsterdam", clock=FrozenClock())
    with store.read() as session:
        job_ids = sorted(session.exec(select(ExportJob.id)).all(), key=lambda i: i or 0)
    everything = JobFilter()
    failed = JobFilter(state=JobState.FAILED)
    numbered = JobFilter(text="INV")
    reads: dict[str, Any] = {
        "status": status_report(store, now=NOW),
        "jobs": list_jobs(store, limit=1000),
        "divisions": services.divisions(),
        "log_page": services.log_page(everything, limit=1000),
        "log_tail": services.log_tail(everything, 0, also=job_ids),
        "held": services.held_customers(),
        "briefs": services.job_briefs(job_ids),
        "groups": services.failure_groups(everything),
        "groups_failed": services.failure_groups(failed),
        "log_numbered": services.log_page(numbered, limit=1000),
        "retry_numbered": services.retry_preview(numbered),
        "retry_preview": services.retry_preview(everything),
        "overview": services.divisions_overview(),
        "bank_journals": services.bank_journals(DIVISION, BOUND_IBAN),
        "organizations": services.organizations(),
        "account_page": services.account_page(DIVISION, limit=1000),
        "account_counts": services.account_counts(DIVISION),
        "suggestions": services.customer_suggestions(
            DIVISION, "00000000-0000-4000-8000-000000000003"
        ),
        "focus": services.customer_focus(DIVISION, AMBIGUOUS_CUSTOMER),
        "setting_targets": services.setting_targets(DIVISION, "sales_journal"),
    }
    for kind in MappingKind:
        reads[f"mappings {kind}"] = services.mappings(DIVISION, kind)
        reads[f"targets {kind}"] = services.mapping_targets(DIVISION, kind)
    for which in MasterList:
        reads[f"master {which}"] = services.master_page(which, DIVISION, limit=1000)
    for job_id in job_ids:
        assert job_id is not None
        reads[f"detail {job_id}"] = job_detail(store, job_id)
        reads[f"check {job_id}"] = services.retry_check(job_id)
        reads[f"blocker {job_id}"] = services.blocker(job_id)
    return reads


def test_every_read_for_a_tenant_is_what_it_would_be_alone(admin_store: Store, both: Store) -> None:
    alone = _reads(admin_store.tenant("default"))
    beside = _reads(both.tenant("default"))
    assert set(alone) == set(beside)
    for name, value in alone.items():
        shown = repr(beside[name]).replace(both.url, "<store>")
        assert shown == repr(value).replace(admin_store.url, "<store>"), name
        assert MARK not in shown, name
    # B's own reads see B: the copy is a look-alike, not a shadow (the test could fail).
    theirs = _reads(both.tenant("bee"))
    assert MARK in repr(theirs["jobs"]) or MARK in repr(theirs["log_page"])
    assert len(theirs["jobs"]) == len(alone["jobs"])


def _intents(store: Store) -> list[tuple[str, Callable[[Intents], Any]]]:
    with store.read() as session:
        failed = session.exec(
            select(ExportJob.id).where(col(ExportJob.state) == JobState.FAILED)
        ).first()
        held = session.exec(
            select(ExportJob.id).where(col(ExportJob.state) == JobState.UNKNOWN)
        ).first()
        account = session.exec(select(ExactAccount).where(col(ExactAccount.code) == "201")).first()
    assert failed is not None and held is not None and account is not None
    return [
        ("retry", lambda i: i.retry(failed)),
        ("retry matching", lambda i: i.retry_matching(JobFilter())),
        ("settle", lambda i: i.settle(held)),
        ("map", lambda i: i.map(DIVISION, MappingKind.VAT, "21-EU", "2")),
        ("bind bank account", lambda i: i.bind_bank_account(UNBOUND_IBAN, DIVISION, "20")),
        ("unbind bank account", lambda i: i.unbind_bank_account(BOUND_IBAN)),
        ("bind division", lambda i: i.bind_division(DIVISION, "ORG-BE")),
        ("link", lambda i: i.link(AMBIGUOUS_CUSTOMER, DIVISION, account.id)),
        ("unlink", lambda i: i.unlink(AMBIGUOUS_CUSTOMER, DIVISION)),
        ("settings", lambda i: i.set_settings(DIVISION, general_journal="90")),
        ("pause", lambda i: i.pause("isolation")),
        ("resume", lambda i: i.resume()),
    ]


def test_no_intent_for_a_tenant_touches_another(admin_store: Store, both: Store) -> None:
    actor = Actor("ops", "cli")
    b_before = _snapshot(both, "bee")
    alone, beside = admin_store.tenant("default"), both.tenant("default")
    done = 0
    intents = _intents(beside)
    for name, run in intents:
        outcomes = []
        for store in (alone, beside):
            try:
                outcomes.append(repr(run(Intents(store, actor, clock=FrozenClock()))))
            except IntentRefused as refused:
                outcomes.append(f"refused: {refused}")
        assert outcomes[0] == outcomes[1], name
        assert _snapshot(both, "bee") == b_before, name
        done += not outcomes[1].startswith("refused")
    assert done >= len(intents) // 2  # most did something (the test could fail)
    with alone.read() as session:
        audited = session.exec(select(Audit).where(col(Audit.actor) == "ops")).all()
    assert len(audited) >= len(intents)
    assert {row.tenant_id for row in audited} == {alone.tenant_id}


def test_a_division_bound_in_one_tenant_is_refused_in_another_naming_the_holder(
    both: Store,
) -> None:
    with pytest.raises(IntentRefused, match="tenant default"):
        Intents(both.tenant("bee"), Actor("ops", "cli")).bind_division(DIVISION, "ORG")
    with both.all_tenants().read() as session:
        (binding,) = session.exec(
            select(DivisionBinding).where(col(DivisionBinding.division) == DIVISION)
        ).all()
    assert binding.tenant_id == both.tenant("default").tenant_id
