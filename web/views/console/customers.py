"""Customers: list and search, create, edit. Support may read; only billing may change."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from db.customer_access import count_live_customer_sessions, end_customer_sessions_of
from db.customers import Customer, insert_customer, select_customer, select_customers, update_customer
from db.invoice_list import InvoiceListQuery, select_invoice_rows
from db.workspaces import select_workspace
from web.console import customer_form
from web.console.fields import Form
from web.console.guard import console_view, current_staff, form_text
from web.console.listing import PAGE_SIZE, invoice_summaries, search_text
from web.console.pages import page
from web.console.party_fields import ENDPOINT_SCHEMES, country_choices
from web.console.scope import in_workspace
from web.http.urls import parse_id, path_for
from web.state import AppRequest


@console_view()
async def customer_list(request: AppRequest) -> Response:
    staff = current_staff(request)
    search = search_text(request.query_params, "q")
    after = parse_id(request.query_params.get("after")) or None
    async with request.state["pool"].acquire() as conn:
        customers = await select_customers(conn, staff.workspace_id, search=search, after=after, limit=PAGE_SIZE + 1)
    context = {
        "customers": customers[:PAGE_SIZE], "search": search, "after": after,
        "next_after": customers[PAGE_SIZE - 1].id if len(customers) > PAGE_SIZE else None,
    }  # fmt: skip
    return page(request, "console/customers.html", context)


@console_view(role="billing")
async def customer_new(request: AppRequest) -> Response:
    async with request.state["pool"].acquire() as conn:
        workspace = await in_workspace(conn, request, select_workspace)
    form = customer_form.form_for(None, workspace.default_locale)
    return _form_page(request, None, form)


@console_view(role="billing")
async def customer_create(request: AppRequest) -> Response:
    form, values = customer_form.check(form_text(request))
    if values is None:
        return _form_page(request, None, form, status=422)
    async with request.state["pool"].acquire() as conn:
        customer = await insert_customer(
            conn, workspace_id=current_staff(request).workspace_id, name=values.name, email=values.email,
            billing_address=values.billing_address, tax_id=values.tax_id, locale=values.locale, postal=values.postal,
            endpoint_id=values.endpoint_id, endpoint_scheme=values.endpoint_scheme,
            buyer_reference=values.buyer_reference,
        )  # fmt: skip
    return _saved(request, customer)


def _saved(request: AppRequest, customer: Customer) -> Response:
    return RedirectResponse(
        path_for(request, "console_customer_show", customer_id=customer.id) + "?saved=1", status_code=303
    )


async def _customer(request: AppRequest) -> Customer:
    async with request.state["pool"].acquire() as conn:
        customer = await in_workspace(conn, request, select_customer, request.path_params["customer_id"])
    return customer


@console_view()
async def customer_show(request: AppRequest) -> Response:
    customer = await _customer(request)
    return await _form_page_with_invoices(request, customer, customer_form.form_for(customer))


@console_view(role="billing")
async def customer_update(request: AppRequest) -> Response:
    customer = await _customer(request)
    form, values = customer_form.check(form_text(request))
    if values is None:
        return await _form_page_with_invoices(request, customer, form, status=422)
    async with request.state["pool"].acquire() as conn:
        updated = await update_customer(
            conn, customer.workspace_id, customer.id, name=values.name, email=values.email,
            billing_address=values.billing_address, tax_id=values.tax_id, locale=values.locale, postal=values.postal,
            endpoint_id=values.endpoint_id, endpoint_scheme=values.endpoint_scheme,
            buyer_reference=values.buyer_reference,
        )  # fmt: skip
    if updated is None:
        raise HTTPException(404)
    return _saved(request, customer)


async def _form_page_with_invoices(request: AppRequest, customer: Customer, form: Form, status: int = 200) -> Response:
    async with request.state["pool"].acquire() as conn:
        query = InvoiceListQuery(customer_id=customer.id)
        rows = await select_invoice_rows(conn, customer.workspace_id, query, limit=PAGE_SIZE + 1)
        email = customer.email.strip().lower()
        sessions = (
            await count_live_customer_sessions(conn, customer.workspace_id, email, request.state["clock"]())
            if email
            else 0
        )
    return _form_page(
        request, customer, form, status=status, invoices=invoice_summaries(rows[:PAGE_SIZE]),
        more_invoices=len(rows) > PAGE_SIZE, history_sessions=sessions,
    )  # fmt: skip


@console_view(role="billing")
async def customer_sessions_end(request: AppRequest) -> Response:
    """Sign the customer's address out of its billing history everywhere (a lost laptop, a person who left)."""
    customer = await _customer(request)
    async with request.state["pool"].acquire() as conn:
        await end_customer_sessions_of(
            conn, customer.workspace_id, customer.email.strip().lower(), request.state["clock"]()
        )
    return _saved(request, customer)


def _form_page(
    request: AppRequest,
    customer: Customer | None,
    form: Form,
    *,
    status: int = 200,
    invoices: object = (),
    more_invoices: bool = False,
    history_sessions: int = 0,
) -> Response:
    context = {
        "customer": customer, "form": form, "locales": customer_form.locale_choices(), "invoices": invoices,
        "more_invoices": more_invoices, "history_sessions": history_sessions, "countries": country_choices(),
        "endpoint_schemes": ENDPOINT_SCHEMES,
        "saved": request.query_params.get("saved") == "1" and status == 200,
    }  # fmt: skip
    return page(request, "console/customer.html", context, status=status)
