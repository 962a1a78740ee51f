"""POST handling: request bodies read like Exact reads them, validated like Exact, committed whole.

A body is converted field by field against the entity's EDM types (400 for what cannot be read),
then checked: missing mandatory fields give a 400 with every "Verplicht: …" message, business
rules a 500 with every "Ongeldig: …" message, joined by CRLF as Exact joins them. Nothing is
written until every check passed.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from stdnum.eu import vat as eu_vat

from exact_tui.sandbox import assumptions, messages
from exact_tui.sandbox.errors import MALFORMED_BODY, ApiError, bad_request
from exact_tui.sandbox.odata.types import FieldType, Record, Value
from exact_tui.sandbox.schema import ACCOUNT_FIELDS, EntitySet, Source, lookup
from exact_tui.sandbox.schema import entity as resource
from exact_tui.sandbox.state import DivisionState, new_guid, pad_account_code, pad_country

CENT = Decimal("0.01")
SALES_JOURNAL_TYPES = frozenset({20})
BANK_JOURNAL_TYPES = frozenset({12})
GENERAL_JOURNAL_TYPES = frozenset({90})
DEFAULT_PAYMENT_DAYS = 14
ACCOUNT_STATUSES = frozenset({"A", "S", "P", "C"})
_DATE_MS = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


@dataclass
class Body:
    """A converted request body: header fields and the embedded line collections."""

    fields: dict[str, Value]
    lines: dict[str, list[dict[str, Value]]] = field(default_factory=dict)

    def get(self, name: str) -> Value:
        return self.fields.get(name)


def _conversion_error(name: str, kind: FieldType) -> ApiError:
    return bad_request(
        "Error processing request stream. Error encountered in converting the value from "
        f"request payload for property '{name}' to type '{kind.clr}', which is the property's "
        "expected type. See inner exception for more detail."
    )


def parse_datetime(text: str) -> datetime:
    match = _DATE_MS.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def convert(name: str, kind: FieldType, raw: object) -> Value:
    """One JSON value as the EDM type of its field; numbers may arrive as strings (OSSO)."""
    if raw is None:
        return None
    numeric = isinstance(raw, int | Decimal | str) and not isinstance(raw, bool)
    try:
        if kind is FieldType.GUID and isinstance(raw, str):
            return uuid.UUID(raw)
        if kind is FieldType.STRING and numeric:
            # Exact takes a number for a string property (OSSO posts PaymentConditionSales: 15).
            return raw if isinstance(raw, str) else str(raw)
        if kind is FieldType.BOOL and isinstance(raw, bool):
            return raw
        if kind.integral and numeric:
            return int(str(raw).strip())
        if kind is FieldType.DOUBLE and numeric:
            number = Decimal(str(raw).strip())
            if number.is_finite():
                return number
        if kind is FieldType.DATETIME and isinstance(raw, str):
            return parse_datetime(raw)
    except (ValueError, InvalidOperation):
        pass
    raise _conversion_error(name, kind)


def _not_a_property(name: str, target: EntitySet) -> ApiError:
    # The wording a third-party test recorded from Exact for an unknown property in a body.
    return bad_request(
        f"Error processing request stream. The property name '{name}' specified for type "
        f"'{target.type_name}' is not valid."
    )


def _convert_object(raw: Mapping[str, object], target: EntitySet) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name, value in raw.items():
        if name == "__metadata":
            continue
        kind = target.fields.get(name)
        if kind is None:
            raise _not_a_property(name, target)
        out[name] = convert(name, kind, value)
    return out


def parse_body(raw: bytes, entity: EntitySet) -> Body:
    try:
        data = json.loads(raw or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise bad_request(MALFORMED_BODY) from None
    if not isinstance(data, dict):
        raise bad_request(MALFORMED_BODY)
    header = {k: v for k, v in data.items() if k not in entity.navigations}
    body = Body(_convert_object(header, entity))
    for name, navigation in entity.navigations.items():
        if name not in data or data[name] is None:
            continue
        items = data[name]
        target = lookup(navigation.target) if navigation.target else None
        if target is None or not isinstance(items, list):
            raise bad_request(MALFORMED_BODY)
        if not all(isinstance(item, dict) for item in items):
            raise bad_request(MALFORMED_BODY)
        body.lines[name] = [_convert_object(item, target) for item in items]
    return body


# -- Shared checks ----------------------------------------------------------------------------


class Problems:
    """Collects messages so one answer lists everything wrong, as Exact's do."""

    def __init__(self, dutch: bool) -> None:
        self.dutch = dutch
        self.missing: list[str] = []
        self.business: list[str] = []

    def require(self, value: Value, name: str) -> None:
        if value is None or (isinstance(value, str) and not value.strip()):
            self.add_missing(messages.mandatory(name, self.dutch))

    def add_missing(self, message: str) -> None:
        if message not in self.missing:
            self.missing.append(message)

    def add(self, message: str) -> None:
        if message not in self.business:
            self.business.append(message)

    def raise_missing(self) -> None:
        if self.missing:
            raise ApiError(assumptions.MISSING_FIELD_STATUS, "\r\n".join(self.missing))

    def raise_any(self) -> None:
        self.raise_missing()
        if self.business:
            raise ApiError(assumptions.BUSINESS_RULE_STATUS, "\r\n".join(self.business))


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal(value: Value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(0)


def _text(value: Value) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    return None


class _Writer:
    def __init__(self, division: DivisionState, now: datetime, rng: random.Random) -> None:
        self.division = division
        self.now = now
        self.rng = rng
        self.problems = Problems(division.dutch)

    @property
    def dutch(self) -> bool:
        return self.division.dutch

    def journal(self, code: Value, types: frozenset[int], wrong_type: str) -> Record | None:
        if not isinstance(code, str) or not code.strip():
            return None
        journal = self.division.journal_by_code(code)
        if journal is None:
            self.problems.add(messages.invalid_reference("Journal", self.dutch))
        elif journal["Type"] not in types:
            self.problems.add(wrong_type)
        elif journal["IsBlocked"]:
            self.problems.add(messages.invalid("Journal", self.dutch, "blocked"))
        else:
            return journal
        return None

    def currency(self, value: Value, journal: Record | None) -> str:
        currency = str(self.division.info["Currency"])
        other = isinstance(value, str) and value.strip() and value.strip().upper() != currency
        if other and (journal is None or not journal["AllowVariableCurrency"]):
            self.problems.add(messages.invalid("Currency", self.dutch))
        return currency

    def gl_account(self, key: Value, allowed_types: frozenset[int] | None = None) -> Record | None:
        if not isinstance(key, uuid.UUID):
            return None
        gl = self.division.gl_accounts.get(key)
        if gl is None:
            self.problems.add(messages.invalid_reference("GLAccount", self.dutch))
        elif gl["IsBlocked"]:
            self.problems.add(messages.invalid("GLAccount", self.dutch, "blocked"))
        elif allowed_types is not None and gl["Type"] not in allowed_types:
            self.problems.add(messages.invalid("GLAccountType", self.dutch))
        else:
            return gl
        return None

    def cost_code(self, line: Mapping[str, Value], gl: Record | None, name: str) -> str | None:
        """CostCenter / CostUnit against the GL account's UseCostcenter / UseCostunit."""
        code = _text(line.get(name))
        use = gl.get("UseCostcenter" if name == "CostCenter" else "UseCostunit") if gl else 0
        if code is None:
            if use == 1:
                self.problems.add(messages.mandatory(name, self.dutch))
            return None
        if use == 2:
            self.problems.add(messages.invalid(name, self.dutch, "not_allowed"))
            return None
        find = self.division.cost_center if name == "CostCenter" else self.division.cost_unit
        record = find(code)
        if record is None:
            self.problems.add(messages.invalid_reference(name, self.dutch))
            return None
        end = record.get("EndDate")
        if isinstance(end, datetime) and end <= self.now:
            # Past its EndDate (docs/sandbox.md: cost centers and cost units).
            self.problems.add(messages.invalid(name, self.dutch, "inactive"))
        return str(record["Code"])

    def vat_code(self, value: Value, *, sales: bool) -> Record | None:
        code = _text(value)
        if code is None:
            return None
        vat = self.division.vat_code(code)
        if vat is None:
            self.problems.add(messages.invalid_reference("VATCode", self.dutch))
        elif vat["IsBlocked"]:
            self.problems.add(messages.invalid("VATCode", self.dutch, "blocked"))
        elif sales and vat["VATTransactionType"] == "P":
            self.problems.add(messages.invalid("VATCode", self.dutch, "purchase"))
        else:
            return vat
        return None

    def relation(self, key: Value, gl: Record | None) -> Record | None:
        if not isinstance(key, uuid.UUID):
            if gl is not None and gl["Type"] in assumptions.GL_TYPES_NEEDING_ACCOUNT:
                self.problems.add(messages.mandatory("Account", self.dutch))
            return None
        account = self.division.accounts.get(key)
        if account is None:
            self.problems.add(messages.invalid_reference("Account", self.dutch))
        return account

    def entry_number(self, journal_code: str, year: int, suggested: Value) -> int:
        used = self.division.used_entry_numbers.setdefault(journal_code, set())
        if isinstance(suggested, int) and suggested > 0 and suggested not in used:
            used.add(suggested)
            return suggested
        base = (year % 100) * assumptions.ENTRY_NUMBER_YEAR_FACTOR
        sequence = self.division.entry_numbers.get((journal_code, year), 0)
        while True:
            sequence += 1
            if base + sequence not in used:
                break
        self.division.entry_numbers[(journal_code, year)] = sequence
        used.add(base + sequence)
        return base + sequence

    def date(self, value: Value) -> datetime:
        moment = value if isinstance(value, datetime) else self.now
        return assumptions.booking_date(moment)

    def guid(self) -> uuid.UUID:
        return new_guid(self.rng)

    def stamp(self, record: Record) -> Record:
        record["Division"] = self.division.number
        record["Created"] = self.now
        record["Modified"] = self.now
        return record

    def require_lines(self, body: Body, navigation: str) -> list[dict[str, Value]]:
        lines = body.lines.get(navigation) or []
        if not lines:
            self.problems.add_missing(messages.mandatory("Lines", self.dutch))
        return lines


def _relation_fields(account: Record | None) -> Record:
    if account is None:
        return {"AccountCode": None, "AccountName": None}
    return {"AccountCode": account["Code"], "AccountName": account["Name"]}


def _gl_fields(gl: Record | None) -> Record:
    if gl is None:
        return {"GLAccountCode": None, "GLAccountDescription": None}
    return {"GLAccountCode": gl["Code"], "GLAccountDescription": gl["Description"]}


# -- Sales entries ----------------------------------------------------------------------------


def create_sales_entry(
    division: DivisionState, body: Body, now: datetime, rng: random.Random
) -> Record:
    w = _Writer(division, now, rng)
    problems = w.problems
    problems.require(body.get("Journal"), "Journal")
    problems.require(body.get("Customer"), "Customer")
    lines_in = w.require_lines(body, "SalesEntryLines")
    for line in lines_in:
        problems.require(line.get("AmountFC"), "AmountFC")
        problems.require(line.get("GLAccount"), "GLAccount")
    problems.raise_missing()

    journal = w.journal(
        body.get("Journal"), SALES_JOURNAL_TYPES, messages.invalid("Journal", w.dutch)
    )
    customer_key = body.get("Customer")
    customer = division.accounts.get(customer_key) if isinstance(customer_key, uuid.UUID) else None
    if customer is None:
        problems.add(messages.invalid_reference("Customer", w.dutch))
    elif customer["Status"] != "C":
        problems.add(messages.invalid("Customer", w.dutch, "type"))
    elif customer["Blocked"]:
        problems.add(messages.invalid("Customer", w.dutch, "blocked"))
    currency = w.currency(body.get("Currency"), journal)

    entry_id = w.guid()
    lines: list[Record] = []
    for number, line in enumerate(lines_in, start=1):
        gl = w.gl_account(line.get("GLAccount"), assumptions.SALES_LINE_GL_TYPES)
        vat = w.vat_code(line.get("VATCode") or (gl or {}).get("VATCode"), sales=True)
        amount = money(_decimal(line.get("AmountFC")))
        vat_amount, base = _sales_vat(amount, vat, line.get("VATAmountFC"))
        lines.append(
            w.stamp(
                {
                    "ID": w.guid(),
                    "EntryID": entry_id,
                    "LineNumber": number,
                    "AmountFC": amount,
                    "AmountDC": amount,
                    "VATAmountFC": vat_amount,
                    "VATAmountDC": vat_amount,
                    "VATBaseAmountFC": base,
                    "VATCode": vat["Code"] if vat else None,
                    "VATPercentage": vat["Percentage"] if vat else None,
                    "GLAccount": line.get("GLAccount"),
                    **_gl_fields(gl),
                    "Description": line.get("Description"),
                    "Notes": line.get("Notes"),
                    "Quantity": line.get("Quantity"),
                    "CostCenter": w.cost_code(line, gl, "CostCenter"),
                    "CostUnit": w.cost_code(line, gl, "CostUnit"),
                    "From": line.get("From"),
                    "To": line.get("To"),
                }
            )
        )
    problems.raise_any()
    assert journal is not None and customer is not None

    entry_date = w.date(body.get("EntryDate"))
    due = body.get("DueDate")
    due_date = w.date(due) if due else entry_date + timedelta(days=DEFAULT_PAYMENT_DAYS)
    year, period = assumptions.period_of(entry_date)
    journal_code = str(journal["Code"])
    suggestion = body.get("EntryNumber") or body.get("InvoiceNumber")
    entry_number = w.entry_number(journal_code, year, suggestion)
    vat_total = sum((_decimal(line["VATAmountFC"]) for line in lines), Decimal(0))
    total = vat_total + sum((_decimal(line["VATBaseAmountFC"]) for line in lines), Decimal(0))
    kind = 21 if assumptions.CREDIT_NOTE_WHEN_NEGATIVE and total < 0 else 20
    header = w.stamp(
        {
            "EntryID": entry_id,
            "Journal": journal_code,
            "JournalDescription": journal["Description"],
            "Customer": customer["ID"],
            "CustomerName": customer["Name"],
            "EntryDate": entry_date,
            "DueDate": due_date,
            "EntryNumber": entry_number,
            "InvoiceNumber": entry_number,
            "YourRef": body.get("YourRef"),
            "Description": body.get("Description"),
            "PaymentCondition": body.get("PaymentCondition"),
            "PaymentReference": body.get("PaymentReference"),
            "Currency": currency,
            "Rate": Decimal(1),
            "AmountDC": total,
            "AmountFC": total,
            "VATAmountDC": vat_total,
            "VATAmountFC": vat_total,
            "Status": 20,
            "StatusDescription": "Open",
            "Type": kind,
            "TypeDescription": "Verkoopfactuur" if kind == 20 else "Creditnota",
            "ReportingYear": body.get("ReportingYear") or year,
            "ReportingPeriod": body.get("ReportingPeriod") or period,
            "OrderNumber": body.get("OrderNumber"),
            "ExternalLinkReference": body.get("ExternalLinkReference"),
        }
    )
    _commit_lines(division, "salesentry/SalesEntries", header, lines, entry_number)
    return header


def _sales_vat(amount: Decimal, vat: Record | None, given: Value) -> tuple[Decimal, Decimal]:
    """(VAT amount, VAT base): a supplied VATAmountFC wins; "I" codes include the VAT."""
    rate = _decimal(vat["Percentage"]) if vat else Decimal(0)
    including = vat is not None and vat["Type"] == "I"
    if isinstance(given, Decimal):
        vat_amount = money(given)
    elif including:
        vat_amount = money(amount * rate / (1 + rate))
    else:
        vat_amount = money(amount * rate)
    return vat_amount, (amount - vat_amount if including else amount)


def _id(record: Record) -> uuid.UUID:
    key = record["ID"]
    assert isinstance(key, uuid.UUID)
    return key


# -- Bank and general journal entries ---------------------------------------------------------


def _journal_lines(
    w: _Writer, lines_in: list[dict[str, Value]], entry_id: uuid.UUID, allow_vat: bool
) -> list[Record]:
    lines: list[Record] = []
    for number, line in enumerate(lines_in, start=1):
        gl = w.gl_account(line.get("GLAccount"))
        account = w.relation(line.get("Account"), gl)
        vat: Record | None = None
        if _text(line.get("VATCode")) is not None:
            if allow_vat:
                vat = w.vat_code(line.get("VATCode"), sales=False)
            else:
                w.problems.add(messages.invalid("VATCode", w.dutch, "not_allowed"))
        amount = money(_decimal(line.get("AmountFC")))
        given_vat = line.get("AmountVATFC")
        lines.append(
            w.stamp(
                {
                    "ID": w.guid(),
                    "EntryID": entry_id,
                    "LineNumber": number,
                    "AmountFC": amount,
                    "AmountDC": amount,
                    "AmountVATFC": money(given_vat) if isinstance(given_vat, Decimal) else None,
                    "GLAccount": line.get("GLAccount"),
                    **_gl_fields(gl),
                    "Account": line.get("Account") if account else None,
                    **_relation_fields(account),
                    "OurRef": line.get("OurRef"),
                    "Date": w.date(line.get("Date")),
                    "Description": line.get("Description"),
                    "Notes": line.get("Notes"),
                    "VATCode": vat["Code"] if vat else None,
                    "VATPercentage": vat["Percentage"] if vat else None,
                    "CostCenter": w.cost_code(line, gl, "CostCenter"),
                    "CostUnit": w.cost_code(line, gl, "CostUnit"),
                    "Quantity": line.get("Quantity"),
                }
            )
        )
    return lines


def _require_journal_body(w: _Writer, body: Body, navigation: str) -> list[dict[str, Value]]:
    w.problems.require(body.get("JournalCode"), "Journal")
    lines_in = w.require_lines(body, navigation)
    for line in lines_in:
        w.problems.require(line.get("GLAccount"), "GLAccount")
    return lines_in


def create_bank_entry(
    division: DivisionState, body: Body, now: datetime, rng: random.Random
) -> Record:
    w = _Writer(division, now, rng)
    lines_in = _require_journal_body(w, body, "BankEntryLines")
    for line in lines_in:
        w.problems.require(line.get("AmountFC"), "AmountFC")
    w.problems.raise_missing()

    journal = w.journal(
        body.get("JournalCode"), BANK_JOURNAL_TYPES, messages.not_a_bank_journal(w.dutch)
    )
    currency = w.currency(body.get("Currency"), journal)
    entry_id = w.guid()
    lines = _journal_lines(w, lines_in, entry_id, allow_vat=False)
    journal_code = str(journal["Code"]) if journal else ""
    opening_in = body.get("OpeningBalanceFC")
    opening = (
        money(opening_in)
        if isinstance(opening_in, Decimal)
        else division.closing_balances.get(journal_code, Decimal("0.00"))
    )
    closing = opening + sum((_decimal(line["AmountFC"]) for line in lines), Decimal(0))
    closing_in = body.get("ClosingBalanceFC")
    if (
        assumptions.CHECK_BANK_CLOSING_BALANCE
        and isinstance(closing_in, Decimal)
        and money(closing_in) != closing
    ):
        w.problems.add(messages.invalid("ClosingBalanceFC", w.dutch))
    w.problems.raise_any()
    assert journal is not None

    first_date = lines[0]["Date"]
    assert isinstance(first_date, datetime)
    year, period = assumptions.period_of(first_date)
    entry_number = w.entry_number(journal_code, year, body.get("EntryNumber"))
    header = w.stamp(
        {
            "EntryID": entry_id,
            "JournalCode": journal_code,
            "JournalDescription": journal["Description"],
            "EntryNumber": entry_number,
            "Currency": currency,
            "OpeningBalanceFC": opening,
            "ClosingBalanceFC": closing,
            "FinancialYear": body.get("FinancialYear") or year,
            "FinancialPeriod": body.get("FinancialPeriod") or period,
            "Status": 20,
            "StatusDescription": "Open",
        }
    )
    division.closing_balances[journal_code] = closing
    _commit_lines(division, "financialtransaction/BankEntries", header, lines, entry_number)
    return header


def create_general_journal_entry(
    division: DivisionState, body: Body, now: datetime, rng: random.Random
) -> Record:
    w = _Writer(division, now, rng)
    lines_in = _require_journal_body(w, body, "GeneralJournalEntryLines")
    w.problems.raise_missing()

    journal = w.journal(
        body.get("JournalCode"), GENERAL_JOURNAL_TYPES, messages.invalid("Journal", w.dutch)
    )
    currency = w.currency(body.get("Currency"), journal)
    entry_id = w.guid()
    allow_vat = bool(journal and journal["AllowVAT"])
    lines = _journal_lines(w, lines_in, entry_id, allow_vat=allow_vat)
    balance = sum((_decimal(line["AmountFC"]) for line in lines), Decimal(0))
    if balance != 0:
        w.problems.add(messages.not_balanced(f"{balance:.2f}", w.dutch))
    w.problems.raise_any()
    assert journal is not None

    first_date = lines[0]["Date"]
    assert isinstance(first_date, datetime)
    year, period = assumptions.period_of(first_date)
    journal_code = str(journal["Code"])
    entry_number = w.entry_number(journal_code, year, body.get("EntryNumber"))
    header = w.stamp(
        {
            "EntryID": entry_id,
            "JournalCode": journal_code,
            "JournalDescription": journal["Description"],
            "EntryNumber": entry_number,
            "Currency": currency,
            "ExchangeRate": Decimal(1),
            "FinancialYear": body.get("FinancialYear") or year,
            "FinancialPeriod": body.get("FinancialPeriod") or period,
            "Reversal": bool(body.get("Reversal")),
            "Status": 20,
            "StatusDescription": "Open",
            "Type": 90,
            "TypeDescription": "Memoriaal" if w.dutch else "General journal",
        }
    )
    _commit_lines(
        division, "generaljournalentry/GeneralJournalEntries", header, lines, entry_number
    )
    return header


def _commit_lines(
    division: DivisionState, path: str, header: Record, lines: list[Record], entry_number: int
) -> None:
    """Stores an entry and its lines, each with the fields Exact documents for it (a sales line
    has no EntryNumber, no Created)."""
    entries = resource(path)
    navigation = next(iter(entries.navigations.values()))
    assert navigation.target is not None
    line_fields = resource(navigation.target).documented
    entry_id = header["EntryID"]
    assert isinstance(entry_id, uuid.UUID)
    division.table(entries.source)[entry_id] = _documented(header, entries.documented)
    line_table = division.table(resource(navigation.target).source)
    for line in lines:
        line["EntryNumber"] = entry_number
        line_table[_id(line)] = _documented(line, line_fields)


def _documented(record: Record, fields: Mapping[str, object]) -> Record:
    return {name: value for name, value in record.items() if name in fields}


# -- Accounts ---------------------------------------------------------------------------------


def _valid_vat_number(number: str, country: str) -> bool:
    compact = re.sub(r"[\s.\-/]", "", number).upper()
    prefix = compact[:2].lower()
    if not prefix.isalpha():
        prefix = country.strip().lower()
        compact = prefix.upper() + compact
    if prefix not in eu_vat.MEMBER_STATES:
        return True  # outside the EU: nothing to check against
    return bool(eu_vat.is_valid(compact))


def account_record(
    division: DivisionState, fields: Mapping[str, Value], now: datetime, rng: random.Random
) -> Record:
    """A new account from POST fields (also used by the control API), validated like Exact."""
    dutch = division.dutch
    problems = Problems(dutch)
    problems.require(fields.get("Name"), "Name")
    vat_number = _text(fields.get("VATNumber"))
    country = _text(fields.get("Country"))
    # Without a Country the number is read as one of the division's country.
    home = country or str(division.info["Country"])
    if vat_number and assumptions.VALIDATE_VAT_NUMBERS and not _valid_vat_number(vat_number, home):
        problems.add_missing(messages.invalid("VATNumber", dutch))
    problems.raise_missing()

    code = _text(fields.get("Code"))
    if code is None:
        code = str(_next_account_code(division))
    elif not assumptions.ACCOUNT_CODE_PATTERN.match(code):
        problems.add(messages.invalid("Code", dutch))
    elif division.account_by_code(code) is not None:
        problems.add(messages.invalid("Code", dutch, "exists"))
    status = _text(fields.get("Status")) or assumptions.DEFAULT_ACCOUNT_STATUS
    if status not in ACCOUNT_STATUSES:
        problems.add(messages.invalid("Status", dutch))
    problems.raise_any()

    record: Record = dict.fromkeys(ACCOUNT_FIELDS)
    record.update({k: v for k, v in fields.items() if k in resource("crm/Accounts").writable})
    record.update(
        {
            "ID": new_guid(rng),
            "Code": pad_account_code(code),
            "Status": status,
            "IsSales": status == "C",
            "IsSupplier": bool(fields.get("IsSupplier")),
            "Type": "A",
            "Country": pad_country(country.upper()) if country else None,
            "Blocked": bool(fields.get("Blocked")),
            "Created": now,
        }
    )
    return record


def _next_account_code(division: DivisionState) -> int:
    codes = (str(a["Code"]).strip() for a in division.accounts.values())
    return max((int(c) for c in codes if c.isdigit()), default=0) + 1


def create_account(
    division: DivisionState, body: Body, now: datetime, rng: random.Random
) -> Record:
    record = account_record(division, body.fields, now, rng)
    division.insert(Source.ACCOUNTS, record, now)
    division.api_accounts.append(_id(record))
    return record


Creator = Callable[[DivisionState, Body, datetime, random.Random], Record]

# The POSTs the sandbox imitates; a documented method it does not imitate answers 501.
CREATORS: dict[str, Creator] = {
    "salesentry/SalesEntries": create_sales_entry,
    "financialtransaction/BankEntries": create_bank_entry,
    "generaljournalentry/GeneralJournalEntries": create_general_journal_entry,
    "crm/Accounts": create_account,
}
