"""Seed data, deterministic from a seed and a size, and the published facts about it.

The facts (division numbers, journal codes, key GL accounts, VAT codes, cost centers and units,
the default consent) do not depend on the seed, only on the size: the demo and the tests of other
parts rely on them. Customers (names, addresses, VAT numbers, GUIDs) depend on the seed.
"""

from __future__ import annotations

import functools
import random
import re
import tomllib
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any, Literal

from stdnum.iso7064 import mod_11_10

from exact_tui.sandbox import assumptions
from exact_tui.sandbox.odata.types import Record
from exact_tui.sandbox.state import (
    Divisions,
    DivisionState,
    User,
    World,
    new_guid,
    pad_account_code,
    pad_country,
    pad_vat_code,
    user_key,
)

Size = Literal["small", "large"]
SIZES: tuple[Size, ...] = ("small", "large")

# Sync timestamps start above 2**32 so a client that parses them as 32-bit breaks visibly.
TIMESTAMP_BASE = 9_000_000_000
# Seed records were created before this instant (the clock itself is not part of the seed).
SEED_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


# -- The published facts ----------------------------------------------------------------------


@dataclass(frozen=True)
class BankJournal:
    code: str
    iban: str
    gl_code: str


@dataclass(frozen=True)
class DivisionFacts:
    number: int
    name: str
    country: str
    legislation: str
    consented_by_default: bool
    # Journal code -> Exact journal Type (10 cash, 12 bank, 16 payment service, 20 sales,
    # 21 return invoice, 22 purchase, 90 general).
    journals: Mapping[str, int]
    sales_journal: str
    bank_journals: tuple[BankJournal, ...]
    cash_journal: str
    purchase_journal: str
    general_journal: str  # AllowVAT false
    general_journal_vat: str  # AllowVAT true
    # Role -> GL code, for the accounts an integration needs (see docs/sandbox.md).
    gl: Mapping[str, str]
    # Every GL code of the chart (before the large size's filler accounts) -> Type.
    gl_types: Mapping[str, int]
    # Role -> VAT code (unpadded), and code -> rate in whole percents.
    vat: Mapping[str, str]
    vat_rates: Mapping[str, int]
    cost_centers: tuple[str, ...]
    cost_units: tuple[str, ...]
    customers: int  # accounts with Status C, near-duplicates included
    relations: int  # every account in the division
    # Pairs of account codes (unpadded) that an integration's matching must not confuse.
    same_vat_number: tuple[tuple[str, str], ...]
    same_name: tuple[tuple[str, str], ...]
    non_customer_with_customer_vat: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class UserFacts:
    """One Exact user of the sandbox: who logs in, the divisions their user card gives access
    to, and the ones their consent page ticks by default."""

    user_name: str
    full_name: str
    divisions: tuple[int, ...]
    default_consent: tuple[int, ...]
    current_division: int


@dataclass(frozen=True)
class SeedFacts:
    """The seed's facts. `divisions` holds every user's divisions; `current_division`,
    `default_consent` and `user_name` are the default (first) user's, as in a one-user
    sandbox; `users` lists every user."""

    size: Size
    divisions: tuple[DivisionFacts, ...]
    current_division: int
    default_consent: tuple[int, ...]
    user_name: str
    client_id: str
    client_secret: str
    redirect_uri: str
    users: tuple[UserFacts, ...] = ()

    def user(self, name: str) -> UserFacts:
        for user in self.users:
            if user.user_name == name.strip().lower():
                return user
        raise KeyError(name)

    def division(self, number: int) -> DivisionFacts:
        for division in self.divisions:
            if division.number == number:
                return division
        raise KeyError(number)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"  # noqa: S105 - the sandbox's published demo secret
# Https and not on this machine, as the App Center wants; `.example` never resolves, so the
# browser stops on an error page whose address holds the code (paste-back).
REDIRECT_URI = "https://exact-tui.example/callback"
USER_NAME = "sanne.devries@example.test"

NL_DIVISION = 101001
BE_DIVISION = 101002
NO_CONSENT_DIVISION = 101003


