"""Customer matching per docs/export.md §Customers in the pipeline: the cache first, one live check
in Exact before creating, every link saying how it was made, and both ambiguity policies."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlmodel import select

from exact_tui.domain.states import Category, JobState, LinkMethod
from exact_tui.services.export import ExportOptions
from exact_tui.services.export.api import ExactApi
from exact_tui.store.models import Customer, CustomerLink, ExactAccount
from exact_tui.store.scoping import tenant_key
from tests.export.kit import NL, ExportWorld, customer, invoice

ACCOUNTS = "crm/Accounts"


def _link(xw: ExportWorld, number: str) -> CustomerLink | None:
    with xw.store.read() as session:
        found = session.exec(select(Customer).where(Customer.number == number)).one()
        return session.get(CustomerLink, (found.id, NL))


def _account_code(xw: ExportWorld, account_id: str) -> str | None:
    with xw.store.read() as session:
        row = session.get(ExactAccount, tenant_key(session, NL, account_id))
    if row is not None:
        return row.code
    code = xw.sandbox.division(NL).accounts[uuid.UUID(account_id)]["Code"]
    return str(code).strip()


def _seed(xw: ExportWorld, code: str) -> dict[str, Any]:
    account = xw.sandbox.division(NL).account_by_code(code)
    assert account is not None
    return dict(account)


async def _post_one(xw: ExportWorld, **fields: str) -> CustomerLink:
    number = fields.pop("number")
    xw.ingest(customers=[customer(number, **fields)], invoices=[invoice("INV-1", number)])
    await xw.run()
    assert xw.job("INV-1").state is JobState.POSTED
    link = _link(xw, number)
    assert link is not None
    return link


async def test_vat_number_in_any_spelling_matches_a_cached_customer(xw: ExportWorld) -> None:
    link = await _post_one(xw, number="P-1", vat_number="nl 1033.2820.8b02", country="NL")
    assert (_account_code(xw, link.exact_account_id), link.method) == ("1", LinkMethod.VAT)
    assert link.linked_by == "exact-tui worker"
    assert xw.calls() == 1  # the post only


async def test_customer_number_matches_the_account_code(xw: ExportWorld) -> None:
    link = await _post_one(xw, number="5")
    assert (_account_code(xw, link.exact_account_id), link.method) == ("5", LinkMethod.CODE)
    assert xw.calls() == 1


async def test_customer_number_matches_the_search_code(xw: ExportWorld) -> None:
    link = await _post_one(xw, number="C00011")
    assert (_account_code(xw, link.exact_account_id), link.method) == (
        "11",
        LinkMethod.SEARCH_CODE,
    )
    assert xw.calls() == 1


async def test_a_prospect_with_the_same_vat_number_is_not_matched(xw: ExportWorld) -> None:
    # 205 is a prospect carrying customer 20's VAT number: only 20 (status C) matches.
    link = await _post_one(xw, number="P-20", vat_number=_seed(xw, "20")["VATNumber"])
    assert (_account_code(xw, link.exact_account_id), link.method) == ("20", LinkMethod.VAT)


async def test_an_existing_link_wins_and_a_new_link_applies_to_unposted_jobs(
    xw: ExportWorld,
) -> None:
    first = await _post_one(xw, number="5")
    with xw.store.write() as session:
        link = session.get(CustomerLink, (first.customer_id, NL))
        assert link is not None
        link.exact_account_id = str(_seed(xw, "2")["ID"])
        link.method = LinkMethod.MANUAL
        session.add(link)
    xw.ingest(invoices=[invoice("INV-2", "5")])
    await xw.run()
    refs = {e["YourRef"]: e["CustomerName"] for e in xw.ledger()["sales_entries"]}
    assert refs == {"INV-1": _seed(xw, "5")["Name"], "INV-2": _seed(xw, "2")["Name"]}
    assert xw.calls() == 2


async def test_a_new_customer_costs_a_live_check_a_creation_and_the_post(
    xw: ExportWorld,
) -> None:
    link = await _post_one(
        xw,
        number="NEW-1",
        name="Nieuw B.V.",
        vat_number="NL004495445B01",
        address_line="Dam 1",
        postcode="1012 JS",
        city="Amsterdam",
        country="NL",
        email="a@nieuw.example",
        phone="+31 20 0000000",
    )
    assert link.method is LinkMethod.CREATED
    (created,) = xw.ledger()["accounts"]
    assert created["ID"] == link.exact_account_id
    assert (created["Status"], created["SearchCode"], created["VATNumber"]) == (
        "C",
        "NEW-1",
        "NL004495445B01",
    )
    assert (created["Name"], created["City"], created["Email"]) == (
        "Nieuw B.V.",
        "Amsterdam",
        "a@nieuw.example",
    )
    assert xw.calls(ACCOUNTS, method="GET") == 1 and xw.calls(ACCOUNTS, method="POST") == 1
    assert xw.calls() == 3
    outcomes = [e.outcome for e in xw.events("INV-1")]
    assert outcomes == ["account_created", "posted"]
    # The next invoice of that customer goes through the link: one call.
    xw.ingest(invoices=[invoice("INV-2", "NEW-1")])
    await xw.run()
    assert xw.calls() == 4 and len(xw.ledger()["accounts"]) == 1


async def test_the_live_check_finds_an_account_the_cache_does_not_have(xw: ExportWorld) -> None:
    made = xw.sandbox.create_account(
        NL, Name="Later B.V.", Status="C", VATNumber="NL004495445B01", Country="NL"
    )
    link = await _post_one(xw, number="LATE-1", vat_number="NL 0044.95.445.B01")
    assert (link.exact_account_id, link.method) == (str(made["ID"]), LinkMethod.VAT)
    assert xw.calls(ACCOUNTS, method="POST") == 0 and xw.calls() == 2


async def test_ambiguous_creates_a_new_account_by_default(xw: ExportWorld) -> None:
    # Customers 7 and 202 share a VAT number: two candidates.
    link = await _post_one(xw, number="TWIN", vat_number=_seed(xw, "7")["VATNumber"])
    assert link.method is LinkMethod.CREATED
    assert link.exact_account_id not in {str(_seed(xw, "7")["ID"]), str(_seed(xw, "202")["ID"])}
    assert xw.calls() == 3


async def test_ambiguous_holds_for_a_person_when_asked_without_a_call(xw: ExportWorld) -> None:
    xw.service = xw.make_service(ExportOptions(on_ambiguous="hold"))
    xw.ingest(
        customers=[customer("TWIN", vat_number=_seed(xw, "201")["VATNumber"])],
        invoices=[invoice("INV-1", "TWIN")],
    )
    await xw.run()
    job = xw.job("INV-1")
    assert (job.state, job.category) == (JobState.NEEDS_MAPPING, Category.CUSTOMER)
    assert job.cause == (
        "customer TWIN is ambiguous: 2 Exact accounts match by VAT number in division 101001"
    )
    assert job.missing is not None and job.missing[0]["kind"] == "customer"
    assert xw.sandbox.calls.count() == 0 and _link(xw, "TWIN") is None


async def test_an_account_whose_creation_answer_was_lost_is_found_not_made_twice(
    xw: ExportWorld,
) -> None:
    xw.sandbox.set_faults(
        {
            "faults": [
                {"endpoint": ACCOUNTS, "method": "POST", "kind": "error_after_commit", "count": 1}
            ]
        }
    )
    xw.ingest(customers=[customer("NEW-2", name="Verloren")], invoices=[invoice("INV-1", "NEW-2")])
    await xw.run(advance=60)
    job = xw.job("INV-1")
    assert job.state is JobState.POSTED
    (created,) = xw.ledger()["accounts"]
    link = _link(xw, "NEW-2")
    assert link is not None and link.exact_account_id == created["ID"]
    assert link.method is LinkMethod.SEARCH_CODE
    retry = [e for e in xw.events("INV-1") if e.outcome == "retry_wait"]
    assert retry and "may have been created" in retry[0].message
    assert xw.calls(ACCOUNTS, method="POST") == 1 and xw.calls(ACCOUNTS, method="GET") == 2


async def test_a_refused_account_fails_the_job_with_exacts_words(xw: ExportWorld) -> None:
    xw.ingest(customers=[customer("BAD", country="NL")], invoices=[invoice("INV-1", "BAD")])
    with xw.store.write() as session:
        # A number Exact checks more strictly than the platform did.
        row = session.exec(select(Customer).where(Customer.number == "BAD")).one()
        row.vat_number = row.vat_normalised = "NL123456789B99"
        session.add(row)
    await xw.run()
    job = xw.job("INV-1")
    assert (job.state, job.category, job.last_http_status) == (
        JobState.FAILED,
        Category.CUSTOMER,
        400,
    )
    assert job.last_error is not None and "Btw-nummer" in job.last_error
    assert job.cause is not None and job.cause.startswith("customer account refused")


async def test_a_link_made_meanwhile_by_another_worker_wins_over_a_creation(
    xw: ExportWorld,
) -> None:
    # Between this worker's look at the link (none) and its creation's answer, another worker
    # links the customer to account 5: that link stays, and the entry goes to account 5.
    other = _seed(xw, "5")["ID"]
    inner = xw.client
    assert inner is not None

    class LinkedMeanwhile:
        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

        async def post(self, division: int, path: str, body: Any, **kw: Any) -> Any:
            answer = await inner.post(division, path, body, **kw)
            if path == ACCOUNTS:
                with xw.store.write() as session:
                    found = session.exec(select(Customer).where(Customer.number == "RACE")).one()
                    assert found.id is not None
                    session.add(
                        CustomerLink(
                            customer_id=found.id,
                            division=NL,
                            exact_account_id=str(other),
                            method=LinkMethod.MANUAL,
                            linked_by="another worker",
                        )
                    )
            return answer

    xw.client = cast(ExactApi, LinkedMeanwhile())
    xw.ingest(customers=[customer("RACE")], invoices=[invoice("INV-1", "RACE")])
    await xw.run()
    assert xw.job("INV-1").state is JobState.POSTED
    link = _link(xw, "RACE")
    assert link is not None and (link.exact_account_id, link.linked_by) == (
        str(other),
        "another worker",
    )
    (entry,) = xw.ledger()["sales_entries"]
    assert str(entry["Customer"]).lower() == str(other).lower()
    created = [e for e in xw.events("INV-1") if e.outcome == "account_created"]
    assert len(created) == 1 and created[0].level == "warning"
    assert "linked to account" in created[0].message and "duplicate" in created[0].message
