"""Starting a card payment: the gates, the amount rules, and one PaymentIntent per customer attempt.

An attempt is identified by a key rendered into the payment form, so a double submit or a retry after a
timeout finds the same payment row and the same intent instead of creating a second one. (Stripe's
idempotency key, derived from the row, covers the same ground on Stripe's side.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from db.invoices import Invoice
from db.payments import (
    Payment,
    count_card_attempts,
    insert_card_attempt,
    lock_intent_id,
    select_payment_by_attempt_key,
    set_payment_intent,
)
from db.rows import Connection
from db.session import lock_names_for_transaction
from web.invoices.documents import InvoiceDocument
from web.invoices.money import format_money
from web.invoices.status import InvoiceStatus
from web.payments.amounts import (
    AmountError,
    card_payable_due,
    decimal_and_group,
    format_for_input,
    parse_amount,
    rules_for,
)
from web.settings import Settings
from web.stripe.gateway import Intent, StripeGateway

ATTEMPT_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Every new attempt creates a PaymentIntent at Stripe: bounded per invoice (all its readers) and per client
# address (on any invoice), per rolling hour. Generous for people retrying a declined card, tight for a script.
ATTEMPT_WINDOW = timedelta(hours=1)
MAX_ATTEMPTS_PER_INVOICE = 20
MAX_ATTEMPTS_PER_CLIENT = 30
TOO_MANY_ATTEMPTS = "There were too many card payment attempts in the last hour. Please try again in an hour."
# The billing team switched online payment off for this invoice (bank transfer only).
PAYMENTS_OFF = (
    "Online payment is turned off for this invoice. Please pay by bank transfer using the details on the invoice."
)


class TooManyAttempts(Exception):
    """New card attempts are over a limit; the text says when to retry and how else to pay."""


@dataclass(frozen=True, slots=True)
class Availability:
    payable: bool
    reason: str  # why not, in plain words; empty when payable


def availability(settings: Settings, document: InvoiceDocument, locale: str) -> Availability:
    status = document.invoice.status
    if not settings.stripe_connected:
        return Availability(False, "Online card payment is not available for this invoice.")
    if status == InvoiceStatus.PAID or (status == InvoiceStatus.OPEN and document.amount_due == 0):
        return Availability(False, "This invoice is paid in full. Nothing is due.")
    if status == InvoiceStatus.VOID:
        return Availability(False, "This invoice was voided and cannot be paid.")
    if status != InvoiceStatus.OPEN:
        return Availability(False, "This invoice cannot be paid online. Please contact the sender.")
    if not document.invoice.payments_enabled:
        return Availability(False, PAYMENTS_OFF)
    rules = rules_for(document.invoice.currency, document.amount_due)
    if not card_payable_due(rules):
        code = rules.currency.code
        due, minimum = format_money(rules.due, code, locale), format_money(rules.smallest_charge, code, locale)
        return Availability(
            False,
            f"The amount due ({due}) is below the smallest card payment ({minimum}), so it cannot be paid by card. "
            f"{other_way(document)}",
        )
    return Availability(True, "")


def other_way(document: InvoiceDocument, what: str = "it") -> str:
    """How to pay what a card cannot: by bank transfer when the invoice carries bank details, else ask the seller."""
    if document.bank_transfer_instructions:
        return f"Please pay {what} by bank transfer, with the bank details on the invoice."
    if document.seller.email:
        return f"Please write to {document.seller.email} to settle {what}."
    return f"Please contact {document.seller.legal_name} to settle {what}."


@dataclass(frozen=True, slots=True)
class PaymentCard:
    """What the payment card on the page shows: the gate, and for a payable invoice the prefill and the rules."""

    availability: Availability
    prefill: str = ""  # the most one card payment may be now, as the reader types it
    hint: str = ""


def payment_card(settings: Settings, document: InvoiceDocument, locale: str) -> PaymentCard:
    gate = availability(settings, document, locale)
    if not gate.payable:
        return PaymentCard(gate)
    rules = rules_for(document.invoice.currency, document.amount_due)
    currency = rules.currency

    def money(minor: int) -> str:
        return format_money(minor, currency.code, locale)

    decimal, _group = decimal_and_group(locale)
    if rules.decimals == 0:
        digits = "whole amounts only"
    else:
        digits = f"up to {rules.decimals} decimals after “{decimal}”"
        if currency.charge_step > 1:
            digits += ", the last one 0"
    highest, smallest = rules.highest_charge, rules.smallest_charge
    if not rules.takes_parts:
        hint = f"Pay {money(highest)} in one card payment"
        if highest > smallest:
            hint += f": a smaller amount would leave less than the smallest card payment ({money(smallest)})."
        else:
            hint += f", the smallest card payment in {currency.code}."
    else:
        hint = f"You can pay all or part of it by card: from {money(smallest)} up to {money(highest)}; {digits}."
        if smallest > currency.charge_step:
            hint += f" A part payment must leave at least {money(smallest)} for a later card payment."
        if highest < rules.largest_charge:
            hint += f" {money(highest)} is the most one card payment can be: pay the rest in a second payment."
    if rules.card_rest:
        hint += (
            f" The last {money(rules.card_rest)} cannot be paid by card ({currency.code} card payments end in 0). "
            f"{other_way(document)}"
        )
    return PaymentCard(gate, format_for_input(highest, rules, locale), hint)


async def start_card_payment(
    conn: Connection,
    gateway: StripeGateway,
    document: InvoiceDocument,
    *,
    amount_text: str,
    locale: str,
    attempt_key: str,
    client: str,
    now: datetime,
) -> tuple[Payment, Intent]:
    """Validate, record the attempt, and create (or find again) its PaymentIntent.

    Raises AmountError (422 with the message), TooManyAttempts (429), or ProviderUnavailable / PaymentRefused from
    the gateway; the attempt row then stays without an intent and the same attempt key can simply be submitted again.
    """
    if not ATTEMPT_KEY.match(attempt_key or ""):
        raise AmountError("This payment form has expired. Please reload the page and try again.")
    invoice = document.invoice
    amount = parse_amount(amount_text, rules_for(invoice.currency, document.amount_due), locale)
    async with conn.transaction():
        # A resubmitted attempt is never refused: it finds its row and its PaymentIntent again (looked up under
        # the locks, so a double click's second request sees the row its first one wrote).
        if not await under_attempt_limits(conn, invoice_id=invoice.id, client=client, now=now, attempt_key=attempt_key):
            raise TooManyAttempts(f"{TOO_MANY_ATTEMPTS} {other_way(document, 'the invoice')}")
        payment, _created = await insert_card_attempt(
            conn, invoice_id=invoice.id, amount=amount, currency=invoice.currency, attempt_key=attempt_key,
            client=client, now=now,
        )  # fmt: skip
    if payment.invoice_id != invoice.id or payment.amount != amount:
        raise AmountError("This payment form was already used for another amount. Please reload the page.")
    return payment, await ensure_intent(conn, gateway, invoice, payment)


async def under_attempt_limits(
    conn: Connection, *, invoice_id: int, client: str, now: datetime, attempt_key: str = ""
) -> bool:
    """Whether one more card attempt may start (always, when `attempt_key` is one already written). Call it in the
    transaction that writes the attempt: it counts under locks on the invoice and the client, so attempts sent at
    the same moment queue and the limits hold exactly."""
    await lock_names_for_transaction(conn, f"card-attempt-invoice:{invoice_id}", f"card-attempt-client:{client}")
    if attempt_key and await select_payment_by_attempt_key(conn, attempt_key) is not None:
        return True
    on_invoice, by_client = await count_card_attempts(
        conn, invoice_id=invoice_id, client=client, since=now - ATTEMPT_WINDOW
    )
    return on_invoice < MAX_ATTEMPTS_PER_INVOICE and by_client < MAX_ATTEMPTS_PER_CLIENT


async def ensure_intent(conn: Connection, gateway: StripeGateway, invoice: Invoice, payment: Payment) -> Intent:
    """The attempt's PaymentIntent, created on first need. The idempotency key is the attempt's row, so even a
    create whose answer was lost (timeout) cannot leave a second intent behind at Stripe."""
    if payment.stripe_payment_intent_id:
        return await gateway.retrieve_intent(payment.stripe_payment_intent_id)
    async with conn.transaction():
        # Idempotency keys cover Stripe's side; this lock covers ours (and test doubles that ignore the keys).
        intent_id = await lock_intent_id(conn, payment.id)
        if intent_id:
            return await gateway.retrieve_intent(intent_id)
        intent = await gateway.create_intent(
            amount=payment.amount,
            currency=invoice.currency,
            metadata={
                "invoice_id": str(invoice.id), "invoice_number": invoice.number or "", "payment_id": str(payment.id)
            },
            idempotency_key=f"payment-{payment.id}-{payment.amount}",
        )  # fmt: skip
        await set_payment_intent(conn, payment.id, intent.id)
    return intent