@dataclass(frozen=True)
class _Gl:
    code: str
    description: str
    type: int
    balance_side: str
    use_costcenter: int = 0
    use_costunit: int = 0
    vat_code: str | None = None
    blocked: bool = False

    @property
    def balance_type(self) -> str:
        # Types below 100 are balance-sheet accounts; from 100 on profit and loss (W).
        return "B" if self.type < 100 else "W"


@dataclass(frozen=True)
class _VatRate:
    """A rate of a VAT code over a period (a VATPercentages line)."""

    percent: int
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class _Vat:
    code: str
    description: str
    percent: int  # the rate today
    type: str  # E excluding, I including, N none, B 0% base only
    transaction: str = "S"
    eu_listing: str = "N"
    gl_to_pay: str | None = None
    gl_to_claim: str | None = None
    # Earlier rates, oldest first; the current rate follows the last of them.
    history: tuple[_VatRate, ...] = ()


@dataclass(frozen=True)
class _Journal:
    code: str
    description: str
    type: int
    gl_code: str
    allow_vat: bool = False
    iban: str | None = None
    bic: str | None = None
    bank_name: str | None = None


@dataclass(frozen=True)
class _Cost:
    code: str
    description: str
    end_date: date | None = None  # usable until then (docs/sandbox.md)


@dataclass(frozen=True)
class _Chart:
    legislation: str
    gls: tuple[_Gl, ...]
    vats: tuple[_Vat, ...]
    journals: tuple[_Journal, ...]
    cost_centers: tuple[_Cost, ...]
    cost_units: tuple[_Cost, ...]
    gl_roles: Mapping[str, str]
    vat_roles: Mapping[str, str]


def _data() -> dict[str, Any]:
    """data/seed.toml: the charts and the pools names are drawn from."""
    text = resources.files("exact_tui.sandbox").joinpath("data", "seed.toml").read_text("utf-8")
    return tomllib.loads(text)


def _gl(row: Mapping[str, Any]) -> _Gl:
    fields = dict(row)
    fields["balance_side"] = fields.pop("side")
    return _Gl(**fields)


def _vat(row: dict[str, Any]) -> _Vat:
    history = tuple(_VatRate(**rate) for rate in row.pop("history", ()))
    return _Vat(**row, history=history)


def _chart(charts: Mapping[str, Any], name: str) -> _Chart:
    data = charts[name]
    if "based_on" in data:
        # A chart derived from another: some journals left out, bank accounts of its own.
        base = _chart(charts, data["based_on"])
        ibans = data.get("ibans", {})
        journals = tuple(
            replace(journal, iban=ibans.get(journal.code, journal.iban))
            for journal in base.journals
            if journal.code not in data.get("omit_journals", ())
        )
        return replace(base, journals=journals)
    return _Chart(
        legislation=data["legislation"],
        gls=tuple(_gl(row) for row in data["gl_accounts"]),
        vats=tuple(_vat(dict(row)) for row in data["vat_codes"]),
        journals=tuple(
            _Journal(**{("gl_code" if k == "gl" else k): v for k, v in row.items()})
            for row in data["journals"]
        ),
        cost_centers=tuple(_Cost(**row) for row in data["cost_centers"]),
        cost_units=tuple(_Cost(**row) for row in data["cost_units"]),
        gl_roles=dict(data["gl_roles"]),
        vat_roles=dict(data["vat_roles"]),
    )


_DATA = _data()
_NL_CHART = _chart(_DATA["charts"], "nl")
_BE_CHART = _chart(_DATA["charts"], "be")
# The archive division keeps the Dutch chart, with bank accounts of its own.
_NL_ARCHIVE_CHART = _chart(_DATA["charts"], "nl_archive")


@dataclass(frozen=True)
class _DivisionPlan:
    number: int
    name: str
    country: str
    chart: _Chart
    consented: bool
    hid: int


