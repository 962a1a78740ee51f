"""The admin screens' read side: what each screen reads, against a seeded store."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select

from exact_tui.domain.states import Category, JobState, LinkMethod, MappingKind
from exact_tui.domain.targets import SETTING_RULES
from exact_tui.services.admin import accounts, blockers, divisions, mappings, masterdata
from exact_tui.services.admin.blocked import blocked_counts
from exact_tui.services.admin.blockers import BlockerKind
from exact_tui.services.admin.masterdata import MasterList
from exact_tui.services.audit import Actor
from exact_tui.services.console import ActionRefused, ConsoleActions, intent_actions
from exact_tui.services.intents import Intents
from exact_tui.services.jobs import JobFilter
from exact_tui.services.target_rows import MAPPING_TABLES, setting_table
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    CostCenter,
    CostUnit,
    ExactAccount,
    ExportJob,
    InvoiceLine,
    Journal,
    Mapping,
)
from exact_tui.store.scoping import tenant_key
from tests.admin_seed import (
    AMBIGUOUS_CAUSE,
    AMBIGUOUS_CUSTOMER,
    BOUND_IBAN,
    DIVISION,
    UNBOUND_IBAN,
)
from tests.console_seed import NOW, FrozenClock

TODAY = NOW.date()


@pytest.fixture
def admin(admin_store: Store) -> Store:
    return admin_store


# ---------------------------------------------------------------- blocked counts


def test_each_missing_key_counts_the_documents_it_holds_up(admin: Store) -> None:
    with admin.read() as session:
        blocked = blocked_counts(session)
    assert blocked.of(DIVISION, "vat", "21-EU") == 2
    assert blocked.of(DIVISION, "gl", "8000") == 2  # the same two documents: both keys count
    assert blocked.of(None, "binding", UNBOUND_IBAN) == 1
    assert blocked.of(DIVISION, "customer", AMBIGUOUS_CUSTOMER) == 1
    assert blocked.details[next(k for k in blocked.counts if k.kind == "customer")] == (
        AMBIGUOUS_CAUSE
    )


def test_only_jobs_waiting_on_an_admin_are_counted(admin: Store) -> None:
    with admin.write() as s:
        job = s.get(ExportJob, 2)
        assert job is not None
        job.state = JobState.PENDING  # requeued: no longer blocked
        s.add(job)
        failed = s.get(ExportJob, 4)
        assert failed is not None
        failed.missing = [{"kind": "vat", "code": "21-EU", "detail": "x"}]  # failed, not held
        s.add(failed)
    with admin.read() as session:
        assert blocked_counts(session).of(DIVISION, "vat", "21-EU") == 1


# ---------------------------------------------------------------- divisions and bank accounts


def test_overview_puts_unbound_bank_accounts_first_with_what_they_block(admin: Store) -> None:
    overview = divisions.divisions_overview(admin)
    assert [a.iban for a in overview.bank_accounts] == [UNBOUND_IBAN, BOUND_IBAN]
    unbound, bound = overview.bank_accounts
    assert not unbound.bound and unbound.blocked == 1 and unbound.journal_code is None
    assert bound.division == DIVISION and bound.journal_code == "20"
    assert bound.journal_description == "ING Bank" and bound.journal_problem is None
    nl, be = overview.divisions
    assert nl.organization is not None and nl.organization.code == "ORG"
    assert nl.bank_accounts == 1 and nl.blocked == 3  # two mapping jobs and one customer job
    assert be.organization is None and not be.accessible


def test_a_bound_journal_that_cannot_take_bank_entries_is_flagged(admin: Store) -> None:
    with admin.write() as s:
        journal = s.get(Journal, tenant_key(s, DIVISION, "00000000-0000-4000-8000-000000000100"))
        assert journal is not None
        journal.is_blocked = True
        s.add(journal)
    bound = divisions.divisions_overview(admin).bank_accounts[1]
    assert bound.journal_problem == "journal 20 is blocked in Exact"


def test_overview_filters_by_iban_name_or_organization(admin: Store) -> None:
    assert [a.iban for a in divisions.divisions_overview(admin, text="ingb").bank_accounts] == [
        BOUND_IBAN
    ]
    assert len(divisions.divisions_overview(admin, text="coworking am").bank_accounts) == 2
    assert divisions.divisions_overview(admin, text="100%_").bank_accounts == []


def test_bank_journals_are_the_usable_bank_journals_with_the_own_iban_first(admin: Store) -> None:
    journals = divisions.bank_journals(admin, DIVISION, iban=UNBOUND_IBAN)
    assert [j.code for j in journals] == ["21", "20"]  # 22 is blocked, 70 and 90 are no banks
    assert journals[0].same_iban and not journals[1].same_iban


def test_organizations_are_searched_by_code_and_name(admin: Store) -> None:
    assert [o.code for o in divisions.organizations(admin)] == ["ORG", "ORG-BE"]
    assert [o.code for o in divisions.organizations(admin, text="gent")] == ["ORG-BE"]


# ---------------------------------------------------------------- mappings


def test_mappings_list_codes_in_use_mapped_and_missing_problems_first(admin: Store) -> None:
    view = mappings.mappings_view(admin, DIVISION, today=TODAY)
    rows = {(r.kind, r.platform_code): r for r in view.rows}
    assert set(rows) == {
        (MappingKind.GL, "8000"),  # mapped (stale) and on lines
        (MappingKind.GL, "8010"),  # on a line, not mapped
        (MappingKind.VAT, "21"),  # mapped
        (MappingKind.VAT, "21-EU"),  # missing: only in the blocked jobs
        (MappingKind.COST_CENTER, "AMS"),  # on a line, not mapped
    }
    stale = rows[(MappingKind.GL, "8000")]
    assert stale.exact_code == "8090" and stale.problem == "blocked in Exact"
    assert stale.blocked == 2 and stale.needs_work
    missing = rows[(MappingKind.VAT, "21-EU")]
    assert missing.missing and missing.blocked == 2 and not missing.in_use
    fine = rows[(MappingKind.VAT, "21")]
    assert fine.target_description == "BTW hoog" and fine.problem is None and fine.in_use
    assert fine.updated_by == "anna"
    assert [(r.kind, r.platform_code) for r in view.rows] == [
        (MappingKind.VAT, "21-EU"),  # missing and blocking
        (MappingKind.GL, "8000"),  # stale and blocking
        (MappingKind.GL, "8010"),  # not mapped, nothing waits
        (MappingKind.COST_CENTER, "AMS"),
        (MappingKind.VAT, "21"),  # fine
    ]
    assert view.missing == 1 and view.unmapped == 2 and view.stale == 1 and view.blocked == 2


def test_mappings_filter_by_kind_and_code(admin: Store) -> None:
    gl = mappings.mappings_view(admin, DIVISION, today=TODAY, kind=MappingKind.GL)
    assert {r.platform_code for r in gl.rows} == {"8000", "8010"}
    some = mappings.mappings_view(admin, DIVISION, today=TODAY, text="21")
    assert {r.platform_code for r in some.rows} == {"21", "21-EU"}


def test_a_target_of_the_wrong_type_reads_as_a_problem(admin: Store) -> None:
    with admin.write() as s:
        s.add(
            Mapping(
                division=DIVISION,
                kind=MappingKind.GL,
                platform_code="8010",
                exact_code="1300",
                updated_by="anna",
            )
        )
    row = next(
        r
        for r in mappings.mappings_view(admin, DIVISION, today=TODAY).rows
        if r.platform_code == "8010"
    )
    assert row.problem == "not a revenue account (20 receivable)"


def test_settings_say_what_is_set_missing_or_wrong(admin: Store) -> None:
    with admin.write() as s:
        job = s.get(ExportJob, 6)
        assert job is not None
        job.state, job.category = JobState.NEEDS_MAPPING, Category.MAPPING
        job.missing = [
            {"kind": "setting", "code": "collection_costs_gl", "detail": "not set"},
            {"kind": "cost_center", "code": "", "detail": "GL 8000 requires a cost center"},
        ]
        s.add(job)
    view = mappings.mappings_view(admin, DIVISION, today=TODAY)
    settings = {s.name: s for s in view.settings}
    assert settings["sales_journal"].value == "70"
    assert settings["sales_journal"].description == "Verkoopboek"
    assert settings["collection_costs_gl"].value is None
    assert settings["collection_costs_gl"].blocked == 1
    assert [(o.detail, o.blocked) for o in view.other] == [("GL 8000 requires a cost center", 1)]


def test_codes_in_use_are_read_one_distinct_code_at_a_time(admin: Store) -> None:
    with admin.write() as s:
        for n in range(40):
            s.add(
                InvoiceLine(
                    invoice_id=7,
                    position=10 + n,
                    amount=Decimal("1.00"),
                    gl_code=f"R{n % 4}",
                    vat_code="21",
                )
            )
    with admin.read() as session:
        assert mappings.codes_in_use(session, MappingKind.GL) == [
            "8000",
            "8010",
            "R0",
            "R1",
            "R2",
            "R3",
        ]
        assert mappings.codes_in_use(session, MappingKind.GL, limit=2) == ["8000", "8010"]
        assert mappings.codes_in_use(session, MappingKind.COST_UNIT) == []


def test_targets_offer_only_valid_exact_codes(admin: Store) -> None:
    def codes(kind: MappingKind, text: str | None = None) -> list[str]:
        return [
            t.code for t in mappings.mapping_targets(admin, DIVISION, kind, today=TODAY, text=text)
        ]

    assert codes(MappingKind.GL) == ["8000", "8010"]  # revenue, not blocked (8090)
    assert codes(MappingKind.GL, "flex") == ["8010"]
    assert codes(MappingKind.VAT) == ["1", "2", "7"]  # no purchase (8), no blocked (9)
    assert codes(MappingKind.COST_CENTER) == ["AMS-C", "UTR"]  # OUD is inactive
    assert codes(MappingKind.COST_UNIT) == ["FLEX"]
    gl = mappings.mapping_targets(admin, DIVISION, MappingKind.GL, today=TODAY)[0]
    assert gl.detail == "110 revenue · cost center required"
    vat = mappings.mapping_targets(admin, DIVISION, MappingKind.VAT, today=TODAY)[1]
    assert vat.detail == "21 % · sales"

    def setting(name: str) -> list[str]:
        return [t.code for t in mappings.setting_targets(admin, DIVISION, name)]

    assert setting("sales_journal") == ["70"]
    assert setting("general_journal") == ["90"]
    assert setting("receivables_gl") == ["1300"]
    assert "8090" not in setting("write_off_gl") and "4700" in setting("write_off_gl")


def test_an_ended_cost_center_is_no_target(admin: Store) -> None:
    later = dt.date(2031, 1, 1)  # UTR ends in 2030
    centers = mappings.mapping_targets(admin, DIVISION, MappingKind.COST_CENTER, today=later)
    assert [c.code for c in centers] == ["AMS-C"]


@pytest.mark.parametrize("kind", list(MappingKind))
def test_the_picker_offers_exactly_what_the_rule_accepts(admin: Store, kind: MappingKind) -> None:
    # The picker filters in SQL; domain/targets.py decides everywhere else. They must agree,
    # the end-date boundary included.
    with admin.write() as s:
        s.add(
            CostCenter(division=DIVISION, id=str(uuid.uuid4()), code="ENDS-TODAY", end_date=TODAY)
        )
        s.add(CostUnit(division=DIVISION, id=str(uuid.uuid4()), code="GONE", end_date=TODAY))
    offered = {
        t.code for t in mappings.mapping_targets(admin, DIVISION, kind, today=TODAY, limit=1000)
    }
    model: Any = MAPPING_TABLES[kind]
    with admin.read() as session:
        rows = list(session.exec(select(model).where(col(model.division) == DIVISION)))
    accepted = {r.code for r in rows if mappings.target_problem(kind, r, TODAY) is None}
    assert offered == accepted
    assert len(accepted) < len(rows)  # the seed holds targets the rule refuses


@pytest.mark.parametrize("name", list(SETTING_RULES))
def test_the_setting_picker_offers_exactly_what_the_rule_accepts(admin: Store, name: str) -> None:
    offered = {t.code for t in mappings.setting_targets(admin, DIVISION, name, limit=1000)}
    model: Any = setting_table(name)
    with admin.read() as session:
        rows = list(session.exec(select(model).where(col(model.division) == DIVISION)))
    assert offered == {r.code for r in rows if mappings.setting_problem(name, r) is None}


# ---------------------------------------------------------------- accounts


def test_accounts_page_by_name_without_overlap(admin: Store) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = accounts.account_page(admin, DIVISION, after=after, limit=4)
        seen += [a.name for a in page.accounts]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 6


def test_accounts_carry_their_links_and_how_they_were_made(admin: Store) -> None:
    page = accounts.account_page(admin, DIVISION)
    jansen = next(a for a in page.accounts if a.code == "1")
    (link,) = jansen.links
    assert link.customer_number == "C0001" and link.method is LinkMethod.VAT
    assert link.how == "VAT number" and link.linked_by == "worker"
    prospect = next(a for a in page.accounts if a.code == "205")
    assert not prospect.usable and prospect.unusable_reason == (
        "not a customer in Exact (status prospect)"
    )
    blocked = next(a for a in page.accounts if a.code == "206")
    assert blocked.unusable_reason == "blocked in Exact"


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("drukkerij", {"3", "201"}),
        ("20", {"201", "205", "206"}),  # the start of a code
        ("C0009", {"206"}),  # search code
        ("NL854478372B01", {"3", "201"}),  # the VAT number, however it is typed in Exact
        ("De Vries", {"2"}),
        ("C0002", {"2"}),  # the linked customer's number
        ("%", set()),
    ],
)
def test_accounts_filter(admin: Store, text: str, codes: set[str]) -> None:
    page = accounts.account_page(admin, DIVISION, text=text)
    assert {a.code for a in page.accounts} == codes


def test_counts_of_accounts_and_linked_ones(admin: Store) -> None:
    counts = accounts.account_counts(admin, DIVISION)
    assert (counts.accounts, counts.linked) == (6, 2)


def test_suggestions_say_why_each_customer_matches(admin: Store) -> None:
    by_vat = accounts.customer_suggestions(admin, DIVISION, "00000000-0000-4000-8000-000000000003")
    assert by_vat[0].customer.number == AMBIGUOUS_CUSTOMER
    assert by_vat[0].reasons[0] == "VAT number" and not by_vat[0].hint_only
    by_search_code = accounts.customer_suggestions(
        admin, DIVISION, "00000000-0000-4000-8000-000000000001"
    )
    assert by_search_code[0].customer.number == "C0001"
    assert by_search_code[0].reasons[0] == "customer number = search code"
    by_code = accounts.customer_suggestions(admin, DIVISION, "00000000-0000-4000-8000-000000000002")
    assert by_code[0].customer.number == "C0002"
    assert by_code[0].reasons[0].startswith("name similar")
    assert by_code[0].hint_only and by_code[0].linked_to == "2 De Vries & Zn"
    searched = accounts.customer_suggestions(
        admin, DIVISION, "00000000-0000-4000-8000-000000000005", text="C000"
    )
    assert {s.customer.number for s in searched} == {"C0001", "C0002", AMBIGUOUS_CUSTOMER}
    assert all(s.reasons == () for s in searched)


def test_an_account_code_equal_to_a_customer_number_is_a_rule(admin: Store) -> None:
    with admin.write() as s:
        account = s.get(
            ExactAccount, tenant_key(s, DIVISION, "00000000-0000-4000-8000-000000000005")
        )
        assert account is not None
        account.code = "C0002"
        s.add(account)
    (first, *_) = accounts.customer_suggestions(
        admin, DIVISION, "00000000-0000-4000-8000-000000000005"
    )
    assert first.customer.number == "C0002"
    assert first.reasons == ("customer number = account code",)


def test_focus_on_an_ambiguous_customer_lists_its_candidates(admin: Store) -> None:
    focus = accounts.customer_focus(admin, DIVISION, AMBIGUOUS_CUSTOMER)
    assert focus is not None
    assert {c.account.code for c in focus.candidates} == {"3", "201"}
    assert all(c.reasons[0] == "VAT number" for c in focus.candidates)
    assert focus.blocked == 1 and focus.cause == AMBIGUOUS_CAUSE and focus.linked is None
    assert accounts.customer_focus(admin, DIVISION, "nobody") is None
    linked = accounts.customer_focus(admin, DIVISION, "C0001")
    assert linked is not None and linked.linked is not None and linked.linked.code == "1"


# ---------------------------------------------------------------- master data


def test_master_lists_page_by_code_with_their_last_import(admin: Store) -> None:
    page = masterdata.master_page(admin, MasterList.GL_ACCOUNTS, DIVISION, today=TODAY, limit=4)
    assert [r.code for r in page.rows] == ["1100", "1300", "4700", "8000"]
    assert page.next_after == "8000"
    rest = masterdata.master_page(
        admin, MasterList.GL_ACCOUNTS, DIVISION, today=TODAY, after=page.next_after
    )
    assert [r.code for r in rest.rows] == ["8010", "8090", "8900"] and rest.next_after is None
    assert rest.rows[1].unusable and rest.rows[1].facts[-1] == "blocked"
    assert page.rows[3].facts == ("110 revenue", "required", "", "")
    assert page.imported.last_ok_at == NOW - dt.timedelta(minutes=3)


def test_each_master_list_reads(admin: Store) -> None:
    def rows(which: MasterList, text: str | None = None) -> list[tuple[str, tuple[str, ...]]]:
        page = masterdata.master_page(admin, which, DIVISION, today=TODAY, text=text)
        assert all(len(r.facts) == len(masterdata.MASTER_COLUMNS[which]) for r in page.rows)
        return [(r.code, r.facts) for r in page.rows]

    assert rows(MasterList.DIVISIONS)[1] == ("100002", ("", "", "no: NoDivisionAccess"))
    assert rows(MasterList.JOURNALS, "ing") == [("20", ("12 bank", BOUND_IBAN, ""))]
    assert rows(MasterList.VAT_CODES, "8") == [("8", ("21 %", "purchase", ""))]
    assert ("OUD", ("2023-06-30", "inactive")) in rows(MasterList.COST_CENTERS)
    assert rows(MasterList.COST_UNITS) == [("FLEX", ("", ""))]
    never = masterdata.master_page(admin, MasterList.JOURNALS, 100002, today=TODAY)
    assert never.rows == [] and never.imported.last_ok_at is None


# ---------------------------------------------------------------- blockers


def test_a_blocked_job_leads_to_what_blocks_it(admin: Store) -> None:
    binding = blockers.blocker(admin, 8)
    assert binding is not None and binding.kind is BlockerKind.BANK_ACCOUNT
    assert binding.iban == UNBOUND_IBAN
    mapping = blockers.blocker(admin, 2)
    assert mapping is not None and mapping.kind is BlockerKind.MAPPING
    assert (mapping.division, mapping.mapping_kind, mapping.code) == (
        DIVISION,
        MappingKind.VAT,
        "21-EU",
    )
    customer = blockers.blocker(admin, 9)
    assert customer is not None and customer.kind is BlockerKind.CUSTOMER
    assert customer.customer_number == AMBIGUOUS_CUSTOMER
    assert blockers.blocker(admin, 4) is None  # failed validation: nothing for an admin here
    assert blockers.blocker(admin, 1) is None  # posted
    assert blockers.blocker(admin, 999) is None


def test_a_setting_and_a_bad_bank_journal_lead_to_their_screens(admin: Store) -> None:
    with admin.write() as s:
        job = s.get(ExportJob, 3)
        assert job is not None
        job.missing = [{"kind": "setting", "code": "sales_journal", "detail": "not set"}]
        s.add(job)
        payment = s.get(ExportJob, 7)
        assert payment is not None
        payment.state, payment.category = JobState.NEEDS_MAPPING, Category.BINDING
        payment.missing = [{"kind": "binding", "code": "22", "detail": "journal 22 unusable"}]
        s.add(payment)
    setting = blockers.blocker(admin, 3)
    assert setting is not None and setting.kind is BlockerKind.SETTING
    assert setting.code == "sales_journal"
    journal = blockers.blocker(admin, 7)
    assert journal is not None and journal.kind is BlockerKind.BANK_ACCOUNT
    assert journal.iban == UNBOUND_IBAN  # the payment's own bank account, not the journal code


def test_fixable_is_only_a_job_held_for_an_admin() -> None:
    assert blockers.fixable(JobState.NEEDS_MAPPING, Category.CUSTOMER)
    assert not blockers.fixable(JobState.FAILED, Category.MAPPING)
    assert not blockers.fixable(JobState.NEEDS_MAPPING, Category.VALIDATION)


# ---------------------------------------------------------------- the intents behind the actions


def _actions(store: Store) -> ConsoleActions:
    return intent_actions(Intents(store, Actor("tester", "tui"), clock=FrozenClock()))


def test_actions_write_the_intents_and_say_what_they_did(admin: Store) -> None:
    actions = _actions(admin)
    assert actions.save_mapping is not None and actions.bind_bank_account is not None
    said = actions.save_mapping(DIVISION, MappingKind.VAT, "21-EU", "7")
    assert "2 jobs back to pending" in said
    with admin.read() as s:
        assert s.get(ExportJob, 2).state is JobState.PENDING  # type: ignore[union-attr]
    said = actions.bind_bank_account(UNBOUND_IBAN, DIVISION, "21")
    assert "1 job back to pending" in said


def test_a_refused_intent_is_an_action_refused_naming_why(admin: Store) -> None:
    actions = _actions(admin)
    assert actions.bind_division is not None and actions.save_mapping is not None
    with pytest.raises(ActionRefused, match="already bound to ORG \\(Coworking Amsterdam\\)"):
        actions.bind_division(DIVISION, "ORG-BE")
    with pytest.raises(ActionRefused, match="not a revenue account"):
        actions.save_mapping(DIVISION, MappingKind.GL, "8010", "1300")
    assert actions.retry_filtered is not None
    assert "back to pending" in actions.retry_filtered(JobFilter(state=JobState.NEEDS_MAPPING))


def test_wiring_keeps_the_actions_given(admin: Store) -> None:
    base = ConsoleActions(sync_now=lambda: "asked")
    actions = intent_actions(Intents(admin, Actor("t", "tui")), base)
    assert actions.sync_now is not None and actions.sync_now() == "asked"
    assert {"link_customer", "unlink_customer", "save_setting", "sync_now"} <= actions.wired()
