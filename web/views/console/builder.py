"""Saving a draft from the builder: autosave while typing, add or remove a line, preview, send.

The builder always posts the whole form, so the server holds one truth and no two requests can disagree on
which lines exist. Autosave answers with out-of-band fragments only (totals, line amounts, messages), so
nothing the person is typing in is replaced; adding or removing a line swaps the lines block.
"""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from db.invoices import Invoice, lock_invoice_in_workspace, save_draft
from web.console.customer_form import find_customer
from web.console.draft import DraftCheck, blank_line, check_draft, posted_lines
from web.console.guard import console_view, current_staff, form_list, form_text
from web.console.invoice_page import builder_page, draft_context, locked_invoice
from web.console.pages import page
from web.console.scope import in_workspace
from web.console.sending import SendRefused, send_draft
from web.http.rendering import redirect, wants_fragment
from web.http.urls import path_for, public_url
from web.invoices.status import InvoiceStatus
from web.state import AppRequest

ACTIONS = ("save", "add_line", "preview", "send")


@console_view(role="billing", max_body=1024 * 1024)
async def draft_save(request: AppRequest) -> Response:
    staff = current_staff(request)
    posted = form_text(request)
    action = posted.get("action", "save")
    lines = posted_lines(form_list(request, "line_key"), posted)
    focus_key = ""
    if action == "add_line":
        lines.append(blank_line(lines[-1][1]["tax_rate"] if lines else ""))
        focus_key = lines[-1][0]
    elif action.startswith("remove:"):
        lines = [line for line in lines if line[0] != action.removeprefix("remove:")]
    elif action not in ACTIONS:
        action = "save"
    message, sent = "", None
    async with request.state["pool"].acquire() as conn, conn.transaction():
        invoice = await locked_invoice(conn, request)
        if invoice.status != InvoiceStatus.DRAFT:
            # Sent meanwhile (another tab, a double click on Send): nothing here may change any more.
            if wants_fragment(request) and action == "save":
                raise HTTPException(409, "This invoice was sent: its amounts are frozen. Void it and create a new one.")
            return redirect(request, _invoice_path(request, invoice))
        found = await find_customer(conn, staff.workspace_id, posted.get("customer_id", ""))
        check = check_draft(posted, lines, current=invoice, customer_ids={found.id} if found else set())
        await save_draft(
            conn, invoice.id, customer_id=check.customer_id, currency=check.currency, locale=check.locale,
            issue_date=check.issue_date, due_date=check.due_date, notes=check.notes, payment_terms=check.payment_terms,
            lines=check.valid_lines, draft_form=check.as_json(),
        )  # fmt: skip
        if action == "send" and check.problems:
            message = "Correct the marked fields before sending. The draft was saved as it is."
        elif action == "send":
            try:
                async with conn.transaction():  # a refused send rolls back to the saved draft: no number taken
                    saved = await in_workspace(conn, request, lock_invoice_in_workspace, invoice.id)  # as just saved
                    sent = await send_draft(
                        conn, saved, staff=staff, today=request.state["clock"]().date(),
                        link_url=lambda token: public_url(request, "invoice_show", token=token),
                    )  # fmt: skip
            except SendRefused as refused:
                message = str(refused)
    if sent is not None:
        response = redirect(request, _invoice_path(request, invoice) + "?done=sent")
        response.background = BackgroundTask(request.state["mailer"].deliver, request.state["pool"], sent.mail_ids)
        return response
    if action == "preview" and not check.problems:
        return redirect(request, path_for(request, "console_invoice_preview", invoice_id=invoice.id))
    return await _answer(request, invoice, check, action, message, focus_key)


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
