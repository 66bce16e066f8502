"""The console's invoice page: the builder while it is a draft, the detail (actions, portal access, activity,
payments) once sent. Both are rendered from here so the views stay thin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from db.activity import select_activity
from db.customers import select_customer, select_customers
from db.invoices import Invoice, lock_invoice_in_workspace, select_draft_form, select_invoice_lines
from db.links import select_links_for_invoice
from db.rows import Connection
from db.stripe_mirrors import select_mirror, select_tasks
from web.console import comment_modes
from web.console.customer_form import find_customer, locale_choices
from web.console.draft import DraftCheck, check_draft, stored_form
from web.console.guard import current_staff
from web.console.listing import CUSTOMER_CHOICES, search_text
from web.console.pages import page
from web.console.scope import in_workspace
from web.einvoice.codes import UNITS, VAT_CATEGORIES
from web.einvoice.files import available_kinds
from web.einvoice.model import is_einvoice
from web.einvoice.readiness import Lack, lacking, xrechnung_lacking
from web.http.urls import path_for
from web.invoices.documents import InvoiceDocument, load_document
from web.invoices.money import CURRENCIES
from web.invoices.status import InvoiceStatus
from web.state import AppRequest


async def draft_check(request: AppRequest, invoice: Invoice) -> DraftCheck:
    """The builder's state as last saved: the typed form re-checked, so mistakes stay marked after a reload."""
    async with request.state["pool"].acquire() as conn:
        lines = await select_invoice_lines(conn, invoice.id)
        typed = stored_form(invoice, lines, await select_draft_form(conn, invoice.id))
        found = await find_customer(conn, invoice.workspace_id, typed.header.get("customer_id", ""))
    return check_draft(typed.header, typed.lines, current=invoice, customer_ids={found.id} if found else set())


def draft_context(invoice: Invoice, check: DraftCheck) -> dict[str, Any]:
    """What the builder's fragments (autosave answer, lines block) need: no database round trip, so the answer
    to every pause in typing costs only the save itself."""
    return {"invoice": invoice, "check": check, "form": check.form, "units": UNITS, "vat_categories": VAT_CATEGORIES}


async def builder_context(request: AppRequest, invoice: Invoice, check: DraftCheck) -> dict[str, Any]:
    """The whole builder page: the fragments' context plus the lists its selects offer. The customer select offers
    the first customers by name, or those matching the page's `?customers=` search, and always the draft's own."""
    search = search_text(request.query_params, "customers")
    async with request.state["pool"].acquire() as conn:
        customers = await select_customers(conn, invoice.workspace_id, search=search, limit=CUSTOMER_CHOICES + 1)
        customer = await select_customer(conn, invoice.workspace_id, check.customer_id)
        document = await load_document(conn, invoice)
    listed = customers[:CUSTOMER_CHOICES]
    choices = [(str(c.id), c.name) for c in listed]
    if customer is not None and customer.id not in {c.id for c in listed}:
        choices.insert(0, (str(customer.id), customer.name))
    return {
        **draft_context(invoice, check), "customer": customer, "customers": choices,
        # How many the list or search gave (the draft's own customer aside), and whether it stopped short.
        "customer_search": search, "customers_listed": len(listed), "more_customers": len(customers) > len(listed),
        "einvoice": einvoice_state(document),
        "currencies": [(code, code) for code in sorted(CURRENCIES)], "locales": locale_choices(),
    }  # fmt: skip


async def builder_page(
    request: AppRequest, invoice: Invoice, check: DraftCheck | None = None, *, status: int = 200, message: str = ""
) -> Response:
    check = check or await draft_check(request, invoice)
    context = await builder_context(request, invoice, check)
    return page(request, "console/builder.html", {**context, "message": message}, status=status)


async def detail_page(request: AppRequest, invoice: Invoice, *, status: int = 200, **extra: Any) -> Response:
    staff = current_staff(request)
    async with request.state["pool"].acquire() as conn:
        document = await load_document(conn, invoice)
        links = await select_links_for_invoice(conn, invoice.id)
        activity = await select_activity(conn, invoice.id)
        mirror = await select_mirror(conn, invoice.id)
        mirror_steps = await select_tasks(conn, invoice.id) if mirror is not None else []
    context = {
        "einvoice": einvoice_state(document),
        "mirror": mirror, "mirror_waiting": [step for step in mirror_steps if step.done_at is None],
        "invoice": invoice, "doc": document, "links": links, "activity": activity, "payments": document.payments,
        "now": request.state["clock"](), "notice": request.query_params.get("done", ""),
        "can_bill": staff.role == "billing", "comment_modes": comment_modes.CHOICES, **extra,
    }  # fmt: skip
    return page(request, "console/invoice.html", context, status=status)


@dataclass(frozen=True, slots=True)
class EinvoiceState:
    kinds: tuple[str, ...]  # the files it has
    lacks: list[Lack]  # why it has none (empty for a void or imported invoice)
    xrechnung_lacks: list[Lack]
    in_pdf: bool


def einvoice_state(document: InvoiceDocument) -> EinvoiceState:
    """What the console says of the invoice as an e-invoice (a draft: what it will be once sent)."""
    if document.invoice.status != "draft" and not is_einvoice(document):
        return EinvoiceState((), [], [], document.einvoice_in_pdf)
    lacks = lacking(document)
    kinds = available_kinds(document) if document.invoice.status != "draft" else ()
    return EinvoiceState(kinds, lacks, xrechnung_lacking(document), document.einvoice_in_pdf)


async def locked_invoice(conn: Connection, request: AppRequest, *, sent: bool = False) -> Invoice:
    """The invoice in the path, of the signed-in workspace only (else 404), locked for the caller's transaction,
    so actions on one invoice queue. `sent`: a draft is refused (it has no portal link yet)."""
    invoice = await in_workspace(conn, request, lock_invoice_in_workspace, request.path_params["invoice_id"])
    if sent and invoice.status == InvoiceStatus.DRAFT:
        raise HTTPException(409, "A draft has no portal link yet: send it first.")
    return invoice


def done(request: AppRequest, invoice: Invoice, what: str, anchor: str = "") -> Response:
    """Back to the invoice page with a notice of what was done (Post/Redirect/Get)."""
    page_path = path_for(request, "console_invoice_show", invoice_id=invoice.id)
    return RedirectResponse(f"{page_path}?done={what}{anchor}", status_code=303)
