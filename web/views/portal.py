"""The public invoice page behind a capability link: summary, live/PDF preview, PDF download, view beacon."""

from __future__ import annotations

import re
from datetime import date

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from db.activity import PDF_DOWNLOADED, insert_activity, insert_view_once
from db.invoices import Invoice
from db.links import select_invoice_by_token_hash
from web.documents import InvoiceDocument, load_document
from web.links import token_hash
from web.locales import negotiate_locale
from web.views.rendering import render

PREVIEW_MODES = ("document", "pdf")
# Tokens we issue are 32 characters; anything far longer is refused before hashing, like any unknown token.
_MAX_TOKEN_LENGTH = 128


async def _find_invoice(request: Request) -> Invoice:
    """Unknown, expired, revoked or draft: one query, one answer (404), no hint which."""
    token: str = request.path_params["token"]
    invoice = None
    if len(token) <= _MAX_TOKEN_LENGTH:
        async with request.state.pool.acquire() as conn:
            invoice = await select_invoice_by_token_hash(conn, token_hash(token))
    if invoice is None:
        raise HTTPException(status_code=404)
    return invoice


async def _find_document(request: Request) -> InvoiceDocument:
    invoice = await _find_invoice(request)
    async with request.state.pool.acquire() as conn:
        return await load_document(conn, invoice)


def _portal_context(request: Request, document: InvoiceDocument, *, preview: bool = False) -> dict[str, object]:
    mode = request.query_params.get("view", "document")
    token = request.path_params["token"]
    return {
        "doc": document,
        "viewer_locale": negotiate_locale(request.headers.get("accept-language"), document.invoice.locale),
        "doc_locale": document.invoice.locale,
        "mode": mode if mode in PREVIEW_MODES else "document",
        "today": date.today(),
        "base_path": f"/i/{token}",
        "is_staff_preview": preview,
    }


async def invoice_show(request: Request) -> Response:
    document = await _find_document(request)
    return render(request, "portal/show.html", _portal_context(request, document), fragment="portal/_preview.html")


async def invoice_pdf(request: Request) -> Response:
    document = await _find_document(request)
    invoice = document.invoice
    pdf_cache = request.state.pdf_cache

    async def build_html() -> str:
        return request.state.templates.get_template("pdf/invoice.html").render(doc=document, doc_locale=invoice.locale)

    pdf = await pdf_cache.get(request.state.pool, invoice.id, invoice.version, build_html)
    download = request.query_params.get("download") == "1"
    if download and request.method == "GET":
        async with request.state.pool.acquire() as conn:
            await insert_activity(conn, invoice.id, PDF_DOWNLOADED)
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", invoice.number or "invoice") + ".pdf"
    disposition = "attachment" if download else "inline"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


async def invoice_viewed(request: Request) -> Response:
    """The page's script calls this once it has loaded in a browser: HEAD requests, link unfurlers and
    mail scanners that fetch without running scripts never count as a customer view."""
    invoice = await _find_invoice(request)
    async with request.state.pool.acquire() as conn:
        await insert_view_once(conn, invoice.id)
    return Response(status_code=204)
