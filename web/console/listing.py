"""Invoice rows for console lists: the document's own totals, so a list never disagrees with the invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from db.invoices import Invoice, InvoiceRow
from web.invoices.documents import amount_due, is_overdue
from web.invoices.status import InvoiceStatus
from web.invoices.totals import compute_totals

STATUSES = tuple(InvoiceStatus)


@dataclass(frozen=True, slots=True)
class InvoiceSummary:
    invoice: Invoice
    customer_name: str
    total: int
    paid: int

    @property
    def due(self) -> int:
        return amount_due(self.invoice.status, self.total, self.paid)

    def is_overdue(self, today: date) -> bool:
        return is_overdue(self.invoice, self.due, today)


def invoice_summaries(rows: list[InvoiceRow]) -> list[InvoiceSummary]:
    return [
        InvoiceSummary(
            row.invoice,
            row.customer_name,
            compute_totals(row.lines, row.invoice.currency).total,
            row.paid,
        )
        for row in rows
    ]
