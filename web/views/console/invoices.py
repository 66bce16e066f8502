"""Invoices: the list, a new draft, the invoice page (the builder while a draft), and the staff preview."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from db.customers import select_customers
from db.invoice_list import InvoiceListQuery, select_invoice_rows
from db.invoices import Invoice, insert_invoice, select_invoice_in_workspace
from db.workspaces import select_workspace
from web.console.customer_form import find_customer
from web.console.guard import console_view, current_staff, form_text
from web.console.invoice_page import builder_page, detail_page
from web.console.listing import CUSTOMER_CHOICES, PAGE_SIZE, STATUSES, invoice_summaries, list_query
from web.console.pages import page
from web.console.scope import in_workspace
from web.einvoice.files import KINDS, NotAnEinvoice, einvoice_file
from web.http.rendering import html_response, pdf_response, render_to_bytes, wants_fragment, xml_response
from web.http.urls import path_for
from web.invoices.documents import load_document
from web.invoices.printing import invoice_pdf_bytes
from web.invoices.status import InvoiceStatus
from web.portal.pages import PREVIEW_MODES, portal_context
from web.portal.viewer import StaffPreview
from web.state import AppRequest

DEFAULT_TERMS = "Payable within 30 days of the issue date without deduction."


async def _list_page(
    request: AppRequest, query: InvoiceListQuery, *, create_error: str = "", status: int = 200
) -> Response:
    staff = current_staff(request)
    async with request.state["pool"].acquire() as conn:
        rows = await select_invoice_rows(conn, staff.workspace_id, query, limit=PAGE_SIZE + 1)
        customers = []
        if staff.role == "billing":
            customers = await select_customers(conn, staff.workspace_id, limit=CUSTOMER_CHOICES + 1)
    context = {
        "invoices": invoice_summaries(rows[:PAGE_SIZE]), "query": query, "statuses": STATUSES,
        "next_after": rows[PAGE_SIZE - 1].invoice.id if len(rows) > PAGE_SIZE else None,
        "customers": customers[:CUSTOMER_CHOICES], "more_customers": len(customers) > CUSTOMER_CHOICES,
        "create_error": create_error,
    }  # fmt: skip
    return page(request, "console/invoices.html", context, status=status)


@console_view()
async def invoice_list(request: AppRequest) -> Response:
    """Newest first, a page at a time; filtered by status, searched by number, customer name or amount."""
    return await _list_page(request, list_query(request.query_params, current_staff(request).formats))


@console_view(role="billing")
async def invoice_create(request: AppRequest) -> Response:
    staff = current_staff(request)
    async with request.state["pool"].acquire() as conn:
        customer = await find_customer(conn, staff.workspace_id, form_text(request).get("customer_id", ""))
        if customer is None:
            error = "Choose a customer for the new invoice (or create the customer first)."
            return await _list_page(request, InvoiceListQuery(), create_error=error, status=422)
        workspace = await in_workspace(conn, request, select_workspace)
        draft = await insert_invoice(
            conn, workspace_id=staff.workspace_id, customer_id=customer.id, currency=workspace.default_currency,
            locale=customer.locale, payment_terms=DEFAULT_TERMS,
        )  # fmt: skip
    return RedirectResponse(path_for(request, "console_invoice_show", invoice_id=draft.id), status_code=303)


async def invoice_for(request: AppRequest) -> Invoice:
    """The invoice in the path, in the signed-in workspace only (another workspace's id is a 404)."""
    async with request.state["pool"].acquire() as conn:
        return await in_workspace(conn, request, select_invoice_in_workspace, request.path_params["invoice_id"])


@console_view()
async def invoice_show(request: AppRequest) -> Response:
    invoice = await invoice_for(request)
    if invoice.status == InvoiceStatus.DRAFT:
        return await builder_page(request, invoice)
    return await detail_page(request, invoice)


@console_view()
async def invoice_preview(request: AppRequest) -> Response:
    """The customer's page, rendered by the same templates from the same document, marked as a preview. It has
    no view beacon, no event stream, no forms that post: nothing a preview does is recorded."""
    invoice = await invoice_for(request)
    async with request.state["pool"].acquire() as conn:
        document = await load_document(conn, invoice)
    context = portal_context(request, StaffPreview(document))
    if wants_fragment(request) and request.query_params.get("view") in PREVIEW_MODES:
        return html_response(render_to_bytes(request, "portal/_preview.html", context))
    return html_response(render_to_bytes(request, "portal/show.html", context))


@console_view()
async def invoice_preview_pdf(request: AppRequest) -> Response:
    """The same PDF the customer downloads (same template, same cache), never logged as a download."""
    invoice = await invoice_for(request)
    async with request.state["pool"].acquire() as conn:
        document = await load_document(conn, invoice)

    state = request.state
    pdf = await invoice_pdf_bytes(state["pool"], state["templates"], state["pdf_cache"], document)
    name = (invoice.number or f"draft-{invoice.id}") + "-preview.pdf"
    return pdf_response(pdf, name, download=False)


@console_view()
async def invoice_einvoice(request: AppRequest) -> Response:
    """The issued invoice as an e-invoice file; what it lacks (409) when it cannot be one yet."""
    if request.path_params["kind"] not in KINDS:
        raise HTTPException(404)
    invoice = await invoice_for(request)
    async with request.state["pool"].acquire() as conn:
        document = await load_document(conn, invoice)
    try:
        found = einvoice_file(document, request.path_params["kind"])
    except NotAnEinvoice as refused:
        if not refused.lacks:
            raise HTTPException(409, "A draft, a void invoice or one made in Stripe has no e-invoice.") from None
        raise HTTPException(409, f"This invoice cannot be an e-invoice: {refused}") from None
    return xml_response(found.xml, found.filename)


@console_view()
async def console_home(request: AppRequest) -> Response:
    """Billing starts at the invoices, support at the inbox."""
    target = "console_invoice_list" if current_staff(request).role == "billing" else "console_inbox_show"
    return RedirectResponse(path_for(request, target), status_code=303)
