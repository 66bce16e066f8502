"""E-invoices in the console (issue 18): the builder takes a unit and a VAT category per line and refuses a rate that
contradicts the category; before sending it lists what an e-invoice still lacks, in plain words, each with where to
fix it; a sent invoice offers its files, or says why it cannot (409, never a file the rules would refuse)."""

from __future__ import annotations

import asyncpg
import httpx
from bs4 import BeautifulSoup

from tests.conftest import MovableClock
from tests.console import errors_of
from tests.mailbox import Mailbox
from tests.test_console_builder import billing, new_customer, new_draft

Line = tuple[str, str, str, str, str, str]  # description, quantity, price, rate, unit, VAT category
LINE_FIELDS = ("description", "quantity", "unit_price", "tax_rate", "unit_code", "tax_category")


def draft_form(
    csrf: str, customer_id: int, lines: list[Line], action: str = "save", **header: str
) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf": csrf, "action": action, "customer_id": str(customer_id), "currency": "EUR", "locale": "en_IE",
        "issue_date": "", "due_date": "", "notes": "", "payment_terms": "Net 30", "vat_exemption_reason": "",
        "line_key": [f"key{index:04d}" for index in range(len(lines))], **header,
    }  # fmt: skip
    for index, values in enumerate(lines):
        for name, value in zip(LINE_FIELDS, values, strict=True):
            form[f"line-key{index:04d}-{name}"] = value
    return form


def lacks_of(html: str) -> list[str]:
    return [str(item["data-lack"]) for item in BeautifulSoup(html, "html.parser").select("[data-lack]")]


async def test_the_builder_takes_units_and_categories_and_lists_what_an_e_invoice_lacks(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock, mailbox: Mailbox
) -> None:
    _ws, csrf = await billing(client, conn, clock)
    # A customer with no VAT id and no country yet.
    customer_id = await new_customer(client, csrf, tax_id="", street="", postcode="", city="", country_code="")
    draft_id = await new_draft(client, csrf, customer_id)
    url = f"/console/invoices/{draft_id}/draft"

    contradictions = await client.post(url, data=draft_form(csrf, customer_id, [
        ("Consulting", "2", "100", "19", "HUR", "AE"),  # reverse charge at 19 %
        ("Licence", "1", "50", "0", "ANN", "S"),  # standard rate at 0 %
        ("Widget", "1", "5", "19", "XYZ", "S"),  # no such unit
    ]))  # fmt: skip
    errors = " ".join(errors_of(contradictions.text))
    assert "A line that is reverse charge has 0 % VAT." in errors
    assert "A standard-rated line needs a VAT rate above 0 %." in errors
    assert "Choose the unit from the list." in errors

    saved = await client.post(url, data=draft_form(csrf, customer_id, [
        ("Consulting", "2", "100", "0", "HUR", "AE"), ("Exempt training", "1", "50", "0", "DAY", "E"),
    ]))  # fmt: skip
    assert saved.status_code == 303, errors_of(saved.text)
    lines = await conn.fetch(
        "SELECT unit_code, tax_category FROM invoice_lines WHERE invoice_id = $1 ORDER BY position", draft_id
    )
    assert [tuple(line) for line in lines] == [("HUR", "AE"), ("DAY", "E")]
    page = await client.get(f"/console/invoices/{draft_id}")
    assert lacks_of(page.text) == [
        "buyer:country_code", "buyer:city", "buyer:tax_id", "invoice:vat_exemption_reason",
    ]  # fmt: skip
    listed = BeautifulSoup(page.text, "html.parser").select_one("[data-einvoice-lacks]")
    assert listed is not None and "Reverse charge and intra-EU supplies need the customer's VAT id" in listed.get_text()
    assert listed.select_one('[data-lack="buyer:tax_id"] a')["href"] == f"/console/customers/{customer_id}#tax_id"  # type: ignore[index]

    # Fixed where the page says: the customer's page, and the builder's own field.
    fixed = await client.post(f"/console/customers/{customer_id}", data={
        "csrf": csrf, "name": "Customer SARL", "email": "ap@customer.example", "street": "1 Rue de Rivoli",
        "postcode": "75001", "city": "Paris", "country_code": "FR", "tax_id": "FR40303265045", "locale": "en_IE",
    })  # fmt: skip
    assert fixed.status_code == 303
    reason = "Exempt under Article 132(1)(i) of Directive 2006/112/EC"
    await client.post(url, data=draft_form(csrf, customer_id, [
        ("Consulting", "2", "100", "0", "HUR", "AE"), ("Exempt training", "1", "50", "0", "DAY", "E"),
    ], vat_exemption_reason=reason))  # fmt: skip
    ready = await client.get(f"/console/invoices/{draft_id}")
    assert lacks_of(ready.text) == []
    sent = await client.post(url, data=draft_form(csrf, customer_id, [
        ("Consulting", "2", "100", "0", "HUR", "AE"), ("Exempt training", "1", "50", "0", "DAY", "E"),
    ], action="send", vat_exemption_reason=reason))  # fmt: skip
    assert sent.status_code in (200, 204, 303), errors_of(sent.text)
    detail = await client.get(f"/console/invoices/{draft_id}")
    offered = [a["href"] for a in BeautifulSoup(detail.text, "html.parser").select("#einvoice a[download]")]
    assert offered == [f"/console/invoices/{draft_id}/e-invoice/ubl", f"/console/invoices/{draft_id}/e-invoice/cii"]
    ubl = await client.get(f"/console/invoices/{draft_id}/e-invoice/ubl")
    assert ubl.status_code == 200 and b"<cbc:TaxExemptionReason>" + reason.encode() in ubl.content
    # No Leitweg-ID: no XRechnung, and the answer says why.
    refused = await client.get(f"/console/invoices/{draft_id}/e-invoice/xrechnung")
    assert refused.status_code == 409
    assert "XRechnung needs the buyer reference" in BeautifulSoup(refused.text, "html.parser").get_text()


async def test_an_invoice_issued_without_what_an_e_invoice_needs_says_so(
    client: httpx.AsyncClient, conn: asyncpg.Connection, clock: MovableClock
) -> None:
    """Issued before e-invoices (its snapshot has the typed address only): the page says what it was issued without,
    and no file is made."""
    ws, _csrf = await billing(client, conn, clock)
    from tests import factories

    issued = await factories.invoice(conn, ws=ws)
    await conn.execute(
        "UPDATE invoices SET buyer_snapshot = buyer_snapshot - 'country_code' - 'city' WHERE id = $1", issued.invoice.id
    )
    detail = await client.get(f"/console/invoices/{issued.invoice.id}")
    assert lacks_of(detail.text) == ["buyer:country_code", "buyer:city"]
    assert "it was issued without" in detail.text
    refused = await client.get(f"/console/invoices/{issued.invoice.id}/e-invoice/cii")
    assert refused.status_code == 409
    assert "Choose the customer's country." in BeautifulSoup(refused.text, "html.parser").get_text()
    assert (await client.get(f"/i/{issued.token}/e-invoice/ubl")).status_code == 409