_SMALL_PLAN = (
    _DivisionPlan(NL_DIVISION, "Flexwerk Amsterdam B.V.", "NL", _NL_CHART, True, 1),
    _DivisionPlan(BE_DIVISION, "Flexwerk Gent BV", "BE", _BE_CHART, True, 2),
    _DivisionPlan(NO_CONSENT_DIVISION, "Flexwerk Archief B.V.", "NL", _NL_ARCHIVE_CHART, False, 3),
)
_LARGE_PLAN = _SMALL_PLAN[:2]
_NEAR_DUPLICATES = 4
_NON_CUSTOMERS = 12
# The large size has exactly 20,000 relations per division.
_CUSTOMERS = {"small": 200, "large": 20_000 - _NEAR_DUPLICATES - _NON_CUSTOMERS}
_GL_ACCOUNTS_LARGE = 2_000
# Near-duplicates sit at fixed codes after the regular customers: (original, duplicate).


def _near_duplicates(customers: int) -> dict[str, tuple[tuple[str, str], ...]]:
    n = customers
    return {
        "same_vat_number": ((str(3), str(n + 1)), (str(7), str(n + 2))),
        "same_name": ((str(11), str(n + 3)), (str(15), str(n + 4))),
        "non_customer_with_customer_vat": ((str(20), str(n + 5)),),
    }


def _facts_for(plan: _DivisionPlan, size: Size) -> DivisionFacts:
    chart = plan.chart
    journals = {j.code: j.type for j in chart.journals}

    def journal_of(kind: int, allow_vat: bool = False) -> str:
        return next(j.code for j in chart.journals if j.type == kind and j.allow_vat == allow_vat)

    customers = _CUSTOMERS[size]
    duplicates = _near_duplicates(customers)
    return DivisionFacts(
        number=plan.number,
        name=plan.name,
        country=plan.country,
        legislation=chart.legislation,
        consented_by_default=plan.consented,
        journals=journals,
        sales_journal=journal_of(20),
        bank_journals=tuple(
            BankJournal(j.code, j.iban, j.gl_code) for j in chart.journals if j.iban is not None
        ),
        cash_journal=journal_of(10),
        purchase_journal=journal_of(22),
        general_journal=journal_of(90),
        general_journal_vat=journal_of(90, allow_vat=True),
        gl=dict(chart.gl_roles),
        gl_types={gl.code: gl.type for gl in chart.gls},
        vat=dict(chart.vat_roles),
        vat_rates={vat.code: vat.percent for vat in chart.vats},
        cost_centers=tuple(c.code for c in chart.cost_centers if c.end_date is None),
        cost_units=tuple(c.code for c in chart.cost_units if c.end_date is None),
        customers=customers + _NEAR_DUPLICATES,
        relations=customers + _NEAR_DUPLICATES + _NON_CUSTOMERS,
        same_vat_number=duplicates["same_vat_number"],
        same_name=duplicates["same_name"],
        non_customer_with_customer_vat=duplicates["non_customer_with_customer_vat"],
    )


# Users after the first (who keeps the seed's Flexwerk divisions): first name, last name, and
# the company whose divisions their user card opens. Beyond these, numbered users.
_EXTRA_USERS = (
    ("Joris", "Bakker", "Noordwind"),
    ("Fatima", "El Amrani", "Helder Bureau"),
    ("Lotte", "Peeters", "Torenvalk"),
    ("Pieter", "Janssens", "Havenkantoor"),
    ("Daan", "Visser", "Lindeboom"),
    ("Sofie", "Maes", "Duinzicht"),
    ("Milan", "de Jong", "Molenwerf"),
    ("Noor", "Claes", "Zeebries"),
)
_CITIES_OF = {"NL": ("Amsterdam", "Utrecht", "Rotterdam", "Eindhoven"),
              "BE": ("Gent", "Antwerpen", "Brussel", "Leuven")}  # fmt: skip
#: Divisions of one user are numbered 100000 + 1000 × user + n (the first user's 101001…).
MAX_DIVISIONS_PER_USER = 999
#: Divisions of users after the first when no number is asked for.
EXTRA_USER_DIVISIONS = 2


