"""The public invoice page behind a capability link: summary, live/PDF preview, PDF download, view beacon."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from db.activity import PDF_DOWNLOADED, insert_activity, insert_view_once
from db.embed import select_embed_settings
from db.workspaces import select_workspace
from web.comments.access import find_session
from web.comments.form import SESSION_COOKIE, form_for
from web.einvoice.files import KINDS, NotAnEinvoice, shared_einvoice_file
from web.http.errors import RefusedRequest
from web.http.forms import client_address, read_form
from web.http.locale import reader_texts
from web.http.rendering import html_response, pdf_response, render_to_bytes, wants_fragment, xml_response
from web.http.security import with_frame_ancestors
from web.http.urls import public_url
from web.i18n.catalogs import available_languages
from web.i18n.choice import LANGUAGE_COOKIE, LANGUAGE_COOKIE_AGE
from web.i18n.message import msg
from web.invoices.printing import invoice_pdf_bytes, pdf_filename
from web.portal.fresh_link import SENT, FreshLinkRefused, request_fresh_link
from web.portal.pages import cached_page, portal_context, preview_mode, preview_mode_of, thread_context
from web.portal.viewer import LinkHolder, link_holder
from web.state import AppRequest

# The fresh-link form carries one e-mail address.
_MAX_FORM_BYTES = 4096


async def invoice_show(request: AppRequest) -> Response:
    viewer = await link_holder(request)
    invoice = viewer.document.invoice
    fragment = wants_fragment(request)
    if not fragment and invoice.comments_enabled and SESSION_COOKIE in request.cookies:
        # A verified writer sees their own form: rendered for them alone, never cached.
        async with request.state["pool"].acquire() as conn:
            writer = await find_session(conn, invoice, request.cookies[SESSION_COOKIE], request.state["clock"]())
            form = await form_for(conn, invoice, writer, request.state["secrets"]) if writer is not None else None
        if form is not None:
            context = {**portal_context(request, viewer), **await thread_context(request, viewer, form)}
            return html_response(render_to_bytes(request, "portal/show.html", context))
    template = "portal/_preview.html" if fragment else "portal/show.html"
    origins = await embed_origins(request, viewer)
    if origins is not None:
        # Opened from the billing history a host app embeds: framed by that app's origins only, and reporting to it.
        # Its links keep the embed (and the language: no cookie can carry it there).
        async def framed() -> dict[str, object]:
            embed: dict[str, object] = {"embed": {"origins": origins, "slug": request.query_params["embed"]}}
            return embed if fragment else {**await thread_context(request, viewer), **embed}

        part = f"{preview_mode(request)}:embed:{' '.join(origins)}"
        response = html_response(await cached_page(request, viewer, part, fragment, template, framed))
        response.headers["content-security-policy"] = with_frame_ancestors(request.state["csp"], origins)
        return response
    extra = None if fragment else (lambda: thread_context(request, viewer))
    return html_response(await cached_page(request, viewer, preview_mode(request), fragment, template, extra))


async def embed_origins(request: AppRequest, viewer: LinkHolder) -> list[str] | None:
    """The host app's allowed origins when the page was opened in its frame (?embed=<its workspace>), else None."""
    slug = request.query_params.get("embed", "")
    if not slug or len(slug) > 100:
        return None
    async with request.state["pool"].acquire() as conn:
        workspace = await select_workspace(conn, viewer.invoice.workspace_id)
        settings = await select_embed_settings(conn, viewer.invoice.workspace_id) if workspace else None
    if workspace is None or workspace.slug != slug or settings is None or not settings.allowed_origins:
        return None
    return settings.allowed_origins


async def invoice_pdf(request: AppRequest) -> Response:
    viewer = await link_holder(request)
    invoice = viewer.document.invoice
    state = request.state
    pdf = await invoice_pdf_bytes(state["pool"], state["templates"], state["pdf_cache"], viewer.document)
    download = request.query_params.get("download") == "1"
    if download and request.method == "GET":
        async with state["pool"].acquire() as conn:
            await insert_activity(conn, invoice.id, PDF_DOWNLOADED)
    response = pdf_response(pdf, pdf_filename(invoice.number), download=download)
    origins = await embed_origins(request, viewer)
    if origins is not None:
        # The PDF preview of an embedded page: its frame's ancestors are our page and the host app's.
        response.headers["content-security-policy"] = with_frame_ancestors(state["csp"], ["'self'", *origins])
    return response


async def invoice_einvoice(request: AppRequest) -> Response:
    """The invoice as an e-invoice file (UBL, CII, XRechnung), when it can be one in that format."""
    viewer = await link_holder(request)
    kind = request.path_params["kind"]
    if kind not in KINDS:
        raise HTTPException(404)
    try:
        state = request.state
        found = await shared_einvoice_file(state["pool"], state["pdf_cache"].fingerprint, viewer.document, kind)
    except NotAnEinvoice:
        # The invoice is there; this file is not (a void invoice, three decimals, no Leitweg-ID for XRechnung).
        raise RefusedRequest(409, msg("This invoice has no e-invoice in this format.")) from None
    return xml_response(found.xml, found.filename)


async def invoice_viewed(request: AppRequest) -> Response:
    """The page's script calls this once it has loaded in a browser: HEAD requests, link unfurlers and
    mail scanners that fetch without running scripts never count as a customer view."""
    viewer = await link_holder(request)
    async with request.state["pool"].acquire() as conn:
        await insert_view_once(conn, viewer.document.invoice.id)
    return Response(status_code=204)


async def portal_language(request: AppRequest) -> Response:
    """The picker: remember the chosen language on this device, then show the page again in it."""
    viewer = await link_holder(request)
    form = await read_form(request, _LANGUAGE_FORM_BYTES)
    chosen = form.get("lang", "")
    if chosen not in available_languages():
        raise RefusedRequest(400, msg("This language is not available. Choose one from the list."))
    view = preview_mode_of(form.get("view", ""))
    response = RedirectResponse(viewer.path(request, "invoice_show") + f"?view={view}", status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE, chosen, max_age=LANGUAGE_COOKIE_AGE, path="/", secure=request.url.scheme == "https",
        httponly=True, samesite="lax",
    )  # fmt: skip
    return response


_LANGUAGE_FORM_BYTES = 1024


async def fresh_link_request(request: AppRequest) -> Response:
    """E-mail me a fresh link (the Invoice Not Found page's form): the same answer whatever the token and address."""
    form = await read_form(request, _MAX_FORM_BYTES)
    email = form.get("email", "")[:320]
    texts = reader_texts(request)
    try:
        async with request.state["pool"].acquire() as conn:
            mail_id = await request_fresh_link(
                conn, token=request.path_params["token"], email_text=email, client=client_address(request),
                now=request.state["clock"](), link_url=lambda token: public_url(request, "invoice_show", token=token),
                letters=request.state["letters"],
            )  # fmt: skip
    except FreshLinkRefused as refused:
        context = {"texts": texts, "fresh_email": email, "fresh_error": refused.message}
        return html_response(render_to_bytes(request, "errors/invoice_not_found.html", context), 422)
    response = html_response(render_to_bytes(request, "portal/fresh_link_sent.html", {"texts": texts, "sent": SENT}))
    if mail_id is not None:  # after the answer is out, so its timing says nothing
        response.background = BackgroundTask(request.state["mailer"].deliver, request.state["pool"], [mail_id])
    return response
