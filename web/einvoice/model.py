"""The invoice document as EN 16931 sees it: the same parties, lines and totals the page and the PDF show (one set
of figures, `InvoiceDocument.totals`), in the semantic model's terms and decimal amounts. CII (cii.py) and UBL
(ubl.py) are two spellings of this one object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from db.postal import PostalAddress
from web.einvoice.codes import EXEMPTION_REASONS
from web.invoices.documents import InvoiceDocument, Party
from web.invoices.money import get_currency

# BT-24, the specification an e-invoice says it follows.
EN16931 = "urn:cen.eu:en16931:2017"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
# BT-23 for XRechnung (and Peppol): the billing process.
PEPPOL_BILLING = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


@dataclass(frozen=True, slots=True)
class EParty:
    name: str
    postal: PostalAddress
    vat_id: str  # BT-31 / BT-48
    tax_registration: str  # BT-32 (seller only)
    registration_id: str  # BT-30 / BT-47
    endpoint_id: str  # BT-34 / BT-49
    endpoint_scheme: str
    contact_name: str  # BG-6 (seller only)
    contact_phone: str
    contact_email: str


@dataclass(frozen=True, slots=True)
class ELine:
    number: int  # BT-126, from 1
    name: str  # BT-153
    quantity: Decimal  # BT-129: negative for a discount line (BR-27: a price is never negative)
    unit_code: str  # BT-130
    price: Decimal  # BT-146
    net: Decimal  # BT-131
    category: str  # BT-151
    rate: Decimal  # BT-152


@dataclass(frozen=True, slots=True)
class EBreakdown:
    """BG-23: one VAT category and rate."""

    category: str
    rate: Decimal
    taxable: Decimal  # BT-116
    tax: Decimal  # BT-117
    exemption_code: str  # BT-121
    exemption_reason: str  # BT-120


@dataclass(frozen=True, slots=True)
class EInvoice:
    number: str
    issue_date: date
    due_date: date | None
    delivery_date: date  # BT-72: the day of the supply, taken as the issue date
    currency: str
    notes: str
    payment_terms: str
    buyer_reference: str
    seller: EParty
    buyer: EParty
    lines: tuple[ELine, ...]
    breakdown: tuple[EBreakdown, ...]
    line_total: Decimal  # BT-106
    tax_total: Decimal  # BT-110
    grand_total: Decimal  # BT-112
    paid: Decimal  # BT-113
    due: Decimal  # BT-115
    payment_means: str  # BT-81: 58 SEPA credit transfer, 54 card, 1 not defined
    iban: str
    bic: str

    @property
    def categories(self) -> set[str]:
        return {line.category for line in self.lines}


def is_einvoice(document: InvoiceDocument) -> bool:
    """Whether the invoice can have an e-invoice at all: issued by the portal and not void (a void invoice is
    cancelled, not billed; an invoice made in Stripe has Stripe's figures, which e-invoices do not take yet)."""
    invoice = document.invoice
    return invoice.number is not None and invoice.status not in ("draft", "void") and invoice.source == "portal"


def einvoice_of(document: InvoiceDocument) -> EInvoice:
    """The issued invoice in EN 16931's terms. Call only when readiness.lacking() finds nothing: an invoice that
    lacks something yields a file the rules refuse."""
    invoice = document.invoice
    assert invoice.number is not None and invoice.issue_date is not None, "only issued invoices are e-invoices"
    amount = _amounts(invoice.currency)
    totals = document.totals
    # An invoice outside the scope of VAT names no VAT ids (BR-O-2, BR-O-3, BR-O-4).
    outside = {line.tax_category for line in document.lines} == {"O"}
    lines = tuple(
        ELine(
            number=index, name=line.description, quantity=-line.quantity if line.unit_price < 0 else line.quantity,
            unit_code=line.unit_code, price=amount(abs(line.unit_price)), net=amount(net),
            category=line.tax_category, rate=percent(line.tax_rate),
        )
        for index, (line, net) in enumerate(zip(document.lines, totals.line_nets, strict=True), start=1)
    )  # fmt: skip
    breakdown = tuple(
        EBreakdown(
            group.category, percent(group.rate), amount(group.net), amount(group.tax),
            *_exemption(group.category, invoice.vat_exemption_reason),
        )
        for group in totals.tax_groups
    )  # fmt: skip
    seller = document.seller
    return EInvoice(
        number=invoice.number, issue_date=invoice.issue_date, due_date=invoice.due_date,
        delivery_date=invoice.issue_date, currency=invoice.currency, notes=invoice.notes,
        payment_terms=invoice.payment_terms, buyer_reference=document.buyer.buyer_reference,
        seller=_party(seller, without_vat_id=outside), buyer=_party(document.buyer, without_vat_id=outside),
        lines=lines, breakdown=breakdown, line_total=amount(totals.net), tax_total=amount(totals.tax),
        grand_total=amount(totals.total), paid=amount(document.amount_paid),
        due=amount(totals.total - document.amount_paid),
        payment_means="58" if seller.iban else "54" if invoice.payments_enabled else "1",
        iban=seller.iban, bic=seller.bic,
    )  # fmt: skip


def vat_id(tax_id: str) -> str:
    """The tax id as a VAT identifier (BT-31, BT-48), or '' when it is not one: a VAT id starts with its country's
    ISO code (BR-CO-9; Greece's EL). A Japanese or Kuwaiti tax number stays on the printed page only."""
    compact = tax_id.replace(" ", "").replace(".", "").replace("-", "").upper()
    return compact if len(compact) > 2 and compact[:2].isalpha() and compact[:2].isascii() else ""


def _party(party: Party, *, without_vat_id: bool) -> EParty:
    # No electronic address of its own: the e-mail address, scheme EM.
    endpoint_id, scheme = (party.endpoint_id, party.endpoint_scheme) if party.endpoint_id else (party.email, "EM")
    return EParty(
        name=party.legal_name, postal=party.postal, vat_id="" if without_vat_id else vat_id(party.tax_id),
        tax_registration=party.tax_registration, registration_id=party.registration_id,
        endpoint_id=endpoint_id if endpoint_id else "", endpoint_scheme=scheme if endpoint_id else "",
        contact_name=party.contact_name, contact_phone=party.contact_phone, contact_email=party.contact_email,
    )  # fmt: skip


def _exemption(category: str, reason: str) -> tuple[str, str]:
    if category in EXEMPTION_REASONS:
        return EXEMPTION_REASONS[category]
    if category == "E":
        return "", reason or "Exempt from VAT"
    return "", ""  # S and Z carry no reason (BR-S-10, BR-Z-10)


def percent(rate: Decimal) -> Decimal:
    """A rate as XML writes it: 19.00, 7.125; never 1E+1 (a normalized 10)."""
    two = rate.quantize(Decimal("0.01"))
    return two if two == rate else rate.quantize(Decimal("0.001"))


def _amounts(currency: str) -> Callable[[int], Decimal]:
    """Minor units to the decimal amount an e-invoice writes (2 decimals for EUR, none for JPY)."""
    exponent = get_currency(currency).exponent

    def amount(minor: int) -> Decimal:
        return Decimal(minor).scaleb(-exponent) if exponent else Decimal(minor)

    return amount
