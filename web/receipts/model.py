"""A payment's receipt, from the invoice's document: its number, what was paid and how, and what remained due.

The number is the invoice's number and the payment's place among the invoice's successful payments (INV-2026-0042-R2):
stable, since payments only ever join at the end (ordered by when they succeeded), and readable on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from db.payments import Payment
from web.invoices.documents import InvoiceDocument


@dataclass(frozen=True, slots=True)
class Receipt:
    number: str
    payment: Payment
    # What remained due once this payment arrived; None on an invoice made in Stripe, whose payments made in
    # Stripe itself are not rows here, so the portal cannot say.
    balance_after: int | None


def receipts_of(document: InvoiceDocument) -> list[Receipt]:
    made = []
    paid = 0
    for ordinal, payment in enumerate(document.payments, start=1):
        paid += payment.amount
        balance = None if document.stripe is not None else max(document.totals.total - paid, 0)
        made.append(Receipt(f"{document.invoice.number}-R{ordinal}", payment, balance))
    return made


def receipt_for(document: InvoiceDocument, payment_id: int) -> Receipt | None:
    return next((receipt for receipt in receipts_of(document) if receipt.payment.id == payment_id), None)
