"""E-invoices (issue 18), checked offline the way a tax authority's validator checks them: every demo invoice and a
generated set (currencies, rates, every VAT category, discounts as negative lines, many lines) as CII and UBL pass
the XSDs and the EN 16931 Schematron with no error, and the rules are shown to bite (a tampered total); XRechnung
carries what German public buyers require; the Factur-X PDF carries the very XML served alone."""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import httpx
import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pypdf import PdfReader

from db.invoices import Invoice, InvoiceLine
from db.postal import PostalAddress
from devtools.einvoice_rules import XRECHNUNG_GUIDELINE_RULE, Report, Validator
from web.dev.demo import load_demo
from web.einvoice.cii import cii_xml
from web.einvoice.model import XRECHNUNG, einvoice_of
from web.einvoice.readiness import lacking
from web.einvoice.ubl import ubl_xml
from web.invoices.documents import InvoiceDocument, Party
from web.invoices.totals import compute_totals
from web.settings import Settings

RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"


@pytest.fixture(scope="session")
def rules() -> Iterator[Validator]:
    yield Validator()


def valid(report: Report) -> bool:
    """No error, and the rules looked at the document (a validator that fired nothing checked nothing)."""
    assert report.fired > 40, f"only {report.fired} rules fired"
    assert report.errors == [], report.errors
    return True


async def demo_links(settings: Settings) -> dict[str, str]:
    return dict(await load_demo(settings.database_url))


async def test_every_demo_invoice_is_a_valid_e_invoice_in_each_syntax(
    settings: Settings, client: httpx.AsyncClient, conn: asyncpg.Connection, rules: Validator
) -> None:
    links = await demo_links(settings)
    checked = []
    for label, token in links.items():
        if label in ("expired", "revoked"):
            continue  # their links open nothing (the Invoice Not Found page)
        answers = {kind: await client.get(f"/i/{token}/e-invoice/{kind}") for kind in ("ubl", "cii", "xrechnung")}
        if label in ("void", "kwd"):  # a void invoice bills nothing; KWD has 3 decimals, e-invoices at most 2
            assert {answer.status_code for answer in answers.values()} == {409}, label
            assert "This invoice has no e-invoice in this format." in answers["ubl"].text
            continue
        assert answers["ubl"].status_code == 200 and answers["cii"].status_code == 200, label
        assert answers["ubl"].headers["content-type"] == "application/xml"
        assert answers["cii"].headers["content-disposition"].endswith('-cii.xml"')
        assert valid(rules.ubl(answers["ubl"].content)) and valid(rules.cii(answers["cii"].content))
        if answers["xrechnung"].status_code == 200:
            assert valid(rules.cii(answers["xrechnung"].content).without(XRECHNUNG_GUIDELINE_RULE))
        checked.append(label)
    assert {"open", "partial", "paid", "jpy", "long", "xrechnung", "reverse-charge", "export"} <= set(checked)
    # The page offers exactly the files there are.
    page = BeautifulSoup((await client.get(f"/i/{links['xrechnung']}")).text, "html.parser")
    offered = [str(a["href"]).rsplit("/", 1)[1] for a in page.select("#einvoice-links a")]
    assert offered == ["ubl", "cii", "xrechnung"]
    assert BeautifulSoup((await client.get(f"/i/{links['kwd']}")).text, "html.parser").select("#einvoice-links") == []


