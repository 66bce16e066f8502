"""What billing does to a sent invoice: void (with a reason), mark uncollectible, record a manual payment,
resend the link. Each is one transaction on the locked invoice row; a repeat of a done action changes nothing."""

from __future__ import annotations

from starlette.background import BackgroundTask, BackgroundTasks
from starlette.exceptions import HTTPException
from starlette.responses import Response

from db.activity import insert_activity
from db.invoices import Invoice
from db.stripe_mirrors import give_up_steps, retry_now
from web.console import actions, console_texts
from web.console.fields import Form
from web.console.guard import console_view, current_staff, form_text
from web.console.invoice_page import detail_page, done, locked_invoice
from web.http.urls import public_url
from web.invoices.status import UNPAID
from web.payments.amounts import AmountError
from web.state import AppRequest
from web.stripe_mirror.worker import kick


def _portal_owned(invoice: Invoice) -> Invoice:
    """An invoice made in Stripe Invoicing follows Stripe: voiding it or recording its payments here would make the
    two disagree, so that is done in Stripe (the copy follows its events)."""
    if invoice.source == "stripe":
        raise HTTPException(409, STRIPE_OWNS)
    return invoice


STRIPE_OWNS = (
    "This invoice was made in Stripe: void it, mark it uncollectible or record its payments in Stripe's Dashboard. "
    "The portal follows Stripe within seconds."
)


@console_view(role="billing")
async def invoice_void(request: AppRequest) -> Response:
    form = Form.of(form_text(request), ("reason",))
    reason = form.text("reason", "reason for voiding", max_length=1000, required=True)
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = _portal_owned(await locked_invoice(conn, request))
        if invoice.status not in UNPAID:
            return done(request, invoice, "unchanged")
        if form.ok and await actions.void(conn, invoice, reason=reason, by=current_staff(request).email):
            return _with_stripe_steps(request, done(request, invoice, "voided"), invoice)
    return await detail_page(request, invoice, status=422, void_form=form)


@console_view(role="billing")
async def invoice_uncollectible(request: AppRequest) -> Response:
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = _portal_owned(await locked_invoice(conn, request))
        written_off = await actions.write_off(conn, invoice, by=current_staff(request).email)
    return _with_stripe_steps(request, done(request, invoice, "uncollectible" if written_off else "unchanged"), invoice)


@console_view(role="billing")
async def payment_record(request: AppRequest) -> Response:
    """A bank transfer or other payment received outside Stripe."""
    form = Form.of(form_text(request), ("amount", "method", "reference"))
    method = form.choice("method", "payment method", actions.PAYMENT_METHODS)
    reference = form.text("reference", "reference", max_length=200)
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = _portal_owned(await locked_invoice(conn, request))
        try:
            formats = current_staff(request).formats
            amount = await actions.received_amount(conn, invoice, form.values["amount"], formats)
        except AmountError as refused:
            form.fail("amount", console_texts(current_staff(request).formats).say(refused.message))
        if form.ok:
            await actions.record_payment(
                conn, invoice, amount=amount, method=method, reference=reference, by=current_staff(request).email
            )
            return _with_stripe_steps(request, done(request, invoice, "payment"), invoice)
    return await detail_page(request, invoice, status=422, payment_form=form)


@console_view(role="billing")
async def link_resend(request: AppRequest) -> Response:
    """Mail the customer the live link again (a new one if none is live)."""
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await locked_invoice(conn, request)
        try:
            mail_id = await actions.resend_link(
                conn, invoice, now=request.state["clock"](), by=current_staff(request).email,
                link_url=lambda token: public_url(request, "invoice_show", token=token),
                letters=request.state["letters"],
            )  # fmt: skip
        except actions.ActionRefused as refused:
            raise HTTPException(409, str(refused)) from None
    response = done(request, invoice, "resent")
    response.background = BackgroundTask(request.state["mailer"].deliver, request.state["pool"], [mail_id])
    return response


@console_view(role="billing")
async def stripe_retry(request: AppRequest) -> Response:
    """Retry now: the invoice's Stripe steps that wait (a refusal fixed in Stripe, or no wait for the next try)."""
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await locked_invoice(conn, request)
        waiting = await retry_now(conn, invoice.id)
    return _with_stripe_steps(request, done(request, invoice, "stripe_retry" if waiting else "unchanged"), invoice)


@console_view(role="billing")
async def stripe_give_up(request: AppRequest) -> Response:
    """Stop trying: the invoice's waiting Stripe steps end without reaching Stripe (done there by hand, or the
    account is gone for good). Logged in the invoice's activity."""
    by = current_staff(request).email
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await locked_invoice(conn, request)
        gave_up = await give_up_steps(conn, invoice.id, by)
        if gave_up:
            await insert_activity(conn, invoice.id, "stripe_steps_given_up", {"by": by})
    return done(request, invoice, "stripe_given_up" if gave_up else "unchanged")


def _with_stripe_steps(request: AppRequest, response: Response, invoice: Invoice) -> Response:
    """The Stripe step the action queued (invoices also issued in Stripe), applied once the response is out."""
    tasks = BackgroundTasks([response.background] if response.background is not None else [])
    tasks.add_task(kick, request.state["pool"], request.state["stripe"], invoice.id)
    response.background = tasks
    return response
