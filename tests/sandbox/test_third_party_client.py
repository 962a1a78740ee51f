"""The published `exactonline` client (ossobv, 0.4.0), unchanged, against the sandbox.

That client only speaks https and verifies certificates (`opt_secure`), so the sandbox is served
with a throwaway self-signed certificate, and SSL_CERT_FILE (read by OpenSSL's default verify
paths, i.e. the environment, not the client) makes it trusted. Nothing in the client is patched.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from exactonline.api import ExactApi
from exactonline.elements.invoice import ExactInvoice
from exactonline.elements.relation import ExactCustomer
from exactonline.exceptions import ObjectDoesNotExist
from exactonline.storage.base import ExactOnlineConfig, MissingSetting

from exact_tui.sandbox import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, Sandbox
from exact_tui.sandbox.schema import entity
from exact_tui.sandbox.server import ServerThread

from .helpers import NL, NO_CONSENT


def make_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "exact-tui sandbox")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class MemoryStorage(ExactOnlineConfig):  # type: ignore[misc]
    """The client's documented extension point: a get/set settings store."""

    def __init__(self, base_url: str) -> None:
        self.values: dict[tuple[str, str], str] = {
            ("server", "auth_url"): f"{base_url}/api/oauth2/auth",
            ("server", "rest_url"): f"{base_url}/api",
            ("server", "token_url"): f"{base_url}/api/oauth2/token",
            ("application", "base_url"): REDIRECT_URI,
            ("application", "client_id"): CLIENT_ID,
            ("application", "client_secret"): CLIENT_SECRET,
        }

    def get(self, section: str, option: str) -> str:
        try:
            return self.values[(section, option)]
        except KeyError:
            raise MissingSetting(section, option) from None

    def set(self, section: str, option: str, value: str) -> None:
        self.values[(section, option)] = value


class Customer(ExactCustomer):  # type: ignore[misc]
    def __init__(self, code: str, name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.code = code
        self.name = name

    def get_code(self) -> str:
        return self.code

    def get_name(self) -> str:
        return self.name


class Invoice(ExactInvoice):  # type: ignore[misc]
    def __init__(self, number: str, customer: Customer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.number = number
        self.customer = customer

    def get_customer(self) -> Customer:
        return self.customer

    def get_created_date(self) -> dt.date:
        return dt.date(2026, 3, 1)

    def get_exact_journal(self) -> str:
        return NL.sales_journal

    def get_ledger_lines(self) -> list[dict[str, Any]]:
        return [
            {
                "code": NL.gl["revenue"],
                "vat_percentage": 21,
                "total_amount_excl_vat": Decimal("100.00"),
                "description": "Meeting room, March",
            }
        ]

    def get_invoice_number(self) -> str:
        return self.number

    def get_total_amount_incl_vat(self) -> Decimal:
        return Decimal("121.00")

    def get_total_vat(self) -> Decimal:
        return Decimal("21.00")

    def hint_exact_invoice_number(self) -> None:
        return None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, Path]]:
    cert, key = make_certificate(tmp_path_factory.mktemp("tls"))
    # The real clock: the client compares token expiry with its own time().
    with ServerThread(Sandbox(seed=7), ssl_certfile=str(cert), ssl_keyfile=str(key)) as server:
        yield server, cert


@pytest.fixture(scope="module")
def exact(served: tuple[ServerThread, Path]) -> Iterator[ExactApi]:
    server, cert = served
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SSL_CERT_FILE", str(cert))
        api = ExactApi(storage=MemoryStorage(server.base_url))
        # The user's browser: open the authorize URL, consent, follow the redirect.
        browser = ssl.create_default_context(cafile=str(cert))
        consent = httpx.get(api.create_auth_request_url() + "&auto_approve=1", verify=browser)
        assert consent.status_code == 302
        api.request_token(httpx.URL(consent.headers["location"]).params["code"])
        yield api


def test_divisions(exact: ExactApi) -> None:
    choices, current = exact.get_divisions()
    assert current == NL.number
    assert choices[NL.number] == NL.name
    assert NO_CONSENT.number in choices  # listed: the user can see it in Exact
    exact.set_division(current)
    assert exact.storage.get_division() == NL.number


def test_master_data(exact: ExactApi) -> None:
    exact.set_division(NL.number)
    codes = {NL.gl["revenue"], NL.gl["receivables"]}
    ledgers = exact.ledgeraccounts.filter(code__in=codes)
    assert {row["Code"] for row in ledgers} == codes
    vat_codes = exact.vatcodes.all()
    assert {row["Code"].strip() for row in vat_codes} == set(NL.vat_rates)
    assert exact.vatcodes.get_percentage(vat_code=NL.vat["high"]) == 0.21


def test_relations_by_code(exact: ExactApi, served: tuple[ServerThread, Path]) -> None:
    exact.set_division(NL.number)
    relation = exact.relations.get(relation_code="8")
    account = served[0].sandbox.division(NL.number).account_by_code("8")
    assert account is not None
    assert relation["ID"] == str(account["ID"])
    assert relation["Code"] == f"{'8':>18}"
    with pytest.raises(ObjectDoesNotExist):
        exact.relations.get(relation_code="987654")


def test_posting_and_finding_a_sales_entry(
    exact: ExactApi, served: tuple[ServerThread, Path]
) -> None:
    exact.set_division(NL.number)
    # A customer Exact does not know yet: the client creates it, then posts the invoice.
    customer = Customer("77001", "Derde Partij B.V.", api=exact)
    invoice = Invoice("ZF-2026-0001", customer, api=exact)
    created = invoice.commit()
    assert created["YourRef"] == "ZF-2026-0001"
    found = exact.invoices.get(invoice_number="ZF-2026-0001")
    assert found["EntryID"] == created["EntryID"]
    assert found["AmountFC"] == 121.0
    assert found["EntryNumber"] == 26_000_001
    assert [line["AmountFC"] for line in found["SalesEntryLines"]] == [100.0]
    assert exact.invoices.map_foreign2exact_invoice_numbers(["ZF-2026-0001"]) == {
        "ZF-2026-0001": 26_000_001
    }
    ledger = served[0].sandbox.ledger(NL.number)["divisions"]
    books = ledger[str(NL.number)]  # type: ignore[index]
    assert [a["Code"] for a in books["accounts"]] == ["77001"]
    assert [e["YourRef"] for e in books["sales_entries"]] == ["ZF-2026-0001"]


def test_every_documented_vat_code_field(exact: ExactApi) -> None:
    """The client builds a $select of all the fields Exact documents; every one answers."""
    exact.set_division(NL.number)
    fields = list(entity("vat/VATCodes").fields)
    rows = exact.vatcodes.filter(select=",".join(fields))
    assert len(rows) == len(NL.vat_rates)
    assert all(set(fields) <= set(row) for row in rows)


def test_paging_through_an_exact_multiple(
    exact: ExactApi, served: tuple[ServerThread, Path]
) -> None:
    """120 relations on 60-row pages: the client follows the second page's __next to the empty
    third page, and returns the 120."""
    exact.set_division(NL.number)
    calls = served[0].sandbox.calls
    before = calls.count("crm/Accounts", method="GET")
    rows = exact.relations.filter(filter=f"Code le '{'120':>18}'", select="ID,Code")
    assert sorted(int(row["Code"]) for row in rows) == list(range(1, 121))
    assert calls.count("crm/Accounts", method="GET") - before == 3
