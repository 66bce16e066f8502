"""Starting a card payment: the gates, the amount rules, and one PaymentIntent per customer attempt.

An attempt is identified by a key rendered into the payment form, so a double submit or a retry after a
timeout finds the same payment row and the same intent instead of creating a second one. (Stripe's
idempotency key, derived from the row, covers the same ground on Stripe's side.)
"""

from __future__ import annotations

import contextlib
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
from web.i18n.message import Message, Money, Refusal, msg, msg_plural, sentences
from web.invoices.documents import InvoiceDocument
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
from web.stripe.accounts import StripeAccount, publishable_key_for
from web.stripe.gateway import Intent, PaymentRefused, ProviderUnavailable, StripeGateway
from web.stripe.invoices import attach_intent

ATTEMPT_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Every new attempt creates a PaymentIntent at Stripe: bounded per invoice (all its readers) and per client
# address (on any invoice), per rolling hour. Generous for people retrying a declined card, tight for a script.
ATTEMPT_WINDOW = timedelta(hours=1)
MAX_ATTEMPTS_PER_INVOICE = 20
MAX_ATTEMPTS_PER_CLIENT = 30
TOO_MANY_ATTEMPTS = msg("There were too many card payment attempts in the last hour. Please try again in an hour.")
# The billing team switched online payment off for this invoice (bank transfer only).
PAYMENTS_OFF = msg(
    "Online payment is turned off for this invoice. Please pay by bank transfer using the details on the invoice."
)


PAY_AT_STRIPE = msg("This invoice was issued through Stripe: it is paid on Stripe's secure payment page.")


class TooManyAttempts(Refusal):
    """New card attempts are over a limit; the text says when to retry and how else to pay."""


@dataclass(frozen=True, slots=True)
class Availability:
    payable: bool
    reason: Message | None = None  # why not, in plain words


def availability(settings: Settings, document: InvoiceDocument) -> Availability:
    status = document.invoice.status
    if not publishable_key_for(settings, document.card_keys):
        return Availability(False, msg("Online card payment is not available for this invoice."))
    if status == InvoiceStatus.PAID or (status == InvoiceStatus.OPEN and document.amount_due == 0):
        return Availability(False, msg("This invoice is paid in full. Nothing is due."))
    if status == InvoiceStatus.VOID:
        return Availability(False, msg("This invoice was voided and cannot be paid."))
    if status != InvoiceStatus.OPEN:
        return Availability(False, msg("This invoice cannot be paid online. Please contact the sender."))
    if document.stripe is not None and document.stripe.account_id != document.card_keys.own_account_id:
        # Paying here pays the Stripe invoice itself (the intent attached to it), so only with the key of the
        # account it lives in; otherwise its customer pays on Stripe's own page, linked from the payment card.
        return Availability(False, PAY_AT_STRIPE)
    if not document.invoice.payments_enabled:
        return Availability(False, PAYMENTS_OFF)
    rules = rules_for(document.invoice.currency, document.amount_due)
    if not card_payable_due(rules):
        code = rules.currency.code
        below = msg(
            "The amount due (%(due)s) is below the smallest card payment (%(minimum)s), so it cannot be paid by card.",
            due=Money(rules.due, code), minimum=Money(rules.smallest_charge, code),
        )  # fmt: skip
        return Availability(False, sentences(below, other_way(document)))
    return Availability(True)


def other_way(document: InvoiceDocument, *, whole_invoice: bool = False) -> Message:
    """How to pay what a card cannot (the rest, or `whole_invoice`): by bank transfer when the invoice carries bank
    details, else ask the seller."""
    if document.bank_transfer_instructions:
        if whole_invoice:
            return msg("Please pay the invoice by bank transfer, with the bank details on the invoice.")
        return msg("Please pay it by bank transfer, with the bank details on the invoice.")
    if document.seller.email:
        if whole_invoice:
            return msg("Please write to %(email)s to settle the invoice.", email=document.seller.email)
        return msg("Please write to %(email)s to settle it.", email=document.seller.email)
    if whole_invoice:
        return msg("Please contact %(seller)s to settle the invoice.", seller=document.seller.legal_name)
    return msg("Please contact %(seller)s to settle it.", seller=document.seller.legal_name)


@dataclass(frozen=True, slots=True)
class PaymentCard:
    """What the payment card on the page shows: the gate, and for a payable invoice the prefill and the rules."""

    availability: Availability
    prefill: str = ""  # the most one card payment may be now, as the reader types it
    hint: Message | None = None


