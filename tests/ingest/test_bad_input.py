"""Every malformed file is refused whole, with a message naming the file, where, the field and
what was expected, and the store unchanged (the `refuse` fixture checks that part)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import text

from exact_tui.services.ingest import SHOWN_PROBLEMS, ingest_bytes
from exact_tui.store.engine import Store
from tests.ingest.conftest import Refuse
from tests.ingest.helpers import EXAMPLE, counts, encode, json_lines, small

IBAN_GOT = 'expected a valid IBAN, got "'


def test_truncated_json_names_the_line_where_it_ends(refuse: Refuse) -> None:
    data = EXAMPLE.read_bytes()
    cut = data[: data.index(b'"payments"')]
    message = refuse(cut, "platform.json")
    line = cut.count(b"\n") + 1
    assert message.startswith("platform.json: refused, nothing was ingested (1 problem):")
    assert f"platform.json, line {line}, column " in message
    assert "the JSON ends too early (is the file cut off?)" in message


def test_truncated_inside_a_text(refuse: Refuse) -> None:
    message = refuse(b'{"customers": [{"number": "C1", "name": "Jan')
    assert "bad.json, line 1, column 41: the JSON ends too early" in message


def test_syntax_error_names_line_and_column(refuse: Refuse) -> None:
    data = b'{\n  "organizations": [\n    {"code": "A" "name": "x"}\n  ]\n}'
    message = refuse(data)
    assert "bad.json, line 3, column 18: invalid JSON: expected ',' delimiter" in message


def test_cp1252_bytes_are_refused_with_their_offset(refuse: Refuse) -> None:
    document = small()
    document["customers"][0]["name"] = "Café Zuid"
    data = encode(document).replace("Café".encode(), "Café".encode("cp1252"))
    offset = data.index(b"\xe9")
    line = data.count(b"\n", 0, offset) + 1
    message = refuse(data)
    assert f"bad.json, line {line}, column " in message
    assert f"not valid UTF-8: byte 0xE9 at byte offset {offset:,}" in message
    assert "save it as UTF-8" in message


def test_utf8_bom_is_accepted(store: Store) -> None:
    summary = ingest_bytes(store, "bom.json", b"\xef\xbb\xbf" + encode(small()))
    assert summary.added["invoice"] == 1
    assert summary.jobs_created == 3


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "bad.json: the file is empty; expected a JSON object or JSON Lines"),
        (b" \n\r\n\t", "bad.json: the file is empty"),
        (b"\xef\xbb\xbf", "bad.json: the file is empty"),
    ],
)
def test_empty_file(refuse: Refuse, data: bytes, expected: str) -> None:
    assert expected in refuse(data)


@pytest.mark.parametrize(
    ("where", "field", "value", "expected"),
    [
        ("customers", "name", 42, "customers[0].name: expected text, got the number 42"),
        ("customers", "number", None, "customers[0].number: expected text, got null"),
        ("invoices", "lines", {"amount": "1"}, "invoices[0].lines: expected a list, got an object"),
        ("invoices", "date", 20260105, "invoices[0].date: expected a date as YYYY-MM-DD, got the"),
        ("payments", "amount", True, "payments[0].amount: expected an amount (a decimal string"),
        ("payments", "amount", [1], "payments[0].amount: expected an amount (a decimal string"),
        ("write_offs", "kind", "waiver", 'write_offs[0].kind: expected "write_off" or "collecti'),
        ("invoices", "currency", "eur", "invoices[0].currency: expected a currency code of three"),
        ("customers", "country", "NLD", "customers[0].country: expected a two-letter ISO country"),
        ("customers", "email", "jansen at example", "customers[0].email: expected an e-mail addr"),
    ],
)
def test_wrong_types(refuse: Refuse, where: str, field: str, value: object, expected: str) -> None:
    document = small()
    document[where][0][field] = value
    assert expected in refuse(encode(document))


def test_a_record_that_is_not_an_object(refuse: Refuse) -> None:
    document = small()
    document["customers"].append("C2")
    message = refuse(encode(document))
    assert 'bad.json: customers[1]: expected an object, got "C2"' in message


def test_an_array_that_is_not_a_list(refuse: Refuse) -> None:
    document = small()
    document["payments"] = {"number": "PAY-1"}
    message = refuse(encode(document))
    assert "bad.json: payments: expected a list of payment records, got an object" in message


@pytest.mark.parametrize(
    ("where", "field", "expected"),
    [
        ("customers", "name", "customers[0].name: required field missing; expected the customer's"),
        ("invoices", "date", "invoices[0].date: required field missing; expected a date as YYYY"),
        ("invoices", "lines", "invoices[0].lines: required field missing; expected a list of at"),
        ("bank_accounts", "organization", "bank_accounts[0].organization: required field missi"),
        ("write_offs", "kind", 'write_offs[0].kind: required field missing; expected "write_off"'),
    ],
)
def test_missing_required_fields(refuse: Refuse, where: str, field: str, expected: str) -> None:
    document = small()
    del document[where][0][field]
    assert expected in refuse(encode(document))


def test_missing_field_of_a_line(refuse: Refuse) -> None:
    document = small()
    del document["invoices"][0]["lines"][1]["gl_code"]
    message = refuse(encode(document))
    expected = "invoices[0].lines[1].gl_code: required field missing; expected the invoice line's"
    assert expected in message


def test_invoice_without_lines(refuse: Refuse) -> None:
    document = small()
    document["invoices"][0]["lines"] = []
    assert "invoices[0].lines: expected at least one line, got none" in refuse(encode(document))


def test_unknown_fields_are_refused_with_a_suggestion(refuse: Refuse) -> None:
    document = small()
    document["invoices"][0]["lines"][0]["amout"] = "1.00"
    document["customers"][0]["segment"] = "retail"
    message = refuse(encode(document))
    assert "invoices[0].lines[0].amout: unknown field; did you mean amount?" in message
    assert "customers[0].segment: unknown field; expected one of number, name, country" in message


def test_unknown_top_level_key(refuse: Refuse) -> None:
    document = small()
    document["invoice"] = []
    message = refuse(encode(document))
    assert "bad.json: invoice: unknown top-level key; expected one of organizations" in message


def test_top_level_list(refuse: Refuse) -> None:
    message = refuse(b"[]")
    assert "bad.json, line 1: expected a JSON object with the arrays organizations" in message


@pytest.mark.parametrize(
    ("where", "field", "value", "expected"),
    [
        ("invoices", "customer", "C404", 'invoices[0].customer: no customer with number "C404"'),
        ("invoices", "bank_account", "DE89370400440532013000", "invoices[0].bank_account: no ba"),
        ("payments", "invoice", "INV-404", 'payments[0].invoice: no invoice with number "INV-404"'),
        ("payments", "customer", "C404", 'payments[0].customer: no customer with number "C404"'),
        ("write_offs", "invoice", "INV-404", "write_offs[0].invoice: no invoice with number"),
        ("bank_accounts", "organization", "X", "bank_accounts[0].organization: no organization w"),
    ],
)
def test_unknown_references(
    refuse: Refuse, where: str, field: str, value: str, expected: str
) -> None:
    document = small()
    document[where][0][field] = value
    message = refuse(encode(document))
    assert expected in message
    assert "in this file or in the store" in message


def test_payment_for_another_customers_invoice(refuse: Refuse) -> None:
    document = small()
    document["customers"].append({"number": "C2", "name": "Other"})
    document["payments"][0]["customer"] = "C2"
    message = refuse(encode(document))
    assert 'payments[0].invoice: invoice "INV-1" belongs to customer "C1", not "C2"' in message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'"12.345"', "expected at most two decimals, got 12.345"),
        (b"12.345", "expected at most two decimals, got 12.345"),
        (b"0.001", "expected at most two decimals, got 0.001"),
        (b"NaN", "expected a finite amount, got NaN"),
        (b"Infinity", "expected a finite amount, got Infinity"),
        (b"-Infinity", "expected a finite amount, got -Infinity"),
        (b'"NaN"', "expected a finite amount, got NaN"),
        (b"1e400", "amount 1E+400 is out of range"),
        (b'"12,50"', "expected a decimal amount like 12.50, got '12,50'"),
    ],
)
def test_bad_amounts(refuse: Refuse, raw: bytes, expected: str) -> None:
    data = encode(small()).replace(b'"20.50"', raw)
    message = refuse(data)
    assert f"invoices[0].lines[1].amount: {expected}" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-02-30", 'expected a real date as YYYY-MM-DD, got "2026-02-30" (day is out of range'),
        ("2026-13-01", 'expected a real date as YYYY-MM-DD, got "2026-13-01" (month must be'),
        ("05-01-2026", 'expected a date as YYYY-MM-DD, got "05-01-2026"'),
        ("2026-01-05T10:00:00", "expected a date as YYYY-MM-DD"),
        ("２０２６-01-05", "expected a date as YYYY-MM-DD"),
    ],
)
def test_bad_dates(refuse: Refuse, value: str, expected: str) -> None:
    document = small()
    document["payments"][0]["date"] = value
    assert f"payments[0].date: {expected}" in refuse(encode(document))


@pytest.mark.parametrize(
    ("where", "edit", "expected"),
    [
        ("invoices", {}, 'invoices[1].number: "INV-1" appears twice in this file (first at invoic'),
        ("customers", {"name": "Other"}, 'customers[1].number: "C1" appears twice in this file'),
        ("organizations", {}, 'organizations[1].code: "ORG" appears twice in this file (first'),
        ("payments", {"amount": "1.00"}, 'payments[1].number: "PAY-1" appears twice in this f'),
        # The same IBAN spelled with spaces is the same bank account.
        ("bank_accounts", {"iban": "NL91 ABNA 0417 1643 00"}, 'bank_accounts[1].iban: "NL91ABN'),
    ],
)
def test_duplicates_within_a_file(
    refuse: Refuse, where: str, edit: dict[str, str], expected: str
) -> None:
    document = small()
    document[where].append({**document[where][0], **edit})
    message = refuse(encode(document))
    assert expected in message
    assert f"(first at {where}[0])" in message


def test_a_10_mb_field_is_refused_by_name(refuse: Refuse) -> None:
    document = small()
    document["invoices"][0]["description"] = "x" * 10_485_760
    message = refuse(encode(document))
    assert "invoices[0].description: expected at most 500 characters, got 10,485,760" in message
    assert len(message) < 1000


@pytest.mark.parametrize(
    ("where", "field", "value", "expected"),
    [
        ("bank_accounts", "iban", "NL91ABNA0417164301", 'expected a valid IBAN, got "NL91ABNA'),
        # Check digits right, but the country has no IBANs, or this is not its length.
        ("bank_accounts", "iban", "XX07539007547034", f"{IBAN_GOT}XX07539007547034\" ('XX' is not"),
        ("bank_accounts", "iban", "NL58ABNA041716430", f'{IBAN_GOT}NL58ABNA041716430" (not the'),
        (
            "bank_accounts",
            "iban",
            "NL91ABNA0417164300€",
            f'{IBAN_GOT}NL91ABNA0417164300€" (an IBAN',
        ),
        ("customers", "vat_number", "NL123456789B01", "expected a valid NL VAT number"),
        ("customers", "vat_number", "0403170702", "expected a valid BE VAT number"),
        ("customers", "name", "   ", "expected a non-empty text"),
        ("payments", "amount", "0.00", "expected a non-zero amount"),
    ],
)
def test_invalid_values(refuse: Refuse, where: str, field: str, value: str, expected: str) -> None:
    document = small()
    document[where][0][field] = value
    if field == "vat_number" and value.startswith("0403"):
        document[where][0]["country"] = "BE"
    assert f"{where}[0].{field}: {expected}" in refuse(encode(document))


def test_lone_surrogate_escape(refuse: Refuse) -> None:
    data = encode(small()).replace(b'"Jansen B.V."', b'"Jansen \\ud800"')
    message = refuse(data)
    assert "customers[0].name: expected valid Unicode text, got an unpaired surrogate" in message


def test_every_problem_is_found_but_only_the_first_ones_are_listed(refuse: Refuse) -> None:
    document = small()
    document["customers"] = [{"number": f"C{n}"} for n in range(30)]
    message = refuse(encode(document))
    assert "(30 problems)" in message
    assert message.count("required field missing") == SHOWN_PROBLEMS
    assert message.endswith(f"… and {30 - SHOWN_PROBLEMS} more")


def test_messages_never_echo_control_characters(refuse: Refuse) -> None:
    document = small()
    document["customers"][0]["country"] = "\x1b]0;pwned\x07N\x1b[2JL"
    message = refuse(encode(document))
    assert "customers[0].country: expected a two-letter ISO country code" in message
    assert "\x1b" not in message
    assert "\x07" not in message


def test_a_bad_last_record_leaves_nothing_of_the_file(store: Store) -> None:
    """One transaction per file: hundreds of good records, one bad reference at the end."""
    document = small()
    for n in range(200):
        invoice = {**document["invoices"][0], "number": f"INV-{n + 100}"}
        document["invoices"].append(invoice)
    document["write_offs"].append({**document["write_offs"][0], "number": "WO-2", "invoice": "X"})
    before = counts(store)
    with pytest.raises(Exception, match=r"write_offs\[1\]\.invoice: no invoice with number"):
        ingest_bytes(store, "big.json", encode(document))
    assert counts(store) == before == dict.fromkeys(before, 0)


def test_json_lines_problems_name_the_line(refuse: Refuse) -> None:
    document = small()
    document["invoices"][0]["lines"][0]["amount"] = "1.001"
    lines = json_lines(document).splitlines()
    lines.insert(1, b"")
    lines.insert(2, b'{"type": "customer", "number": "C2"')
    lines.append(b'{"type": "refund", "number": "R1"}')
    lines.append(b'["customer"]')
    lines.append(b'{"number": "C3"}')
    message = refuse(b"\n".join(lines), "bad.jsonl")
    invoice_line = 1 + next(i for i, line in enumerate(lines) if b'"type": "invoice"' in line)
    assert (
        f"bad.jsonl, line {invoice_line}: invoice.lines[0].amount: "
        "expected at most two decimals, got 1.001"
    ) in message
    assert "bad.jsonl, line 3, column 36: the JSON ends too early" in message
    assert f'bad.jsonl, line {len(lines) - 2}: unknown type "refund"; expected one of' in message
    assert f"bad.jsonl, line {len(lines) - 1}: expected an object with a type" in message
    assert f"bad.jsonl, line {len(lines)}: missing type; expected one of organization" in message


def test_json_lines_duplicates_name_both_lines(refuse: Refuse) -> None:
    document = small()
    document["customers"].append(document["customers"][0])
    data = json_lines(document)
    message = refuse(data, "bad.jsonl")
    lines = [i + 1 for i, line in enumerate(data.splitlines()) if b'"type": "customer"' in line]
    expected = f'bad.jsonl, line {lines[1]}: customer.number: "C1" appears twice in this file'
    assert expected in message
    assert f"(first at line {lines[0]})" in message


def test_two_json_documents_in_one_file(refuse: Refuse) -> None:
    message = refuse(encode(small()) + b"\n" + encode(small()))
    line = encode(small()).count(b"\n") + 2
    assert f"bad.json, line {line}, column 1: expected the end of the file" in message


def test_markup_and_escapes_are_stored_cleaned(store: Store) -> None:
    document = small()
    document["customers"][0]["name"] = (
        "\x1b[31mRed\x1b[0m [@click=app.quit]x [/bold] \u202eevil\u202c "
        "\x1b]8;;https://evil.test\x07link\x1b]8;;\x07\x00"
    )
    document["invoices"][0]["lines"][0]["description"] = "Desk\tA\r\nfloor 2\x9b31m"
    ingest_bytes(store, "markup.json", encode(document))
    with store.engine.connect() as conn:
        name = conn.execute(text("SELECT name FROM customer")).scalar_one()
        description = conn.execute(
            text("SELECT description FROM invoice_line WHERE position = 0")
        ).scalar_one()
    assert name == "Red [@click=app.quit]x [/bold] evil link"
    assert description == "Desk A floor 2"


def test_raw_control_characters_inside_json_strings_are_cleaned(store: Store) -> None:
    data = encode(small()).replace(b"Jansen B.V.", b"Jansen\x1b[1m\x07 B.V.")
    ingest_bytes(store, "raw.json", data)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM customer")).scalar_one() == "Jansen B.V."


def test_json_numbers_never_pass_through_float(store: Store) -> None:
    data = encode(small()).replace(b'"100.00"', b"0.1").replace(b'"20.50"', b"1e2")
    ingest_bytes(store, "numbers.json", data)
    with store.read() as session:
        rows = session.connection().execute(
            text("SELECT amount FROM invoice_line ORDER BY position")
        )
        stored = [row[0] for row in rows]
    if store.is_sqlite:
        assert stored == [10, 10000]  # cents, as the Money type stores them on SQLite
    else:
        assert stored == [Decimal("0.10"), Decimal("100.00")]  # NUMERIC, exact
    payload = json.loads(encode(small()))
    assert Decimal(payload["invoices"][0]["lines"][0]["amount"]) == Decimal("100.00")


@pytest.mark.parametrize(
    "iban",
    [
        "BE68539007547034",  # the textbook Belgian example: its bank is not in python-stdnum's list
        "BE68 5390 0754 7034",
        "NL91ABNA0417164300",
    ],
)
def test_an_iban_valid_by_iso_13616_is_taken_whatever_its_bank(store: Store, iban: str) -> None:
    document = small()
    document["bank_accounts"][0]["iban"] = iban
    compact = iban.replace(" ", "")
    for record in document["invoices"] + document["payments"]:
        record["bank_account"] = compact
    ingest_bytes(store, "ok.json", encode(document))
    with store.read() as session:
        stored = session.execute(text("SELECT iban FROM bank_account")).scalars().all()
    assert compact in stored
