"""An invoice's status (the `invoices.status` column's values) and the rules that follow from it."""

from __future__ import annotations

from enum import StrEnum


class InvoiceStatus(StrEnum):
    DRAFT = "draft"  # being written in the console; no number, no link, nothing a customer can see
    OPEN = "open"  # issued and due
    PAID = "paid"  # succeeded payments less refunds cover the total
    UNCOLLECTIBLE = "uncollectible"  # written off by the billing team; a late payment still settles it
    VOID = "void"  # cancelled with a reason; never payable again


# Issued and not settled: payments may still arrive, the billing team may void it or resend its link.
UNPAID = frozenset({InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE})
# Nothing is due on these whatever the lines say.
OWES_NOTHING = frozenset({InvoiceStatus.DRAFT, InvoiceStatus.VOID})
