"""A payment's status (the `payments.status` column's values): ours, not Stripe's (web.stripe.gateway.IntentStatus)."""

from __future__ import annotations

from enum import StrEnum


class PaymentStatus(StrEnum):
    PENDING = "pending"  # an attempt: its PaymentIntent is not confirmed yet
    PROCESSING = "processing"  # Stripe is moving the money (e.g. a bank debit); it may still fail
    SUCCEEDED = "succeeded"  # the money arrived (for cards: the webhook said so); final, refunds are counted apart
    FAILED = "failed"  # declined, or 3-D Secure failed: the attempt ended
    CANCELED = "canceled"  # cancelled before money moved
