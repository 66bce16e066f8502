"""Each step of a mirrored invoice, done in Stripe with no database connection held while Stripe answers.

Every step can be repeated after a failure at any point and ends in the same place: the Stripe invoice is found
again by the id saved as soon as Stripe made it (or, when that save was lost, by our id in its metadata); an item
already on it is not added again; a step Stripe has already taken (void, uncollectible, a payment attached) counts
as done. Raises MirrorRefused (Stripe said no, or would not match the invoice: a person must act) or the gateway's
ProviderUnavailable (retried later).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import asyncpg

from db.invoices import Invoice, InvoiceLine, select_invoice_in_workspace, select_invoice_lines
from db.payments import Payment, select_payment
from db.stripe_mirrors import (
    MirrorTask,
    StripeMirror,
    save_customer_stripe_id,
    save_stripe_ids,
    select_customer_stripe_id,
)
from web.invoices.totals import compute_totals
from web.stripe import issuing
from web.stripe.gateway import PaymentRefused, StripeGateway
from web.stripe.invoices import attach_intent, retrieve_invoice
from web.stripe_mirror.amounts import line_taxes_match, stripe_lines, tax_amounts

PORTAL_ID = "portal_invoice_id"


class MirrorRefused(Exception):
    """str() says, for the billing team, why Stripe did not take the step."""


async def apply(pool: asyncpg.Pool, gateway: StripeGateway, mirror: StripeMirror, task: MirrorTask) -> dict[str, Any]:
    """Do one step; the Stripe invoice as it stands afterwards."""
    try:
        if task.kind == "issue":
            return await _issue(pool, gateway, mirror, first_try=task.attempts == 1)
        stripe_invoice = await _issued(gateway, mirror)
        if task.kind == "void":
            return await _void(gateway, stripe_invoice)
        if task.kind == "uncollectible":
            if stripe_invoice["status"] == "open":
                return await issuing.mark_uncollectible(gateway, stripe_invoice["id"])
            return stripe_invoice  # written off, paid or void already
        assert task.payment_id is not None
        return await _payment(pool, gateway, mirror, stripe_invoice, task.payment_id)
    except PaymentRefused as refused:
        raise MirrorRefused(f"Stripe refused: {refused}") from refused


async def _issued(gateway: StripeGateway, mirror: StripeMirror) -> dict[str, Any]:
    found = (
        None
        if mirror.stripe_invoice_id is None
        else await retrieve_invoice(gateway, mirror.stripe_invoice_id, for_copy=False)
    )
    if found is None:
        raise MirrorRefused("The invoice is not in Stripe (it was never issued there, or was deleted in Stripe).")
    return found


async def _issue(
    pool: asyncpg.Pool, gateway: StripeGateway, mirror: StripeMirror, *, first_try: bool
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        invoice = await select_invoice_in_workspace(conn, mirror.workspace_id, mirror.invoice_id)
        assert invoice is not None and invoice.number is not None
        lines = await select_invoice_lines(conn, invoice.id)
        known_customer = await select_customer_stripe_id(conn, invoice.customer_id)
    totals = compute_totals(lines, invoice.currency)
    customer_id = mirror.stripe_customer_id or await _customer(pool, gateway, mirror, invoice, known_customer)
    found = await _draft(pool, gateway, mirror, invoice, customer_id, search=not first_try)
    if found["status"] == "draft":
        found = await _fill_and_finalize(gateway, found, invoice, lines, customer_id)
    _same_as_ours(found, invoice, totals.total)
    return found


def _same_as_ours(found: dict[str, Any], invoice: Invoice, total: int) -> None:
    """A finalized Stripe invoice stands for ours only with our number and total, and nothing taken off what is due
    (a credit balance Stripe applied at finalization, Stripe's minimum charge)."""
    stripe_id, status = found.get("id"), found.get("status")
    if status == "void":
        return  # voided in Stripe before a lost answer reached us: the void step follows, or it stands as it is
    if found.get("number") != invoice.number or int(found.get("total") or 0) != total:
        raise MirrorRefused(
            f"Stripe's invoice {stripe_id} ({found.get('number')}, total {found.get('total')}) does not match the "
            f"invoice ({invoice.number}, total {total}). Void it in Stripe, then retry."
        )
    if status == "open" and int(found.get("amount_due") or 0) != total:
        raise MirrorRefused(
            f"Stripe took {total - int(found.get('amount_due') or 0)} off what is due on {stripe_id} when it finalized "
            "it (the customer's credit balance in Stripe). Settle that in Stripe; payments made here go on being "
            "recorded there."
        )


async def _customer(
    pool: asyncpg.Pool, gateway: StripeGateway, mirror: StripeMirror, invoice: Invoice, known: str | None
) -> str:
    """The customer's Stripe id in this account: the one it has (imported, or made for an earlier invoice), else a
    new customer made from the invoice's buyer. One with a credit balance is refused: Stripe would apply it to this
    invoice, and the customer would owe less there than here."""
    existing = None if known is None else await issuing.existing_customer(gateway, known)
    if existing is not None and int(existing.get("balance") or 0) != 0:
        raise MirrorRefused(
            f"The customer {existing['id']} has a balance of {existing.get('balance')} in Stripe, which Stripe would "
            "apply to this invoice. Settle the balance in Stripe, then retry."
        )
    customer_id = None if existing is None else str(existing["id"])
    if customer_id is None:
        buyer = invoice.buyer_snapshot or {}
        address = [part.strip() for part in str(buyer.get("address") or "").splitlines() if part.strip()]
        params: dict[str, Any] = {
            "name": str(buyer.get("legal_name") or "")[:256],
            "email": str(buyer.get("email") or "")[:512],
            "metadata": {"portal_customer_id": str(invoice.customer_id), "tax_id": str(buyer.get("tax_id") or "")},
        }
        if address:
            params["address"] = {"line1": address[0][:200], "line2": ", ".join(address[1:])[:200]}
        key = f"portal-{mirror.account_id}-customer-{invoice.customer_id}"
        customer_id = await issuing.create_customer(gateway, params, key=key)
    async with pool.acquire() as conn, conn.transaction():
        await save_stripe_ids(conn, mirror.invoice_id, customer_id=customer_id)
        await save_customer_stripe_id(conn, mirror.workspace_id, invoice.customer_id, customer_id)
    return customer_id


async def _draft(
    pool: asyncpg.Pool,
    gateway: StripeGateway,
    mirror: StripeMirror,
    invoice: Invoice,
    customer_id: str,
    *,
    search: bool,
) -> dict[str, Any]:
    """The Stripe invoice: the one saved (unless deleted in Stripe meanwhile), else, on a retry, the one a lost
    answer made (found by our id in its metadata), else a new draft. (A first try has made nothing to find: the
    search, a page of the customer's invoices, is skipped.)"""
    if mirror.stripe_invoice_id is not None:
        saved = await retrieve_invoice(gateway, mirror.stripe_invoice_id, for_copy=False)
        if saved is not None:
            return saved
    found = None
    if search:
        found = await issuing.find_invoice_by_metadata(gateway, customer_id, PORTAL_ID, str(invoice.id))
    if found is None:
        assert invoice.due_date is not None
        params: dict[str, Any] = {
            "customer": customer_id,
            "currency": invoice.currency.lower(),
            "collection_method": "send_invoice",
            "due_date": int(datetime.combine(invoice.due_date, time(23, 59), UTC).timestamp()),
            # The portal mails the customer its link; Stripe must not send a second invoice of its own.
            "auto_advance": False,
            "pending_invoice_items_behavior": "exclude",
            # One number on both: what the customer, the portal and Stripe's reports call this invoice.
            "number": invoice.number,
            "metadata": {PORTAL_ID: str(invoice.id), "portal_workspace_id": str(invoice.workspace_id)},
        }
        if invoice.notes:
            params["description"] = invoice.notes[:1500]
        key = f"portal-{mirror.account_id}-invoice-{invoice.id}-{mirror.stripe_invoice_id or 'first'}"
        found = await issuing.create_invoice(gateway, params, key=key)
    elif found.get("status") == "draft" and found.get("number") != invoice.number:
        await issuing.update_invoice(gateway, str(found["id"]), {"number": invoice.number})
    async with pool.acquire() as conn:
        await save_stripe_ids(conn, mirror.invoice_id, stripe_invoice_id=str(found["id"]))
    return await _issued_by_id(gateway, str(found["id"]))


async def _fill_and_finalize(
    gateway: StripeGateway, draft: dict[str, Any], invoice: Invoice, lines: list[InvoiceLine], customer_id: str
) -> dict[str, Any]:
    totals = compute_totals(lines, invoice.currency)
    wanted = stripe_lines(lines, totals, invoice.currency)
    stripe_id = str(draft["id"])
    present = _by_portal_line(draft)
    for line in wanted:
        if str(line.line_id) not in present:
            params = {**line.item, "customer": customer_id, "invoice": stripe_id}
            await issuing.add_item(gateway, params, key=f"portal-{stripe_id}-line-{line.line_id}")
    draft = await _issued_by_id(gateway, stripe_id)
    present = _by_portal_line(draft)
    for line in wanted:
        stripe_line = present.get(str(line.line_id))
        if stripe_line is None:
            raise MirrorRefused(f"A line of Stripe's draft {stripe_id} lost the portal's line id; delete the draft.")
        if not line_taxes_match(stripe_line, line):
            await issuing.set_line_taxes(gateway, stripe_id, str(stripe_line["id"]), tax_amounts(line))
    draft = await _issued_by_id(gateway, stripe_id)
    lines_there = (draft.get("lines") or {}).get("data") or []
    if int(draft.get("total") or 0) != totals.total or len(lines_there) != len(wanted):
        raise MirrorRefused(
            f"Stripe's draft {stripe_id} would total {draft.get('total')} with {len(lines_there)} lines; the invoice "
            f"totals {totals.total} with {len(wanted)}. It was left as a draft in Stripe: correct or delete it there."
        )
    return await issuing.finalize(gateway, stripe_id)


def _by_portal_line(invoice: dict[str, Any]) -> dict[str, dict[str, Any]]:
    lines = (invoice.get("lines") or {}).get("data") or []
    return {str((line.get("metadata") or {}).get("portal_line_id")): line for line in lines}


async def _issued_by_id(gateway: StripeGateway, stripe_id: str) -> dict[str, Any]:
    found = await retrieve_invoice(gateway, stripe_id, for_copy=False)
    if found is None:
        raise MirrorRefused(f"The draft {stripe_id} was deleted in Stripe meanwhile.")
    return found


async def _void(gateway: StripeGateway, stripe_invoice: dict[str, Any]) -> dict[str, Any]:
    status = stripe_invoice["status"]
    if status in ("open", "uncollectible"):
        return await issuing.void(gateway, stripe_invoice["id"])
    if status == "draft":  # never finalized there: nothing to account for, so the draft goes
        await issuing.delete_draft(gateway, stripe_invoice["id"])
        return {**stripe_invoice, "status": "deleted"}
    if status == "paid":
        raise MirrorRefused("The invoice is paid in Stripe, so Stripe cannot void it: refund it there.")
    return stripe_invoice  # void already


async def _payment(
    pool: asyncpg.Pool, gateway: StripeGateway, mirror: StripeMirror, stripe_invoice: dict[str, Any], payment_id: int
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        payment = await select_payment(conn, payment_id)
    assert payment is not None
    stripe_id = str(stripe_invoice["id"])
    if await _attached(gateway, stripe_id, payment):
        return stripe_invoice  # a lost answer attached it already
    if stripe_invoice["status"] not in ("open", "uncollectible"):
        raise MirrorRefused(
            f"The invoice is {stripe_invoice['status']} in Stripe, so this payment of {payment.amount} could not be "
            "recorded there. Record or refund it in Stripe's Dashboard, then stop trying here."
        )
    if payment.stripe_payment_intent_id and payment.stripe_account_id == mirror.account_id:
        # Paid by card through the portal, in this same account: the PaymentIntent itself pays the Stripe invoice,
        # so Stripe's receipts and reports show the card payment.
        await attach_intent(gateway, stripe_id, payment.stripe_payment_intent_id)
    else:
        record = await issuing.report_payment(gateway, _record(payment), key=f"portal-payment-{payment.id}")
        await issuing.attach_record(gateway, stripe_id, record)
    return await _issued_by_id(gateway, stripe_id)


def _record(payment: Payment) -> dict[str, Any]:
    """A payment made outside this Stripe account, as a PaymentRecord (an out-of-band payment of that amount)."""
    when = int((payment.succeeded_at or payment.created_at).timestamp())
    method = "Bank transfer" if payment.method == "bank_transfer" else "Card" if payment.method == "card" else "Other"
    return {
        "amount_requested": {"currency": payment.currency.lower(), "value": payment.amount},
        "initiated_at": when,
        "outcome": "guaranteed",
        "guaranteed": {"guaranteed_at": when},
        "payment_method_details": {"custom": {"display_name": method}},
        "processor_details": {"type": "custom", "custom": {"payment_reference": payment.reference or str(payment.id)}},
        "metadata": {"portal_payment_id": str(payment.id)},
    }


async def _attached(gateway: StripeGateway, stripe_id: str, payment: Payment) -> bool:
    for attached in await issuing.invoice_payments(gateway, stripe_id):
        paid_by = attached.get("payment") or {}
        if payment.stripe_payment_intent_id and paid_by.get("payment_intent") == payment.stripe_payment_intent_id:
            return True
        record_id = paid_by.get("payment_record")
        if isinstance(record_id, str) and await issuing.record_of_payment(gateway, record_id) == str(payment.id):
            return True
    return False