@dataclass(frozen=True)
class _UserPlan:
    index: int  # 1 for the default user
    first: str
    last: str
    company: str
    divisions: tuple[_DivisionPlan, ...]

    @property
    def user_name(self) -> str:
        if self.index == 1:
            return USER_NAME
        local = f"{self.first}.{self.last}".lower().replace(" ", "")
        return f"{unicodedata.normalize('NFKD', local).encode('ascii', 'ignore').decode()}" + (
            "@example.test"
        )

    @property
    def full_name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def consent(self) -> tuple[int, ...]:
        return tuple(p.number for p in self.divisions if p.consented)


def division_number(user: int, n: int) -> int:
    """The number of a user's n-th division (both from 1)."""
    return 100_000 + 1_000 * user + n


def _generated_division(user: int, n: int, company: str) -> _DivisionPlan:
    country = "NL" if n % 2 else "BE"
    cities = _CITIES_OF[country]
    city = cities[(n - 1) // 2 % len(cities)]
    if n > 2 * len(cities):
        city = f"{city} {n}"
    legal = "B.V." if country == "NL" else "BV"
    chart = _NL_CHART if country == "NL" else _BE_CHART
    return _DivisionPlan(
        division_number(user, n), f"{company} {city} {legal}", country, chart, True, n
    )


def check_users(users: int, divisions_per_user: int | None) -> None:
    """ValueError with the reason when a sandbox cannot be made of this many."""
    if isinstance(users, bool) or not isinstance(users, int) or users < 1:
        raise ValueError(f"users must be a whole number of at least 1, not {users!r}")
    if divisions_per_user is not None and (
        isinstance(divisions_per_user, bool)
        or not isinstance(divisions_per_user, int)
        or not 1 <= divisions_per_user <= MAX_DIVISIONS_PER_USER
    ):
        raise ValueError(
            f"divisions_per_user must be a whole number from 1 to {MAX_DIVISIONS_PER_USER}, "
            f"not {divisions_per_user!r}"
        )


@functools.lru_cache(maxsize=16)
def _user_plans(size: Size, users: int, per_user: int | None) -> tuple[_UserPlan, ...]:
    base = _SMALL_PLAN if size == "small" else _LARGE_PLAN
    plans: list[_UserPlan] = []
    for index in range(1, users + 1):
        if index == 1:
            first, last, company = "Sanne", "de Vries", "Flexwerk"
            count = len(base) if per_user is None else per_user
            divisions = base[:count] + tuple(
                _generated_division(1, n, company) for n in range(len(base) + 1, count + 1)
            )
        else:
            if index - 2 < len(_EXTRA_USERS):
                first, last, company = _EXTRA_USERS[index - 2]
            else:
                first, last, company = "Gebruiker", str(index), f"Bedrijf {index}"
            count = EXTRA_USER_DIVISIONS if per_user is None else per_user
            divisions = tuple(_generated_division(index, n, company) for n in range(1, count + 1))
        plans.append(_UserPlan(index, first, last, company, divisions))
    return tuple(plans)


@functools.lru_cache(maxsize=16)
def facts_for(size: Size, users: int = 1, divisions_per_user: int | None = None) -> SeedFacts:
    """The facts of a sandbox of this size with this many users (docs/sandbox.md)."""
    check_users(users, divisions_per_user)
    plans = _user_plans(size, users, divisions_per_user)
    first = plans[0]
    user_facts = tuple(
        UserFacts(
            user_name=plan.user_name,
            full_name=plan.full_name,
            divisions=tuple(p.number for p in plan.divisions),
            default_consent=plan.consent,
            current_division=plan.divisions[0].number,
        )
        for plan in plans
    )
    return SeedFacts(
        size=size,
        divisions=tuple(_facts_for(p, size) for plan in plans for p in plan.divisions),
        current_division=first.divisions[0].number,
        default_consent=first.consent,
        user_name=USER_NAME,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        users=user_facts,
    )


FACTS: dict[Size, SeedFacts] = {size: facts_for(size) for size in SIZES}
SMALL = FACTS["small"]
LARGE = FACTS["large"]


# -- Generation -------------------------------------------------------------------------------

_NAMES = _DATA["names"]
_PREFIXES: tuple[str, ...] = tuple(_NAMES["prefixes"])
_SURNAMES: tuple[str, ...] = tuple(_NAMES["surnames"])
_LEGAL: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _NAMES["legal_forms"].items()}
_STREETS: tuple[str, ...] = tuple(_NAMES["streets"])
_CITIES: dict[str, tuple[tuple[str, int], ...]] = {
    country: tuple((city, int(code)) for city, code in cities)
    for country, cities in _NAMES["cities"].items()
}
_PHONE_PREFIX: dict[str, str] = dict(_NAMES["phone_prefixes"])


