"""The invoice as a document: parties, lines, totals, payments and amount due, ready for the templates.

Issued invoices read seller and buyer from their snapshot; drafts (console preview) read the live records.
The same goes for the logo: an issued invoice shows the one it was issued with (none if issued before logos).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar, cast

from db.customers import select_customer
from db.invoices import Invoice, InvoiceLine, select_invoice_lines
from db.logos import select_workspace_logo_sha
from db.payments import Payment, amount_paid, select_succeeded_payments
from db.postal import PostalAddress
from db.rows import Connection
from db.stripe_connections import CardKeys, select_card_keys
from db.stripe_invoices import select_stripe_amounts
from db.workspaces import select_workspace
from web.i18n.wording import Wording, workspace_wording
from web.invoices.status import OWES_NOTHING, InvoiceStatus
from web.invoices.totals import TaxGroup, Totals, compute_totals

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Party:
    """Seller or buyer: what the document prints (name, address as text, VAT id, e-mail) and what an e-invoice
    needs besides (the address in parts and the rest of EN 16931's BG-4/BG-7; seller-only and buyer-only fields are
    empty on the other side)."""

    legal_name: str
    address: str
    tax_id: str
    email: str
    postal: PostalAddress = field(default_factory=PostalAddress)
    address_needs_review: bool = False  # split from the text automatically, not yet checked by a person
    endpoint_id: str = ""
    endpoint_scheme: str = ""
    tax_registration: str = ""
    registration_id: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    iban: str = ""
    bic: str = ""
    buyer_reference: str = ""

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any]) -> Party:
        """A snapshot taken at issue; one taken before e-invoices has only the first four."""
        text = {name: str(snapshot.get(name) or "") for name in _TEXT_FIELDS}
        postal = PostalAddress(*(str(snapshot.get(name) or "") for name in _POSTAL_FIELDS))
        return cls(**text, postal=postal, address_needs_review=bool(snapshot.get("address_needs_review")))

    @classmethod
    def of(cls, record: Any, **names: str) -> Party:
        """A live workspace or customer (a draft's preview); `names` maps Party's fields to the record's."""
        text = {name: str(getattr(record, names.get(name, name), "") or "") for name in _TEXT_FIELDS}
        postal = PostalAddress(*(str(getattr(record, name, "") or "") for name in _POSTAL_FIELDS))
        return cls(**text, postal=postal, address_needs_review=bool(getattr(record, "address_needs_review", False)))


_POSTAL_FIELDS = ("street", "street_extra", "postcode", "city", "country_code")
_TEXT_FIELDS = (
    "legal_name", "address", "tax_id", "email", "endpoint_id", "endpoint_scheme", "tax_registration",
    "registration_id", "contact_name", "contact_phone", "contact_email", "iban", "bic", "buyer_reference",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    invoice: Invoice
    seller: Party
    buyer: Party
    bank_transfer_instructions: str
    lines: list[InvoiceLine]
    totals: Totals
    payments: list[Payment]
    amount_paid: int
    # The logo's SHA-256 (hex): content-addressed, so it also names the exact image this invoice shows.
    logo_sha: str | None = None
    # The workspace's default language: the page's and the document's when the invoice's own has no catalog.
    workspace_locale: str = "en"
    # The workspace's own wording of customer-facing texts, by language (web.i18n.wording).
    wording: Wording = field(default_factory=dict)
    # Which Stripe account, if any, takes the workspace's card payments (web.stripe.accounts.publishable_key_for).
    card_keys: CardKeys = field(default_factory=lambda: CardKeys(None, True))
    # An invoice made in Stripe Invoicing: Stripe's links and whether its last payment attempt failed.
    stripe: StripeCopy | None = None
    # The workspace's choice: the PDF carries the e-invoice (Factur-X) when the invoice can be one.
    einvoice_in_pdf: bool = True
    # What is worked out from the document once and asked on every request for it (the PDF cache's key for its
    # words and kind, the e-invoice files): the document is cached and never changes, so neither does this.
    derived: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    def remembered(self, key: str, make: Callable[[], T]) -> T:
        """`make()` the first time `key` is asked of this document, the same value after that (each key names
        one kind of value)."""
        if key not in self.derived:
            self.derived[key] = make()
        return cast(T, self.derived[key])

    @property
    def amount_due(self) -> int:
        if self.stripe is not None:
            # Stripe's own figure: a credit note or the customer's credit balance lowers it, not the total.
            return 0 if self.invoice.status in OWES_NOTHING else self.stripe.amount_remaining
        return amount_due(self.invoice.status, self.totals.total, self.amount_paid)

    def is_overdue(self, today: date) -> bool:
        return is_overdue(self.invoice, self.amount_due, today)


def is_overdue(invoice: Invoice, due: int, today: date) -> bool:
    """Open, something still due, and past its due date: the customer's page and the console say "Overdue" by it."""
    return (
        invoice.status == InvoiceStatus.OPEN and invoice.due_date is not None and invoice.due_date < today and due > 0
    )


def amount_due(status: str, total: int, paid: int) -> int:
    """What is still to pay: nothing on a draft or a void invoice, never below zero (an overpayment is refunded)."""
    if status in OWES_NOTHING:
        return 0
    return max(total - paid, 0)


async def load_document(conn: Connection, invoice: Invoice) -> InvoiceDocument:
    lines = await select_invoice_lines(conn, invoice.id)
    payments = await select_succeeded_payments(conn, invoice.id)
    workspace = await select_workspace(conn, invoice.workspace_id)
    assert workspace is not None  # a foreign key guarantees it
    if invoice.seller_snapshot is not None and invoice.buyer_snapshot is not None:
        seller = Party.from_snapshot(invoice.seller_snapshot)
        buyer = Party.from_snapshot(invoice.buyer_snapshot)
        bank = str(invoice.seller_snapshot.get("bank_transfer_instructions", ""))
        snapshot_logo = invoice.seller_snapshot.get("logo_sha")
        logo_sha = snapshot_logo if isinstance(snapshot_logo, str) else None
    else:
        customer = await select_customer(conn, invoice.workspace_id, invoice.customer_id)
        assert customer is not None  # a foreign key guarantees it
        seller = Party.of(workspace)
        buyer = Party.of(customer, legal_name="name", address="billing_address")
        bank = workspace.bank_transfer_instructions
        logo_sha = await select_workspace_logo_sha(conn, invoice.workspace_id)
    totals = compute_totals(lines, invoice.currency)
    paid = amount_paid(payments)
    stripe = None
    if invoice.source == "stripe" and (amounts := await select_stripe_amounts(conn, invoice.id)) is not None:
        # Stripe is the ledger of record for its invoices: its amounts, never ours recomputed.
        totals, paid = stripe_totals(lines, amounts), int(amounts["amount_paid"])
        stripe = StripeCopy(
            amounts["account_id"], int(amounts["amount_remaining"]), amounts["hosted_invoice_url"],
            amounts["invoice_pdf"], amounts["payment_failed"],
        )  # fmt: skip
    return InvoiceDocument(
        invoice=invoice,
        seller=seller,
        buyer=buyer,
        bank_transfer_instructions=bank,
        lines=lines,
        totals=totals,
        payments=payments,
        amount_paid=paid,
        logo_sha=logo_sha,
        workspace_locale=workspace.default_locale,
        wording=await workspace_wording(conn, invoice.workspace_id),
        card_keys=await select_card_keys(conn, invoice.workspace_id),
        stripe=stripe,
        einvoice_in_pdf=workspace.einvoice_in_pdf,
    )


@dataclass(frozen=True, slots=True)
class StripeCopy:
    account_id: str  # the Stripe account the invoice lives in
    amount_remaining: int
    hosted_invoice_url: str
    invoice_pdf: str
    payment_failed: bool


def stripe_totals(lines: list[InvoiceLine], amounts: dict[str, Any]) -> Totals:
    groups = tuple(
        TaxGroup(Decimal(group["rate"]), int(group["net"]), int(group["tax"])) for group in amounts["tax_groups"]
    )
    nets = tuple(line.stripe_net if line.stripe_net is not None else 0 for line in lines)
    return Totals(nets, groups, int(amounts["net"]), int(amounts["tax"]), int(amounts["total"]))
