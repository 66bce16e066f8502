"""Demo data for `make demo`: one workspace and an invoice per interesting case, loaded idempotently.

Each demo invoice carries an import_key ("demo:<label>"), so a second run finds what the first one made
and prints the same links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg

from db.comments import insert_comment
from db.customers import Customer, insert_customer
from db.embed import rotate_embed_secret, save_allowed_origins, select_embed_settings
from db.invoices import (
    NewLine,
    insert_invoice,
    insert_invoice_lines,
    issue_invoice,
    select_invoice_by_import_key,
    set_comment_settings,
    void_invoice,
)
from db.links import revoke_link, select_links_for_invoice
from db.payments import insert_settled_payment
from db.postal import PostalAddress
from db.rows import Connection
from db.session import lock_for_transaction
from db.workspaces import insert_workspace, select_workspace_by_slug
from web.console.party_fields import printed_address
from web.invoices.documents import load_document
from web.invoices.links import create_link
from web.invoices.totals import compute_totals
from web.payments.settlement import settle
from web.secret_box import SecretBox


@dataclass(frozen=True)
class DemoInvoice:
    label: str
    currency: str
    customer: str
    lines: list[NewLine]
    final: str = "open"  # open, partial, paid, void
    link: str = "live"  # live, expired, revoked
    terms: str = "Payable within 30 days of the issue date without deduction."
    notes: str = ""
    due_in_days: int = 30
    extra: dict[str, str] = field(default_factory=dict)
    # Comments already in the thread: (role, name, text). The demo workspace lets any verified address write
    # ("otp"), so anyone can try the thread; the code is printed in the log when no SMTP_URL is set.
    thread: tuple[tuple[str, str, str], ...] = ()
    comments_require_totp: bool = False


def _line(
    description: str, quantity: str, unit_price: int, rate: str, unit: str = "C62", category: str = "S"
) -> NewLine:
    return NewLine(description, Decimal(quantity), unit_price, Decimal(rate), unit, category)


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    email: str
    locale: str
    tax_id: str
    postal: PostalAddress
    buyer_reference: str = ""
    endpoint_id: str = ""
    endpoint_scheme: str = ""


_CUSTOMERS = {
    "globex": DemoCustomer("Globex Handels GmbH", "ap@globex.example", "de_DE", "DE298765432",
                           PostalAddress("Friedrichstraße 120", "Accounts Payable", "10117", "Berlin", "DE"),
                           buyer_reference="PO-2291"),
    "kanagawa": DemoCustomer("Kanagawa Trading K.K.", "keiri@kanagawa.example", "ja_JP", "T1234567890123",
                             PostalAddress("2-1 Minatomirai", "Nishi-ku", "220-0012", "Yokohama", "JP")),
    "gulf": DemoCustomer("Gulf Harbour Logistics W.L.L.", "finance@gulfharbour.example", "en", "KW300012345",
                         PostalAddress("Block 3, Street 14", "Shuwaikh Industrial", "", "Kuwait City", "KW")),
    # A German public buyer: XRechnung with its Leitweg-ID as buyer reference and electronic address.
    "bund": DemoCustomer("Bundesamt für Beispielwesen", "rechnungseingang@bundesamt.example", "de_DE", "",
                         PostalAddress("Musterweg 5", "Referat Z 1", "53113", "Bonn", "DE"),
                         buyer_reference="04011000-12345-06", endpoint_id="04011000-12345-06", endpoint_scheme="0204"),
    # Another EU business: services under the reverse charge.
    "lyon": DemoCustomer("Atelier Lyonnais SAS", "compta@atelier-lyonnais.example", "fr_FR", "FR40303265045",
                         PostalAddress("12 Rue de la République", "", "69002", "Lyon", "FR")),
    # Outside the EU: an export, zero-rated.
    "boston": DemoCustomer("Harbor Analytics Inc.", "ap@harbor-analytics.example", "en_US", "",
                           PostalAddress("100 Federal Street", "Floor 20", "02110", "Boston", "US")),
}  # fmt: skip

_STANDARD_LINES = [
    _line("Design sprint: discovery workshop (2 days)", "2", 120000, "19"),
    _line("Invoice portal integration, fixed fee", "1", 450000, "19"),
    _line("Technical handbook, printed copies", "12", 2450, "7"),
]

_OPEN_THREAD = (
    ("customer", "Jana Weber", "Could you add our purchase order number PO-2291 as a reference?"),
    (
        "staff",
        "Sam (Northwind billing)",
        "Of course: quote PO-2291 with your transfer and we will match it.\nPayment details: https://northwind.example/pay",
    ),
)
DEMO_INVOICES = [
    DemoInvoice("open", "EUR", "globex", _STANDARD_LINES, thread=_OPEN_THREAD),
    DemoInvoice("partial", "EUR", "globex", _STANDARD_LINES[1:], final="partial", comments_require_totp=True),
    DemoInvoice("paid", "EUR", "globex", _STANDARD_LINES[:2], final="paid"),
    DemoInvoice("void", "EUR", "globex", _STANDARD_LINES[1:], final="void"),
    DemoInvoice(
        "jpy", "JPY", "kanagawa",
        [_line("Localisation review (hours)", "14.5", 9800, "10"), _line("Reference books", "3", 3300, "8")],
    ),
    DemoInvoice(
        "kwd", "KWD", "gulf",
        [_line("Freight consulting (days)", "3", 185250, "0", "DAY", "G"),
         _line("Customs filing", "1", 42125, "0", "C62", "G")],
    ),
    DemoInvoice(
        "long", "EUR", "globex",
        [_line(f"Support ticket #{4100 + n}: {topic}", str(1 + n % 3), 4500 + 250 * (n % 7), "19" if n % 5 else "7")
         for n, topic in enumerate(["configuration", "data import", "training", "report", "integration"] * 13)],
        notes="Detailed statement of support work for the quarter.",
    ),
    DemoInvoice(
        "xrechnung", "EUR", "bund",
        [_line("Accessibility audit of the public portal", "6", 95000, "19", "DAY"),
         _line("Remediation support", "24", 11500, "19", "HUR")],
        terms="Zahlbar innerhalb von 30 Tagen ohne Abzug.",
    ),
    DemoInvoice(
        "reverse-charge", "EUR", "lyon",
        [_line("UX research, remote sessions", "10", 68000, "0", "HUR", "AE"),
         _line("Design system licence, one year", "1", 240000, "0", "ANN", "AE")],
    ),
    DemoInvoice(
        "export", "USD", "boston",
        [_line("Dashboard hardware kit", "4", 129900, "0", "C62", "G"),
         _line("Shipping and insurance", "1", 18500, "0", "LS", "G")],
    ),
    DemoInvoice("expired", "EUR", "globex", _STANDARD_LINES[:1], link="expired"),
    DemoInvoice("revoked", "EUR", "globex", _STANDARD_LINES[:1], link="revoked"),
]  # fmt: skip


async def load_demo(url: str, today: date | None = None) -> list[tuple[str, str]]:
    """Create what is missing and return (label, token) for every demo invoice, in order."""
    today = today or date.today()
    conn = await asyncpg.connect(url)
    try:
        from db.rows import init_connection

        await init_connection(conn)
        async with conn.transaction():
            await lock_for_transaction(conn, "demo-data", 0)
            workspace = await select_workspace_by_slug(conn, "demo") or await insert_workspace(
                conn,
                slug="demo",
                legal_name="Northwind Studio GmbH",
                address="Torstraße 35\n10119 Berlin\nGermany",
                street="Torstraße 35",
                postcode="10119",
                city="Berlin",
                country_code="DE",
                tax_id="DE123456789",
                tax_registration="37/123/45678",
                registration_id="HRB 123456 B",
                contact_name="Bea Billing",
                contact_phone="+49 30 5550100",
                contact_email="billing@northwind.example",
                iban="DE89370400440532013000",
                bic="COBADEFFXXX",
                email="billing@northwind.example",
                support_email="support@northwind.example",
                default_currency="EUR",
                default_comment_mode="otp",
                default_locale="en_IE",
                bank_transfer_instructions="IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX\n"
                "Please quote the invoice number as the payment reference.",
            )
            await _demo_staff(conn, workspace.id)
            customers: dict[str, int] = {}
            links = []
            for demo in DEMO_INVOICES:
                key = f"demo:{demo.label}"
                invoice = await select_invoice_by_import_key(conn, workspace.id, key)
                if invoice is None:
                    if demo.customer not in customers:
                        customer = await _insert_customer(conn, workspace.id, _CUSTOMERS[demo.customer])
                        customers[demo.customer] = customer.id
                    invoice_id = await _create(conn, workspace.id, customers[demo.customer], demo, key, today)
                else:
                    customers.setdefault(demo.customer, invoice.customer_id)
                    invoice_id = invoice.id
                link = (await select_links_for_invoice(conn, invoice_id))[0]
                links.append((demo.label, link.token))
        return links
    finally:
        await conn.close()


# Console accounts of the demo workspace. The password is printed by `make demo`; each account enrols its
# authenticator app (QR code) at its first sign-in, like any real account.
DEMO_PASSWORD = "northwind-demo-console"  # noqa: S105 (printed by `make demo` on purpose)
DEMO_STAFF = (
    ("billing@northwind.example", "billing", "Bea Billing"),
    ("support@northwind.example", "support", "Sam Support"),
)


async def _demo_staff(conn: Connection, workspace_id: int) -> None:
    from db.staff import select_staff_by_email
    from web.console.auth import create_staff

    for email, role, name in DEMO_STAFF:
        if await select_staff_by_email(conn, email) is None:
            await create_staff(
                conn, workspace_id=workspace_id, email=email, display_name=name, role=role, password=DEMO_PASSWORD
            )


async def _insert_customer(conn: Connection, workspace_id: int, demo: DemoCustomer) -> Customer:
    return await insert_customer(
        conn, workspace_id=workspace_id, name=demo.name, email=demo.email, locale=demo.locale, tax_id=demo.tax_id,
        billing_address=printed_address(demo.postal), postal=demo.postal, buyer_reference=demo.buyer_reference,
        endpoint_id=demo.endpoint_id, endpoint_scheme=demo.endpoint_scheme,
    )  # fmt: skip


async def _create(
    conn: Connection, workspace_id: int, customer_id: int, demo: DemoInvoice, key: str, today: date
) -> int:
    invoice = await insert_invoice(
        conn,
        workspace_id=workspace_id,
        customer_id=customer_id,
        currency=demo.currency,
        locale=_CUSTOMERS[demo.customer].locale,
        notes=demo.notes,
        payment_terms=demo.terms,
        import_key=key,
    )
    await insert_invoice_lines(conn, invoice.id, demo.lines)
    issue_date = today - timedelta(days=5)
    issued = await issue_invoice(
        conn, invoice.id, issue_date=issue_date, due_date=issue_date + timedelta(days=demo.due_in_days),
        total=compute_totals(demo.lines, demo.currency).total,
    )  # fmt: skip
    if demo.comments_require_totp:
        await set_comment_settings(conn, invoice.id, mode=invoice.comment_mode, require_totp=True)
    for index, (role, name, text) in enumerate(demo.thread):
        await insert_comment(
            conn, invoice_id=invoice.id, author_role=role, author_name=name,
            author_email="ap@globex.example" if role == "customer" else "", body=text,
            client_key=f"demo-{demo.label}-{index:04d}-thread",
        )  # fmt: skip
    expires_at = datetime.now(UTC) - timedelta(days=1) if demo.link == "expired" else None
    link = await create_link(conn, invoice.id, expires_at=expires_at)
    if demo.link == "revoked":
        await revoke_link(conn, link.id)
    if demo.final in ("paid", "partial"):
        total = (await load_document(conn, issued)).totals.total
        # A partial payment: a round 40% arrived by bank transfer, the rest is due (and payable by card).
        amount = total if demo.final == "paid" else total * 2 // 5 // 100 * 100
        await insert_settled_payment(
            conn, invoice_id=invoice.id, amount=amount, currency=demo.currency, method="bank_transfer",
            reference="Bank transfer received",
        )  # fmt: skip
        await settle(conn, invoice.id)
    elif demo.final == "void":
        await void_invoice(conn, invoice.id, "Issued to the wrong cost centre; replaced by a corrected invoice.")
    return invoice.id


async def set_up_demo_embed(url: str, box: SecretBox, secret: str, origin: str) -> None:
    """The demo workspace's embed: this secret, and `origin` (the sample host app) allowed to frame it."""
    conn = await asyncpg.connect(url)
    try:
        workspace = await select_workspace_by_slug(conn, "demo")
        assert workspace is not None  # load_demo made it
        settings = await select_embed_settings(conn, workspace.id)
        if settings is None or settings.secret is None or box.open(settings.secret) != secret:
            now = datetime.now(UTC)
            await rotate_embed_secret(
                conn, workspace.id, sealed=box.seal(secret), last4=secret[-4:], now=now, grace_until=now, by="demo"
            )  # fmt: skip
        await save_allowed_origins(conn, workspace.id, [origin])
    finally:
        await conn.close()