async def test_xrechnung_carries_what_german_public_buyers_require(
    settings: Settings, client: httpx.AsyncClient, conn: asyncpg.Connection, rules: Validator
) -> None:
    """XRechnung's own rules are on no registry: the ones a German public buyer meets first, checked here."""
    links = await demo_links(settings)
    xml = (await client.get(f"/i/{links['xrechnung']}/e-invoice/xrechnung")).content
    root = etree.fromstring(xml)

    def text(path: str) -> list[str]:
        return [str(node.text) for node in root.iterfind(path, {"ram": RAM, "rsm": root.nsmap["rsm"]})]

    assert text(".//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == [XRECHNUNG]  # BR-DE-21
    assert text(".//ram:BuyerReference") == ["04011000-12345-06"]  # BR-DE-15: the Leitweg-ID
    contact = ".//ram:SellerTradeParty/ram:DefinedTradeContact/"
    assert text(contact + "ram:PersonName") == ["Bea Billing"]  # BR-DE-5
    assert text(contact + "ram:TelephoneUniversalCommunication/ram:CompleteNumber") == ["+49 30 5550100"]  # BR-DE-6
    assert text(contact + "ram:EmailURIUniversalCommunication/ram:URIID") == ["billing@northwind.example"]  # BR-DE-7
    assert text(".//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == ["58"]  # BR-DE-1, SEPA transfer
    assert text(".//ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == ["DE89370400440532013000"]  # BR-DE-23
    assert text(".//ram:SellerTradeParty/ram:PostalTradeAddress/ram:PostcodeCode") == ["10119"]  # BR-DE-4
    buyer_address = root.find(".//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID", {"ram": RAM})
    assert buyer_address is not None and buyer_address.get("schemeID") == "0204"  # BR-DE-?: the buyer's address
    assert valid(rules.cii(xml).without(XRECHNUNG_GUIDELINE_RULE))
    # An invoice without a buyer reference has no XRechnung, and the console says why.
    assert (await client.get(f"/i/{links['export']}/e-invoice/xrechnung")).status_code == 409


async def test_reverse_charge_and_export_carry_their_category_zero_vat_reason_and_printed_notice(
    settings: Settings, client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    links = await demo_links(settings)
    for label, category, code, notice in (
        # The notice is in the invoice's language: the French customer's is French.
        ("reverse-charge", "AE", "VATEX-EU-AE", "Autoliquidation : la TVA est due par le client (article 196"),
        ("export", "G", "VATEX-EU-G", "VAT-exempt export outside the EU"),
    ):
        root = etree.fromstring((await client.get(f"/i/{links[label]}/e-invoice/ubl")).content)
        names = {"cbc": CBC, "cac": CAC}
        subtotal = root.find("cac:TaxTotal/cac:TaxSubtotal", names)
        assert subtotal is not None
        assert subtotal.findtext("cac:TaxCategory/cbc:ID", None, names) == category
        assert Decimal(subtotal.findtext("cac:TaxCategory/cbc:Percent", "x", names)) == 0
        assert Decimal(subtotal.findtext("cbc:TaxAmount", "x", names)) == 0
        assert subtotal.findtext("cac:TaxCategory/cbc:TaxExemptionReasonCode", None, names) == code
        line_categories = root.iterfind("cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:ID", names)
        assert {node.text for node in line_categories} == {category}
        page = BeautifulSoup((await client.get(f"/i/{links[label]}")).text, "html.parser")
        assert notice in page.select_one(f'[data-vat-note="{category}"]').get_text()  # type: ignore[union-attr]
        pdf = PdfReader(io.BytesIO((await client.get(f"/i/{links[label]}/pdf")).content))
        assert notice in " ".join(" ".join(p.extract_text() for p in pdf.pages).split())


def test_a_tampered_total_is_caught(rules: Validator) -> None:
    """The rules bite: the grand total raised by one cent breaks BR-CO-15 in both syntaxes."""
    document = in_memory("EUR", [(Decimal(2), 12000, Decimal(19), "S", "HUR")])
    cii = cii_xml(einvoice_of(document)).replace(b"<ram:GrandTotalAmount>285.60", b"<ram:GrandTotalAmount>285.61")
    assert "BR-CO-15" in rules.cii(cii).rules
    ubl = ubl_xml(einvoice_of(document))
    total = b'<cbc:TaxInclusiveAmount currencyID="EUR">'
    tampered = ubl.replace(total + b"285.60", total + b"285.61")
    assert tampered != ubl and "BR-CO-15" in rules.ubl(tampered).rules


async def test_the_pdf_is_a_factur_x_carrying_the_xml_served_alone(
    settings: Settings, client: httpx.AsyncClient, conn: asyncpg.Connection, settle: Callable[[], Awaitable[None]]
) -> None:
    links = await demo_links(settings)
    pdf = (await client.get(f"/i/{links['open']}/pdf?download=1")).content
    reader = PdfReader(io.BytesIO(pdf))
    assert list(reader.attachments) == ["factur-x.xml"]
    assert reader.attachments["factur-x.xml"][0] == (await client.get(f"/i/{links['open']}/e-invoice/cii")).content
    catalog = reader.trailer["/Root"]
    assert catalog["/AF"][0].get_object()["/AFRelationship"] == "/Data"
    assert catalog["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"  # the PDF/A output intent
    xmp = catalog["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:part(>|=\")3", xmp) and re.search(r"pdfaid:conformance(>|=\")B", xmp)
    assert re.search(r"fx:ConformanceLevel(>|=\")EN 16931", xmp)
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Northwind Studio GmbH" in text and "Globex Handels GmbH" in text  # the visible pages are still text
    # The workspace can turn it off: a plain PDF again.
    await conn.execute("UPDATE workspaces SET einvoice_in_pdf = false")
    await conn.execute("UPDATE invoices SET version = version + 1")
    await settle()  # the page cache hears of the change
    plain = PdfReader(io.BytesIO((await client.get(f"/i/{links['open']}/pdf")).content))
    assert list(plain.attachments) == []


# Generated invoices: no database, the same document the pages use, every VAT category.
Line = tuple[Decimal, int, Decimal, str, str]  # quantity, unit price, rate, VAT category, unit


def in_memory(currency: str, lines: list[Line], *, paid: int = 0, buyer_vat: str = "FR40303265045") -> InvoiceDocument:
    stored = [
        InvoiceLine(index, 1, index, f"Item {index}", quantity, price, rate, unit_code=unit, tax_category=category)
        for index, (quantity, price, rate, category, unit) in enumerate(lines)
    ]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    invoice = Invoice(
        id=1, workspace_id=1, customer_id=1, number="INV-2026-0042", status="open", currency=currency, locale="en",
        issue_date=date(2026, 12, 1), due_date=date(2026, 12, 31), notes="Thank you.", payment_terms="Net 30",
        seller_snapshot={}, buyer_snapshot={}, version=1, issued_at=now, paid_at=None, voided_at=None, void_reason="",
        comment_mode="customer", comments_require_totp=False, comments_enabled=True, payments_enabled=True,
        thread_handled_through=0, created_at=now,
        vat_exemption_reason="Exempt under Article 132(1)(i) of Directive 2006/112/EC",
    )  # fmt: skip
    seller = Party(
        "Acme Billing GmbH", "", "DE123456789", "billing@acme.example",
        PostalAddress("Hauptstraße 1", "", "10115", "Berlin", "DE"),
        registration_id="HRB 1", contact_name="Bea", contact_phone="+49 30 1", contact_email="bea@acme.example",
        iban="DE89370400440532013000", bic="COBADEFFXXX",
    )  # fmt: skip
    buyer_address = PostalAddress("1 Rue de Rivoli", "", "75001", "Paris", "FR")
    buyer = Party("Customer SARL", "", buyer_vat, "ap@customer.example", buyer_address)
    totals = compute_totals(stored, currency)
    return InvoiceDocument(
        invoice=invoice, seller=seller, buyer=buyer, bank_transfer_instructions="", lines=stored, totals=totals,
        payments=[], amount_paid=min(paid, totals.total),
    )  # fmt: skip


_UNITS = st.sampled_from(["C62", "HUR", "DAY", "KGM", "MON", "LS"])
_QUANTITY = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(5000), places=4)
_PRICE = st.integers(min_value=1, max_value=2_000_000)
_STANDARD_RATES = st.sampled_from([Decimal(19), Decimal(7), Decimal("5.5"), Decimal(20), Decimal(25)])


@st.composite
def invoices(draw: st.DrawFn) -> InvoiceDocument:
    currency = draw(st.sampled_from(["EUR", "USD", "GBP", "CHF", "SEK", "PLN", "JPY"]))
    kind = draw(st.sampled_from(["domestic", "reverse-charge", "intra-eu", "export", "outside-scope"]))
    categories = {
        "domestic": ["S", "S", "Z", "E"], "reverse-charge": ["AE", "S"], "intra-eu": ["K", "S"], "export": ["G"],
        "outside-scope": ["O"],
    }[kind]  # fmt: skip
    count = draw(st.integers(min_value=1, max_value=draw(st.sampled_from([4, 12, 60]))))
    lines = []
    for _ in range(count):
        category = draw(st.sampled_from(categories))
        rate = draw(_STANDARD_RATES) if category == "S" else Decimal(0)
        lines.append((draw(_QUANTITY), draw(_PRICE), rate, category, draw(_UNITS)))
    for _ in range(draw(st.integers(min_value=0, max_value=2))):  # discounts: negative lines, smaller than the rest
        quantity, price, rate, category, _ = lines[0]
        discount = draw(st.integers(min_value=1, max_value=max(1, int(quantity * price) // 10)))
        lines.append((Decimal(1), -discount, rate, category, "C62"))
    document = in_memory(currency, lines, buyer_vat="" if kind == "export" else "FR40303265045")
    paid = draw(st.integers(min_value=0, max_value=max(0, document.totals.total)))
    return in_memory(currency, lines, paid=paid, buyer_vat="" if kind == "export" else "FR40303265045")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(document=invoices())
def test_generated_invoices_pass_the_en16931_rules_in_both_syntaxes(
    rules: Validator, document: InvoiceDocument
) -> None:
    if document.totals.total <= 0:
        return  # discounts larger than the lines: a credit note's case, not an invoice's
    assert lacking(document) == []
    einvoice = einvoice_of(document)
    assert valid(rules.cii(cii_xml(einvoice))) and valid(rules.ubl(ubl_xml(einvoice)))


def test_what_an_e_invoice_lacks_is_named_field_by_field() -> None:
    """The lacks the builder lists, one per rule a billing team can break (the rules would refuse the file)."""
    line = (Decimal(1), 10000, Decimal(19), "S", "C62")
    ready = in_memory("EUR", [line])
    assert lacking(ready) == []
    german = {(lack.where, lack.field) for lack in lacking(ready, xrechnung=True)}
    assert german == {("buyer", "buyer_reference")}  # the rest of XRechnung's needs are met by in_memory's seller

    bare_seller = replace(ready.seller, tax_id="123/456/78901", contact_name="", iban="", email="")
    unready = replace(ready, seller=bare_seller, buyer=replace(ready.buyer, buyer_reference="04011000-12345-06"))
    assert [(lack.where, lack.field) for lack in lacking(unready, xrechnung=True)] == [
        ("seller", "tax_id"),  # a VAT id starts with its country code
        ("seller", "contact_name"),
        ("seller", "iban"),
        ("seller", "email"),
    ]
    mixed = in_memory("EUR", [line, (Decimal(1), 500, Decimal(0), "O", "C62")])
    assert ("invoice", "tax_category") in {(lack.where, lack.field) for lack in lacking(mixed)}
    reverse = in_memory("EUR", [(Decimal(1), 500, Decimal(0), "AE", "C62")], buyer_vat="")
    assert [lack.message for lack in lacking(reverse)] == [
        "Reverse charge and intra-EU supplies need the customer's VAT id, starting with its country code."
    ]
    assert [lack.field for lack in lacking(in_memory("KWD", [line]))] == ["currency"]
