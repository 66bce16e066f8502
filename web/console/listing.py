"""Invoice rows for console lists: the document's own totals, so a list never disagrees with the invoice."""

from __future__ import annotations

from dataclasses import dataclass

from db.invoices import Invoice, InvoiceRow
from web.totals import LineAmounts, compute_totals

STATUSES = ("draft", "open", "paid", "uncollectible", "void")


@dataclass(frozen=True, slots=True)
class InvoiceSummary:
    invoice: Invoice
    customer_name: str
    total: int
    paid: int

    @property
    def due(self) -> int:
        return 0 if self.invoice.status in ("draft", "void") else max(self.total - self.paid, 0)


def invoice_summaries(rows: list[InvoiceRow]) -> list[InvoiceSummary]:
    return [
        InvoiceSummary(
            row.invoice,
            row.customer_name,
            compute_totals(
                (LineAmounts(line.quantity, line.unit_price, line.tax_rate) for line in row.lines), row.invoice.currency
            ).total,
            row.paid,
        )
        for row in rows
    ]
