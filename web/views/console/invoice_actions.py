"""What billing does to a sent invoice: void (with a reason), mark uncollectible, record a manual payment,
resend the link. Each is one transaction on the locked invoice row; a repeat of a done action changes nothing."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.responses import Response

from db.activity import insert_activity
from db.customers import select_customer
from db.invoices import mark_uncollectible, void_invoice
from db.payments import insert_settled_payment
from db.session import set_actor
from web.console.fields import Form
from web.console.guard import console_view, current_staff, form_text
from web.console.invoice_page import detail_page, done, locked_invoice
from web.console.sending import mail_link
from web.http.urls import public_url
from web.invoices.documents import load_document
from web.invoices.links import live_link, replace_links
from web.invoices.status import UNPAID
from web.payments.amounts import AmountError, parse_received_amount
from web.payments.settlement import settle
from web.state import AppRequest

METHODS = ("bank_transfer", "other")


@console_view(role="billing")
async def invoice_void(request: AppRequest) -> Response:
    form = Form.of(form_text(request), ("reason",))
    reason = form.text("reason", "reason for voiding", max_length=1000, required=True)
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await locked_invoice(conn, request)
        if form.ok and invoice.status in UNPAID:
            await void_invoice(conn, invoice.id, reason)
            await insert_activity(conn, invoice.id, "voided", {"reason": reason, "by": current_staff(request).email})
            return done(request, invoice, "voided")
    if invoice.status not in UNPAID:
        return done(request, invoice, "unchanged")
    return await detail_page(request, invoice, status=422, void_form=form)


@console_view(role="billing")
async def invoice_uncollectible(request: AppRequest) -> Response:
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await locked_invoice(conn, request)
        if await mark_uncollectible(conn, invoice.id) is not None:
            await insert_activity(conn, invoice.id, "marked_uncollectible", {"by": current_staff(request).email})
            return done(request, invoice, "uncollectible")
    return done(request, invoice, "unchanged")


@console_view(role="billing")
async def payment_record(request: AppRequest) -> Response:
    """A bank transfer or other payment received outside Stripe. Partial is fine; more than is due is not."""
    form = Form.of(form_text(request), ("amount", "method", "reference"))
    method = form.choice("method", "payment method", METHODS)
    reference = form.text("reference", "reference", max_length=200)
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await locked_invoice(conn, request)
        if invoice.status not in UNPAID:
            form.fail("amount", "Only an open or uncollectible invoice can receive a payment.")
        document = await load_document(conn, invoice)
        try:
            amount = parse_received_amount(form.values["amount"], invoice.currency, document.amount_due, "en")
        except AmountError as refused:
            form.fail("amount", str(refused))
        if form.ok:
            # Read by the payment activity trigger (migration 0008): the log says who recorded it.
            await set_actor(conn, current_staff(request).email)
            await insert_settled_payment(
                conn, invoice_id=invoice.id, amount=amount, currency=invoice.currency, method=method,
                reference=reference,
            )  # fmt: skip
            await settle(conn, invoice.id)
            return done(request, invoice, "payment")
    return await detail_page(request, invoice, status=422, payment_form=form)


@console_view(role="billing")
async def link_resend(request: AppRequest) -> Response:
    """Mail the customer the live link again (a new one if none is live)."""
    now = request.state["clock"]()
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await locked_invoice(conn, request)
        customer = await select_customer(conn, invoice.workspace_id, invoice.customer_id)
        if invoice.status not in UNPAID or customer is None or not customer.email:
            raise HTTPException(409, "Only an unpaid invoice whose customer has an e-mail address can be resent.")
        link = await live_link(conn, invoice.id, now) or await replace_links(conn, invoice.id)
        document = await load_document(conn, invoice)
        mail_id = await mail_link(
            conn, invoice, link, recipient=customer.email, total=document.totals.total, again=True,
            link_url=lambda token: public_url(request, "invoice_show", token=token),
        )  # fmt: skip
        await insert_activity(
            conn, invoice.id, "sent", {"to": customer.email, "by": current_staff(request).email, "again": True}
        )
    response = done(request, invoice, "resent")
    response.background = BackgroundTask(request.state["mailer"].deliver, request.state["pool"], [mail_id])
    return response
