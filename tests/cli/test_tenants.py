"""Tenants from the command line (docs/tenants.md §Operating tenants): `tenants` lists, adds,
disables, enables and removes; with several tenants a command needs --tenant (or
EXACT_TUI_TENANT) and says so in one line; `ingest` takes --tenant or a tenant field per
record; every audit row names its tenant."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlmodel import col, select

from exact_tui.cli import group
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    Audit,
    BankAccount,
    Customer,
    Division,
    ExportJob,
    Mapping,
    Organization,
)

ORG = {"code": "ORG", "name": "Coworking"}
BANK = {"iban": "NL91ABNA0417164300", "organization": "ORG"}
CUSTOMER = {"number": "C1", "name": "Klant"}


def _run(
    store: Store, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    url = store.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        group, ["--db", url, *args], input=stdin, env=env, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def _file(*records: dict[str, object]) -> str:
    return "\n".join(json.dumps(record) for record in records) + "\n"


def _invoice(number: str, **extra: object) -> dict[str, object]:
    return {
        "type": "invoice",
        "number": number,
        "date": "2026-03-01",
        "customer": "C1",
        "bank_account": "NL91ABNA0417164300",
        "lines": [{"amount": "100.00", "gl_code": "8000", "vat_code": "21"}],
        **extra,
    }


def _parties(**extra: object) -> list[dict[str, object]]:
    return [
        {"type": "organization", **ORG, **extra},
        {"type": "bank_account", **BANK, **extra},
        {"type": "customer", **CUSTOMER, **extra},
    ]


def test_one_tenant_needs_no_flag_and_the_list_shows_it(store: Store) -> None:
    code, out, _ = _run(store, "tenants")
    assert code == 0
    assert "default" in out and "Inactive (not connected yet" in out
    code, out, _ = _run(store, "status")
    assert code == 0


def test_add_then_several_tenants_need_a_choice(store: Store) -> None:
    code, out, _ = _run(store, "tenants", "add", "Acme", "--name", "Acme B.V.")
    assert code == 0 and "tenant acme added" in out
    code, _, err = _run(store, "jobs")
    assert code == 1
    assert err.count("\n") == 1
    assert "2 tenants" in err and "--tenant CODE" in err and "EXACT_TUI_TENANT" in err
    code, _, _ = _run(store, "--tenant", "acme", "jobs")
    assert code == 0
    code, _, _ = _run(store, "jobs", "--tenant", "ACME")
    assert code == 0
    code, _, _ = _run(store, "jobs", env={"EXACT_TUI_TENANT": "default"})
    assert code == 0
    code, _, err = _run(store, "--tenant", "nobody", "jobs")
    assert code == 1 and "no tenant 'nobody'" in err
    code, _, err = _run(store, "--tenant", "bad code!", "jobs")
    assert code == 1 and "a-z, 0-9 and '-'" in err
    # Fleet commands need no choice.
    code, out, _ = _run(store, "tenants", "--json")
    assert code == 0
    assert [row["code"] for row in json.loads(out)] == ["acme", "default"]


def test_a_taken_or_bad_code_is_refused_and_changes_nothing(store: Store) -> None:
    code, _, err = _run(store, "tenants", "add", "default", "--name", "Again")
    assert code == 1 and "already a tenant default" in err
    code, _, err = _run(store, "tenants", "add", "x" * 41, "--name", "Long")
    assert code == 1 and "1-40 characters" in err
    code, _, err = _run(store, "tenants", "add", "ok", "--name", "   ")
    assert code == 1 and "name" in err
    assert [t.code for t in store.tenants()] == ["default"]


def test_ingest_by_flag_and_by_record_goes_to_the_named_tenants(store: Store) -> None:
    _run(store, "tenants", "add", "acme", "--name", "Acme")
    _run(store, "tenants", "add", "bolt", "--name", "Bolt")
    # --tenant: the whole file to acme.
    data = _file(*_parties(), _invoice("INV-1"))
    code, _out, err = _run(store, "--tenant", "acme", "ingest", "-", stdin=data)
    assert code == 0, err
    # A tenant field per record: the same numbers to two tenants in one file.
    data = _file(
        *_parties(tenant="bolt"),
        _invoice("INV-1", tenant="bolt"),
        *_parties(tenant="default"),
        _invoice("INV-1", tenant="default"),
        _invoice("INV-2", tenant="default"),
    )
    code, _, err = _run(store, "ingest", "-", stdin=data)
    assert code == 0, err
    counts = {}
    for tenant in ("acme", "bolt", "default"):
        with store.tenant(tenant).read() as session:
            counts[tenant] = sorted(session.exec(select(ExportJob.document_number)).all())
    assert counts == {"acme": ["INV-1"], "bolt": ["INV-1"], "default": ["INV-1", "INV-2"]}
    with store.all_tenants().read() as session:
        audits = session.exec(select(Audit).where(col(Audit.action) == "ingest")).all()
    ids = {t.code: t.id for t in store.tenants()}
    assert sorted(a.tenant_id for a in audits) == sorted([ids["acme"], ids["bolt"], ids["default"]])


def test_ingest_refuses_an_unknown_tenant_or_records_without_one_whole(store: Store) -> None:
    _run(store, "tenants", "add", "acme", "--name", "Acme")
    data = _file(*_parties(tenant="acme"), _invoice("INV-1", tenant="ghost"))
    code, _, err = _run(store, "ingest", "-", stdin=data)
    assert code == 1 and "tenant ghost: no such tenant" in err
    data = _file(*_parties(tenant="acme"), _invoice("INV-1"))
    code, _, err = _run(store, "ingest", "-", stdin=data)
    assert code == 1 and "records without a tenant field" in err
    data = _file(*_parties(tenant=7))
    code, _, err = _run(store, "--tenant", "acme", "ingest", "-", stdin=data)
    assert code == 1 and "tenant" in err
    with store.all_tenants().read() as session:
        assert session.exec(select(Customer)).all() == []


def test_disable_and_enable_confirm_with_the_count(store: Store) -> None:
    _run(store, "ingest", "-", stdin=_file(*_parties(), _invoice("INV-1"), _invoice("INV-2")))
    code, out, err = _run(store, "tenants", "disable", "default", "--reason", "unpaid", stdin="n\n")
    assert code == 1 and "2 jobs wait" in err and "not disabled" in err
    assert store.tenants()[0].disabled_at is None
    code, out, err = _run(store, "tenants", "disable", "default", "--reason", "unpaid", stdin="y\n")
    assert code == 0 and "disabled" in out
    (tenant,) = store.tenants()
    assert tenant.disabled_at is not None and tenant.disabled_reason == "unpaid"
    code, out, _ = _run(store, "tenants")
    assert "⚫ Disabled: unpaid" in out
    code, out, err = _run(store, "tenants", "enable", "default", "--yes")
    assert code == 0 and store.tenants()[0].disabled_at is None
    with store.all_tenants().read() as session:
        actions = [
            (a.action, a.tenant_id)
            for a in session.exec(select(Audit).order_by(col(Audit.id))).all()
        ]
    assert ("tenant disable", tenant.id) in actions and ("tenant enable", tenant.id) in actions


def test_remove_only_an_empty_tenant_after_confirming(store: Store) -> None:
    _run(store, "tenants", "add", "acme", "--name", "Acme")
    acme = store.tenant("acme")
    with acme.write() as session:
        session.add(Division(code=100001, description="NL"))
        session.add(
            Mapping(division=100001, kind="gl", platform_code="8000", exact_code="8000",
                    updated_by="ops")
        )  # fmt: skip
    _run(store, "--tenant", "acme", "ingest", "-", stdin=_file(*_parties()))
    code, _, err = _run(store, "tenants", "remove", "acme", "--yes")
    assert code == 1 and "not empty" in err and "3 documents and parties" in err
    assert "acme" in [t.code for t in store.tenants()]
    with acme.write() as session:
        for model in (Customer, BankAccount, Organization):
            for row in session.exec(select(model)).all():
                session.delete(row)
            session.flush()
    code, _, err = _run(store, "tenants", "remove", "acme", stdin="n\n")
    assert code == 1 and "1 divisions of master data, 1 mappings" in err
    code, out, _ = _run(store, "tenants", "remove", "acme", stdin="y\n")
    assert code == 0 and "removed" in out
    assert [t.code for t in store.tenants()] == ["default"]
    with store.all_tenants().read() as session:
        assert session.exec(select(Division)).all() == []
        (removal,) = session.exec(select(Audit).where(col(Audit.action) == "tenant remove"))
        assert removal.target == "acme" and removal.tenant_id is None
        # The tenant's earlier audit rows stay, without it.
        assert (
            session.exec(
                select(Audit).where(
                    col(Audit.action) == "tenant add", col(Audit.target).contains("acme")
                )
            )
            .one()
            .tenant_id
            is None
        )