def nl_vat_number(rng: random.Random) -> str:
    """NL + nine digits passing the 11-test + B + two digits (stdnum.nl.btw)."""
    while True:
        digits = [rng.randrange(10) for _ in range(8)]
        check = sum(d * (9 - i) for i, d in enumerate(digits)) % 11
        if check < 10 and digits[0] != 0:
            return f"NL{''.join(map(str, digits))}{check}B{rng.randint(1, 3):02d}"


def be_vat_number(rng: random.Random) -> str:
    """BE + ten digits whose last two are 97 minus the first eight modulo 97 (stdnum.be.vat)."""
    head = f"0{rng.randrange(2_000_000, 9_999_999)}"
    return f"BE{head}{97 - int(head) % 97:02d}"


def de_vat_number(rng: random.Random) -> str:
    """DE + eight digits and an ISO 7064 mod 11,10 check digit (stdnum.de.vat)."""
    head = f"{rng.randrange(10_000_000, 99_999_999)}"
    return f"DE{head}{mod_11_10.calc_check_digit(head)}"


_VAT_NUMBER = {"NL": nl_vat_number, "BE": be_vat_number, "DE": de_vat_number}


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower()) or "klant"


def _messy(vat_number: str) -> str:
    """The same VAT number as a person might type it: lower case, spaces and dots."""
    country, rest = vat_number[:2], vat_number[2:]
    return f"{country.lower()} {rest[:4]}.{rest[4:8]}.{rest[8:]}".lower()


