"""Payments made in Stripe itself on an invoice made in Stripe, kept for their receipts (web/stripe_sync/copy.py
reads them from Stripe's InvoicePayments). Stripe stays the ledger of record for such an invoice's amounts: these
rows give receipts, never the amount due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from db.rows import Connection

# A payment older than this when first copied (a backfill of past years) is not mailed: its receipt is listed, and
# Stripe mailed its own when it was made.
MAIL_ONLY_WITHIN = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ImportedPayment:
    stripe_id: str  # the InvoicePayment (inpay_…)
    amount: int
    paid_at: datetime
    payment_intent_id: str | None  # None: a PaymentRecord (paid outside Stripe, reported to it)
    method: str  # 'card' or 'other'
    card_brand: str
    card_last4: str


async def keep_imported_payments(
    conn: Connection, invoice_id: int, currency: str, account_id: str, payments: tuple[ImportedPayment, ...]
) -> None:
    """Insert each payment not kept yet, except those the portal took itself (its own PaymentIntent). Call inside
    the transaction that writes the invoice's copy."""
    rows = [
        (
            invoice_id, payment.amount, currency, payment.method, payment.card_brand, payment.card_last4,
            payment.paid_at, payment.stripe_id, account_id, MAIL_ONLY_WITHIN, payment.payment_intent_id,
        )
        for payment in payments
    ]  # fmt: skip
    await conn.executemany(
        """
        INSERT INTO payments (invoice_id, amount, currency, method, status, card_brand, card_last4, succeeded_at,
                              stripe_invoice_payment_id, stripe_account_id, receipt_mailed_at)
        SELECT $1, $2, $3, $4, 'succeeded', $5, $6, $7, $8, $9, CASE WHEN $7 < now() - $10::interval THEN $7 END
        WHERE $11::text IS NULL OR NOT EXISTS (SELECT 1 FROM payments WHERE stripe_payment_intent_id = $11)
        ON CONFLICT (stripe_invoice_payment_id) DO NOTHING
        """,
        rows,
    )
