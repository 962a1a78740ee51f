"""Damage planted in the books through the control API: an entry deleted in Exact, an entry
booked a second time. What reconciliation must find."""

from __future__ import annotations

from typing import Any

import httpx

from exact_tui.sandbox import Sandbox

from .helpers import NL, Api, bank_body, journal_body, sales_body

SALES = f"{NL.number}/salesentry/SalesEntries"
BANK = f"{NL.number}/financialtransaction/BankEntries"
JOURNAL = f"{NL.number}/generaljournalentry/GeneralJournalEntries"


async def _books(client: httpx.AsyncClient) -> Any:
    ledger = (await client.get(f"/_sandbox/ledger?division={NL.number}")).json()
    return ledger["divisions"][str(NL.number)]


async def test_an_entry_booked_twice_has_a_new_id_and_number_and_the_same_reference(
    api: Api, client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    created = (await api.post(SALES, sales_body(sandbox, your_ref="INV-9"))).json()["d"]
    path = f"/_sandbox/divisions/{NL.number}/entries/{created['EntryID']}/copy"
    copy = await client.post(path)
    assert copy.status_code == 201
    sales = (await _books(client))["sales_entries"]
    assert [e["YourRef"] for e in sales] == ["INV-9", "INV-9"]
    assert len({e["EntryID"] for e in sales}) == len({e["EntryNumber"] for e in sales}) == 2
    assert sales[0]["lines"] == sales[1]["lines"]
    # Found by the lookup a client makes, twice.
    rows = await api.results(SALES, {"$filter": "YourRef eq 'INV-9'", "$select": "EntryID"})
    assert len(rows) == 2
    for path in (BANK, JOURNAL):
        body = bank_body(sandbox) if path == BANK else journal_body(sandbox)
        entry = (await api.post(path, body)).json()["d"]
        copied = await client.post(
            f"/_sandbox/divisions/{NL.number}/entries/{entry['EntryID']}/copy"
        )
        assert copied.status_code == 201 and copied.json()["EntryNumber"] != entry["EntryNumber"]


async def test_an_entry_deleted_in_exact_is_gone_with_its_lines(
    api: Api, client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    entry = (await api.post(BANK, bank_body(sandbox))).json()["d"]
    gone = await client.delete(f"/_sandbox/divisions/{NL.number}/entries/{entry['EntryID']}")
    assert gone.status_code == 200 and gone.json()["EntryID"] == entry["EntryID"]
    assert (await _books(client))["bank_entries"] == []
    lines = await api.results(
        f"{NL.number}/financialtransaction/BankEntryLines",
        {"$filter": f"EntryID eq guid'{entry['EntryID']}'", "$select": "ID"},
    )
    assert lines == []
    again = await client.delete(f"/_sandbox/divisions/{NL.number}/entries/{entry['EntryID']}")
    assert again.status_code == 404
    assert (await client.post(f"/_sandbox/divisions/{NL.number}/entries/x/copy")).status_code == 404
