"""An e-invoice as OASIS UBL 2.1 Invoice, EN 16931's other syntax (Peppol's, and XRechnung's UBL flavour). No
package on the registries writes UBL, so it is written here with lxml, element by element in the order the UBL
schema requires; the XSD and the EN 16931 Schematron check the result in the tests."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from web.einvoice.model import EN16931, EInvoice, EParty

_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_NSMAP = {None: _INVOICE, "cac": _CAC, "cbc": _CBC}


def ubl_xml(einvoice: EInvoice) -> bytes:
    root = etree.Element(f"{{{_INVOICE}}}Invoice", nsmap=_NSMAP)  # type: ignore[arg-type]  # lxml-stubs: no None key
    cur = einvoice.currency
    _cbc(root, "CustomizationID", EN16931)
    _cbc(root, "ID", einvoice.number)
    _cbc(root, "IssueDate", einvoice.issue_date.isoformat())
    if einvoice.due_date is not None:
        _cbc(root, "DueDate", einvoice.due_date.isoformat())
    _cbc(root, "InvoiceTypeCode", "380")
    if einvoice.notes:
        _cbc(root, "Note", einvoice.notes)
    _cbc(root, "DocumentCurrencyCode", cur)
    if einvoice.buyer_reference:
        _cbc(root, "BuyerReference", einvoice.buyer_reference)
    _party(_cac(_cac(root, "AccountingSupplierParty"), "Party"), einvoice.seller, seller=True)
    _party(_cac(_cac(root, "AccountingCustomerParty"), "Party"), einvoice.buyer, seller=False)

    delivery = _cac(root, "Delivery")
    _cbc(delivery, "ActualDeliveryDate", einvoice.delivery_date.isoformat())
    if "K" in einvoice.categories:  # BR-IC-12: an intra-EU supply names the country delivered to
        address = _cac(_cac(delivery, "DeliveryLocation"), "Address")
        _cbc(_cac(address, "Country"), "IdentificationCode", einvoice.buyer.postal.country_code)

    means = _cac(root, "PaymentMeans")
    _cbc(means, "PaymentMeansCode", einvoice.payment_means)
    _cbc(means, "PaymentID", einvoice.number)
    if einvoice.iban:
        account = _cac(means, "PayeeFinancialAccount")
        _cbc(account, "ID", einvoice.iban)
        if einvoice.bic:
            _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", einvoice.bic)
    if einvoice.payment_terms:
        _cbc(_cac(root, "PaymentTerms"), "Note", einvoice.payment_terms)

    tax_total = _cac(root, "TaxTotal")
    _amount(tax_total, "TaxAmount", einvoice.tax_total, cur)
    for group in einvoice.breakdown:
        subtotal = _cac(tax_total, "TaxSubtotal")
        _amount(subtotal, "TaxableAmount", group.taxable, cur)
        _amount(subtotal, "TaxAmount", group.tax, cur)
        category = _cac(subtotal, "TaxCategory")
        _cbc(category, "ID", group.category)
        if group.category != "O":  # outside the scope of VAT, no rate at all (BR-O-9)
            _cbc(category, "Percent", _plain(group.rate))
        if group.exemption_code:
            _cbc(category, "TaxExemptionReasonCode", group.exemption_code)
        if group.exemption_reason:
            _cbc(category, "TaxExemptionReason", group.exemption_reason)
        _cbc(_cac(category, "TaxScheme"), "ID", "VAT")

    sums = _cac(root, "LegalMonetaryTotal")
    _amount(sums, "LineExtensionAmount", einvoice.line_total, cur)
    _amount(sums, "TaxExclusiveAmount", einvoice.line_total, cur)
    _amount(sums, "TaxInclusiveAmount", einvoice.grand_total, cur)
    if einvoice.paid:
        _amount(sums, "PrepaidAmount", einvoice.paid, cur)
    _amount(sums, "PayableAmount", einvoice.due, cur)

    for line in einvoice.lines:
        node = _cac(root, "InvoiceLine")
        _cbc(node, "ID", str(line.number))
        _cbc(node, "InvoicedQuantity", _plain(line.quantity), unitCode=line.unit_code)
        _amount(node, "LineExtensionAmount", line.net, cur)
        item = _cac(node, "Item")
        _cbc(item, "Name", line.name)
        classified = _cac(item, "ClassifiedTaxCategory")
        _cbc(classified, "ID", line.category)
        if line.category != "O":
            _cbc(classified, "Percent", _plain(line.rate))
        _cbc(_cac(classified, "TaxScheme"), "ID", "VAT")
        _amount(_cac(node, "Price"), "PriceAmount", line.price, cur)
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return xml


def _party(node: etree._Element, party: EParty, *, seller: bool) -> None:
    if party.endpoint_id:
        _cbc(node, "EndpointID", party.endpoint_id, schemeID=party.endpoint_scheme)
    postal = party.postal
    address = _cac(node, "PostalAddress")
    if postal.street:
        _cbc(address, "StreetName", postal.street)
    if postal.street_extra:
        _cbc(address, "AdditionalStreetName", postal.street_extra)
    if postal.city:
        _cbc(address, "CityName", postal.city)
    if postal.postcode:
        _cbc(address, "PostalZone", postal.postcode)
    _cbc(_cac(address, "Country"), "IdentificationCode", postal.country_code)
    if party.vat_id:
        scheme = _cac(node, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", party.vat_id)
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    if seller and party.tax_registration:  # BT-32: a tax scheme other than VAT
        scheme = _cac(node, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", party.tax_registration)
        _cbc(_cac(scheme, "TaxScheme"), "ID", "FC")
    legal = _cac(node, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)
    if party.registration_id:
        _cbc(legal, "CompanyID", party.registration_id)
    if seller and (party.contact_name or party.contact_phone or party.contact_email):
        contact = _cac(node, "Contact")
        for name, value in (("Name", party.contact_name), ("Telephone", party.contact_phone),
                            ("ElectronicMail", party.contact_email)):  # fmt: skip
            if value:
                _cbc(contact, name, value)


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{_CAC}}}{name}")


def _cbc(parent: etree._Element, name: str, text: str, **attributes: str) -> etree._Element:
    node = etree.SubElement(parent, f"{{{_CBC}}}{name}", attributes)
    node.text = text
    return node


def _amount(parent: etree._Element, name: str, value: Decimal, currency: str) -> None:
    _cbc(parent, name, _plain(value), currencyID=currency)


def _plain(value: Decimal) -> str:
    return format(value, "f")
