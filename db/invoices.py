"""Invoices and their lines: drafts, issuing (number + snapshots), status changes. Every change bumps `version`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from db.rows import Connection, columns, row_to, row_to_one, rows_to


@dataclass(frozen=True, slots=True)
class Invoice:
    id: int
    workspace_id: int
    customer_id: int
    number: str | None
    status: str
    currency: str
    locale: str
    issue_date: date | None
    due_date: date | None
    notes: str
    payment_terms: str
    seller_snapshot: dict[str, Any] | None
    buyer_snapshot: dict[str, Any] | None
    version: int
    issued_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    void_reason: str
    # Who may write in the comment thread (customer / otp / closed), whether writers also need TOTP, and
    # whether the thread is shown at all.
    comment_mode: str
    comments_require_totp: bool
    comments_enabled: bool
    # Online card payment offered on the portal (the console can switch it off: bank transfer only).
    payments_enabled: bool
    # The support inbox lists the thread again only when a customer writes after this comment id.
    thread_handled_through: int
    created_at: datetime
    # 'portal' (issued here) or 'stripe' (made in Stripe Invoicing and copied: db/stripe_invoices.py).
    source: str = "portal"
    stripe_invoice_id: str | None = None
    # BT-120: why an exempt supply (VAT category E) is exempt, printed and put in the e-invoice.
    vat_exemption_reason: str = ""


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    id: int
    invoice_id: int
    position: int
    description: str
    quantity: Decimal
    unit_price: int
    tax_rate: Decimal
    # A line copied from Stripe: Stripe's own net amount and tax for it (None on the portal's own lines).
    stripe_net: int | None = None
    stripe_tax: int | None = None
    # UN/ECE Recommendation 20 unit (C62 one piece, HUR hour …) and EN 16931 VAT category (S, Z, E, AE, K, G, O).
    unit_code: str = "C62"
    tax_category: str = "S"


@dataclass(frozen=True, slots=True)
class NewLine:
    description: str
    quantity: Decimal
    unit_price: int
    tax_rate: Decimal
    unit_code: str = "C62"
    tax_category: str = "S"


_INSERT_LINE = """
    INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit_price, tax_rate, unit_code,
                               tax_category)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""


def _line_rows(invoice_id: int, start: int, lines: list[NewLine]) -> list[tuple[object, ...]]:
    return [
        (invoice_id, start + index, line.description, line.quantity, line.unit_price, line.tax_rate, line.unit_code,
         line.tax_category)
        for index, line in enumerate(lines)
    ]  # fmt: skip


COLUMNS = columns(Invoice)
LINE_COLUMNS = columns(InvoiceLine)
# What an e-invoice needs of each party besides name, address text, VAT id and e-mail, kept in the snapshot too.
_POSTAL = "street, street_extra, postcode, city, country_code, address_needs_review, endpoint_id, endpoint_scheme"
SELLER_PARTS = f"{_POSTAL}, tax_registration, registration_id, contact_name, contact_phone, contact_email, iban, bic"
BUYER_PARTS = f"{_POSTAL}, buyer_reference"


async def insert_invoice(
    conn: Connection,
    *,
    workspace_id: int,
    customer_id: int,
    currency: str,
    locale: str,
    due_date: date | None = None,
    notes: str = "",
    payment_terms: str = "",
    import_key: str | None = None,
) -> Invoice:
    record = await conn.fetchrow(
        f"""
        INSERT INTO invoices (workspace_id, customer_id, currency, locale, due_date, notes, payment_terms, import_key,
                              comment_mode)
        -- The workspace's comment mode is the default of each new invoice; later changes of it leave issued ones be.
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT default_comment_mode FROM workspaces WHERE id = $1))
        RETURNING {COLUMNS}
        """,
        workspace_id, customer_id, currency, locale, due_date, notes, payment_terms, import_key,
    )  # fmt: skip
    return row_to_one(Invoice, record)


async def insert_invoice_lines(conn: Connection, invoice_id: int, lines: list[NewLine]) -> None:
    """Append lines after the existing ones, in one statement, and bump the invoice version."""
    async with conn.transaction():
        start = await conn.fetchval(
            "SELECT coalesce(max(position) + 1, 0) FROM invoice_lines WHERE invoice_id = $1", invoice_id
        )
        await conn.executemany(_INSERT_LINE, _line_rows(invoice_id, start, lines))
        await _touch(conn, invoice_id)


async def select_invoice_by_import_key(conn: Connection, workspace_id: int, key: str) -> Invoice | None:
    record = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM invoices WHERE workspace_id = $1 AND import_key = $2", workspace_id, key
    )
    return row_to(Invoice, record)


