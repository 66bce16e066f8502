"""A customer's billing history (web/history/): the issued invoices of every customer of a workspace billed at one
address, newest first, a page at a time (keyset: fast at any depth), with what their amounts need, and what is due
now per currency summed in one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from db.invoices import Invoice, InvoiceLine, select_lines_by_invoice
from db.rows import Connection, prefixed, rows_to

_PAID = """coalesce((SELECT sum(p.amount - p.amount_refunded) FROM payments p
                     WHERE p.invoice_id = i.id AND p.status = 'succeeded'), 0)"""
_OF_ADDRESS = """FROM customers c
        JOIN invoices i ON i.customer_id = c.id AND i.status <> 'draft'
        LEFT JOIN stripe_invoices s ON s.invoice_id = i.id
        WHERE c.workspace_id = $1 AND lower(c.email) = $2"""


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    invoice: Invoice
    # Only for an invoice whose total is not stored (issued before issued_total): its total is computed from them.
    lines: list[InvoiceLine]
    paid: int
    # The total as issued (issued_total), or Stripe's for an invoice made in Stripe; None: compute from the lines.
    total: int | None
    # An invoice made in Stripe: Stripe's amount remaining (None on the portal's own invoices).
    stripe_remaining: int | None
    # The invoice's successful payments, in receipt order (when they succeeded).
    receipt_ids: list[int]


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    statuses: tuple[str, ...] | None = None  # None: every issued status
    overdue_on: date | None = None  # only open invoices due before this day
    number: str = ""  # a part of the number, any case
    after: tuple[date, int] | None = None  # the last row of the previous page: (issue date, id)
    unstored_only: bool = False  # only invoices whose total is not stored (the due-now sum's remainder)


async def select_history(
    conn: Connection, workspace_id: int, email: str, query: HistoryQuery, limit: int
) -> list[HistoryRecord]:
    records = await conn.fetch(
        f"""
        SELECT {prefixed(Invoice, "i")}, coalesce(s.total, i.issued_total) AS known_total,
               s.amount_remaining AS stripe_remaining, {_PAID} AS paid,
               coalesce((SELECT array_agg(p.id ORDER BY p.succeeded_at, p.id) FROM payments p
                         WHERE p.invoice_id = i.id AND p.status = 'succeeded'), '{{}}') AS receipt_ids
        {_OF_ADDRESS}
          AND ($3::text[] IS NULL OR i.status = ANY($3::text[]))
          AND ($4::date IS NULL OR (i.status = 'open' AND i.due_date < $4))
          AND ($5 = '' OR strpos(lower(i.number), lower($5)) > 0)
          AND ($6::date IS NULL OR (i.issue_date, i.id) < ($6::date, $7::bigint))
          AND (NOT $9 OR (s.invoice_id IS NULL AND i.issued_total IS NULL))
        ORDER BY i.issue_date DESC, i.id DESC
        LIMIT $8
        """,
        workspace_id, email, list(query.statuses) if query.statuses is not None else None, query.overdue_on,
        query.number, query.after[0] if query.after else None, query.after[1] if query.after else None, limit,
        query.unstored_only,
    )  # fmt: skip
    invoices = rows_to(Invoice, records)
    unknown = [invoice.id for invoice, record in zip(invoices, records, strict=True) if record["known_total"] is None]
    lines = await select_lines_by_invoice(conn, unknown) if unknown else {}
    return [
        HistoryRecord(
            invoice,
            lines.get(invoice.id, []),
            int(record["paid"]),
            record["known_total"],
            record["stripe_remaining"],
            list(record["receipt_ids"]),
        )
        for invoice, record in zip(invoices, records, strict=True)
    ]


async def select_stored_due(conn: Connection, workspace_id: int, email: str) -> dict[str, int]:
    """What is due now per currency over the address's unpaid invoices whose totals are stored (Stripe's amount
    remaining for an invoice made in Stripe); the others are summed by the caller from their lines."""
    records = await conn.fetch(
        f"""
        SELECT i.currency, sum(CASE WHEN s.invoice_id IS NOT NULL THEN s.amount_remaining
                                    ELSE greatest(i.issued_total - {_PAID}, 0) END) AS due
        {_OF_ADDRESS}
          AND i.status IN ('open', 'uncollectible') AND (s.invoice_id IS NOT NULL OR i.issued_total IS NOT NULL)
        GROUP BY i.currency
        """,
        workspace_id, email,
    )  # fmt: skip
    return {record["currency"]: int(record["due"]) for record in records}


async def select_history_invoice(conn: Connection, workspace_id: int, email: str, invoice_id: int) -> Invoice | None:
    """One issued invoice, only when it is one of the address's in that workspace."""
    records = await conn.fetch(
        f"""
        SELECT {prefixed(Invoice, "i")} FROM invoices i JOIN customers c ON c.id = i.customer_id
        WHERE i.id = $3 AND c.workspace_id = $1 AND lower(c.email) = $2 AND i.status <> 'draft'
        """,
        workspace_id, email, invoice_id,
    )  # fmt: skip
    found = rows_to(Invoice, records)
    return found[0] if found else None
