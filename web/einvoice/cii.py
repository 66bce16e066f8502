"""An e-invoice as UN/CEFACT Cross Industry Invoice (CII D16B), the syntax of Factur-X / ZUGFeRD (EN 16931 level)
and of XRechnung's CII flavour, built with drafthorse (which checks the Factur-X XSD as it serializes)."""

from __future__ import annotations

from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import PostalTradeAddress, TaxRegistration, TradeParty
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem

from web.einvoice.model import EN16931, PEPPOL_BILLING, XRECHNUNG, EInvoice, EParty

INVOICE = "380"  # UNTDID 1001: commercial invoice


def cii_xml(einvoice: EInvoice, *, xrechnung: bool = False) -> bytes:
    doc = Document()
    doc.context.guideline_parameter.id = XRECHNUNG if xrechnung else EN16931
    if xrechnung:
        doc.context.business_parameter.id = PEPPOL_BILLING
    doc.header.id = einvoice.number
    doc.header.type_code = INVOICE
    doc.header.issue_date_time = einvoice.issue_date
    if einvoice.notes:
        note = IncludedNote()
        note.content = einvoice.notes
        doc.header.notes.add(note)
    for line in einvoice.lines:
        item = LineItem()
        item.document.line_id = str(line.number)
        item.product.name = line.name
        item.agreement.net.amount = line.price
        item.delivery.billed_quantity = (line.quantity, line.unit_code)
        item.settlement.trade_tax.type_code = "VAT"
        item.settlement.trade_tax.category_code = line.category
        if line.category != "O":  # outside the scope of VAT, no rate at all (BR-O-5)
            item.settlement.trade_tax.rate_applicable_percent = line.rate
        item.settlement.monetary_summation.total_amount = line.net
        doc.trade.items.add(item)

    agreement = doc.trade.agreement
    if einvoice.buyer_reference:
        agreement.buyer_reference = einvoice.buyer_reference
    _party(agreement.seller, einvoice.seller, seller=True)
    _party(agreement.buyer, einvoice.buyer, seller=False)
    doc.trade.delivery.event.occurrence = einvoice.delivery_date
    if "K" in einvoice.categories:  # BR-IC-12: an intra-EU supply names the country delivered to
        doc.trade.delivery.ship_to.address.country_id = einvoice.buyer.postal.country_code

    settlement = doc.trade.settlement
    settlement.currency_code = einvoice.currency
    settlement.payment_reference = einvoice.number
    means = PaymentMeans()
    means.type_code = einvoice.payment_means
    if einvoice.iban:
        means.payee_account.iban = einvoice.iban
        if einvoice.bic:
            means.payee_institution.bic = einvoice.bic
    settlement.payment_means.add(means)
    for group in einvoice.breakdown:
        tax = ApplicableTradeTax()
        tax.calculated_amount = group.tax
        tax.type_code = "VAT"
        if group.exemption_reason:
            tax.exemption_reason = group.exemption_reason
        tax.basis_amount = group.taxable
        tax.category_code = group.category
        if group.exemption_code:
            tax.exemption_reason_code = group.exemption_code
        if group.category != "O":
            tax.rate_applicable_percent = group.rate
        settlement.trade_tax.add(tax)
    if einvoice.due_date is not None or einvoice.payment_terms:
        terms = PaymentTerms()
        if einvoice.payment_terms:
            terms.description = einvoice.payment_terms
        if einvoice.due_date is not None:
            terms.due = einvoice.due_date
        settlement.terms.add(terms)
    sums = settlement.monetary_summation
    sums.line_total = einvoice.line_total
    sums.tax_basis_total = einvoice.line_total
    sums.tax_total = (einvoice.tax_total, einvoice.currency)
    sums.grand_total = einvoice.grand_total
    sums.prepaid_total = einvoice.paid
    sums.due_amount = einvoice.due
    xml: bytes = doc.serialize(schema="FACTUR-X_EN16931")
    return xml


def _party(target: TradeParty, party: EParty, *, seller: bool) -> None:
    target.name = party.name
    if party.registration_id:
        target.legal_organization.id = party.registration_id
    if seller and (party.contact_name or party.contact_phone or party.contact_email):
        if party.contact_name:
            target.contact.person_name = party.contact_name
        if party.contact_phone:
            target.contact.telephone.number = party.contact_phone
        if party.contact_email:
            target.contact.email.address = party.contact_email
    _address(target.address, party)
    if party.endpoint_id:
        target.electronic_address.uri_ID = (party.endpoint_scheme, party.endpoint_id)
    if party.vat_id:
        registration = TaxRegistration()
        registration.id = ("VA", party.vat_id)
        target.tax_registrations.add(registration)
    if seller and party.tax_registration:
        registration = TaxRegistration()
        registration.id = ("FC", party.tax_registration)
        target.tax_registrations.add(registration)


def _address(target: PostalTradeAddress, party: EParty) -> None:
    postal = party.postal
    if postal.postcode:
        target.postcode = postal.postcode
    if postal.street:
        target.line_one = postal.street
    if postal.street_extra:
        target.line_two = postal.street_extra
    if postal.city:
        target.city_name = postal.city
    target.country_id = postal.country_code
