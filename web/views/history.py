"""A customer's billing history: signing in from an invoice's page (e-mail, then the e-mailed code), the list of
their invoices in that workspace, each invoice's page and PDF from it, and Sign out."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from db.activity import PDF_DOWNLOADED, insert_activity
from db.customer_access import CustomerSession
from db.history import select_history_invoice
from db.invoices import Invoice
from db.stripe_connections import select_portal_customer
from db.workspaces import Workspace, select_workspace
from web.comments.access import AccessError
from web.history.access import CODE_SENT, SESSION_TTL, end_session, find_session, request_code, verify_code
from web.history.listing import listing_context
from web.http.errors import RefusedRequest
from web.http.forms import client_address, read_form
from web.http.locale import reader_texts
from web.http.rendering import html_response, pdf_response, render_to_bytes
from web.http.urls import path_for, public_url
from web.i18n.catalogs import Texts
from web.i18n.message import Message, msg
from web.invoices.documents import load_document
from web.invoices.links import live_or_new_link
from web.invoices.printing import invoice_pdf_bytes, pdf_filename
from web.portal.viewer import LinkHolder, link_holder
from web.portal.workspace_path import workspace_in_path
from web.receipts.model import receipt_for
from web.receipts.printing import receipt_pdf_bytes
from web.state import AppRequest
from web.stripe.billing_portal import open_portal_session
from web.stripe.gateway import PaymentRefused, ProviderUnavailable


def cookie_name(workspace: Workspace) -> str:
    """One cookie per workspace, on the whole site: the invoice pages' All your invoices (/i/…) must see it too,
    to go straight to the history when the customer is signed in."""
    return f"billing_session_{workspace.id}"


PORTAL_DOWN = msg("Stripe's customer portal could not be opened just now. Please try again in a minute.")
_MAX_FORM_BYTES = 4096
# A link made for a customer opening an invoice from the history: as long-lived as a sent one's default.
_LINK_DAYS = 30


async def history_sign_in(request: AppRequest) -> Response:
    """All your invoices (from an invoice's page): straight to the history with a live session, else the e-mail."""
    viewer = await link_holder(request)
    workspace = await _workspace_of(request, viewer)
    async with request.state["pool"].acquire() as conn:
        session = await find_session(
            conn, workspace, request.cookies.get(cookie_name(workspace)), request.state["clock"]()
        )
    if session is not None:
        return RedirectResponse(path_for(request, "history_show", workspace=workspace.slug), status_code=303)
    return _sign_in_page(request, viewer, workspace, 200)


async def history_code_request(request: AppRequest) -> Response:
    viewer, workspace, form = await _sign_in_form(request)
    email = form.get("email", "")[:320]
    try:
        async with request.state["pool"].acquire() as conn:
            mail_id = await request_code(
                conn, workspace, email=email, client=client_address(request), now=request.state["clock"](),
                letters=request.state["letters"], texts=_texts(request, workspace),
            )  # fmt: skip
    except AccessError as refusal:
        return _sign_in_page(request, viewer, workspace, 422, email=email, error=refusal.message)
    response = _sign_in_page(request, viewer, workspace, 200, email=email, step="code", notice=CODE_SENT)
    if mail_id is not None:  # after the answer, so its time says nothing about the address
        response.background = BackgroundTask(request.state["mailer"].deliver, request.state["pool"], [mail_id])
    return response


async def history_code_verify(request: AppRequest) -> Response:
    viewer, workspace, form = await _sign_in_form(request)
    email = form.get("email", "")[:320]
    try:
        async with request.state["pool"].acquire() as conn:
            token = await verify_code(
                conn, workspace, email=email, code=form.get("code", ""), now=request.state["clock"]()
            )
    except AccessError as refusal:
        return _sign_in_page(request, viewer, workspace, 422, email=email, step="code", error=refusal.message)
    history = path_for(request, "history_show", workspace=workspace.slug)
    response = RedirectResponse(history, status_code=303)
    response.set_cookie(
        cookie_name(workspace), token, max_age=int(SESSION_TTL.total_seconds()), path="/", httponly=True,
        secure=request.url.scheme == "https", samesite="lax",
    )  # fmt: skip
    return response


async def history_show(request: AppRequest) -> Response:
    workspace, session = await _signed_in(request)
    texts = _texts(request, workspace)
    if session is None:
        return _page(request, "history/signed_out.html", {"texts": texts, "workspace": workspace}, 401)
    today = request.state["clock"]().date()
    async with request.state["pool"].acquire() as conn:
        listing = await listing_context(conn, workspace.id, session.email, request.query_params, today)
        manage = await select_portal_customer(conn, workspace.id, session.email) is not None
    context = {"texts": texts, "workspace": workspace, "session": session, "manage": manage, **listing}
    return _page(request, "history/list.html", context, 200)


async def history_invoice(request: AppRequest) -> Response:
    """One invoice's page from the history: its live link (a new one when none is live)."""
    workspace, session = await _signed_in(request)
    invoice = await _invoice(request, workspace, session)
    async with request.state["pool"].acquire() as conn, conn.transaction():
        link = await live_or_new_link(conn, invoice.id, request.state["clock"](), days=_LINK_DAYS)
    return RedirectResponse(path_for(request, "invoice_show", token=link.token), status_code=303)


async def history_invoice_pdf(request: AppRequest) -> Response:
    workspace, session = await _signed_in(request)
    invoice = await _invoice(request, workspace, session)
    state = request.state
    async with state["pool"].acquire() as conn:
        document = await load_document(conn, invoice)
        await insert_activity(conn, invoice.id, PDF_DOWNLOADED)
    pdf = await invoice_pdf_bytes(state["pool"], state["templates"], state["pdf_cache"], document)
    return pdf_response(pdf, pdf_filename(invoice.number), download=True)


async def history_receipt_pdf(request: AppRequest) -> Response:
    workspace, session = await _signed_in(request)
    invoice = await _invoice(request, workspace, session)
    async with request.state["pool"].acquire() as conn:
        document = await load_document(conn, invoice)
    receipt = receipt_for(document, request.path_params["payment_id"])
    if receipt is None:
        raise HTTPException(404)
    renderer = request.state["pdf_cache"].renderer
    pdf = await receipt_pdf_bytes(request.state["templates"], renderer, document, receipt)
    return pdf_response(pdf, pdf_filename(receipt.number), download=True)


async def history_manage(request: AppRequest) -> Response:
    """Manage cards and subscriptions: a Stripe customer portal session for the address's Stripe customer, coming
    back to this history."""
    workspace, session = await _signed_in(request)
    if session is None:
        raise HTTPException(404)
    texts = _texts(request, workspace)
    async with request.state["pool"].acquire() as conn:
        customer_id = await select_portal_customer(conn, workspace.id, session.email)
        account = await request.state["stripe"].own(conn, workspace.id) if customer_id else None
    if customer_id is None or account is None:
        raise HTTPException(404)
    back = public_url(request, "history_show", workspace=workspace.slug)
    try:
        url = await open_portal_session(account.gateway, customer_id, back, texts.tag)
    except (ProviderUnavailable, PaymentRefused):
        raise RefusedRequest(503, PORTAL_DOWN) from None
    return RedirectResponse(url, status_code=303)


async def history_sign_out(request: AppRequest) -> Response:
    workspace = await workspace_in_path(request)
    async with request.state["pool"].acquire() as conn:
        await end_session(conn, workspace, request.cookies.get(cookie_name(workspace)), request.state["clock"]())
    history = path_for(request, "history_show", workspace=workspace.slug)
    response = RedirectResponse(history, status_code=303)
    response.delete_cookie(
        cookie_name(workspace), path="/", httponly=True, secure=request.url.scheme == "https", samesite="lax"
    )
    return response


async def _sign_in_form(request: AppRequest) -> tuple[LinkHolder, Workspace, dict[str, str]]:
    """A sign-in step's invoice (the link it was posted from), its workspace, and the posted form."""
    viewer = await link_holder(request)
    return viewer, await _workspace_of(request, viewer), await read_form(request, _MAX_FORM_BYTES)


async def _workspace_of(request: AppRequest, viewer: LinkHolder) -> Workspace:
    async with request.state["pool"].acquire() as conn:
        workspace = await select_workspace(conn, viewer.invoice.workspace_id)
    assert workspace is not None  # an invoice's workspace
    return workspace


async def _signed_in(request: AppRequest) -> tuple[Workspace, CustomerSession | None]:
    workspace = await workspace_in_path(request)
    async with request.state["pool"].acquire() as conn:
        session = await find_session(
            conn, workspace, request.cookies.get(cookie_name(workspace)), request.state["clock"]()
        )
    return workspace, session


async def _invoice(request: AppRequest, workspace: Workspace, session: CustomerSession | None) -> Invoice:
    """The path's invoice when it is one of the session's; else 404 (no hint whether it exists)."""
    if session is None:
        raise HTTPException(404)
    async with request.state["pool"].acquire() as conn:
        invoice = await select_history_invoice(conn, workspace.id, session.email, request.path_params["invoice_id"])
    if invoice is None:
        raise HTTPException(404)
    return invoice


def _texts(request: AppRequest, workspace: Workspace) -> Texts:
    return reader_texts(request, workspace.default_locale)


def _sign_in_page(
    request: AppRequest,
    viewer: LinkHolder,
    workspace: Workspace,
    status: int,
    *,
    email: str = "",
    step: str = "email",
    error: Message | None = None,
    notice: Message | None = None,
) -> Response:
    context = {
        "texts": _texts(request, workspace), "workspace": workspace, "email": email, "step": step, "error": error,
        "notice": notice, "code_url": viewer.path(request, "history_code_request"),
        "verify_url": viewer.path(request, "history_code_verify"), "invoice_url": viewer.path(request, "invoice_show"),
    }  # fmt: skip
    return _page(request, "history/sign_in.html", context, status)


def _page(request: AppRequest, template: str, context: dict[str, object], status: int) -> Response:
    return html_response(render_to_bytes(request, template, context), status)
