"""The invoice follows its payments: paid when succeeded payments less refunds cover the total, open again
when a refund makes something due, and the overpaid excess (two tabs paying at once) reported for refund."""

from __future__ import annotations

from db.invoices import select_invoice_for_update, set_invoice_paid
from db.rows import Connection
from web.invoices.documents import load_document
from web.invoices.status import OWES_NOTHING, UNPAID, InvoiceStatus


async def settle(conn: Connection, invoice_id: int) -> int:
    """Bring the invoice's status in line with its payments; return the amount paid beyond the total.

    Must run inside the caller's transaction: the invoice row stays locked until it commits.
    """
    invoice = await select_invoice_for_update(conn, invoice_id)
    if invoice is None or invoice.status in OWES_NOTHING or invoice.source == "stripe":
        return 0  # an invoice made in Stripe takes its status from Stripe (its copy), never from our sums
    document = await load_document(conn, invoice)
    total, paid = document.totals.total, document.amount_paid
    if invoice.status in UNPAID and total > 0 and paid >= total:
        await set_invoice_paid(conn, invoice_id, True)
    elif invoice.status == InvoiceStatus.PAID and paid < total:
        await set_invoice_paid(conn, invoice_id, False)
    return max(paid - total, 0)