class _Generator:
    def __init__(self, seed: int, size: Size, plan: _DivisionPlan) -> None:
        self.rng = random.Random(f"{seed}:{size}:{plan.number}")
        self.size = size
        self.plan = plan
        self.state = DivisionState(number=plan.number, info={})
        self.state.timestamp = TIMESTAMP_BASE
        self.gl_ids: dict[str, uuid.UUID] = {}

    def guid(self) -> uuid.UUID:
        return new_guid(self.rng)

    def past(self, max_days: int = 2000) -> datetime:
        return SEED_EPOCH - timedelta(days=self.rng.randrange(1, max_days))

    def add(self, table: dict[uuid.UUID, Record], record: Record, *, sync: bool = False) -> None:
        created = self.past()
        record.setdefault("Created", created)
        record.setdefault("Modified", created)
        record["Division"] = self.plan.number
        if sync:
            record["Timestamp"] = self.state.next_timestamp()
        key = record["ID"]
        assert isinstance(key, uuid.UUID)
        table[key] = record

    def build(self, current: bool) -> DivisionState:
        self.info(current)
        self.gl_accounts()
        self.vat_codes()
        self.journals()
        self.costs()
        self.accounts()
        return self.state

    def info(self, current: bool) -> None:
        plan = self.plan
        vat = _VAT_NUMBER[plan.country](self.rng)
        self.state.info = {
            "Code": plan.number,
            "Description": plan.name,
            "Hid": plan.hid,
            "Country": plan.country,
            "Currency": "EUR",
            "Current": current,
            "IsMainDivision": plan.hid == 1,
            "Legislation": plan.chart.legislation,
            "Status": 1,
            "BlockingStatus": 0,
            "VATNumber": vat,
            "ChamberOfCommerceNumber": f"{self.rng.randrange(10_000_000, 99_999_999)}",
            "DivisionMoveDate": None,
            "StartDate": datetime(2019, 1, 1, tzinfo=UTC),
            "ArchiveDate": None,
            "Customer": self.guid(),
            "CustomerCode": pad_account_code(str(plan.hid)),
            "CustomerName": plan.name,
            "Created": datetime(2018, 12, 1, tzinfo=UTC),
            "Modified": datetime(2018, 12, 1, tzinfo=UTC),
        }

    def gl_accounts(self) -> None:
        gls = list(self.plan.chart.gls)
        if self.size == "large":
            prefix = "6" if self.plan.chart.legislation == "NL" else "69"
            filler_types = (110, 120, 121, 125, 111)
            for index in range(1, _GL_ACCOUNTS_LARGE - len(gls) + 1):
                kind = filler_types[index % len(filler_types)]
                side = "C" if kind == 110 else "D"
                gls.append(_Gl(f"{prefix}{index:04d}", f"Grootboekrekening {index}", kind, side))
        for gl in gls:
            self.gl_ids[gl.code] = self.guid()
        for gl in gls:
            self.add(
                self.state.gl_accounts,
                {
                    "ID": self.gl_ids[gl.code],
                    "Code": gl.code,
                    "Description": gl.description,
                    "SearchCode": gl.code,
                    "Type": gl.type,
                    "TypeDescription": None,
                    "BalanceType": gl.balance_type,
                    "BalanceSide": gl.balance_side,
                    "UseCostcenter": gl.use_costcenter,
                    "UseCostunit": gl.use_costunit,
                    "VATCode": pad_vat_code(gl.vat_code) if gl.vat_code else None,
                    "VATDescription": None,
                    "IsBlocked": gl.blocked,
                    "Costcenter": None,
                    "Costunit": None,
                },
                sync=True,
            )

    def vat_codes(self) -> None:
        for vat in self.plan.chart.vats:
            key = self.guid()
            self.add(
                self.state.vat_codes,
                {
                    "ID": key,
                    "Code": pad_vat_code(vat.code),
                    "Description": vat.description,
                    "Percentage": assumptions.vat_fraction(vat.percent),
                    "Type": vat.type,
                    "VATTransactionType": vat.transaction,
                    "Charged": False,
                    "EUSalesListing": vat.eu_listing,
                    "GLToPay": self.gl_ids.get(vat.gl_to_pay or ""),
                    "GLToPayCode": vat.gl_to_pay,
                    "GLToClaim": self.gl_ids.get(vat.gl_to_claim or ""),
                    "GLToClaimCode": vat.gl_to_claim,
                    "IsBlocked": False,
                    "LegalText": None,
                },
            )
            self.vat_percentages(self.state.vat_codes[key], vat)

    def vat_percentages(self, code: Record, vat: _Vat) -> None:
        """The code's rates over time: its history, then today's rate from the day after.
        IDs and dates come from the code, so the seed's other values stay as they were."""
        vat_id = code["ID"]
        assert isinstance(vat_id, uuid.UUID)
        last_end = vat.history[-1].end if vat.history else None
        current = _VatRate(vat.percent, last_end + timedelta(days=1) if last_end else None)
        for number, rate in enumerate((*vat.history, current), start=1):
            line_id = uuid.uuid5(vat_id, str(number))
            self.state.vat_percentages[line_id] = {
                "ID": line_id,
                "VATCodeID": vat_id,
                "LineNumber": number,
                "Percentage": assumptions.vat_fraction(rate.percent),
                "StartDate": _midnight(rate.start),
                "EndDate": _midnight(rate.end),
                "Type": 0,
                "Division": self.plan.number,
                "Created": code["Created"],
                "Modified": code["Modified"],
            }

    def journals(self) -> None:
        gl_types = {gl.code: gl for gl in self.plan.chart.gls}
        for journal in self.plan.chart.journals:
            gl = gl_types[journal.gl_code]
            iban = journal.iban
            self.add(
                self.state.journals,
                {
                    "ID": self.guid(),
                    "Code": journal.code,
                    "Description": journal.description,
                    "Type": journal.type,
                    "AllowVAT": journal.allow_vat,
                    "AllowVariableCurrency": False,
                    "AllowVariableExchangeRate": False,
                    "Currency": "EUR",
                    "GLAccount": self.gl_ids[gl.code],
                    "GLAccountCode": gl.code,
                    "GLAccountDescription": gl.description,
                    "GLAccountType": gl.type,
                    "BankAccountID": self.guid() if iban else None,
                    "BankAccountIBAN": iban,
                    "BankAccountIncludingMask": _mask(iban) if iban else None,
                    "BankAccountBICCode": journal.bic,
                    "BankAccountDescription": journal.description if iban else None,
                    "BankName": journal.bank_name,
                    "PaymentServiceProvider": 1 if journal.type == 16 else None,
                    "IsBlocked": False,
                    "AutoSave": False,
                },
            )

    def costs(self) -> None:
        chart = self.plan.chart
        for table, rows in (
            (self.state.cost_centers, chart.cost_centers),
            (self.state.cost_units, chart.cost_units),
        ):
            for cost in rows:
                self.add(
                    table,
                    {
                        "ID": self.guid(),
                        "Code": cost.code,
                        "Description": cost.description,
                        "EndDate": _midnight(cost.end_date),
                    },
                )

    def accounts(self) -> None:
        count = _CUSTOMERS[self.size]
        home = self.plan.country
        abroad = "BE" if home == "NL" else "NL"
        seen_names: set[str] = set()
        seen_vat: set[str] = set()
        by_code: dict[int, Record] = {}
        for code in range(1, count + 1):
            roll = self.rng.random()
            country = home if roll < 0.9 else abroad if roll < 0.98 else "DE"
            name = self.company_name(country, seen_names)
            vat: str | None = None
            if self.rng.random() < 0.85:
                vat = _VAT_NUMBER[country](self.rng)
                while vat in seen_vat:
                    vat = _VAT_NUMBER[country](self.rng)
                seen_vat.add(vat)
            by_code[code] = self.account(code, name, country, vat, "C")
        # The near-duplicates: see _near_duplicates for which code mirrors which.
        self.account(
            count + 1,
            _variant(by_code[3]),
            _country(by_code[3]),
            _messy(str(by_code[3]["VATNumber"])),
            "C",
        )
        self.account(
            count + 2,
            str(by_code[7]["Name"]),
            _country(by_code[7]),
            str(by_code[7]["VATNumber"]),
            "C",
        )
        self.account(count + 3, str(by_code[11]["Name"]), _country(by_code[11]), None, "C")
        self.account(
            count + 4,
            str(by_code[15]["Name"]),
            _country(by_code[15]),
            _VAT_NUMBER[home](self.rng),
            "C",
        )
        self.account(count + 5, str(by_code[20]["Name"]), _country(by_code[20]),
                     str(by_code[20]["VATNumber"]), "P")  # fmt: skip
        statuses = ("S", "S", "P", "P", "A", "A", "A", "A", "A", "A", "A")
        for offset, status in enumerate(statuses, start=6):
            name = self.company_name(home, seen_names)
            vat = _VAT_NUMBER[home](self.rng)
            account = self.account(count + offset, name, home, vat, status)
            account["IsSupplier"] = status == "A"

    def company_name(self, country: str, seen: set[str]) -> str:
        legal = _LEGAL.get(country, ("GmbH",))
        while True:
            core = f"{self.rng.choice(_PREFIXES)} {self.rng.choice(_SURNAMES)}"
            # Names repeat in the large seed; the small one keeps them unique so its
            # near-duplicates are the only ones.
            if core not in seen or self.size == "large":
                seen.add(core)
                suffix = self.rng.choice(legal)
                return f"{core} {suffix}".strip()

    def account(self, code: int, name: str, country: str, vat: str | None, status: str) -> Record:
        city, postal = self.rng.choice(_CITIES[country])
        if country == "NL":
            letters = "".join(self.rng.choice("ABCDEGHJKLMNPRSTVWXZ") for _ in range(2))
            postcode = f"{postal}{self.rng.randint(10, 99)} {letters}"
        else:
            postcode = str(postal)
        number = self.rng.randint(1, 250)
        record: Record = {
            "ID": self.guid(),
            "Code": pad_account_code(str(code)),
            "SearchCode": f"C{code:05d}" if self.rng.random() < 0.5 else None,
            "Name": name,
            "Status": status,
            "IsSales": status == "C",
            "IsSupplier": False,
            "Type": "A",
            "VATNumber": vat,
            "ChamberOfCommerce": (
                f"{self.rng.randrange(10_000_000, 99_999_999)}" if country == "NL" else None
            ),
            "AddressLine1": f"{self.rng.choice(_STREETS)} {number}",
            "AddressLine2": None,
            "Postcode": postcode,
            "City": city,
            "State": None,
            "Country": pad_country(country),
            "Email": f"info@{_slug(name)}.{country.lower()}",
            "Phone": f"{_PHONE_PREFIX[country]} {self.rng.randrange(1_000_000, 9_999_999)}",
            "Website": None,
            "Language": "NL" if country in ("NL", "BE") else "EN",
            "SalesCurrency": "EUR",
            "SalesVATCode": None,
            "Blocked": False,
            "StartDate": None,
            "EndDate": None,
        }
        self.add(self.state.accounts, record, sync=True)
        return record


