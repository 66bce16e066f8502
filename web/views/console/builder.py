"""Saving a draft from the builder: autosave while typing, add or remove a line, preview, send.

The builder always posts the whole form, so the server holds one truth and no two requests can disagree on
which lines exist. Autosave answers with out-of-band fragments only (totals, line amounts, messages), so
nothing the person is typing in is replaced; adding or removing a line swaps the lines block.
"""

from __future__ import annotations

from starlette.background import BackgroundTasks
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from db.invoices import Invoice
from web.console.draft import DraftCheck, posted_lines
from web.console.drafting import apply_line_action, save_form
from web.console.guard import console_view, current_staff, form_list, form_text
from web.console.invoice_page import builder_page, draft_context, locked_invoice
from web.console.pages import page
from web.http.rendering import redirect, wants_fragment
from web.http.urls import path_for, public_url
from web.invoices.status import InvoiceStatus
from web.state import AppRequest
from web.stripe_mirror.worker import kick


@console_view(role="billing", max_body=1024 * 1024)
async def draft_save(request: AppRequest) -> Response:
    posted = form_text(request)
    action, lines, focus_key = apply_line_action(
        posted.get("action", "save"), posted_lines(form_list(request, "line_key"), posted)
    )
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await locked_invoice(conn, request)
        if invoice.status != InvoiceStatus.DRAFT:
            # Sent meanwhile (another tab, a double click on Send): nothing here may change any more.
            if wants_fragment(request) and action == "save":
                raise HTTPException(409, "This invoice was sent: its amounts are frozen. Void it and create a new one.")
            return redirect(request, _invoice_path(request, invoice))
        saved = await save_form(
            conn, invoice, posted, lines, staff=current_staff(request), send=action == "send",
            today=request.state["clock"]().date(),
            link_url=lambda token: public_url(request, "invoice_show", token=token),
            letters=request.state["letters"],
        )  # fmt: skip
    if saved.sent is not None:
        response = redirect(request, _invoice_path(request, invoice) + "?done=sent")
        tasks = BackgroundTasks()
        tasks.add_task(request.state["mailer"].deliver, request.state["pool"], saved.sent.mail_ids)
        if saved.sent.in_stripe:  # the customer's link goes first; then the same invoice is issued in Stripe
            tasks.add_task(kick, request.state["pool"], request.state["stripe"], invoice.id)
        response.background = tasks
        return response
    if action == "preview" and not saved.check.problems:
        return redirect(request, path_for(request, "console_invoice_preview", invoice_id=invoice.id))
    return await _answer(request, invoice, saved.check, action, saved.message, focus_key)


def _invoice_path(request: AppRequest, invoice: Invoice) -> str:
    return path_for(request, "console_invoice_show", invoice_id=invoice.id)


async def _answer(
    request: AppRequest, invoice: Invoice, check: DraftCheck, action: str, message: str, focus_key: str
) -> Response:
    status = 422 if check.problems or message else 200
    if action == "preview" and check.problems:
        message = "Correct the marked fields first: the preview shows only what can be sent."
    if not wants_fragment(request):
        if status == 200 and action == "save":
            return RedirectResponse(_invoice_path(request, invoice) + "?saved=1", status_code=303)
        return await builder_page(request, invoice, check, status=status, message=message)
    context = {**draft_context(invoice, check), "message": message, "focus_key": focus_key}
    template = "console/_draft_update.html" if action in ("save", "send", "preview") else "console/_builder_lines.html"
    return page(request, template, context, status=status)