async def select_invoice_lines(conn: Connection, invoice_id: int) -> list[InvoiceLine]:
    records = await conn.fetch(
        f"SELECT {LINE_COLUMNS} FROM invoice_lines WHERE invoice_id = $1 ORDER BY position", invoice_id
    )
    return rows_to(InvoiceLine, records)


async def issue_invoice(
    conn: Connection, invoice_id: int, *, issue_date: date, due_date: date, total: int | None = None
) -> Invoice:
    """Draft -> open: take the next gapless number for the workspace and year, and snapshot seller and buyer.
    `total`: the document's total as web.invoices.totals computes it (kept in issued_total for lists and sums).

    The counter row stays locked until the caller's transaction commits, so concurrent issues queue and a
    rolled-back issue gives its number back.
    """
    async with conn.transaction():
        draft = await conn.fetchrow(
            "SELECT workspace_id, customer_id FROM invoices WHERE id = $1 AND status = 'draft' FOR UPDATE", invoice_id
        )
        if draft is None:
            raise ValueError(f"invoice {invoice_id} is not a draft")
        sequence = await conn.fetchval(
            """
            INSERT INTO invoice_number_counters AS c (workspace_id, year, last_value) VALUES ($1, $2, 1)
            ON CONFLICT (workspace_id, year) DO UPDATE SET last_value = c.last_value + 1
            RETURNING last_value
            """,
            draft["workspace_id"],
            issue_date.year,
        )
        seller = await conn.fetchrow(
            # logo_sha: content-addressed, so the issued invoice keeps the logo it was issued with.
            f"SELECT legal_name, address, tax_id, email, bank_transfer_instructions, logo_sha, {SELLER_PARTS}"
            " FROM workspaces WHERE id = $1",
            draft["workspace_id"],
        )
        buyer = await conn.fetchrow(
            f"SELECT name AS legal_name, billing_address AS address, tax_id, email, {BUYER_PARTS}"
            " FROM customers WHERE id = $1",
            draft["customer_id"],
        )
        record = await conn.fetchrow(
            f"""
            UPDATE invoices
            SET status = 'open', number = $2, issue_date = $3, due_date = $4, issued_at = now(),
                seller_snapshot = $5::jsonb, buyer_snapshot = $6::jsonb, version = version + 1, updated_at = now(),
                issued_total = $7
            WHERE id = $1
            RETURNING {COLUMNS}
            """,
            invoice_id,
            f"INV-{issue_date.year}-{sequence:04d}",
            issue_date,
            due_date,
            dict(seller),  # type: ignore[arg-type]
            dict(buyer),  # type: ignore[arg-type]
            total,
        )
    return row_to_one(Invoice, record)


async def void_invoice(conn: Connection, invoice_id: int, reason: str) -> Invoice | None:
    record = await conn.fetchrow(
        f"""
        UPDATE invoices SET status = 'void', voided_at = now(), void_reason = $2, version = version + 1,
                            updated_at = now()
        WHERE id = $1 AND status IN ('open', 'uncollectible')
        RETURNING {COLUMNS}
        """,
        invoice_id,
        reason,
    )
    return row_to(Invoice, record)


async def select_invoice_by_id(conn: Connection, invoice_id: int) -> Invoice | None:
    """Unlocked: for readers outside any request's workspace (the receipt round)."""
    return row_to(Invoice, await conn.fetchrow(f"SELECT {COLUMNS} FROM invoices WHERE id = $1", invoice_id))


async def select_invoice_for_update(conn: Connection, invoice_id: int) -> Invoice | None:
    """Lock the invoice row for the caller's transaction: settlements of one invoice queue behind each other."""
    return row_to(Invoice, await conn.fetchrow(f"SELECT {COLUMNS} FROM invoices WHERE id = $1 FOR UPDATE", invoice_id))


async def set_invoice_paid(conn: Connection, invoice_id: int, paid: bool) -> None:
    """Open <-> paid as payments and refunds move the balance (a refund can make a paid invoice due again)."""
    if paid:
        sql = (
            "UPDATE invoices SET status = 'paid', paid_at = now() WHERE id = $1 AND status IN ('open', 'uncollectible')"
        )
    else:
        sql = "UPDATE invoices SET status = 'open', paid_at = NULL WHERE id = $1 AND status = 'paid'"
    await conn.execute(sql, invoice_id)
    await _touch(conn, invoice_id)


async def _touch(conn: Connection, invoice_id: int) -> None:
    await conn.execute("UPDATE invoices SET version = version + 1, updated_at = now() WHERE id = $1", invoice_id)


