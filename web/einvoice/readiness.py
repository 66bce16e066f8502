"""What an invoice still lacks to be an e-invoice the rules accept, in plain words, each named by the form field that
fixes it: the builder lists them before sending, and no file is made while any remain. These are the EN 16931
rules a billing team can break by leaving something out (the others hold by construction, and the Schematron in
the tests proves it); `xrechnung` adds what German public buyers require (BR-DE-*)."""

from __future__ import annotations

from dataclasses import dataclass

from web.einvoice.model import is_einvoice, vat_id
from web.invoices.documents import InvoiceDocument, Party
from web.invoices.money import get_currency

# Where a lack is fixed: the seller's in settings, the buyer's on the customer's page, the rest in the builder.
SELLER, BUYER, INVOICE = "seller", "buyer", "invoice"


@dataclass(frozen=True, slots=True)
class Lack:
    where: str  # SELLER, BUYER or INVOICE
    field: str  # the form field that fixes it
    message: str


def lacking(document: InvoiceDocument, *, xrechnung: bool = False) -> list[Lack]:
    invoice, seller, buyer = document.invoice, document.seller, document.buyer
    categories = {line.tax_category for line in document.lines}
    found = [*_address(SELLER, seller, "your"), *_address(BUYER, buyer, "the customer's")]
    if get_currency(invoice.currency).exponent > 2:
        found.append(Lack(INVOICE, "currency", f"E-invoices carry at most 2 decimals: {invoice.currency} has 3."))
    if not document.lines:
        found.append(Lack(INVOICE, "lines", "An e-invoice needs at least one line."))
    if categories == {"O"}:
        if not seller.registration_id:
            found.append(Lack(SELLER, "registration_id", "Outside the scope of VAT, the invoice names no VAT id: "
                              "enter your company registration instead."))  # fmt: skip
    elif "O" in categories:
        found.append(Lack(INVOICE, "tax_category", "A line outside the scope of VAT cannot share an invoice with "
                          "lines that are: make it an invoice of its own."))  # fmt: skip
    elif seller.tax_id and not vat_id(seller.tax_id):
        found.append(Lack(SELLER, "tax_id", "Your VAT id must start with its country code, e.g. DE123456789."))
    elif not (seller.tax_id or seller.tax_registration):
        found.append(Lack(SELLER, "tax_id", "Enter your VAT id (or at least your tax number)."))
    if categories & {"K", "G"} and not vat_id(seller.tax_id):
        found.append(Lack(SELLER, "tax_id", "Intra-EU supplies and exports need your VAT id."))
    if categories & {"AE", "K"} and not vat_id(buyer.tax_id):
        found.append(Lack(BUYER, "tax_id", "Reverse charge and intra-EU supplies need the customer's VAT id, "
                          "starting with its country code."))  # fmt: skip
    if "E" in categories and not invoice.vat_exemption_reason:
        found.append(Lack(INVOICE, "vat_exemption_reason", "Say why the exempt lines are exempt (the legal basis)."))
    if document.amount_due and invoice.due_date is None and not invoice.payment_terms:
        found.append(Lack(INVOICE, "due_date", "Give a due date or payment terms."))
    if xrechnung:
        found += xrechnung_lacking(document)
    return found


def ready(document: InvoiceDocument) -> bool:
    """Whether the invoice is an e-invoice now (UBL and CII, and a Factur-X PDF when the workspace wants one)."""
    return is_einvoice(document) and not lacking(document)


def _address(where: str, party: Party, whose: str) -> list[Lack]:
    postal = party.postal
    found = []
    if not postal.country_code:
        found.append(Lack(where, "country_code", f"Choose {whose} country."))
    if not postal.city:
        found.append(Lack(where, "city", f"Enter {whose} city."))
    return found


def xrechnung_lacking(document: InvoiceDocument) -> list[Lack]:
    """XRechnung's own rules a billing team can break (BR-DE-1, 2, 3, 4, 5, 6, 7, 15, 23, and the electronic
    addresses XRechnung 3 requires)."""
    seller = document.seller
    found = []
    if not document.buyer.buyer_reference:
        found.append(Lack(BUYER, "buyer_reference", "XRechnung needs the buyer reference (the Leitweg-ID)."))
    for field, text in (("contact_name", "a contact person"), ("contact_phone", "a contact phone number"),
                        ("contact_email", "a contact e-mail address")):  # fmt: skip
        if not getattr(seller, field):
            found.append(Lack(SELLER, field, f"XRechnung needs {text} for your company."))
    if not seller.postal.postcode:
        found.append(Lack(SELLER, "postcode", "XRechnung needs your postcode."))
    if not document.buyer.postal.postcode:
        found.append(Lack(BUYER, "postcode", "XRechnung needs the customer's postcode."))
    if not seller.iban:
        found.append(Lack(SELLER, "iban", "XRechnung needs payment instructions: enter your IBAN."))
    # BT-34 and BT-49: an electronic address each (the e-mail address serves, scheme EM).
    if not (seller.endpoint_id or seller.email):
        found.append(Lack(SELLER, "email", "XRechnung needs your electronic address: a billing e-mail will do."))
    if not (document.buyer.endpoint_id or document.buyer.email):
        found.append(Lack(BUYER, "email", "XRechnung needs the customer's electronic address or e-mail."))
    return found
