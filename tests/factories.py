"""Build invoices for tests through the same query functions the application uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg

from db.customers import insert_customer
from db.invoices import Invoice, NewLine, insert_invoice, insert_invoice_lines, issue_invoice
from db.links import revoke_link
from db.postal import PostalAddress
from db.workspaces import Workspace, insert_workspace
from tests.queries import select_invoice
from web.invoices.links import create_link
from web.invoices.totals import compute_totals

SELLER_VAT = "DE123456789"
BUYER_VAT = "FR40303265045"


@dataclass(frozen=True)
class Issued:
    invoice: Invoice
    token: str
    workspace: Workspace

    @property
    def url(self) -> str:
        return f"/i/{self.token}"


def line(description: str = "Consulting", quantity: str = "1", unit_price: int = 10000, rate: str = "19") -> NewLine:
    return NewLine(description, Decimal(quantity), unit_price, Decimal(rate))


async def workspace(conn: asyncpg.Connection, slug: str = "acme", **overrides: str) -> Workspace:
    values = dict(
        slug=slug,
        legal_name="Acme Billing GmbH",
        address="Hauptstraße 1\n10115 Berlin",
        tax_id=SELLER_VAT,
        email="billing@acme.example",
        default_currency="EUR",
        bank_transfer_instructions="IBAN DE89 3704 0044 0532 0130 00",
        # What an e-invoice needs besides (the same address in parts, the account, a contact).
        street="Hauptstraße 1", postcode="10115", city="Berlin", country_code="DE", iban="DE89370400440532013000",
        bic="COBADEFFXXX", contact_name="Bea Billing", contact_phone="+49 30 1234567", contact_email="bea@acme.example",
    )  # fmt: skip
    values.update(overrides)
    return await insert_workspace(conn, **values)  # type: ignore[arg-type]


async def invoice(
    conn: asyncpg.Connection,
    *,
    currency: str = "EUR",
    locale: str = "en",
    lines: list[NewLine] | None = None,
    issue: bool = True,
    expires_at: datetime | None = None,
    revoked: bool = False,
    ws: Workspace | None = None,
    buyer_name: str = "Customer SARL",
) -> Issued:
    ws = ws or await workspace(conn)
    customer = await insert_customer(
        conn, workspace_id=ws.id, name=buyer_name, email="ap@customer.example", tax_id=BUYER_VAT,
        billing_address="1 Rue de Rivoli\n75001 Paris", locale=locale,
        postal=PostalAddress("1 Rue de Rivoli", "", "75001", "Paris", "FR"),
    )  # fmt: skip
    draft = await insert_invoice(
        conn, workspace_id=ws.id, customer_id=customer.id, currency=currency, locale=locale,
        payment_terms="Net 30", notes="Thank you for your business.",
    )  # fmt: skip
    chosen = lines if lines is not None else [line(), line("Support", "2", 2500, "7")]
    await insert_invoice_lines(conn, draft.id, chosen)
    if issue:
        today = date.today()
        total = compute_totals(chosen, currency).total
        await issue_invoice(conn, draft.id, issue_date=today, due_date=today + timedelta(days=30), total=total)
    link = await create_link(conn, draft.id, expires_at=expires_at)
    if revoked:
        await revoke_link(conn, link.id)
    current = await select_invoice(conn, draft.id)
    assert current is not None
    return Issued(current, link.token, ws)


def yesterday() -> datetime:
    return datetime.now(UTC) - timedelta(days=1)