async def set_comment_settings(
    conn: Connection, invoice_id: int, *, mode: str, require_totp: bool, enabled: bool = True
) -> Invoice | None:
    """Who may write in the thread. Not a document change, so the version stays; the trigger still notifies."""
    record = await conn.fetchrow(
        f"""
        UPDATE invoices SET comment_mode = $2, comments_require_totp = $3, comments_enabled = $4, updated_at = now()
        WHERE id = $1
        RETURNING {COLUMNS}
        """,
        invoice_id,
        mode,
        require_totp,
        enabled,
    )
    return row_to(Invoice, record)


async def select_invoice_in_workspace(conn: Connection, workspace_id: int, invoice_id: int) -> Invoice | None:
    """Console lookups: an id from another workspace finds nothing, like an id that does not exist."""
    record = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM invoices WHERE workspace_id = $1 AND id = $2", workspace_id, invoice_id
    )
    return row_to(Invoice, record)


async def select_sample_invoice(conn: Connection, workspace_id: int) -> Invoice | None:
    """An invoice to preview the workspace's customer page with: the newest sent one, else the newest draft."""
    record = await conn.fetchrow(
        f"""
        SELECT {COLUMNS} FROM invoices WHERE workspace_id = $1
        ORDER BY (status = 'draft'), created_at DESC, id DESC LIMIT 1
        """,
        workspace_id,
    )
    return row_to(Invoice, record)


async def select_lines_by_invoice(conn: Connection, invoice_ids: list[int]) -> dict[int, list[InvoiceLine]]:
    """The lines of many invoices in one query, by invoice, in position order (lists compute totals from them)."""
    records = await conn.fetch(
        f"SELECT {LINE_COLUMNS} FROM invoice_lines WHERE invoice_id = ANY($1::bigint[]) ORDER BY invoice_id, position",
        invoice_ids,
    )
    by_invoice: dict[int, list[InvoiceLine]] = {}
    for line in rows_to(InvoiceLine, records):
        by_invoice.setdefault(line.invoice_id, []).append(line)
    return by_invoice


async def lock_invoice_in_workspace(conn: Connection, workspace_id: int, invoice_id: int) -> Invoice | None:
    """The invoice row locked for the caller's transaction (saves, sends and line changes queue behind it)."""
    record = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM invoices WHERE workspace_id = $1 AND id = $2 FOR UPDATE", workspace_id, invoice_id
    )
    return row_to(Invoice, record)


async def select_draft_form(conn: Connection, invoice_id: int) -> dict[str, Any] | None:
    value: dict[str, Any] | None = await conn.fetchval("SELECT draft_form FROM invoices WHERE id = $1", invoice_id)
    return value


async def save_draft(
    conn: Connection,
    invoice_id: int,
    *,
    customer_id: int,
    currency: str,
    locale: str,
    issue_date: date | None,
    due_date: date | None,
    notes: str,
    payment_terms: str,
    lines: list[NewLine],
    draft_form: dict[str, Any],
    vat_exemption_reason: str = "",
) -> None:
    """Header, lines and the typed form of a draft in one go (inside the caller's transaction). Lines are
    replaced as a whole: the builder always sends all of them, in their order."""
    await conn.execute("DELETE FROM invoice_lines WHERE invoice_id = $1", invoice_id)
    await conn.executemany(_INSERT_LINE, _line_rows(invoice_id, 0, lines))
    await conn.execute(
        """
        UPDATE invoices SET customer_id = $2, currency = $3, locale = $4, issue_date = $5, due_date = $6, notes = $7,
                            payment_terms = $8, draft_form = $9::jsonb, vat_exemption_reason = $10,
                            version = version + 1, updated_at = now()
        WHERE id = $1 AND status = 'draft'
        """,
        invoice_id, customer_id, currency, locale, issue_date, due_date, notes, payment_terms, draft_form,
        vat_exemption_reason,
    )  # fmt: skip


async def mark_uncollectible(conn: Connection, invoice_id: int) -> Invoice | None:
    """Open -> uncollectible (written off; a late payment still settles it)."""
    record = await conn.fetchrow(
        f"""
        UPDATE invoices SET status = 'uncollectible', version = version + 1, updated_at = now()
        WHERE id = $1 AND status = 'open'
        RETURNING {COLUMNS}
        """,
        invoice_id,
    )
    return row_to(Invoice, record)


async def set_payments_enabled(conn: Connection, invoice_id: int, enabled: bool) -> None:
    """Changes what the portal offers, so the version moves (cached pages key on it)."""
    await conn.execute(
        "UPDATE invoices SET payments_enabled = $2, version = version + 1, updated_at = now() WHERE id = $1",
        invoice_id,
        enabled,
    )