def payment_card(settings: Settings, document: InvoiceDocument, locale: str) -> PaymentCard:
    """`locale`: the reader's, whose decimal symbol the prefill and the hint use."""
    gate = availability(settings, document)
    if not gate.payable:
        return PaymentCard(gate)
    rules = rules_for(document.invoice.currency, document.amount_due)
    currency = rules.currency

    def money(minor: int) -> Money:
        return Money(minor, currency.code)

    highest, smallest = rules.highest_charge, rules.smallest_charge
    hint: list[Message] = []
    if not rules.takes_parts and highest > smallest:
        hint.append(
            msg(
                "Pay %(amount)s in one card payment: a smaller amount would leave less than the smallest card "
                "payment (%(smallest)s).",
                amount=money(highest), smallest=money(smallest),
            )
        )  # fmt: skip
    elif not rules.takes_parts:
        hint.append(
            msg(
                "Pay %(amount)s in one card payment, the smallest card payment in %(currency)s.",
                amount=money(highest), currency=currency.code,
            )
        )  # fmt: skip
    else:
        hint.append(
            msg(
                "You can pay all or part of it by card: from %(smallest)s up to %(highest)s.",
                smallest=money(smallest), highest=money(highest),
            )
        )  # fmt: skip
        hint.append(_digits_rule(rules.decimals, currency.charge_step > 1, decimal_and_group(locale)[0]))
        if smallest > currency.charge_step:
            hint.append(
                msg("A part payment must leave at least %(amount)s for a later card payment.", amount=money(smallest))
            )
        if highest < rules.largest_charge:
            hint.append(
                msg(
                    "%(amount)s is the most one card payment can be: pay the rest in a second payment.",
                    amount=money(highest),
                )
            )
    if rules.card_rest:
        hint.append(
            msg(
                "The last %(amount)s cannot be paid by card (%(currency)s card payments end in 0).",
                amount=money(rules.card_rest), currency=currency.code,
            )
        )  # fmt: skip
        hint.append(other_way(document))
    return PaymentCard(gate, format_for_input(highest, rules, locale), sentences(*hint))


def _digits_rule(decimals: int, ends_in_zero: bool, decimal: str) -> Message:
    if decimals == 0:
        return msg("Whole amounts only.")
    if ends_in_zero:
        return msg_plural(
            "Up to %(num)s decimal after “%(decimal)s”, the last one 0.",
            "Up to %(num)s decimals after “%(decimal)s”, the last one 0.",
            decimals, decimal=decimal,
        )  # fmt: skip
    return msg_plural(
        "Up to %(num)s decimal after “%(decimal)s”.", "Up to %(num)s decimals after “%(decimal)s”.", decimals,
        decimal=decimal,
    )  # fmt: skip


async def start_card_payment(
    conn: Connection,
    account: StripeAccount,
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
        raise AmountError(msg("This payment form has expired. Please reload the page and try again."))
    invoice = document.invoice
    amount = parse_amount(amount_text, rules_for(invoice.currency, document.amount_due), locale)
    async with conn.transaction():
        # A resubmitted attempt is never refused: it finds its row and its PaymentIntent again (looked up under
        # the locks, so a double click's second request sees the row its first one wrote).
        if not await under_attempt_limits(conn, invoice_id=invoice.id, client=client, now=now, attempt_key=attempt_key):
            raise TooManyAttempts(sentences(TOO_MANY_ATTEMPTS, other_way(document, whole_invoice=True)))
        payment, _created = await insert_card_attempt(
            conn, invoice_id=invoice.id, amount=amount, currency=invoice.currency, attempt_key=attempt_key,
            client=client, now=now, stripe_account_id=account.account_id,
        )  # fmt: skip
    if payment.invoice_id != invoice.id or payment.amount != amount:
        raise AmountError(msg("This payment form was already used for another amount. Please reload the page."))
    if payment.stripe_account_id != account.account_id:
        # The workspace connected another Stripe account since this form was shown.
        raise AmountError(msg("This payment form has expired. Please reload the page and try again."))
    return payment, await ensure_intent(conn, account.gateway, invoice, payment)


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
        if invoice.stripe_invoice_id:
            # An invoice made in Stripe is paid in Stripe: the intent pays that invoice, so Stripe's amount
            # remaining, status, receipts and reports follow. Attached before the row names it: a failure here
            # leaves no intent recorded that would pay nothing at Stripe.
            try:
                await attach_intent(gateway, invoice.stripe_invoice_id, intent.id)
            except PaymentRefused:
                # The invoice cannot take it any more (paid or void at Stripe meanwhile): nothing will confirm it.
                with contextlib.suppress(PaymentRefused, ProviderUnavailable):
                    await gateway.cancel_intent(intent.id)
                raise
        await set_payment_intent(conn, payment.id, intent.id)
    return intent