def _country(record: Record) -> str:
    return str(record["Country"]).strip()


def _variant(record: Record) -> str:
    """The same company written differently: "B.V." becomes "BV", or " BV" is added."""
    name = str(record["Name"])
    return name.replace("B.V.", "BV") if "B.V." in name else f"{name} BV"


def _midnight(day: date | None) -> datetime | None:
    """A date-only value as Exact sends it: midnight UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def _mask(iban: str) -> str:
    return f"{iban[:4]}{'*' * (len(iban) - 8)}{iban[-4:]}"


def _me(seed: int, plan: _UserPlan) -> Record:
    rng = random.Random(f"{seed}:user" if plan.index == 1 else f"{seed}:user:{plan.index}")
    current = plan.divisions[0].number
    name = plan.user_name
    return {
        "UserID": new_guid(rng),
        "UserName": name,
        "FullName": plan.full_name,
        "FirstName": plan.first,
        "LastName": plan.last,
        "Email": name,
        "CurrentDivision": current,
        "AccountingDivision": current,
        "DivisionCustomer": new_guid(rng),
        "DivisionCustomerCode": pad_account_code(str(plan.index)),
        "DivisionCustomerName": f"{plan.company} Holding B.V.",
        "LanguageCode": "nl-NL",
        "Language": "NL",
        "ServerTime": None,  # filled in on every request from the sandbox clock
        "ServerUtcOffset": 0,
    }


def generate(seed: int, size: Size, users: int = 1, divisions_per_user: int | None = None) -> World:
    """The whole world for a seed, size and number of users; the same inputs give the same
    GUIDs and values. Each division's books are built when first read."""
    if size not in SIZES:
        raise ValueError(f"unknown seed size {size!r}; expected one of {', '.join(SIZES)}")
    check_users(users, divisions_per_user)
    plans = _user_plans(size, users, divisions_per_user)
    builders: dict[int, Callable[[], DivisionState]] = {}
    infos: dict[int, Callable[[], Record]] = {}
    for plan in plans:
        current = plan.divisions[0].number
        for p in plan.divisions:
            builders[p.number] = functools.partial(_build, seed, size, p, p.number == current)
            infos[p.number] = functools.partial(_info, seed, size, p, p.number == current)
    world_users = {
        user_key(plan.user_name): User(
            me=_me(seed, plan),
            divisions=tuple(p.number for p in plan.divisions),
            default_consent=frozenset(plan.consent),
        )
        for plan in plans
    }
    return World(users=world_users, divisions=Divisions(builders, infos))


def _build(seed: int, size: Size, plan: _DivisionPlan, current: bool) -> DivisionState:
    return _Generator(seed, size, plan).build(current)


def _info(seed: int, size: Size, plan: _DivisionPlan, current: bool) -> Record:
    """A division's own record alone: the generator draws it first, so it equals the one the
    whole build makes."""
    generator = _Generator(seed, size, plan)
    generator.info(current)
    return generator.state.info
